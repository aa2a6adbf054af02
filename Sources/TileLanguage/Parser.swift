import AttnNumerics

/// Parses tile-language tokens into a `Program` (names unresolved; see `Checker`).
///
/// The grammar, informally (docs/tile-language.md has the full reference):
///
///     program   := { about | param | tensor | check | require | kernel }
///     kernel    := 'kernel' NAME 'grid' '(' NAME ':' expr { ',' NAME ':' expr } ')' { ('threads' | 'warps' | 'stages' | 'cluster') '(' expr ')' | 'cluster' '(' NAME ':' expr ')' | 'mma' '(' ('sync' | 'async') [ ',' DTYPE ] ')' } ':' block
///     load      := 'load' access [ '->' ('sram' | 'reg') [ 'multicast' '(' NAME ')' ] ]
///     block     := NEWLINE INDENT { stmt } DEDENT | simple { ';' simple } NEWLINE
///     stmt      := 'for' NAME 'in' expr '..<' expr ':' block
///                | 'if' expr ':' block [ ('elif' ... | 'else' ':' block) ]
///                | simple { ';' simple } NEWLINE
///     simple    := NAME '=' expr | 'store' access '=' expr
///     expr      := or ;  precedence: or < and < not < comparison < + - < * / % @ < unary - < ^T
public struct Parser {
    private let source: SourceFile
    private let tokens: [Token]
    private var position = 0
    /// Current depth of recursive descent in expressions: nested expressions, unary operators.
    private var nesting = 0
    /// Current depth of nested blocks (and `elif` chains).
    private var blockNesting = 0

    static let keywords: Set<String> = [
        "about", "param", "input", "output", "temp", "check", "require", "kernel", "grid", "for", "in",
        "if", "elif", "else", "load", "store", "and", "or", "not", "inf", "rows", "cols",
    ]

    /// Lexes and parses `source`.
    public static func parse(_ source: SourceFile) throws(Diagnostic) -> Program {
        var parser = Parser(source: source, tokens: try Lexer.tokenize(source))
        return try parser.parseProgram()
    }

    private init(source: SourceFile, tokens: [Token]) {
        self.source = source
        self.tokens = tokens
    }

    // MARK: Token helpers

    private var current: Token { tokens[min(position, tokens.count - 1)] }

    private func error(_ message: String, at location: SourceLocation? = nil) -> Diagnostic {
        Diagnostic(.syntax, source, location ?? current.location, message)
    }

    private mutating func advance() { if position < tokens.count - 1 { position += 1 } }

    private func isSymbol(_ s: String) -> Bool { current.kind == .symbol(s) }

    private func isWord(_ s: String) -> Bool { current.kind == .identifier(s) }

    private mutating func expectSymbol(_ s: String, _ context: String) throws(Diagnostic) {
        guard isSymbol(s) else { throw error("expected '\(s)' \(context), found \(current.display)") }
        advance()
    }

    private mutating func expectWord(_ s: String, _ context: String) throws(Diagnostic) {
        guard isWord(s) else { throw error("expected '\(s)' \(context), found \(current.display)") }
        advance()
    }

    private mutating func expectName(_ context: String) throws(Diagnostic) -> (String, SourceLocation) {
        guard case .identifier(let name) = current.kind else {
            throw error("expected a name \(context), found \(current.display)")
        }
        if Parser.keywords.contains(name) {
            throw error("'\(name)' is a keyword and cannot be used as a name")
        }
        let location = current.location
        advance()
        return (name, location)
    }

    private mutating func expectEndOfLine() throws(Diagnostic) {
        if current.kind == .newline {
            advance()
        } else if current.kind != .end && current.kind != .dedent {
            throw error("expected end of line, found \(current.display)")
        }
    }

    // MARK: Top level

