import Foundation
import AttnNumerics

/// The text of a tile-language program and the name it is reported under.
///
/// Line breaks are LF or CRLF; the offsets where lines start are computed once, when the
/// text is set, so `line(_:)` (called for every diagnostic) is O(length of that line).
public struct SourceFile: Sendable, Equatable {
    /// The name used in diagnostics: a path, or `builtin:flash2.tile` for shipped programs.
    public var name: String
    public var text: String {
        didSet { lineStarts = SourceFile.lineStarts(of: text) }
    }
    /// `text.utf8` index of the first byte of each line; line n starts at `lineStarts[n - 1]`.
    private var lineStarts: [String.Index]

    public init(name: String, text: String) {
        self.name = name
        self.text = text
        self.lineStarts = SourceFile.lineStarts(of: text)
    }

    /// Decodes a file's bytes as UTF-8 (a leading byte-order mark is dropped).
    ///
    /// Bytes that are not UTF-8 are a `.syntax` diagnostic at the line and column where
    /// the first bad sequence starts, never a garbled text. File loaders call this with the
    /// bytes they read (`[UInt8](data)` or `Data`) instead of decoding themselves.
    public init<Bytes: Collection>(name: String, bytes: Bytes) throws(Diagnostic) where Bytes.Element == UInt8 {
        var body = Array(bytes)
        if body.starts(with: [0xEF, 0xBB, 0xBF]) { body.removeFirst(3) }
        var iterator = body.makeIterator()
        var decoder = UTF8()
        var validBytes = 0
        decoding: while true {
            switch decoder.decode(&iterator) {
            case .scalarValue(let scalar):
                validBytes += UTF8.width(scalar)
            case .emptyInput:
                break decoding
            case .error:
                let prefix = String(decoding: body[..<validBytes], as: UTF8.self)
                let line = prefix.utf8.reduce(1) { $1 == UInt8(ascii: "\n") ? $0 + 1 : $0 }
                let lineText = prefix.utf8.lastIndex(of: UInt8(ascii: "\n")).map { prefix[prefix.utf8.index(after: $0)...] } ?? prefix[...]
                let location = SourceLocation(line: line, column: lineText.count + 1)
                let shown = SourceFile(name: name, text: String(decoding: body, as: UTF8.self))
                let byte = String(body[validBytes], radix: 16, uppercase: true)
                throw Diagnostic(
                    .syntax, shown, location,
                    "the file is not valid UTF-8: byte 0x\(byte.count == 1 ? "0" : "")\(byte) at byte offset \(validBytes); save it as UTF-8")
            }
        }
        self.init(name: name, text: String(decoding: body, as: UTF8.self))
    }

    /// Reads a `.tile` file through `TextFile` (the system's reason on failure, at most
    /// `TextFile.maxBytes`): its bytes, checked as UTF-8 (`init(name:bytes:)`). A file that
    /// cannot be read is an `.io` diagnostic; bytes that are not UTF-8 a `.syntax` one at
    /// their line and column.
    public static func read(path: String) throws(Diagnostic) -> SourceFile {
        let bytes: [UInt8]
        do { bytes = try TextFile.bytes(path) } catch {
            throw Diagnostic(kind: .io, file: path, location: SourceLocation(line: 1, column: 1), message: "cannot read the program: \(error.reason)", sourceLine: "")
        }
        return try SourceFile(name: path, bytes: bytes)
    }

    public static func == (a: SourceFile, b: SourceFile) -> Bool {
        a.name == b.name && a.text == b.text
    }

    /// The text of 1-based line `n`, without its line break; empty when out of range.
    public func line(_ n: Int) -> String {
        guard n >= 1, n <= lineStarts.count else { return "" }
        let utf8 = text.utf8
        let start = lineStarts[n - 1]
        var end = n < lineStarts.count ? utf8.index(before: lineStarts[n]) : utf8.endIndex
        if end > start, utf8[utf8.index(before: end)] == UInt8(ascii: "\r") { end = utf8.index(before: end) }
        return String(text.utf8[start..<end]) ?? String(decoding: text.utf8[start..<end], as: UTF8.self)
    }

    private static func lineStarts(of text: String) -> [String.Index] {
        var starts = [text.utf8.startIndex]
        var index = text.utf8.startIndex
        while let newline = text.utf8[index...].firstIndex(of: UInt8(ascii: "\n")) {
            index = text.utf8.index(after: newline)
            starts.append(index)
        }
        return starts
    }
}
