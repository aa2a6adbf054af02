/// What a built-in computes, by the kind of values it takes and gives. Each kind carries
/// every piece it needs, so a definition that leaves one out does not compile.
package enum BuiltinMeaning: Sendable {
    /// Integers to an integer (address arithmetic, block masks, launch heuristics): one
    /// function for parameter expressions and kernels, and its form over the boxes count
    /// mode proves uniform.
    case integer(IntegerFunction, form: IntegerForm)
    /// Numbers to a number, in parameter expressions and kernels (`alibi_slope`).
    case scalar(ScalarFunction)
    /// Element by element over numbers or tiles: `scalar` when no argument is a tile,
    /// `tile` when one is (the arguments evaluated in order, none materialized). `form`
    /// reads integer arguments in count mode; nil when integers give a float.
    case elementwise(scalar: ScalarFunction, tile: ElementwiseFunction, form: IntegerForm?)
    /// Builds a tile (reductions, constructors, masks, rotations, dequantization): the
    /// function evaluates the arguments it needs through the call, in the order it
    /// needs them.
    case tile(TileFunction)
}

/// Integers to an integer; throws when the result does not fit or the arguments are
/// outside the function's domain.
package typealias IntegerFunction = @Sendable ([Int]) throws(BuiltinFailure) -> Int
/// Numbers (`.int` or `.float`) to a number.
package typealias ScalarFunction = @Sendable ([BuiltinValue]) throws(BuiltinFailure) -> BuiltinValue
/// A tile from evaluated arguments, at least one of them a tile.
package typealias ElementwiseFunction = @Sendable ([BuiltinValue], BuiltinCall) throws(Diagnostic) -> TileOutput
/// A tile from a call whose arguments it evaluates.
package typealias TileFunction = @Sendable (BuiltinCall) throws(Diagnostic) -> TileOutput

extension Builtin {
    /// The built-in's form over count mode's boxes, when it gives integers.
    package var integerForm: IntegerForm? {
        switch meaning {
        case .integer(_, let form): return form
        case .elementwise(_, _, let form): return form
        case .scalar, .tile: return nil
        }
    }
}

/// A tile a built-in call made, and what its count rule reads besides its size.
package struct TileOutput: Sendable {
    package var tile: Tile
    /// Columns of the tile a row reduction reduced (`CountRule.rowReduction`: r (c - 1)
    /// pairwise operations), or the candidates per row of a selection
    /// (`CountRule.selection`); 1 for every other call.
    package var reducedColumns: Int
    /// Elements a mask hid (`CountRule.mask`).
    package var hiddenElements: Int

    package init(_ tile: Tile, reducedColumns: Int = 1, hiddenElements: Int = 0) {
        self.tile = tile
        self.reducedColumns = reducedColumns
        self.hiddenElements = hiddenElements
    }
}