    private mutating func parseProgram() throws(Diagnostic) -> Program {
        var program = Program(
            source: source, about: nil, parameters: [], tensors: [], checks: [], requirements: [], kernels: [])
        while current.kind != .end {
            if current.kind == .newline {
                advance()
                continue
            }
            guard case .identifier(let word) = current.kind else {
                throw error("expected a declaration (param, input, output, temp, check, require, kernel), found \(current.display)")
            }
            let location = current.location
            switch word {
            case "about":
                advance()
                guard case .string(let text) = current.kind else { throw error("expected a quoted description after 'about'") }
                if program.about != nil { throw error("second 'about' line", at: location) }
                program.about = text
                advance()
            case "param":
                advance()
                let (name, nameLocation) = try expectName("after 'param'")
                try expectSymbol("=", "after the parameter name")
                let value = try parseExpression()
                program.parameters.append(ParameterDecl(name: name, defaultValue: value, location: nameLocation, isBuiltIn: false))
            case "input", "output", "temp":
                advance()
                program.tensors.append(try parseTensor(role: TensorRole(rawValue: word) ?? .temp, location: location))
            case "check":
                advance()
                program.checks.append(try parseCheck(location: location))
            case "require":
                advance()
                let condition = try parseExpression()
                var message: String?
                if isSymbol(",") {
                    advance()
                    guard case .string(let text) = current.kind else { throw error("expected a quoted message after ','") }
                    message = text
                    advance()
                }
                program.requirements.append(RequireDecl(condition: condition, message: message, location: location))
            case "kernel":
                advance()
                program.kernels.append(try parseKernel(location: location))
                continue
            default:
                throw error("expected a declaration (param, input, output, temp, check, require, kernel), found \(current.display)")
            }
            try expectEndOfLine()
        }
        return program
    }

    private mutating func parseTensor(role: TensorRole, location: SourceLocation) throws(Diagnostic) -> TensorDecl {
        let (name, _) = try expectName("for the tensor")
        try expectSymbol("[", "before the tensor's dimensions")
        var shape = [try parseExpression()]
        while isSymbol(",") {
            advance()
            shape.append(try parseExpression())
        }
        try expectSymbol("]", "after the tensor's dimensions")
        var tensor = TensorDecl(name: name, role: role, shape: shape, dtype: nil, location: location)
        if case .identifier(let word) = current.kind, word != "uniform", word != "permutation", word != "quantize", word != "pool" {
            if word == "i32" || word == "int32" {
                tensor.isInteger = true
            } else {
                guard let parsed = DType(name: word) else {
                    throw error("unknown dtype '\(word)'; expected \(DType.names.replacingOccurrences(of: " or ", with: ", ")) or i32")
                }
                tensor.dtype = parsed
            }
            advance()
        }
        if isWord("permutation") {
            guard tensor.isInteger else { throw error("'permutation' fills i32 tensors") }
            tensor.initializer = .permutation
            advance()
        } else if isWord("uniform") {
            advance()
            try expectSymbol("(", "after 'uniform'")
            let lo = try parseExpression()
            try expectSymbol(",", "between the bounds of 'uniform'")
            let hi = try parseExpression()
            try expectSymbol(")", "after the bounds of 'uniform'")
            tensor.initializer = .uniform(lo, hi)
        } else if isWord("quantize") {
            advance()
            try expectSymbol("(", "after 'quantize'")
            var names: [String] = []
            for _ in 0..<3 {
                names.append(try expectName("of a tensor of 'quantize'").0)
                try expectSymbol(",", "between the arguments of 'quantize'")
            }
            let format = try parseExpression()
            try expectSymbol(")", "after the arguments of 'quantize'")
            tensor.initializer = .quantize(QuantizeInitializer(sourceName: names[0], scalesName: names[1], zerosName: names[2], format: format))
        } else if isWord("pool") {
            advance()
            try expectSymbol("(", "after 'pool'")
            let sourceName = try expectName("of the tensor 'pool' reads").0
            try expectSymbol(",", "between the arguments of 'pool'")
            let statisticLocation = current.location
            let (word, _) = try expectName("of the statistic of 'pool' (mean, min or max)")
            guard let statistic = PoolInitializer.Statistic(rawValue: word) else {
                throw error("the statistic of 'pool' is mean, min or max, found '\(word)'", at: statisticLocation)
            }
            var sizes: [Expr] = []
            for _ in 0..<3 {
                try expectSymbol(",", "between the arguments of 'pool'")
                sizes.append(try parseExpression())
            }
            try expectSymbol(")", "after the arguments of 'pool'")
            tensor.initializer = .pool(PoolInitializer(sourceName: sourceName, statistic: statistic, length: sizes[0], stride: sizes[1], validRows: sizes[2]))
        }
        if tensor.initializer != .normal && role != .input {
            throw error("only input tensors have an initializer", at: location)
        }
        return tensor
    }

