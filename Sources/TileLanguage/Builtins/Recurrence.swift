/// The two operations chunked linear recurrences need besides products and masks: a
/// prefix sum along a row (cumulative log decays: Mamba-2's `segsum`, Gated DeltaNet's
/// gate) and the inverse of a unit lower-triangular matrix (the UT transform of the delta
/// rule's WY representation). Each result is in registers, fp32.
extension Builtin {
    static let recurrence: [Builtin] = [.cumsum, .solveTril]

    /// `cumsum(x)`: inclusive prefix sums along each row of a 2-D tile, y[r, c] = x[r, 0]
    /// + ... + x[r, c], left to right. A row of c values takes c - 1 additions
    /// (`CountRule.rowReduction`, as `rowsum`), as the sequential scan of Mamba-2's
    /// `_chunk_cumsum_fwd_kernel` (`tl.cumsum`) and FLA's `chunk_local_cumsum` do.
    public static let cumsum = Builtin(
        "cumsum",
        BuiltinSpec(required: [ArgumentSpec("the tile", .tile2D)], result: .firstArgument, counting: .rowReduction, materializesResult: true),
        .tile { call throws(Diagnostic) in
            guard let tile = try call.tile(0, materialized: true), tile.rank == 2 else { throw call.error("'cumsum' sums along the rows of a 2-D tile") }
            var result = Tile.computed(rows: tile.rows, cols: tile.cols, rank: 2)
            if var data = tile.data {
                for r in 0..<tile.rows {
                    for c in 1..<Swift.max(1, tile.cols) { data[r * tile.cols + c] += data[r * tile.cols + c - 1] }
                }
                result.data = data
            }
            return TileOutput(result, reducedColumns: tile.cols)
        })

    /// `solve_tril(a)`: (I + L)^-1 for the strictly lower triangle L of the square tile a
    /// (the diagonal and above are not read), by forward substitution in fp32: X = I + ...,
    /// X[i, j] = -(L[i, j] + sum_{j < k < i} L[i, k] X[k, j]) for i > j. The UT transform of
    /// the delta rule's chunks (Yang et al. 2024, "Parallelizing Linear Transformers with the
    /// Delta Rule over Sequence Length", Section 3.2; FLA's `solve_tril`). Element (i, j) with
    /// i - j = m takes m - 1 multiplies, m - 1 additions and a negation: n(n - 1)(2n - 1) / 6
    /// "other" FLOPs for an n x n tile (`CountRule.triangularInverse`).
    public static let solveTril = Builtin(
        "solve_tril",
        BuiltinSpec(required: [ArgumentSpec("the matrix", .tile2D)], result: .firstArgument, counting: .triangularInverse, materializesResult: true),
        .tile { call throws(Diagnostic) in
            guard let a = try call.tile(0, materialized: true), a.rank == 2, a.rows == a.cols else {
                throw call.error("'solve_tril' inverts a square 2-D tile")
            }
            let n = a.rows
            var result = Tile.computed(rows: n, cols: n, rank: 2)
            if let l = a.data {
                var x = [Float](repeating: 0, count: n * n)
                for i in 0..<n {
                    x[i * n + i] = 1
                    for j in 0..<i {
                        var sum = l[i * n + j]
                        for k in (j + 1)..<i { sum += l[i * n + k] * x[k * n + j] }
                        x[i * n + j] = -sum
                    }
                }
                result.data = x
            }
            return TileOutput(result)
        })
}
