/// A lexical token of the tile language.
public struct Token: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        case identifier(String)
        case integer(Int)
        case float(Double)
        case string(String)
        /// Punctuation and operators: `( ) [ ] , : ; = + - * / % @ ^ == != < <= > >= ..< ->`.
        case symbol(String)
        case newline
        case indent
        case dedent
        case end
    }

    public var kind: Kind
    public var location: SourceLocation

    public init(_ kind: Kind, _ location: SourceLocation) {
        self.kind = kind
        self.location = location
    }

    /// How the token is named in "expected X, found Y" messages.
    public var display: String {
        switch kind {
        case .identifier(let s): return "'\(s)'"
        case .integer(let i): return "'\(i)'"
        case .float(let x): return "'\(x)'"
        case .string(let s): return "\"\(s)\""
        case .symbol(let s): return "'\(s)'"
        case .newline: return "end of line"
        case .indent: return "indentation"
        case .dedent: return "end of block"
        case .end: return "end of file"
        }
    }
}
