/// Data-dependent selection: choosing keys, blocks or pages by their scores (`topk`),
/// reading values at chosen columns (`take`), growing a candidate set (`hcat`) with the
/// positions of new candidates (`iota`), and masks whose positions are values read from
/// data (`mask_after`, `mask_apart`, `mask_self`).
///
/// Counts never depend on data (docs/tile-language.md, "Data-dependent selection"): a
/// selection has a size fixed by its arguments (k of `topk` is a tile size), the indices
/// it chooses are stored to an i32 tensor and read back one at a time, where they may only
/// index tensors (a gathered block or row has a size fixed by the tensor's layout), and
/// the masks of this family take their positions as operands: they cost one compare and
/// select per element whatever they hide, and add nothing to `masked_elements` (which
/// would depend on data).
extension Builtin {
    static let selection: [Builtin] = [.topk, .take, .hcat, .iota, .maskAfter, .maskApart, .maskSelf]

    /// `topk(s, k)`: for each row of the r x c tile s, the columns of its k largest values
    /// as an r x k tile of column indices (exact integers in fp32), largest first; equal
    /// values in column order (the lower column first), NaN below -inf. k is a tile size
    /// (1 <= k <= c). Counts r c ceil(log2 k) comparisons (`CountRule.selection`).
    public static let topk = Builtin(
        "topk",
        BuiltinSpec(
            required: [ArgumentSpec("the scores", .tile2D), ArgumentSpec("k", .integer, .tileSize)],
            result: .widenedFirstArgument, counting: .selection, materializesResult: true),
        .tile { call throws(Diagnostic) in
            guard let scores = try call.tile(0, materialized: true), scores.rank == 2 else { throw call.error("'topk' selects from a 2-D tile") }
            let k = try call.integer(1)
            guard k > 0, k <= scores.cols else {
                throw call.error("k of 'topk' must be between 1 and the \(scores.cols) columns of the \(scores.shapeText) tile, found \(k)", at: 1)
            }
            var result = try call.newTile(rows: scores.rows, cols: k, rank: 2)
            if let data = scores.data {
                result.data = TopK.select(data, rows: scores.rows, cols: scores.cols, k: k)
            }
            return TileOutput(result, reducedColumns: scores.cols)
        })

    /// `take(x, idx)`: row r of the result holds x[r, idx[r, t]] for the columns t of idx
    /// (r x k, or 1 x k for every row): the scores or positions at the columns `topk`
    /// chose. In numeric mode every index must be a column of x. Counts nothing (a
    /// register shuffle).
    public static let take = Builtin(
        "take",
        BuiltinSpec(
            required: [ArgumentSpec("the tile", .tile2D), ArgumentSpec("the column indices", .tile2D)],
            result: .widenedFirstArgument, counting: .none),
        .tile { call throws(Diagnostic) in
            guard let x = try call.tile(0, materialized: true), let index = try call.tile(1, materialized: true), x.rank == 2, index.rank == 2 else {
                throw call.error("'take' reads a 2-D tile at a 2-D tile of column indices")
            }
            guard index.rows == x.rows || index.rows == 1 else {
                throw call.error("'take' needs \(x.rows) rows of indices (or one for every row), found \(index.shapeText)", at: 1)
            }
            var result = try call.newTile(rows: x.rows, cols: index.cols, rank: 2)
            if let xd = x.data, let id = index.data {
                var out = [Float](repeating: 0, count: result.count)
                for r in 0..<x.rows {
                    let indexRow = index.rows == 1 ? 0 : r
                    for t in 0..<index.cols {
                        let value = id[indexRow * index.cols + t]
                        guard value >= 0, value < Float(x.cols), value == value.rounded(.towardZero) else {
                            throw call.error("'take' reads column \(value) of row \(r), which is not a column of the \(x.shapeText) tile", at: 1)
                        }
                        out[r * index.cols + t] = xd[r * x.cols + Int(value)]
                    }
                }
                result.data = out
            }
            return TileOutput(result)
        })

    /// `hcat(a, b)`: the columns of a then those of b (both r rows): the running selection
    /// and a new chunk of candidates. Counts nothing.
    public static let hcat = Builtin(
        "hcat",
        BuiltinSpec(
            required: [ArgumentSpec("the left tile", .tile2D), ArgumentSpec("the right tile", .tile2D)],
            result: .widenedFirstArgument, counting: .none),
        .tile { call throws(Diagnostic) in
            guard let a = try call.tile(0, materialized: true), let b = try call.tile(1, materialized: true), a.rank == 2, b.rank == 2 else {
                throw call.error("'hcat' joins two 2-D tiles")
            }
            guard a.rows == b.rows else { throw call.error("'hcat' joins tiles of equal rows, found \(a.shapeText) and \(b.shapeText)") }
            let (cols, overflow) = a.cols.addingReportingOverflow(b.cols)
            if overflow { throw call.overflow("the columns \(a.cols) + \(b.cols)") }
            var result = try call.newTile(rows: a.rows, cols: cols, rank: 2)
            if let ad = a.data, let bd = b.data {
                var out: [Float] = []
                out.reserveCapacity(result.count)
                for r in 0..<a.rows {
                    out.append(contentsOf: ad[(r * a.cols)..<((r + 1) * a.cols)])
                    out.append(contentsOf: bd[(r * b.cols)..<((r + 1) * b.cols)])
                }
                result.data = out
            }
            return TileOutput(result)
        })

