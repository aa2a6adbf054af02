import AttnNumerics

/// Positions: rotary embeddings (`rope_cos`, `rope_sin` build the tables, `rope` rotates a
/// tile with them) and ALiBi's linear bias (`alibi_slope`, `alibi`).
extension Builtin {
    static let positions: [Builtin] = [.ropeCos, .ropeSin, .rope, .alibiSlope, .alibi]

    /// `rope_cos(p0, r, h, base, scaling, factor, original)`: the r x h tile of
    /// m cos((p0 + row) theta_c) for the pairs c < h of a head of d = 2h
    /// (`RotaryEmbedding`: scaling 0 none, 1 linear, 2 NTK, 3 YaRN). Per element: the
    /// angle (one multiply) and its cosine (a special function).
    public static let ropeCos = rotaryTable("rope_cos", cosine: true)

    /// `rope_sin(...)`: the same tile of m sin((p0 + row) theta_c).
    public static let ropeSin = rotaryTable("rope_sin", cosine: false)

    /// `rope(x, c, s)` rotates the r x 2h tile x with r x h cosines and sines
    /// (rotate-half pairs (j, j + h)). Per element: x cos and its partner times sin (two
    /// multiplies), and their sum.
    public static let rope = Builtin(
        "rope",
        BuiltinSpec(
            required: [ArgumentSpec("the tile", .tile2D), ArgumentSpec("the cosines", .tile2D), ArgumentSpec("the sines", .tile2D)],
            result: .firstArgument, counting: .perElement(other: 3, special: 0)),
        .tile { call throws(Diagnostic) in
            guard let x = try call.tile(0, materialized: true), let c = try call.tile(1, materialized: true),
                let s = try call.tile(2, materialized: true)
            else { throw call.error("'rope' rotates a tile with tiles of cosines and sines") }
            let half = x.cols / 2
            guard x.cols % 2 == 0, c.rows == x.rows, s.rows == x.rows, c.cols == half, s.cols == half else {
                throw call.error("'rope' needs an r x 2h tile and r x h cosines and sines; found \(x.shapeText), \(c.shapeText) and \(s.shapeText)")
            }
            var result = Tile.computed(rows: x.rows, cols: x.cols, rank: 2)
            if let xd = x.data, let cd = c.data, let sd = s.data {
                var data = [Float](repeating: 0, count: x.count)
                for r in 0..<x.rows {
                    let base = r * x.cols, pair = r * half
                    for j in 0..<half {
                        let (a, b) = (xd[base + j], xd[base + j + half])
                        let (cosine, sine) = (cd[pair + j], sd[pair + j])
                        data[base + j] = a * cosine - b * sine
                        data[base + j + half] = b * cosine + a * sine
                    }
                }
                result.data = data
            }
            return TileOutput(result)
        })

    /// `alibi_slope(h, heads)`: head h's ALiBi slope (`ALiBi.slope`). Which head decides
    /// which slope and whether the call is valid (a kernel over the heads writes them to
    /// a tensor, as FlashAttention-2 takes them). Counts nothing.
    public static let alibiSlope = Builtin(
        "alibi_slope",
        BuiltinSpec(
            required: [ArgumentSpec("the head", .integer, .setting), ArgumentSpec("the head count", .integer, .setting)],
            result: .floatOrFirst, counting: .none),
        .scalar { (x: [BuiltinValue]) throws(BuiltinFailure) -> BuiltinValue in
            guard case .int(let h) = x[0], case .int(let heads) = x[1] else { throw .invalid("'alibi_slope' takes integers") }
            guard let slope = ALiBi.slope(head: h, heads: heads) else {
                throw .invalid("'alibi_slope' needs a head in 0 ..< heads with heads > 0, found head \(h) of \(heads)")
            }
            return .float(slope)
        })

