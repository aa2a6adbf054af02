/// The text of a tile-language program and the name it is reported under.
public struct SourceFile: Sendable, Equatable {
    /// The name used in diagnostics: a path, or `builtin:flash2.tile` for shipped programs.
    public var name: String
    public var text: String

    public init(name: String, text: String) {
        self.name = name
        self.text = text
    }

    /// The text of 1-based line `n`, without its line break; empty when out of range.
    public func line(_ n: Int) -> String {
        var current = 1
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if current == n { return String(line.hasSuffix("\r") ? line.dropLast() : line) }
            current += 1
        }
        return ""
    }
}