    /// `iota(r, c, p0)`: the r x c tile whose column c holds p0 + c in every row: the key
    /// positions of a chunk of candidates, or of a gathered block (p0 may be read from
    /// data). Counts nothing.
    public static let iota = Builtin(
        "iota",
        BuiltinSpec(
            required: [ArgumentSpec("a size", .integer, .tileSize), ArgumentSpec("a size", .integer, .tileSize), ArgumentSpec("the first value", .number)],
            result: .tileOfSizes, counting: .none),
        .tile { call throws(Diagnostic) in
            let rows = try call.integer(0), cols = try call.integer(1)
            guard rows > 0 else { throw call.error("a tile size must be positive, found \(rows)", at: 0) }
            guard cols > 0 else { throw call.error("a tile size must be positive, found \(cols)", at: 1) }
            let start = try call.number(2)
            var tile = try call.newTile(rows: rows, cols: cols, rank: 2)
            if call.computesValues {
                let row = (0..<cols).map { Float(start + Double($0)) }
                tile.data = Array((0..<rows).map { _ in row }.joined())
            }
            return TileOutput(tile)
        })

    /// `mask_after(s, q, k)`: s with -inf where the key position k is after the query
    /// position q (causality when the keys were gathered through data). q is a number or
    /// one value per row; k a number, one value per column (1 x c) or per element.
    public static let maskAfter = valueMask("mask_after", replacement: false) { q, k in k > q }

    /// `mask_apart(s, a, b)`: s with -inf where the query's bucket or cluster a differs
    /// from the key's b (Reformer's buckets, the Routing Transformer's clusters); shapes as
    /// `mask_after`.
    public static let maskApart = valueMask("mask_apart", replacement: false) { a, b in a != b }

    /// `mask_self(s, q, k, x)`: s with x where the key is the query itself (q == k):
    /// Reformer's shared-QK attention scores a token against itself at -1e5, so that it
    /// attends to itself only when nothing else is visible.
    public static let maskSelf = valueMask("mask_self", replacement: true) { q, k in q == k }

    /// A mask whose positions or ids are values: one compare and select per element
    /// (`CountRule.elementwise`), whatever it hides.
    private static func valueMask(_ name: String, replacement: Bool, _ hides: @escaping @Sendable (Float, Float) -> Bool) -> Builtin {
        var required = [
            ArgumentSpec("the scores", .tile2D), ArgumentSpec("the query values", .numberOrTile),
            ArgumentSpec("the key values", .numberOrTile),
        ]
        if replacement { required.append(ArgumentSpec("the replacement", .number)) }
        return Builtin(
            name,
            BuiltinSpec(required: required, result: .firstArgument, isElementwise: true, counting: .elementwise),
            .tile { call throws(Diagnostic) in
                guard let scores = try call.tile(0), scores.rank == 2 else { throw call.error("'\(name)' masks a 2-D tile") }
                var tile = scores.inRegisters
                let query = try ValueOperand(call, 1, rows: tile.rows, cols: tile.cols, perRow: true, name: name)
                let key = try ValueOperand(call, 2, rows: tile.rows, cols: tile.cols, perRow: false, name: name)
                let value: Float = replacement ? Float(try call.number(3)) : -.infinity
                if var data = tile.data {
                    for r in 0..<tile.rows {
                        for c in 0..<tile.cols where hides(query.at(r, c), key.at(r, c)) { data[r * tile.cols + c] = value }
                    }
                    tile.data = data
                }
                return TileOutput(tile)
            })
    }
}

/// An operand of a value mask: a number, or a tile read per row (query values: a 1-D tile
/// or r x 1) or per column (key values: 1 x c) or per element (r x c).
private struct ValueOperand {
    let values: [Float]
    let rowStride: Int
    let colStride: Int

    init(_ call: BuiltinCall, _ index: Int, rows: Int, cols: Int, perRow: Bool, name: String) throws(Diagnostic) {
        guard let tile = try call.tile(index, materialized: true) else {
            values = [Float(try call.number(index))]
            (rowStride, colStride) = (0, 0)
            return
        }
        let data = tile.data ?? []
        values = data.isEmpty ? [0] : data
        if tile.count == 1 {
            (rowStride, colStride) = (0, 0)
        } else if tile.rows == rows && tile.cols == cols && tile.rank == 2 {
            (rowStride, colStride) = data.isEmpty ? (0, 0) : (cols, 1)
        } else if perRow && tile.rows == rows && tile.cols == 1 {
            (rowStride, colStride) = data.isEmpty ? (0, 0) : (1, 0)
        } else if !perRow && tile.rank == 2 && tile.rows == 1 && tile.cols == cols {
            (rowStride, colStride) = data.isEmpty ? (0, 0) : (0, 1)
        } else {
            let expected = perRow ? "a number, \(rows) values (one per row) or \(rows)x\(cols)" : "a number, 1x\(cols) (one per column) or \(rows)x\(cols)"
            throw call.error("'\(name)' takes \(expected) here, found \(tile.shapeText)", at: index)
        }
    }

    func at(_ r: Int, _ c: Int) -> Float { values[r * rowStride + c * colStride] }
}

/// The selection `topk` makes, on fp32 values.
package enum TopK {
    /// For each row of a rows x cols row-major tile, the columns of its k largest values
    /// (as Floats), largest first, equal values in column order, NaN below -inf.
    package static func select(_ x: [Float], rows: Int, cols: Int, k: Int) -> [Float] {
        var out: [Float] = []
        out.reserveCapacity(rows * k)
        var order = [Int](repeating: 0, count: cols)
        for r in 0..<rows {
            let base = r * cols
            for c in 0..<cols { order[c] = c }
            // A strict weak order: larger value first (NaN as below -inf), then lower column.
            order.sort { a, b in
                let (x1, x2) = (x[base + a], x[base + b])
                let (n1, n2) = (x1.isNaN, x2.isNaN)
                if n1 != n2 { return n2 }
                if !n1 && x1 != x2 { return x1 > x2 }
                return a < b
            }
            for t in 0..<k { out.append(Float(order[t])) }
        }
        return out
    }
}
