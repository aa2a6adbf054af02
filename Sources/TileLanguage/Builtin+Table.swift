extension Builtin {
    /// This built-in's entry in the table.
    public var spec: BuiltinSpec { Self.table[tableIndex] }

    /// The table, built once in declaration order (the analyses read it in their inner
    /// loops, so it is indexed, not hashed).
    private static let table: [BuiltinSpec] = allCases.map { $0.makeSpec() }

    /// This case's position in `allCases`.
    private var tableIndex: Int {
        switch self {
        case .cdiv: return 0
        case .min: return 1
        case .max: return 2
        case .exp: return 3
        case .log: return 4
        case .sqrt: return 5
        case .rowmax: return 6
        case .rowsum: return 7
        case .zeros: return 8
        case .full: return 9
        case .cast: return 10
        case .maskCausal: return 11
        case .maskWindow: return 12
        case .col: return 13
        case .fa2NumSplits: return 14
        case .blockMask: return 15
        }
    }

    private func makeSpec() -> BuiltinSpec {
        let integer = ArgumentSpec("an argument", .integer)
        switch self {
        case .cdiv:
            return BuiltinSpec(required: [integer, integer], result: .integer, counting: .none)
        case .min, .max:
            let operand = ArgumentSpec("an operand", .numberOrTile)
            return BuiltinSpec(required: [operand, operand], result: .broadcast, isElementwise: true, counting: .elementwise)
        case .exp, .log, .sqrt:
            return BuiltinSpec(
                required: [ArgumentSpec("the operand", .numberOrTile)], result: .floatOrFirst, isElementwise: true,
                counting: self == .exp ? .exp : self == .log ? .log : .elementwise)
        case .rowmax, .rowsum:
            return BuiltinSpec(required: [ArgumentSpec("the tile", .tile2D)], result: .tile1D, counting: .rowReduction)
        case .zeros:
            let size = ArgumentSpec("a size", .integer, .tileSize)
            return BuiltinSpec(required: [size], optional: [size], result: .tileOfSizes, counting: .none)
        case .full:
            let size = ArgumentSpec("a size", .integer, .tileSize)
            return BuiltinSpec(
                required: [size], optional: [size], trailing: [ArgumentSpec("the fill value", .number)],
                result: .tileOfSizes, counting: .none)
        case .cast:
            return BuiltinSpec(
                required: [ArgumentSpec("the tile", .tile), ArgumentSpec("the dtype", .dtype)],
                result: .firstArgument, isElementwise: true, counting: .cast)
        case .maskCausal, .maskWindow:
            var required = [
                ArgumentSpec("the scores", .tile2D), ArgumentSpec("the first query position", .integer, .queryPosition),
                ArgumentSpec("the first key position", .integer, .keyPosition),
            ]
            if self == .maskWindow { required.append(ArgumentSpec("the window", .integer, .setting)) }
            return BuiltinSpec(
                required: required, optional: [ArgumentSpec("the row period", .integer, .setting)],
                result: .firstArgument, isElementwise: true, counting: .mask)
        case .col:
            return BuiltinSpec(
                required: [ArgumentSpec("the tile", .tile2D), ArgumentSpec("the column", .integer, .setting)],
                result: .tile1D, counting: .none)
        case .fa2NumSplits:
            return BuiltinSpec(required: Array(repeating: integer, count: 4), result: .integer, counting: .none)
        case .blockMask:
            return BuiltinSpec(required: Array(repeating: integer, count: 7), result: .integer, counting: .none)
        }
    }
}
