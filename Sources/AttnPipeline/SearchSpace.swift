import TileInterpreter
import TileLanguage

/// The configurations a program offers for tuning, declared in its own source by
/// `# @tune` comment lines (docs/cost-model.md, "Search spaces"), so that `tune`, `bench`
/// and the model's GEMM tile selection search what the program says and a user's program
/// declares its own:
///
///     # @tune Br: 16, 32, 64, 128, 256
///     # @tune BM, BN, BK, S if M >= 256: (128, 256, 64, 1), (256, 128, 64, 1)
///
/// A line names declared parameters, optionally a condition, and the values (one name)
/// or tuples (several names) they take. Lines naming the same parameters form a *group*
/// whose tuples are those of its lines, in order, whose conditions hold; the space is the
/// product of the groups, in the order the programs declare their first parameters (the
/// first group varying slowest). A condition (`NAME op INTEGER`, joined by `and`; op one
/// of `< <= > >= == !=`) reads a parameter the caller sets (a GEMM's `M`, `Kin`, `Nout`),
/// never a tuned one. A program with no `# @tune` line has one configuration: its defaults.
///
/// The lines are comments to the tile language, so the parser and checker never see them;
/// this type reads them from the program's source and reports a malformed one as a
/// diagnostic at its line and column.
public struct SearchSpace: Sendable, Equatable {
    /// How a condition compares the caller's value with its integer.
    public enum Relation: String, Sendable, Equatable, CaseIterable {
        case less = "<", lessOrEqual = "<=", greater = ">", greaterOrEqual = ">=", equal = "==", notEqual = "!="

        func holds(_ a: Int, _ b: Int) -> Bool {
            switch self {
            case .less: return a < b
            case .lessOrEqual: return a <= b
            case .greater: return a > b
            case .greaterOrEqual: return a >= b
            case .equal: return a == b
            case .notEqual: return a != b
            }
        }
    }

    /// `parameter relation value`, over the value the caller sets.
    public struct Condition: Sendable, Equatable {
        public var parameter: String
        public var relation: Relation
        public var value: Int
        public var location: SourceLocation
    }

    /// One `# @tune` line: the tuples its group takes when every condition holds.
    public struct Line: Sendable, Equatable {
        public var conditions: [Condition]
        public var tuples: [[Int]]
        public var location: SourceLocation
    }

    /// Parameters tuned together and the lines that give their tuples.
    public struct Group: Sendable, Equatable {
        public var parameters: [String]
        public var lines: [Line]
    }

    /// The groups, in the order the program declares their first parameters.
    public private(set) var groups: [Group]
    /// The program's source, for diagnostics.
    public let source: SourceFile

    /// The marker that opens a declaration line (after `#` and spaces).
    public static let marker = "@tune"

    /// Reads the `# @tune` lines of `program`; a malformed one is a diagnostic at its line
    /// and column (a name that is not a declared parameter, a tuple of the wrong size, a
    /// parameter in two groups, a condition on a tuned parameter, ...).
    public init(declaredBy program: Program) throws(Diagnostic) {
        source = program.source
        let declared = program.declaredParameters.map(\.name)
        var groups: [Group] = []
        var lineCount = 1
        for character in source.text.utf8 where character == UInt8(ascii: "\n") { lineCount += 1 }
        for number in 1...lineCount {
            let text = source.line(number)
            guard let (names, line) = try Self.parse(text, number: number, source: source) else { continue }
            for name in names {
                guard declared.contains(name.text) else {
                    let builtIn = program.parameterIndex(name.text).map { program.parameters[$0].isBuiltIn } ?? false
                    let what = builtIn
                        ? "'\(name.text)' is a built-in parameter, set by the run; @tune names declared parameters"
                        : "unknown parameter '\(name.text)'; " + (declared.isEmpty ? "the program declares none" : "declared: \(declared.joined(separator: ", "))")
                    throw Diagnostic(.type, source, SourceLocation(line: number, column: name.column), what)
                }
            }
            let parameters = names.map(\.text)
            if let index = groups.firstIndex(where: { $0.parameters == parameters }) {
                groups[index].lines.append(line)
                continue
            }
            for name in names {
                if let other = groups.first(where: { $0.parameters.contains(name.text) }) {
                    throw Diagnostic(
                        .type, source, SourceLocation(line: number, column: name.column),
                        "'\(name.text)' is already tuned with \(other.parameters.joined(separator: ", ")) on line \(other.lines[0].location.line); a parameter belongs to one @tune group")
                }
            }
            groups.append(Group(parameters: parameters, lines: [line]))
        }
        let tuned = Set(groups.flatMap(\.parameters))
        for group in groups {
            for line in group.lines {
                for condition in line.conditions {
                    guard !tuned.contains(condition.parameter) else {
                        throw Diagnostic(
                            .type, source, condition.location,
                            "the condition reads '\(condition.parameter)', which is tuned; a condition reads a parameter the caller sets")
                    }
                    guard declared.contains(condition.parameter) else {
                        throw Diagnostic(
                            .type, source, condition.location,
                            "the condition reads '\(condition.parameter)', which is not a declared parameter; a condition reads a parameter the caller sets")
                    }
                }
            }
        }
        self.groups = groups.sorted { (declared.firstIndex(of: $0.parameters[0]) ?? 0) < (declared.firstIndex(of: $1.parameters[0]) ?? 0) }
    }

