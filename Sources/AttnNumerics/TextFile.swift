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
    /// Why: `strerror(errno)` of the failing call, or "not valid UTF-8 text".
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
/// ("No such file or directory", "Is a directory", "Permission denied").
public enum TextFile {
    /// The UTF-8 text of the file at `path`.
    public static func read(_ path: String) throws(TextFileError) -> String {
        let data = try bytes(path)
        guard let text = String(validating: data, as: UTF8.self) else {
            throw TextFileError(path: path, reason: "not valid UTF-8 text")
        }
        return text
    }

    /// The bytes of the file at `path`.
    public static func bytes(_ path: String) throws(TextFileError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw TextFileError(path: path, errorNumber: errno) }
        defer { _ = closeFile(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = chunk.withUnsafeMutableBytes { readBytes(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw TextFileError(path: path, errorNumber: errno)
            }
            if count == 0 { break }
            bytes.append(contentsOf: chunk[0..<count])
        }
        return bytes
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