    private mutating func parseCheck(location: SourceLocation) throws(Diagnostic) -> CheckDecl {
        let (tensor, _) = try expectName("of the checked tensor")
        try expectSymbol("=", "after the checked tensor")
        let referenceLocation = current.location
        guard case .identifier(let referenceName) = current.kind else {
            throw error("expected a reference name, found \(current.display)")
        }
        guard let reference = ReferenceKind.named(referenceName) else {
            let known = ReferenceKind.allCases.map(\.rawValue).joined(separator: ", ")
            throw error("unknown reference '\(referenceName)'; expected one of: \(known)", at: referenceLocation)
        }
        advance()
        try expectSymbol("(", "after the reference name")
        var arguments: [String] = []
        var options: [CheckOption] = []
        while !isSymbol(")") {
            if !arguments.isEmpty || !options.isEmpty { try expectSymbol(",", "between reference arguments") }
            let (name, nameLocation) = try expectName("as a reference argument")
            if isSymbol(":") {
                advance()
                guard CheckDecl.optionNames.contains(name) else {
                    throw error("unknown reference option '\(name)'; expected one of: \(CheckDecl.optionNames.joined(separator: ", "))", at: nameLocation)
                }
                options.append(CheckOption(name: name, value: try parseExpression()))
            } else {
                guard options.isEmpty else { throw error("tensor arguments come before options", at: nameLocation) }
                arguments.append(name)
            }
        }
        advance()
        return CheckDecl(
            tensorName: tensor, tensor: -1, reference: reference, argumentNames: arguments, arguments: [],
            options: options, location: location)
    }

