import AttnCLI
import Foundation

// The executable is only this: hand the arguments to the library, exit with its code.
exit(AttnSimCommand.main(Array(CommandLine.arguments.dropFirst())))