    /// The parameters the space tunes, group by group.
    public var parameters: [String] { groups.flatMap(\.parameters) }

    /// Every configuration, in order: the product of the groups, each group's tuples in the
    /// order its lines give them, lines whose condition fails on `fixed` left out. A
    /// condition on a parameter `fixed` does not set (or sets to a non-integer) is a
    /// diagnostic at the condition.
    public func configurations(fixed: [String: ScalarValue] = [:]) throws(Diagnostic) -> [[String: Int]] {
        var configurations: [[String: Int]] = [[:]]
        for group in groups {
            var tuples: [[Int]] = []
            for line in group.lines where try holds(line.conditions, fixed: fixed) {
                tuples += line.tuples
            }
            configurations = configurations.flatMap { base in
                tuples.map { tuple in base.merging(zip(group.parameters, tuple)) { $1 } }
            }
        }
        return configurations
    }

    private func holds(_ conditions: [Condition], fixed: [String: ScalarValue]) throws(Diagnostic) -> Bool {
        for condition in conditions {
            guard case .int(let value)? = fixed[condition.parameter] else {
                throw Diagnostic(
                    .bounds, source, condition.location,
                    "the @tune condition reads '\(condition.parameter)', which this run does not set to an integer; it applies where the caller sets it (as the model sets a GEMM's M, Kin and Nout)")
            }
            if !condition.relation.holds(value, condition.value) { return false }
        }
        return true
    }

    // MARK: Reading one line

    /// A word, number or symbol of a declaration line and its 1-based column.
    private struct Token {
        var text: String
        var column: Int
        var isName: Bool { text.first.map { $0.isLetter || $0 == "_" } ?? false }
    }

    /// The names and the line of a `# @tune` declaration; nil when `text` is not one.
    private static func parse(_ text: String, number: Int, source: SourceFile) throws(Diagnostic) -> ([Token], Line)? {
        let characters = Array(text)
        var index = 0
        while index < characters.count, characters[index] == " " || characters[index] == "\t" { index += 1 }
        guard index < characters.count, characters[index] == "#" else { return nil }
        index += 1
        while index < characters.count, characters[index] == " " || characters[index] == "\t" { index += 1 }
        // `@tune` followed by anything but a name character opens a declaration (`# @tune:`
        // is a malformed one, not a comment); `# @tuned` is a comment.
        let rest = String(characters[index...])
        guard rest.hasPrefix(marker), !(rest.dropFirst(marker.count).first.map { $0.isLetter || $0.isNumber || $0 == "_" } ?? false) else {
            return nil
        }
        index += marker.count
        var tokens: [Token] = []
        while index < characters.count {
            let c = characters[index]
            let column = index + 1
            if c == " " || c == "\t" {
                index += 1
            } else if c.isLetter || c == "_" {
                var word = ""
                while index < characters.count, characters[index].isLetter || characters[index].isNumber || characters[index] == "_" {
                    word.append(characters[index])
                    index += 1
                }
                tokens.append(Token(text: word, column: column))
            } else if c.isNumber || (c == "-" && index + 1 < characters.count && characters[index + 1].isNumber) {
                var digits = String(c)
                index += 1
                while index < characters.count, characters[index].isNumber {
                    digits.append(characters[index])
                    index += 1
                }
                tokens.append(Token(text: digits, column: column))
            } else if "<>=!".contains(c) {
                var symbol = String(c)
                if index + 1 < characters.count, characters[index + 1] == "=" {
                    symbol.append("=")
                    index += 1
                }
                index += 1
                tokens.append(Token(text: symbol, column: column))
            } else if ",:()".contains(c) {
                tokens.append(Token(text: String(c), column: column))
                index += 1
            } else {
                throw Diagnostic(.syntax, source, SourceLocation(line: number, column: column), "unexpected '\(c)' in a @tune declaration")
            }
        }
        var reader = TokenReader(tokens: tokens, number: number, end: characters.count + 1, source: source)
        return try reader.declaration()
    }

