#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import AttnNumerics

/// A write that failed: where it went and the system's error number.
public struct OutputError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Where the bytes were going.
    public enum Destination: Sendable, Equatable {
        case standardOutput
        case standardError
        /// A file named on the command line, as the user gave it.
        case file(String)
    }

    public var destination: Destination
    /// `errno` of the failing call (ENOSPC, EPIPE, EISDIR, EACCES...).
    public var errorNumber: Int32

    public init(_ destination: Destination, errorNumber: Int32) {
        self.destination = destination
        self.errorNumber = errorNumber
    }

    /// True when the reader went away (EPIPE): `attnsim list | head` ends quietly.
    public var isBrokenPipe: Bool { errorNumber == EPIPE }

    /// `cannot write 'PATH': No space left on device`, or `cannot write to standard output: ...`.
    public var description: String {
        let reason = TextFile.systemMessage(errorNumber)
        switch destination {
        case .standardOutput: return "cannot write to standard output: \(reason)"
        case .standardError: return "cannot write to standard error: \(reason)"
        case .file(let path): return "cannot write '\(path)': \(reason)"
        }
    }
}

/// Writes all of `text` to `fd` with write(2), retrying short writes and EINTR; returns
/// nil on success or the `errno` of the failure.
func writeAll(_ fd: Int32, _ text: String) -> Int32? {
    var bytes = Array(text.utf8)
    return bytes.withUnsafeMutableBytes { buffer -> Int32? in
        guard let base = buffer.baseAddress else { return nil }
        var offset = 0
        while offset < buffer.count {
            let count = write(fd, base + offset, buffer.count - offset)
            if count < 0 {
                if errno == EINTR { continue }
                return errno
            }
            offset += count
        }
        return nil
    }
}

/// A file a command writes (`--trace`, `--svg`, `--timeline`), written in place.
///
/// The path is opened with `open(2)` (`O_WRONLY | O_CREAT | O_TRUNC`, following symlinks)
/// and written with `write(2)`: no temporary file and no rename, so a symlink keeps
/// pointing at its target, and a FIFO, `/dev/null` or another device stays what it is.
/// Every call is checked; the first failure is an `OutputError` naming the path. A class
/// because it owns a file descriptor: `deinit` closes it if `close()` was never reached.
final class OutputFile {
    let path: String
    private var fd: Int32

    /// Opens (creating or truncating) the file at `path`.
    init(path: String) throws(OutputError) {
        self.path = path
        let opened = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o666)
        guard opened >= 0 else { throw OutputError(.file(path), errorNumber: errno) }
        fd = opened
    }

    deinit {
        if fd >= 0 { _ = closeDescriptor(fd) }
    }

    /// Appends `text`.
    func write(_ text: String) throws(OutputError) {
        guard fd >= 0 else { throw OutputError(.file(path), errorNumber: EBADF) }
        if let code = writeAll(fd, text) { throw OutputError(.file(path), errorNumber: code) }
    }

    /// Closes the file; a failing close (a deferred write error) is an error too.
    func close() throws(OutputError) {
        guard fd >= 0 else { return }
        let result = closeDescriptor(fd)
        fd = -1
        if result != 0 { throw OutputError(.file(path), errorNumber: errno) }
    }

    /// Writes `text` as the whole content of `path`: open, write, close.
    static func write(_ text: String, to path: String) throws(OutputError) {
        let file = try OutputFile(path: path)
        try file.write(text)
        try file.close()
    }
}

/// close(2), named apart from `OutputFile.close`.
private func closeDescriptor(_ fd: Int32) -> Int32 {
    close(fd)
}
