import AttnCLI
import Foundation

// The executable is only this: hand the arguments to the library, exit with its code.
// SIGPIPE is ignored so that a closed pipe (`attnsim list | head`) is a failed write
// (EPIPE), which AttnCLI turns into exit code 1, instead of a kill by signal.
signal(SIGPIPE, SIG_IGN)

#if canImport(Glibc)
// A numeric replay allocates and frees tiles and reference panels (up to a few MiB) on
// every core thousands of times. With glibc's defaults each free at the top of a heap
// gives memory back (brk/madvise), the next allocation faults it in again, and every
// release flushes the TLBs of the other cores: about a tenth of a numeric run's wall
// time (docs/performance.md). So the heaps keep 64 MiB of slack, trim only above
// 256 MiB, and serve blocks below 32 MiB (glibc's ceiling for this setting) instead of
// mapping each one; the process then holds on to its peak use (plus the slack) until
// it exits, which for a one-shot command costs nothing.
//
// mallopt is declared in <malloc.h>, which the Glibc module does not import: look it up.
typealias MalloptFunction = @convention(c) (Int32, Int32) -> Int32
if let symbol = dlsym(nil, "mallopt") {
    let mallopt = unsafeBitCast(symbol, to: MalloptFunction.self)
    // <malloc.h>: M_TRIM_THRESHOLD -1, M_TOP_PAD -2, M_MMAP_THRESHOLD -3.
    _ = mallopt(-2, 64 << 20)
    _ = mallopt(-1, 256 << 20)
    _ = mallopt(-3, 32 << 20)
}
#endif

exit(AttnSimCommand.main(Array(CommandLine.arguments.dropFirst())))
