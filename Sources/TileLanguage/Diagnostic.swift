/// An error in a tile-language program, reported as `file:line:column` with the source
/// line and a caret under the offending column.
public struct Diagnostic: Error, Sendable, Equatable, CustomStringConvertible {
    public var file: String
    public var location: SourceLocation
    public var message: String
    /// The text of the offending line, for the caret display.
    public var sourceLine: String
    /// Further lines of explanation printed after the caret (e.g. live buffers).
    public var notes: [String]

    public init(file: String, location: SourceLocation, message: String, sourceLine: String, notes: [String] = []) {
        self.file = file
        self.location = location
        self.message = message
        self.sourceLine = sourceLine
        self.notes = notes
    }

    public init(_ source: SourceFile, _ location: SourceLocation, _ message: String, notes: [String] = []) {
        self.init(
            file: source.name, location: location, message: message,
            sourceLine: source.line(location.line), notes: notes)
    }

    /// The compiler-style rendering:
    ///
    ///     flash2.tile:14:9: error: unknown name 'kk'
    ///        14 |   s = (q @ kk^T) * scale
    ///           |            ^
    public var description: String {
        let number = String(location.line)
        let gutter = String(repeating: " ", count: number.count)
        // Keep tabs in the caret line so the caret lines up under tabbed source.
        let lead = String(sourceLine.prefix(max(0, location.column - 1)).map { $0 == "\t" ? Character("\t") : Character(" ") })
        var text = "\(file):\(location.line):\(location.column): error: \(message)\n"
        text += " \(number) | \(sourceLine)\n"
        text += " \(gutter) | \(lead)^"
        for note in notes { text += "\n  note: \(note)" }
        return text
    }
}
