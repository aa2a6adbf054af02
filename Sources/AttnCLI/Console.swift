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
///
/// Safe to share between threads (a run's workers report progress on theirs): one lock
/// serializes the writes, so two pieces of text never interleave, and guards
/// `outputFailure`.
public final class Console: Sendable {
    /// Writes one piece of text, throwing when it cannot (e.g. an `OutputError`). The
    /// console calls it with its lock held, one call at a time.
    public typealias Writer = @Sendable (String) throws -> Void

    private let writeOut: Writer
    private let writeErr: Writer
    /// The first failure on standard output; the lock every write holds.
    private let failure = Locked<(any Error)?>(nil)

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

    /// The first error standard output's writer threw, if any.
    public var outputFailure: (any Error)? {
        failure.withLock { $0 }
    }

    /// Writes to standard output, unless an earlier write there failed.
    public func out(_ text: String) {
        failure.withLock { failure in
            guard failure == nil else { return }
            do { try writeOut(text) } catch { failure = error }
        }
    }

    /// Writes to standard error.
    public func err(_ text: String) {
        failure.withLock { _ in try? writeErr(text) }
    }
}

/// A console that keeps what was written (for tests); safe to write from any thread.
public final class CapturedConsole: Sendable {
    private let captured = Locked((out: "", err: ""))

    public init() {}

    /// What was written to standard output so far.
    public var stdout: String { captured.withLock { $0.out } }
    /// What was written to standard error so far.
    public var stderr: String { captured.withLock { $0.err } }

    public var console: Console {
        Console(out: { [captured] text in captured.withLock { $0.out += text } }, err: { [captured] text in captured.withLock { $0.err += text } })
    }
}