    private mutating func parseKernel(location: SourceLocation) throws(Diagnostic) -> KernelDecl {
        let (name, _) = try expectName("for the kernel")
        try expectWord("grid", "after the kernel name")
        try expectSymbol("(", "after 'grid'")
        var axes: [GridAxis] = []
        repeat {
            if !axes.isEmpty { advance() }
            let (axis, _) = try expectName("for a grid axis (grid(i: extent, ...))")
            try expectSymbol(":", "after the grid axis name")
            axes.append(GridAxis(name: axis, slot: -1, extent: try parseExpression()))
        } while isSymbol(",")
        try expectSymbol(")", "after the grid axes")
        // Launch attributes, each at most once, in any order; threads and warps exclude each other.
        var attributes: [String: Expr] = [:]
        var mma: MMAKind?
        var mmaDType: DType?
        var clusterAxis: GridAxis?
        while let word = ["threads", "warps", "stages", "cluster", "mma"].first(where: { isWord($0) }) {
            let at = current.location
            if word == "mma" {
                if mma != nil { throw error("'mma' is given twice for kernel '\(name)'", at: at) }
                advance()
                try expectSymbol("(", "after 'mma'")
                let (kind, kindAt) = try expectName("for the MMA kind (sync or async)")
                guard let parsed = MMAKind(rawValue: kind) else {
                    throw error("unknown MMA kind '\(kind)'; expected sync or async", at: kindAt)
                }
                mma = parsed
                if isSymbol(",") {
                    // `mma(async, fp8e4m3)`: the dtype the tensor cores multiply (its rate).
                    advance()
                    let (name, nameAt) = try expectName("for the MMA's input dtype")
                    guard let dtype = DType(matmulRateKey: name) else {
                        throw error("unknown MMA input dtype '\(name)'; expected \(DType.matmulRateKeys)", at: nameAt)
                    }
                    mmaDType = dtype
                }
                try expectSymbol(")", "after the MMA kind")
                continue
            }
            if attributes[word] != nil {
                throw error("'\(word)' is given twice for kernel '\(name)'", at: at)
            }
            if (word == "warps" && attributes["threads"] != nil) || (word == "threads" && attributes["warps"] != nil) {
                throw error("kernel '\(name)' gives both 'threads' and 'warps'; give one (warps(n) is threads(32 n))", at: at)
            }
            advance()
            try expectSymbol("(", "after '\(word)'")
            if word == "cluster", case .identifier = current.kind, position + 1 < tokens.count, tokens[position + 1].kind == .symbol(":") {
                // `cluster(c: n)`: blocks along grid axis c form clusters of n CTAs.
                if clusterAxis != nil { throw error("'cluster' is given twice for kernel '\(name)'", at: at) }
                let (axis, _) = try expectName("for the cluster's grid axis (cluster(c: n))")
                advance()
                clusterAxis = GridAxis(name: axis, slot: -1, extent: try parseExpression())
                try expectSymbol(")", "after the cluster's CTA count")
                continue
            }
            if word == "cluster" && clusterAxis != nil { throw error("'cluster' is given twice for kernel '\(name)'", at: at) }
            attributes[word] = try parseExpression()
            let counted = ["stages": "stage", "warps": "warp", "cluster": "CTA"][word] ?? "thread"
            try expectSymbol(")", "after the \(counted) count")
        }
        try expectSymbol(":", "to open the kernel body")
        let body = try parseBlock()
        return KernelDecl(
            name: name, axes: axes, threads: attributes["threads"], warps: attributes["warps"], stages: attributes["stages"],
            cluster: attributes["cluster"], clusterAxis: clusterAxis, mma: mma, mmaDType: mmaDType, body: body, location: location, slotNames: [])
    }

    // MARK: Statements

    private mutating func parseBlock() throws(Diagnostic) -> [Stmt] {
        if blockNesting + 1 > Parser.maxDepth {
            throw error("blocks nested deeper than \(Parser.maxDepth) levels")
        }
        blockNesting += 1
        defer { blockNesting -= 1 }
        if current.kind != .newline {
            return try parseSimpleLine()
        }
        advance()
        guard current.kind == .indent else { throw error("expected an indented block") }
        advance()
        var body: [Stmt] = []
        while current.kind != .dedent && current.kind != .end {
            if current.kind == .newline {
                advance()
                continue
            }
            body.append(contentsOf: try parseStatement())
        }
        if current.kind == .dedent { advance() }
        return body
    }

    private mutating func parseStatement() throws(Diagnostic) -> [Stmt] {
        let location = current.location
        if isWord("for") {
            advance()
            let (variable, _) = try expectName("for the loop variable")
            try expectWord("in", "after the loop variable")
            let lower = try parseExpression()
            try expectSymbol("..<", "in the loop range (for i in lo ..< hi)")
            let upper = try parseExpression()
            try expectSymbol(":", "to open the loop body")
            let body = try parseBlock()
            return [Stmt(.loop(variable: variable, slot: -1, lower: lower, upper: upper, body: body), location)]
        }
        if isWord("if") {
            advance()
            return [try parseConditional(location: location)]
        }
        return try parseSimpleLine()
    }

    private mutating func parseConditional(location: SourceLocation) throws(Diagnostic) -> Stmt {
        let condition = try parseExpression()
        try expectSymbol(":", "to open the 'if' body")
        let then = try parseBlock()
        var otherwise: [Stmt] = []
        if isWord("elif") {
            let elifLocation = current.location
            if blockNesting + 1 > Parser.maxDepth { throw error("'elif' chain longer than \(Parser.maxDepth)", at: elifLocation) }
            blockNesting += 1
            defer { blockNesting -= 1 }
            advance()
            otherwise = [try parseConditional(location: elifLocation)]
        } else if isWord("else") {
            advance()
            try expectSymbol(":", "after 'else'")
            otherwise = try parseBlock()
        }
        return Stmt(.conditional(condition, then: then, otherwise: otherwise), location)
    }

