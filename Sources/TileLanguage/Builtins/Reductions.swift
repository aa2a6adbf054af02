/// Row reductions of a 2-D tile to a row vector (a 1-D tile, one value per row): the
/// softmax's running maximum and sum.
extension Builtin {
    static let reductions: [Builtin] = [.rowmax, .rowsum]

    /// `rowmax(x)`: the maximum of each row.
    public static let rowmax = reduction("rowmax", max: true)

    /// `rowsum(x)`: the sum of each row, left to right.
    public static let rowsum = reduction("rowsum", max: false)

    /// A row reduction: each row of c values reduces with c - 1 pairwise operations
    /// (`CountRule.rowReduction`); the operand and the result have buffers of their own.
    private static func reduction(_ name: String, max: Bool) -> Builtin {
        Builtin(
            name,
            BuiltinSpec(required: [ArgumentSpec("the tile", .tile2D)], result: .tile1D, counting: .rowReduction, materializesResult: true),
            .tile { call throws(Diagnostic) in
                guard let tile = try call.tile(0, materialized: true), tile.rank == 2 else {
                    throw call.error("'\(name)' reduces a 2-D tile")
                }
                var result = Tile.computed(rows: tile.rows, cols: 1, rank: 1)
                if let data = tile.data {
                    result.data = TileMath.reduceRows(data, rows: tile.rows, cols: tile.cols, max: max)
                }
                return TileOutput(result, reducedColumns: tile.cols)
            })
    }
}
