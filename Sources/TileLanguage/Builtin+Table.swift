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
        case .ropeCos: return 16
        case .ropeSin: return 17
        case .rope: return 18
        case .alibiSlope: return 19
        case .alibi: return 20
        case .softcap: return 21
        case .elu1: return 22
        case .dequant: return 23
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
        case .ropeCos, .ropeSin:
            // Per element: the angle (p theta_c, one multiply) and its cosine or sine.
            return BuiltinSpec(
                required: [
                    ArgumentSpec("the first position", .integer), ArgumentSpec("the rows", .integer, .tileSize),
                    ArgumentSpec("the pairs (d / 2)", .integer, .tileSize), ArgumentSpec("the base", .number),
                    ArgumentSpec("the scaling", .integer, .setting), ArgumentSpec("the scaling factor", .number),
                    ArgumentSpec("the original context", .integer),
                ],
                result: .tileOfSizes, counting: .perElement(other: 1, special: 1))
        case .rope:
            // Per element: x cos and its partner times sin (two multiplies), and their sum.
            return BuiltinSpec(
                required: [ArgumentSpec("the tile", .tile2D), ArgumentSpec("the cosines", .tile2D), ArgumentSpec("the sines", .tile2D)],
                result: .firstArgument, counting: .perElement(other: 3, special: 0))
        case .alibiSlope:
            // Which head decides which slope and whether the call is valid (a kernel over
            // the heads writes them to a tensor, as FlashAttention-2 takes them).
            return BuiltinSpec(
                required: [ArgumentSpec("the head", .integer, .setting), ArgumentSpec("the head count", .integer, .setting)],
                result: .floatOrFirst, counting: .none)
        case .alibi:
            // Per element: the slope times the distance, added to the score.
            return BuiltinSpec(
                required: [
                    ArgumentSpec("the scores", .tile2D), ArgumentSpec("the first query position", .integer),
                    ArgumentSpec("the first key position", .integer),
                    ArgumentSpec("the slope (a number or a one-element tile)", .numberOrTile),
                ],
                result: .firstArgument, isElementwise: true, counting: .perElement(other: 2, special: 0))
        case .softcap:
            // Per element: s / c, tanh (a special function), times c.
            return BuiltinSpec(
                required: [ArgumentSpec("the scores", .tile), ArgumentSpec("the cap", .number)],
                result: .firstArgument, isElementwise: true, counting: .perElement(other: 2, special: 1))
        case .elu1:
            // Per element: e^x (a special function) and the select x + 1.
            return BuiltinSpec(
                required: [ArgumentSpec("the tile", .tile)], result: .firstArgument, isElementwise: true,
                counting: .perElement(other: 1, special: 1))
        case .dequant:
            // Per element of the result: one fused multiply-add, code * scale + zero (two
            // FLOPs, also for FP8, whose zero is 0); decoding a code (integer to float,
            // an FP8 bit pattern, a nibble) is a conversion, counted like `cast`: nothing.
            // The format decides the result's columns (int4 doubles them).
            let factor = ArgumentSpec("a scale or zero point (a number or a tile)", .numberOrTile)
            return BuiltinSpec(
                required: [ArgumentSpec("the codes", .tile2D), ArgumentSpec("the format", .integer, .setting)],
                optional: [factor, factor], result: .widenedFirstArgument, counting: .perElement(other: 2, special: 0))
        }
    }
}
