/// An error in a tile-language program, reported as `file:line:column` with the source
/// line and a caret under the offending column.
public struct Diagnostic: Error, Sendable, Equatable, CustomStringConvertible {
    /// What went wrong, for callers that treat some failures differently (`tune` skips
    /// configurations over capacity and reports every other error).
    public enum Kind: Sendable, Equatable {
        /// The text does not parse: tokens, indentation, grammar.
        case syntax
        /// Names, types, arities, ranks, and values read from tensors deciding counts.
        case type
        /// A value outside what the run allows: a slice outside its tensor, a failed
        /// `require`, a non-positive extent, a division by zero.
        case bounds
        /// A thread block needs more of a memory level than the hardware has.
        case capacity(level: String, neededBytes: Int, limitBytes: Int)
        /// An integer result (a literal, a counter, a shape) does not fit in 64 bits.
        case overflow
        /// A file could not be read or written.
        case io
        /// The run passed its stated budget of work and was stopped (`--allow-long` lifts it).
        case budget
        /// A numeric check found the output wrong, or a check is malformed.
        case numeric
        /// A broken invariant of the simulator itself: a bug to report.
        case `internal`
    }

    public var kind: Kind
    public var file: String
    public var location: SourceLocation
    public var message: String
    /// The text of the offending line, for the caret display.
    public var sourceLine: String
    /// Further lines of explanation printed after the caret (e.g. live buffers).
    public var notes: [String]

    public init(kind: Kind, file: String, location: SourceLocation, message: String, sourceLine: String, notes: [String] = []) {
        self.kind = kind
        self.file = file
        self.location = location
        self.message = message
        self.sourceLine = sourceLine
        self.notes = notes
    }

    public init(_ kind: Kind, _ source: SourceFile, _ location: SourceLocation, _ message: String, notes: [String] = []) {
        self.init(
            kind: kind, file: source.name, location: location, message: message,
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