    /// Reads `NAMES [if CONDITIONS]: VALUES` from the tokens of one line.
    private struct TokenReader {
        var tokens: [Token]
        var number: Int
        var end: Int
        var source: SourceFile
        var position = 0

        init(tokens: [Token], number: Int, end: Int, source: SourceFile) {
            self.tokens = tokens
            self.number = number
            self.end = end
            self.source = source
        }

        var current: Token? { position < tokens.count ? tokens[position] : nil }

        func error(_ message: String) -> Diagnostic {
            Diagnostic(.syntax, source, SourceLocation(line: number, column: current?.column ?? end), message)
        }

        mutating func expect(_ text: String, _ what: String) throws(Diagnostic) {
            guard current?.text == text else { throw error("expected \(what), found \(current.map { "'\($0.text)'" } ?? "the end of the line")") }
            position += 1
        }

        mutating func name(_ what: String) throws(Diagnostic) -> Token {
            guard let token = current, token.isName, token.text != "if", token.text != "and" else {
                throw error("expected \(what), found \(current.map { "'\($0.text)'" } ?? "the end of the line")")
            }
            position += 1
            return token
        }

        mutating func integer() throws(Diagnostic) -> Int {
            guard let token = current, let value = Int(token.text) else {
                throw error("expected an integer, found \(current.map { "'\($0.text)'" } ?? "the end of the line")")
            }
            position += 1
            return value
        }

        mutating func declaration() throws(Diagnostic) -> ([Token], Line) {
            let start = current?.column ?? end
            var names: [Token] = []
            repeat {
                if !names.isEmpty { position += 1 }
                let token = try name("a parameter name after @tune")
                guard !names.contains(where: { $0.text == token.text }) else {
                    throw Diagnostic(.syntax, source, SourceLocation(line: number, column: token.column), "'\(token.text)' is named twice")
                }
                names.append(token)
            } while current?.text == ","
            var conditions: [Condition] = []
            if current?.text == "if" {
                repeat {
                    position += 1
                    let parameter = try name("a parameter name in the condition")
                    guard let symbol = current, let relation = Relation(rawValue: symbol.text) else {
                        throw error("expected one of \(Relation.allCases.map(\.rawValue).joined(separator: " ")) after '\(parameter.text)'")
                    }
                    position += 1
                    let value = try integer()
                    conditions.append(Condition(
                        parameter: parameter.text, relation: relation, value: value, location: SourceLocation(line: number, column: parameter.column)))
                } while current?.text == "and"
            }
            try expect(":", "':' before the values")
            var tuples: [[Int]] = []
            repeat {
                if !tuples.isEmpty { position += 1 }
                if names.count == 1 {
                    tuples.append([try integer()])
                } else {
                    try expect("(", "a tuple of \(names.count) values, (\(names.map(\.text).joined(separator: ", ")))")
                    var tuple = [try integer()]
                    while current?.text == "," {
                        position += 1
                        tuple.append(try integer())
                    }
                    guard tuple.count == names.count else {
                        throw error("expected \(names.count) values in each tuple (\(names.map(\.text).joined(separator: ", "))), found \(tuple.count)")
                    }
                    try expect(")", "')' closing the tuple")
                    tuples.append(tuple)
                }
            } while current?.text == ","
            guard current == nil else { throw error("expected ',' or the end of the line, found '\(current?.text ?? "")'") }
            return (names, Line(conditions: conditions, tuples: tuples, location: SourceLocation(line: number, column: start)))
        }
    }
}