    private mutating func parseSimpleLine() throws(Diagnostic) -> [Stmt] {
        var statements = [try parseSimple()]
        while isSymbol(";") {
            advance()
            if current.kind == .newline { break }
            statements.append(try parseSimple())
        }
        try expectEndOfLine()
        return statements
    }

    private mutating func parseSimple() throws(Diagnostic) -> Stmt {
        let location = current.location
        if isWord("store") {
            advance()
            let access = try parseAccess()
            try expectSymbol("=", "after the stored slice")
            return Stmt(.store(access, try parseExpression()), location)
        }
        if isWord("else") || isWord("elif") {
            throw error("'\(isWord("else") ? "else" : "elif")' without a matching 'if' at this indentation")
        }
        let (name, _) = try expectName("at the start of a statement (an assignment, store, for or if)")
        try expectSymbol("=", "after '\(name)' (statements are assignments, stores, loops and ifs)")
        let value = try parseExpression()
        guard isSymbol("->") else { return Stmt(.assign(name: name, slot: -1, value), location) }
        // `x = expr -> tmem`: the result is held in Blackwell's tensor memory.
        advance()
        guard isWord("tmem") else {
            throw error("expected 'tmem' after '->' at the end of an assignment (a result is placed in tensor memory; loads take '-> sram' or '-> reg'), found \(current.display)")
        }
        advance()
        return Stmt(.assign(name: name, slot: -1, value), location, placement: .tensorMemory)
    }

    // MARK: Expressions

    /// The deepest expression tree (and the deepest nesting of parentheses, unary
    /// operators and blocks) a program may have: every later pass walks trees
    /// recursively, so depth is bounded here, with a diagnostic, instead of by the stack.
    public static let maxDepth = 200

    /// An expression and the height of its tree (a leaf is 1).
    private typealias Node = (expr: Expr, height: Int)

    /// Counts one more level of parser recursion; throws past `maxDepth`.
    private mutating func enter() throws(Diagnostic) {
        nesting += 1
        if nesting > Parser.maxDepth { throw tooDeep(at: current.location) }
    }

    private func tooDeep(at location: SourceLocation) -> Diagnostic {
        error("expression nested deeper than \(Parser.maxDepth) levels; split it with intermediate assignments", at: location)
    }

    /// A node over `children` built at `location`, checked against `maxDepth`.
    private func node(_ kind: Expr.Kind, _ location: SourceLocation, _ children: Int...) throws(Diagnostic) -> Node {
        let height = 1 + (children.max() ?? 0)
        if height > Parser.maxDepth { throw tooDeep(at: location) }
        return (Expr(kind, location), height)
    }

    public mutating func parseExpression() throws(Diagnostic) -> Expr {
        try expression().expr
    }

    private mutating func expression() throws(Diagnostic) -> Node {
        try enter()
        defer { nesting -= 1 }
        return try parseOr()
    }

    private mutating func parseOr() throws(Diagnostic) -> Node {
        var left = try parseAnd()
        while isWord("or") {
            let location = current.location
            advance()
            let right = try parseAnd()
            left = try node(.binary(.or, left.expr, right.expr), location, left.height, right.height)
        }
        return left
    }

    private mutating func parseAnd() throws(Diagnostic) -> Node {
        var left = try parseNot()
        while isWord("and") {
            let location = current.location
            advance()
            let right = try parseNot()
            left = try node(.binary(.and, left.expr, right.expr), location, left.height, right.height)
        }
        return left
    }

