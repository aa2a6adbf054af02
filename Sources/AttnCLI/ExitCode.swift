/// Process exit codes (sysexits.h for usage errors).
public enum ExitCode: Int32, Sendable {
    case success = 0
    /// The run failed: bad scenario, program error, capacity exceeded, I/O failure.
    case failure = 1
    /// The command line was wrong (EX_USAGE).
    case usage = 64
}
