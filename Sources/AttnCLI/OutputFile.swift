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

/// Where an output option (`--trace`, `--svg`, `--timeline`) writes: the file at the path
/// given, or standard output for `-` (then the command's report goes to standard error,
/// so the two never mix).
enum OutputPath: Equatable {
    case standardOutput
    case file(String)

    /// `-` is standard output; anything else a path.
    init(_ argument: String) {
        self = argument == "-" ? .standardOutput : .file(argument)
    }

    /// How notices name it: the path, or "standard output".
    var name: String {
        switch self {
        case .standardOutput: return "standard output"
        case .file(let path): return path
        }
    }

    /// Opens it for writing: the file (created or truncated, see `OutputFile`), or
    /// standard output through `console`.
    func open(console: Console) throws(OutputError) -> any TextOutput {
        switch self {
        case .standardOutput: return StandardOutputText(console: console)
        case .file(let path): return try OutputFile(path: path)
        }
    }

    /// Writes `text` as its whole content.
    func write(_ text: String, console: Console) throws(OutputError) {
        let output = try open(console: console)
        try output.write(text)
        try output.close()
    }

    /// Whether two paths name one regular file, whose content one write would replace:
    /// the same device and inode (through symlinks, `./`, `..` and hard links), or, for a
    /// file that does not exist yet, the same text. A device or FIFO (`/dev/null`) may
    /// be named twice: writing to it replaces nothing.
    static func sameFile(_ a: String, _ b: String) -> Bool {
        var first = stat()
        var second = stat()
        guard stat(a, &first) == 0, stat(b, &second) == 0 else { return a == b }
        return first.st_dev == second.st_dev && first.st_ino == second.st_ino && first.st_mode & S_IFMT == S_IFREG
    }
}

/// Text written piece by piece to an output: a file, or standard output.
protocol TextOutput: AnyObject {
    /// Appends `text`.
    func write(_ text: String) throws(OutputError)
    /// Ends the output; a failure to close a file (a deferred write error) is an error.
    func close() throws(OutputError)
}

/// Standard output as an output option's destination (`-`): written through the console,
/// so a failed write ends the command as any failed write to standard output does (exit
/// 1, one `error:` line, none for a closed pipe).
final class StandardOutputText: TextOutput {
    private let console: Console

    init(console: Console) {
        self.console = console
    }

    func write(_ text: String) throws(OutputError) {
        console.out(text)
    }

    func close() throws(OutputError) {}
}

/// A file a command writes (`--trace`, `--svg`, `--timeline`), written in place.
///
/// The path is opened with `open(2)` (`O_WRONLY | O_CREAT | O_TRUNC`, following symlinks)
/// and written with `write(2)`: no temporary file and no rename, so a symlink keeps
/// pointing at its target, and a FIFO, `/dev/null` or another device stays what it is.
/// Every call is checked; the first failure is an `OutputError` naming the path. A class
/// because it owns a file descriptor: `deinit` closes it if `close()` was never reached.
final class OutputFile: TextOutput {
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
}

/// close(2), named apart from `OutputFile.close`.
private func closeDescriptor(_ fd: Int32) -> Int32 {
    close(fd)
}
