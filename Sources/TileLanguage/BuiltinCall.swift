import AttnNumerics

/// One call of a built-in as a kernel runs it: its argument expressions, evaluated on
/// demand by the interpreter in its memory model (an SRAM operand is read into registers,
/// a materialized argument gets a buffer of its own), and where it is in the source.
package struct BuiltinCall {
    package let builtin: Builtin
    package let arguments: [Expr]
    package let location: SourceLocation
    package let evaluator: any BuiltinArgumentEvaluator

    package init(builtin: Builtin, arguments: [Expr], location: SourceLocation, evaluator: any BuiltinArgumentEvaluator) {
        self.builtin = builtin
        self.arguments = arguments
        self.location = location
        self.evaluator = evaluator
    }

    /// Whether tiles carry values (numeric mode); count mode builds shapes only.
    package var computesValues: Bool { evaluator.computesValues }

    /// Argument `index`; `materialized` when the built-in reads it from a buffer of its
    /// own (operands of reductions and rotations), not fused into it.
    package func value(_ index: Int, materialized: Bool = false) throws(Diagnostic) -> BuiltinValue {
        if case .dtype(let dtype) = arguments[index].kind { return .dtype(dtype) }
        return try evaluator.evaluateArgument(arguments[index], materialized: materialized)
    }

    /// Argument `index` as an integer.
    package func integer(_ index: Int) throws(Diagnostic) -> Int {
        guard case .int(let i) = try value(index) else { throw error("expected an integer", at: index) }
        return i
    }

    /// Argument `index` as a number (an integer reads as a Double).
    package func number(_ index: Int) throws(Diagnostic) -> Double {
        switch try value(index) {
        case .int(let i): return Double(i)
        case .float(let x): return x
        case .tile, .dtype: throw error("expected a number", at: index)
        }
    }

    /// Argument `index` when it is a tile; nil when it is not.
    package func tile(_ index: Int, materialized: Bool = false) throws(Diagnostic) -> Tile? {
        try value(index, materialized: materialized).tile
    }

    /// The call as written (its arguments rendered from the program), for messages.
    package var text: String {
        "\(builtin.name)(\(arguments.map { evaluator.render($0) }.joined(separator: ", ")))"
    }

    /// A new computed tile (in registers, fp32, with no values yet) of `rows` x `cols`
    /// elements: an overflow diagnostic naming the call when it would have more than
    /// `Tile.maxElements`, an error when its values would not fit in host memory.
    package func newTile(rows: Int, cols: Int, rank: Int) throws(Diagnostic) -> Tile {
        try Tile.checkSize(rows: rows, cols: cols, holdsValues: computesValues, source: evaluator.source, at: location) { text }
        return Tile.computed(rows: rows, cols: cols, rank: rank)
    }

    /// `a + b`, or an overflow diagnostic naming the call and what overflowed (`what`,
    /// e.g. "the last row's position p0 + r").
    package func add(_ a: Int, _ b: Int, _ what: @autoclosure () -> String) throws(Diagnostic) -> Int {
        let (sum, overflow) = a.addingReportingOverflow(b)
        if overflow { throw self.overflow("\(what()) = \(a) + \(Self.operand(b))") }
        return sum
    }

    /// `a - b`, as `add`.
    package func subtract(_ a: Int, _ b: Int, _ what: @autoclosure () -> String) throws(Diagnostic) -> Int {
        let (difference, overflow) = a.subtractingReportingOverflow(b)
        if overflow { throw self.overflow("\(what()) = \(a) - \(Self.operand(b))") }
        return difference
    }

    /// A right operand as written in a message: a negative one in parentheses.
    private static func operand(_ x: Int) -> String { x < 0 ? "(\(x))" : "\(x)" }

    /// The overflow diagnostic of the call: "integer overflow in 'call': detail does not
    /// fit in 64 bits".
    package func overflow(_ detail: String) -> Diagnostic {
        Diagnostic(.overflow, evaluator.source, location, "integer overflow in '\(text)': \(detail) does not fit in 64 bits")
    }

    /// A diagnostic at the call, or at argument `index`.
    package func error(_ message: String, at index: Int? = nil) -> Diagnostic {
        Diagnostic(.bounds, evaluator.source, index.map { arguments[$0].location } ?? location, message)
    }
}

/// What evaluates a built-in call's arguments: the interpreter.
package protocol BuiltinArgumentEvaluator: AnyObject {
    /// The program's source, for diagnostics.
    var source: SourceFile { get }
    /// Whether tiles carry values (numeric mode).
    var computesValues: Bool { get }
    /// The value of an argument expression; `materialized`: the consumer needs it in a
    /// buffer of its own.
    func evaluateArgument(_ e: Expr, materialized: Bool) throws(Diagnostic) -> BuiltinValue
    /// An expression as written, with the program's names (for messages).
    func render(_ e: Expr) -> String
}
