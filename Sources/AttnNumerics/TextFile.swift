#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A text file that could not be read, with the system's reason (`strerror`), never
/// Foundation's wording.
public struct TextFileError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The path as the user gave it.
    public var path: String
    /// Why: `strerror(errno)` of the failing call, "not valid UTF-8 text", or the limit
    /// it exceeds.
    public var reason: String

    public init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }

    /// The reason of a failed system call with error number `code`.
    public init(path: String, errorNumber code: Int32) {
        self.init(path: path, reason: TextFile.systemMessage(code))
    }

    public var description: String { "cannot read '\(path)': \(reason)" }
}

/// Whole-file reads with open(2)/read(2), so a failure says what the system said
/// ("No such file or directory", "Is a directory", "Permission denied"), and never more
/// than `maxBytes`: every input of every command (scenarios, programs, model and hardware
/// files, request traces, calibration CSVs) is read here.
public enum TextFile {
    /// The most bytes an input file may hold: 64 MiB. The largest input the tool reads
    /// is a request trace, about 25 bytes a row, so a trace of a million requests (the most
    /// a synthetic one has, `PagedStudy.maxRequests`) is about 25 MB; scenario, model,
    /// hardware and program files are kilobytes and calibration CSVs a few hundred. The
    /// limit keeps `/dev/zero`, `/dev/urandom` or a mistaken huge file from being read
    /// until memory runs out.
    public static let maxBytes = 64 << 20

    /// The UTF-8 text of the file at `path`.
    public static func read(_ path: String, limit: Int = maxBytes) throws(TextFileError) -> String {
        let data = try bytes(path, limit: limit)
        guard let text = String(validating: data, as: UTF8.self) else {
            throw TextFileError(path: path, reason: "not valid UTF-8 text")
        }
        return text
    }

    /// The bytes of the file at `path`, at most `limit` of them. A regular file larger
    /// than that is refused before it is read; a pipe (`<(...)`, `/dev/stdin`) is read
    /// until it ends or passes the limit; a character or block device (`/dev/zero`, a
    /// terminal, a disk) is refused, since it has no end to read to.
    public static func bytes(_ path: String, limit: Int = maxBytes) throws(TextFileError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw TextFileError(path: path, errorNumber: errno) }
        defer { _ = closeFile(fd) }
        var status = stat()
        guard fstat(fd, &status) == 0 else { throw TextFileError(path: path, errorNumber: errno) }
        switch status.st_mode & S_IFMT {
        case S_IFCHR: throw TextFileError(path: path, reason: "a character device, not a file")
        case S_IFBLK: throw TextFileError(path: path, reason: "a block device, not a file")
        case S_IFDIR: throw TextFileError(path: path, errorNumber: EISDIR)
        case S_IFREG where Int(status.st_size) > limit: throw tooLarge(path, limit, size: Int(status.st_size))
        default: break
        }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = chunk.withUnsafeMutableBytes { readBytes(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw TextFileError(path: path, errorNumber: errno)
            }
            if count == 0 { break }
            // A file that grows while it is read, or a pipe, stops at the limit.
            guard bytes.count + count <= limit else { throw tooLarge(path, limit, size: nil) }
            bytes.append(contentsOf: chunk[0..<count])
        }
        return bytes
    }

    /// "larger than the 64 MiB (67,108,864 bytes) limit on input files".
    private static func tooLarge(_ path: String, _ limit: Int, size: Int?) -> TextFileError {
        let found = size.map { "\(NumberFormat.grouped($0)) bytes, " } ?? ""
        let mib = limit % (1 << 20) == 0 ? "\(limit >> 20) MiB (\(NumberFormat.grouped(limit)) bytes)" : "\(NumberFormat.grouped(limit)) bytes"
        return TextFileError(path: path, reason: "\(found)more than the \(mib) an input file may hold")
    }

    /// `strerror` of an error number, e.g. "No such file or directory" for ENOENT.
    public static func systemMessage(_ code: Int32) -> String {
        guard let text = strerror(code) else { return "error \(code)" }
        return String(cString: text)
    }
}

/// read(2), named apart from `TextFile.read`.
private func readBytes(_ fd: Int32, _ buffer: UnsafeMutableRawPointer?, _ count: Int) -> Int {
    read(fd, buffer, count)
}

/// close(2).
private func closeFile(_ fd: Int32) -> Int32 {
    close(fd)
}