    private mutating func parseNot() throws(Diagnostic) -> Node {
        if isWord("not") {
            let location = current.location
            try enter()
            defer { nesting -= 1 }
            advance()
            let operand = try parseNot()
            return try node(.unary(.not, operand.expr), location, operand.height)
        }
        return try parseComparison()
    }

    private mutating func parseComparison() throws(Diagnostic) -> Node {
        let left = try parseAdditive()
        for op in [BinaryOperator.equal, .notEqual, .lessEqual, .greaterEqual, .less, .greater] where isSymbol(op.rawValue) {
            let location = current.location
            advance()
            let right = try parseAdditive()
            for other in ["==", "!=", "<=", ">=", "<", ">"] where isSymbol(other) {
                throw error("comparisons do not chain; combine them with 'and'")
            }
            return try node(.binary(op, left.expr, right.expr), location, left.height, right.height)
        }
        return left
    }

    private mutating func parseAdditive() throws(Diagnostic) -> Node {
        var left = try parseMultiplicative()
        while isSymbol("+") || isSymbol("-") {
            let op: BinaryOperator = isSymbol("+") ? .add : .subtract
            let location = current.location
            advance()
            let right = try parseMultiplicative()
            left = try node(.binary(op, left.expr, right.expr), location, left.height, right.height)
        }
        return left
    }

    private mutating func parseMultiplicative() throws(Diagnostic) -> Node {
        var left = try parseUnary()
        while true {
            let op: BinaryOperator
            if isSymbol("*") { op = .multiply } else if isSymbol("/") { op = .divide } else if isSymbol("%") {
                op = .remainder
            } else if isSymbol("@") { op = .matmul } else { return left }
            let location = current.location
            advance()
            let right = try parseUnary()
            left = try node(.binary(op, left.expr, right.expr), location, left.height, right.height)
        }
    }

    private mutating func parseUnary() throws(Diagnostic) -> Node {
        if isSymbol("-") {
            let location = current.location
            try enter()
            defer { nesting -= 1 }
            advance()
            let operand = try parseUnary()
            switch operand.expr.kind {
            case .integer(let i):
                // The lexer rejects 9223372036854775808, so a folded literal is never Int.min;
                // negating one would trap, so guard anyway.
                guard i != Int.min else { throw Diagnostic(.overflow, source, location, "integer literal too large") }
                return (Expr(.integer(-i), location), 1)
            case .float(let x): return (Expr(.float(-x), location), 1)
            default: return try node(.unary(.negate, operand.expr), location, operand.height)
            }
        }
        return try parsePostfix()
    }

    private mutating func parsePostfix() throws(Diagnostic) -> Node {
        var operand = try parsePrimary()
        while isSymbol("^") {
            let location = current.location
            advance()
            guard isWord("T") else { throw error("expected 'T' after '^' (transpose is written x^T)") }
            advance()
            operand = try node(.transpose(operand.expr), location, operand.height)
        }
        return operand
    }

    private mutating func parsePrimary() throws(Diagnostic) -> Node {
        let token = current
        switch token.kind {
        case .integer(let i):
            advance()
            return (Expr(.integer(i), token.location), 1)
        case .float(let x):
            advance()
            return (Expr(.float(x), token.location), 1)
        case .symbol("("):
            advance()
            let inner = try expression()
            try expectSymbol(")", "to close '('")
            return inner
        case .identifier("inf"):
            advance()
            return (Expr(.float(.infinity), token.location), 1)
        case .identifier("load"):
            advance()
            var (access, height) = try parseAccessNode()
            var level = TileLevel.sram
            if isWord("multicast") {
                throw error("a multicast load names its level first: 'load T[...] -> sram multicast(c)'")
            }
            if isSymbol("->") {
                advance()
                if isWord("sram") {
                    level = .sram
                } else if isWord("reg") || isWord("registers") {
                    level = .registers
                } else if isWord("tmem") {
                    throw error("a load goes to 'sram' or 'reg', not 'tmem': tensor memory holds results ('x = a @ b -> tmem')")
                } else {
                    throw error("expected 'sram' or 'reg' after '->', found \(current.display)")
                }
                advance()
                if isWord("multicast") {
                    // `-> sram multicast(c)`: one TMA multicast to the CTAs of the cluster along c.
                    let at = current.location
                    advance()
                    try expectSymbol("(", "after 'multicast'")
                    let (axis, _) = try expectName("for the cluster's grid axis (multicast(c))")
                    try expectSymbol(")", "after the multicast's grid axis")
                    access.multicast = Multicast(axis: axis, location: at)
                }
            }
            return try node(.load(access, level), token.location, height)
        case .identifier(let name):
            if Parser.keywords.contains(name) {
                throw error("unexpected keyword '\(name)' in an expression")
            }
            advance()
            if isSymbol("(") {
                return try parseCall(name, at: token.location)
            }
            return (Expr(.name(name), token.location), 1)
        default:
            throw error("expected an expression, found \(token.display)")
        }
    }