    /// `alibi(s, q0, k0, m)` adds m (k0 + col - q0 - row) to each score. Per element: the
    /// slope times the distance, added to the score.
    public static let alibi = Builtin(
        "alibi",
        BuiltinSpec(
            required: [
                ArgumentSpec("the scores", .tile2D), ArgumentSpec("the first query position", .integer),
                ArgumentSpec("the first key position", .integer),
                ArgumentSpec("the slope (a number or a one-element tile)", .numberOrTile),
            ],
            result: .firstArgument, isElementwise: true, counting: .perElement(other: 2, special: 0)),
        .tile { call throws(Diagnostic) in
            guard let scores = try call.tile(0), scores.rank == 2 else { throw call.error("'alibi' biases a 2-D tile of scores") }
            var tile = scores
            let q0 = try call.integer(1), k0 = try call.integer(2)
            // Element (r, c) is biased by the distance k0 + c - q0 - r: it must fit at both ends.
            let offset = try call.subtract(k0, q0, "the key-query offset k0 - q0")
            _ = try call.add(offset, tile.cols - 1, "the last column's distance k0 + c - q0")
            _ = try call.subtract(offset, tile.rows - 1, "the last row's distance k0 - q0 - r")
            let slope: Double
            if let slopeTile = try call.tile(3) {
                guard slopeTile.count == 1 else {
                    throw call.error("the slope of 'alibi' is a number or a one-element tile, found \(slopeTile.shapeText)", at: 3)
                }
                slope = Double(slopeTile.data?.first ?? 0)
            } else {
                slope = try call.number(3)
            }
            if var data = tile.data {
                for r in 0..<tile.rows {
                    for c in 0..<tile.cols {
                        data[r * tile.cols + c] += Float(slope * Double(offset + c - r))
                    }
                }
                tile.data = data
            }
            return TileOutput(tile.inRegisters)
        })

    /// A table of rotary cosines or sines for rows from position p0.
    private static func rotaryTable(_ name: String, cosine: Bool) -> Builtin {
        Builtin(
            name,
            BuiltinSpec(
                required: [
                    ArgumentSpec("the first position", .integer), ArgumentSpec("the rows", .integer, .tileSize),
                    ArgumentSpec("the pairs (d / 2)", .integer, .tileSize), ArgumentSpec("the base", .number),
                    ArgumentSpec("the scaling", .integer, .setting), ArgumentSpec("the scaling factor", .number),
                    ArgumentSpec("the original context", .integer),
                ],
                result: .tileOfSizes, counting: .perElement(other: 1, special: 1)),
            .tile { call throws(Diagnostic) in
                let p0 = try call.integer(0), rows = try call.integer(1), half = try call.integer(2)
                guard rows > 0, half > 0 else {
                    throw call.error("the tile of '\(name)' must have positive sizes, found \(rows) x \(half)")
                }
                let base = try call.number(3), scaling = try call.integer(4)
                let factor = try call.number(5), original = try call.integer(6)
                let rotary: RotaryEmbedding
                switch RotaryEmbedding.make(base: base, scalingCode: scaling, factor: factor, originalContext: original) {
                case .success(let made): rotary = made
                case .failure(let failure): throw call.error(failure.description)
                }
                var tile = try call.newTile(rows: rows, cols: half, rank: 2)
                // Row r is position p0 + r: the last one must fit.
                _ = try call.add(p0, rows - 1, "the last row's position p0 + r")
                if call.computesValues {
                    let frequencies = rotary.frequencies(headDim: 2 * half)
                    var data = [Float](repeating: 0, count: rows * half)
                    for r in 0..<rows {
                        for c in 0..<half {
                            let value = cosine
                                ? rotary.cosine(position: p0 + r, frequency: frequencies[c])
                                : rotary.sine(position: p0 + r, frequency: frequencies[c])
                            data[r * half + c] = Float(value)
                        }
                    }
                    tile.data = data
                }
                return TileOutput(tile)
            })
    }
}
