/// Integer arithmetic, and the minimum and maximum of numbers or tiles.
extension Builtin {
    static let arithmetic: [Builtin] = [.cdiv, .min, .max]

    /// `cdiv(a, b)`: ceil(a / b) of integers (block counts: `cdiv(N, Br)`). Counts nothing.
    public static let cdiv = Builtin(
        "cdiv",
        BuiltinSpec(required: [ArgumentSpec("an argument", .integer), ArgumentSpec("an argument", .integer)], result: .integer, counting: .none),
        .integer({ (x: [Int]) throws(BuiltinFailure) -> Int in
            if x[1] == 0 { throw .invalid("division by zero in 'cdiv'") }
            if IntegerArithmetic.overflows(x[0], dividedBy: x[1]) { throw .overflow }
            return IntegerArithmetic.ceilDivide(x[0], x[1])
        }, form: .ceilingDivision))

    /// `min(a, b)`: of integers an integer, of numbers a float, with a tile elementwise
    /// (broadcasting as `+` does). One "other" FLOP per element of a tile result.
    public static let min = extremum("min", form: .extremum(minimum: true), kind: .min) { Swift.min($0, $1) } float: { Swift.min($0, $1) }

    /// `max(a, b)`, as `min`.
    public static let max = extremum("max", form: .extremum(minimum: false), kind: .max) { Swift.max($0, $1) } float: { Swift.max($0, $1) }

    private static func extremum(
        _ name: String, form: IntegerForm, kind: TileMath.Binary,
        _ integer: @escaping @Sendable (Int, Int) -> Int, float: @escaping @Sendable (Double, Double) -> Double
    ) -> Builtin {
        let operand = ArgumentSpec("an operand", .numberOrTile)
        return Builtin(
            name, BuiltinSpec(required: [operand, operand], result: .broadcast, isElementwise: true, counting: .elementwise),
            .elementwise(
                scalar: { x in
                    if case .int(let a) = x[0], case .int(let b) = x[1] { return .int(integer(a, b)) }
                    return .float(float(x[0].number, x[1].number))
                },
                tile: { x, call throws(Diagnostic) in
                    TileOutput(try Tile.elementwise(
                        x[0], x[1], kind: kind, name: name, source: call.evaluator.source, at: call.location, expression: { call.text }) { kind.apply($0, $1) })
                },
                form: form))
    }
}
