/// Turns tile-language text into tokens, with Python-style indentation blocks.
///
/// Lines are grouped into blocks by their leading spaces (tabs are rejected, so that a
/// block's extent is never ambiguous); line breaks inside ( ) and [ ] do not end a
/// statement; `#` starts a comment that runs to the end of the line.
public struct Lexer {
    private let source: SourceFile
    private let chars: [Character]
    private var index = 0
    private var line = 1
    private var column = 1
    private var tokens: [Token] = []
    private var indents: [Int] = [0]
    private var bracketDepth = 0

    public static func tokenize(_ source: SourceFile) throws(Diagnostic) -> [Token] {
        var lexer = Lexer(source: source)
        try lexer.run()
        return lexer.tokens
    }

    private init(source: SourceFile) {
        self.source = source
        // "\r\n" is one Character in Swift; as "\n" it ends lines exactly as LF does, so a
        // CRLF file lexes to the same tokens, lines and columns.
        self.chars = source.text.map { $0 == "\r\n" ? "\n" : $0 }
    }

    private var here: SourceLocation { SourceLocation(line: line, column: column) }

    private func peek(_ offset: Int = 0) -> Character? {
        index + offset < chars.count ? chars[index + offset] : nil
    }

    private mutating func advance() {
        if chars[index] == "\n" {
            line += 1
            column = 1
        } else {
            column += 1
        }
        index += 1
    }

    private mutating func run() throws(Diagnostic) {
        var atLineStart = true
        while index < chars.count {
            if atLineStart && bracketDepth == 0 {
                atLineStart = false
                try handleIndentation()
                continue
            }
            let c = chars[index]
            if c == "\n" {
                if bracketDepth == 0, let last = tokens.last, last.kind != .newline {
                    tokens.append(Token(.newline, here))
                }
                advance()
                atLineStart = true
            } else if c == " " || c == "\r" || c == "\t" {
                advance()
            } else if c == "#" {
                while let p = peek(), p != "\n" { advance() }
            } else if c.isLetter || c == "_" {
                lexIdentifier()
            } else if c.isNumber {
                try lexNumber()
            } else if c == "\"" {
                try lexString()
            } else {
                try lexSymbol()
            }
        }
        if let last = tokens.last, last.kind != .newline {
            tokens.append(Token(.newline, here))
        }
        while indents.count > 1 {
            indents.removeLast()
            tokens.append(Token(.dedent, here))
        }
        tokens.append(Token(.end, here))
    }

    /// Measures the leading spaces of a line; blank and comment-only lines do not count.
    private mutating func handleIndentation() throws(Diagnostic) {
        var width = 0
        let start = here
        while let c = peek(), c == " " || c == "\t" {
            if c == "\t" {
                throw Diagnostic(.syntax, source, here, "tab in indentation; indent with spaces")
            }
            width += 1
            advance()
        }
        guard let c = peek(), c != "\n", c != "#", c != "\r" else { return }
        let location = SourceLocation(line: start.line, column: width + 1)
        if width > (indents.last ?? 0) {
            indents.append(width)
            tokens.append(Token(.indent, location))
        } else {
            while width < (indents.last ?? 0) {
                indents.removeLast()
                tokens.append(Token(.dedent, location))
            }
            if width != (indents.last ?? 0) {
                throw Diagnostic(.syntax, source, location, "indentation does not match any enclosing block")
            }
        }
    }

    private mutating func lexIdentifier() {
        let start = here
        var text = ""
        while let c = peek(), c.isLetter || c.isNumber || c == "_" {
            text.append(c)
            advance()
        }
        tokens.append(Token(.identifier(text), start))
    }

    private mutating func lexNumber() throws(Diagnostic) {
        let start = here
        var text = ""
        var isFloat = false
        while let c = peek(), c.isNumber || c == "_" {
            if c != "_" { text.append(c) }
            advance()
        }
        // A '.' starts a fraction only when a digit follows ("0 ..< n" is a range).
        if peek() == ".", let next = peek(1), next.isNumber {
            isFloat = true
            text.append(".")
            advance()
            while let c = peek(), c.isNumber {
                text.append(c)
                advance()
            }
        }
        if let e = peek(), e == "e" || e == "E" {
            let sign = peek(1)
            let digitAt = (sign == "+" || sign == "-") ? 2 : 1
            if let d = peek(digitAt), d.isNumber {
                isFloat = true
                for _ in 0..<digitAt {
                    text.append(chars[index])
                    advance()
                }
                while let c = peek(), c.isNumber {
                    text.append(c)
                    advance()
                }
            }
        }
        // Size suffixes for readability: 4k = 4096, 1m = 1048576.
        if !isFloat, let s = peek(), s == "k" || s == "K" || s == "m" || s == "M",
            !(peek(1).map { $0.isLetter || $0.isNumber || $0 == "_" } ?? false)
        {
            advance()
            guard let base = Int(text) else { throw Diagnostic(.overflow, source, start, "integer literal too large") }
            let factor = (s == "k" || s == "K") ? 1024 : 1024 * 1024
            let (product, overflow) = base.multipliedReportingOverflow(by: factor)
            if overflow { throw Diagnostic(.overflow, source, start, "integer literal too large") }
            tokens.append(Token(.integer(product), start))
            return
        }
        if isFloat {
            guard let value = Double(text) else { throw Diagnostic(.syntax, source, start, "malformed number '\(text)'") }
            tokens.append(Token(.float(value), start))
        } else {
            guard let value = Int(text) else { throw Diagnostic(.overflow, source, start, "integer literal too large") }
            tokens.append(Token(.integer(value), start))
        }
    }

    private mutating func lexString() throws(Diagnostic) {
        let start = here
        advance()
        var text = ""
        while let c = peek(), c != "\"" {
            if c == "\n" { throw Diagnostic(.syntax, source, start, "unterminated string") }
            text.append(c)
            advance()
        }
        guard peek() == "\"" else { throw Diagnostic(.syntax, source, start, "unterminated string") }
        advance()
        tokens.append(Token(.string(text), start))
    }

    private static let symbols = ["..<", "==", "!=", "<=", ">=", "->", "(", ")", "[", "]", ",", ":", ";",
                                  "=", "+", "-", "*", "/", "%", "@", "^", "<", ">"]

    private mutating func lexSymbol() throws(Diagnostic) {
        let start = here
        for symbol in Lexer.symbols {
            let symbolChars = Array(symbol)
            if index + symbolChars.count <= chars.count,
                Array(chars[index..<(index + symbolChars.count)]) == symbolChars
            {
                for _ in symbolChars { advance() }
                if symbol == "(" || symbol == "[" { bracketDepth += 1 }
                if symbol == ")" || symbol == "]" { bracketDepth = max(0, bracketDepth - 1) }
                tokens.append(Token(.symbol(symbol), start))
                return
            }
        }
        throw Diagnostic(.syntax, source, start, "unexpected character '\(chars[index])'")
    }
}
