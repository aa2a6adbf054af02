#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Where a command writes: standard output and standard error, replaceable in tests.
///
/// A writer may throw. The first failure on standard output is kept in `outputFailure`
/// and later output is dropped; `AttnSimCommand.main` then ends with exit code 1 and one
/// `error:` line (none for a closed pipe, EPIPE). Failures on standard error are ignored:
/// there is nowhere left to report them.
public final class Console: @unchecked Sendable {
    /// Writes one piece of text, throwing when it cannot (e.g. an `OutputError`).
    public typealias Writer = (String) throws -> Void

    private let writeOut: Writer
    private let writeErr: Writer
    /// The first error standard output's writer threw, if any.
    public private(set) var outputFailure: (any Error)?

    public init(out: @escaping Writer, err: @escaping Writer) {
        writeOut = out
        writeErr = err
    }

    /// The process's own stdout and stderr, written with write(2) (file descriptors 1 and 2).
    public static func standard() -> Console {
        Console(
            out: { text in
                if let code = writeAll(1, text) { throw OutputError(.standardOutput, errorNumber: code) }
            },
            err: { text in
                if let code = writeAll(2, text) { throw OutputError(.standardError, errorNumber: code) }
            })
    }

    /// Writes to standard output, unless an earlier write there failed.
    public func out(_ text: String) {
        guard outputFailure == nil else { return }
        do { try writeOut(text) } catch { outputFailure = error }
    }

    /// Writes to standard error.
    public func err(_ text: String) {
        try? writeErr(text)
    }
}

/// A console that keeps what was written (for tests).
public final class CapturedConsole: @unchecked Sendable {
    public private(set) var stdout = ""
    public private(set) var stderr = ""
    public init() {}

    public var console: Console {
        Console(out: { [self] in stdout += $0 }, err: { [self] in stderr += $0 })
    }
}
