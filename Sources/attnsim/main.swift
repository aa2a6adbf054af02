import AttnCLI
import Foundation

// The executable is only this: hand the arguments to the library, exit with its code.
// SIGPIPE is ignored so that a closed pipe (`attnsim list | head`) is a failed write
// (EPIPE), which AttnCLI turns into exit code 1, instead of a kill by signal.
signal(SIGPIPE, SIG_IGN)
exit(AttnSimCommand.main(Array(CommandLine.arguments.dropFirst())))