    private mutating func parseCall(_ name: String, at location: SourceLocation) throws(Diagnostic) -> Node {
        guard let builtin = Builtin.named(name) else {
            let known = Builtin.allCases.map(\.name).joined(separator: ", ")
            throw error("unknown function '\(name)'; built-in functions are: \(known)", at: location)
        }
        advance()
        var arguments: [Expr] = []
        var height = 0
        while !isSymbol(")") {
            if !arguments.isEmpty { try expectSymbol(",", "between arguments") }
            let argument = try expression()
            arguments.append(argument.expr)
            height = max(height, argument.height)
        }
        advance()
        guard builtin.arity.contains(arguments.count) else {
            let expected = builtin.arity.count == 1 ? "\(builtin.arity.lowerBound)"
                : "\(builtin.arity.lowerBound) or \(builtin.arity.upperBound)"
            throw error("'\(name)' takes \(expected) argument(s), found \(arguments.count)", at: location)
        }
        for (index, spec) in builtin.spec.arguments(count: arguments.count).enumerated() where spec.type == .dtype {
            guard case .name(let dtypeName) = arguments[index].kind, let dtype = DType(name: dtypeName) else {
                throw error("\(spec.name) of '\(name)' must be a dtype: \(DType.names)", at: arguments[index].location)
            }
            arguments[index] = Expr(.dtype(dtype), arguments[index].location)
        }
        return try node(.call(builtin, arguments), location, height)
    }

    private mutating func parseAccess() throws(Diagnostic) -> TensorAccess {
        try parseAccessNode().access
    }

    /// A tensor slice and the height of its tallest index expression.
    private mutating func parseAccessNode() throws(Diagnostic) -> (access: TensorAccess, height: Int) {
        let location = current.location
        guard case .identifier(let name) = current.kind, !Parser.keywords.contains(name) else {
            throw error("expected a tensor name, found \(current.display)")
        }
        advance()
        try expectSymbol("[", "after the tensor name")
        var indices: [TensorIndex] = []
        var height = 0
        while true {
            let index = try parseIndex()
            indices.append(index.index)
            height = max(height, index.height)
            if isSymbol(",") {
                advance()
                continue
            }
            try expectSymbol("]", "to close the tensor indices")
            break
        }
        return (TensorAccess(tensorName: name, indices: indices, location: location), height)
    }

    private mutating func parseIndex() throws(Diagnostic) -> (index: TensorIndex, height: Int) {
        let location = current.location
        if isSymbol(":") {
            advance()
            return (.all(location), 0)
        }
        if isWord("rows") || isWord("cols") {
            advance()
            try expectSymbol("(", "after rows/cols")
            let block = try expression()
            try expectSymbol(",", "between the block index and the block size")
            let size = try expression()
            try expectSymbol(")", "after the block size")
            return (.block(block.expr, size.expr, location), max(block.height, size.height))
        }
        let start = try expression()
        if isSymbol("..<") {
            advance()
            let end = try expression()
            return (.range(start.expr, end.expr, location), max(start.height, end.height))
        }
        return (.scalar(start.expr), start.height)
    }
}
