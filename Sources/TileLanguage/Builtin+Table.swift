extension Builtin {
    /// This built-in's entry in the table.
    public var spec: BuiltinSpec { Self.table[self] ?? makeSpec() }

    /// The table, built once (the analyses read it in their inner loops).
    private static let table: [Builtin: BuiltinSpec] = Dictionary(uniqueKeysWithValues: allCases.map { ($0, $0.makeSpec()) })

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
