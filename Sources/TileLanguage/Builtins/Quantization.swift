import AttnNumerics

/// Storage precision: rounding a tile to a dtype (`cast`), decoding quantized codes on
/// chip (`dequant`) and codes the tensor cores multiply as they are (`mma_operand`).
extension Builtin {
    static let quantization: [Builtin] = [.cast, .dequant, .mmaOperand]

    /// `cast(p, fp16)` rounds a tile to a storage dtype; the result takes that dtype's
    /// bytes per element. No FLOPs (`CountRule.cast`).
    public static let cast = Builtin(
        "cast",
        BuiltinSpec(
            required: [ArgumentSpec("the tile", .tile), ArgumentSpec("the dtype", .dtype)],
            result: .firstArgument, isElementwise: true, counting: .cast),
        .tile { call throws(Diagnostic) in
            guard var tile = try call.tile(0), case .dtype(let dtype) = try call.value(1) else {
                throw call.error("'cast' rounds a tile to a dtype")
            }
            tile.data = tile.data.map { $0.map { dtype.round($0) } }
            tile.level = .registers
            tile.elementBytes = dtype.bytes
            return TileOutput(tile)
        })

    /// `dequant(codes, format, scales, zeros)` turns a 2-D tile of u8 codes
    /// (`KVQuantFormat`: 0 fp8e4m3, 1 fp8e5m2, 2 int8, 3 int4 and 4 fp4e2m1 packed two per
    /// byte, low nibble first, which doubles the columns) into fp32 code * scale + zero. A scale or
    /// zero is a number, a one-element tile (per tensor), a 1-D tile (per row) or a 2-D
    /// tile with the rows and `groups` columns, each serving cols / groups consecutive
    /// elements of its row. Per element of the result: one fused multiply-add (two FLOPs,
    /// also for FP8, whose zero is 0); decoding a code (integer to float, an FP8 bit
    /// pattern, a nibble) is a conversion, counted like `cast`: nothing.
    public static let dequant = Builtin(
        "dequant",
        BuiltinSpec(
            required: [ArgumentSpec("the codes", .tile2D), ArgumentSpec("the format", .integer, .setting)],
            optional: Array(repeating: ArgumentSpec("a scale or zero point (a number or a tile)", .numberOrTile), count: 2),
            result: .widenedFirstArgument, counting: .perElement(other: 2, special: 0)),
        .tile(dequantize))

    /// `mma_operand(codes, format, scale)`: the values of a 2-D tile of u8 codes (the
    /// formats and scale layouts of `dequant`, no zero point) as a low-precision tensor-core
    /// MMA reads them: FP8 (Hopper's and CDNA 3's FP8 MMA) and FP4 with its block scales
    /// applied inside the instruction (Blackwell's `tcgen05.mma` block-scaled kinds for
    /// MXFP4 and NVFP4, CDNA 4's scaled MFMA). No FLOPs: the MMA's own count (and the
    /// rate of the run's dtype) covers them; the codes' bytes are the loads'.
    public static let mmaOperand = Builtin(
        "mma_operand",
        BuiltinSpec(
            required: [ArgumentSpec("the codes", .tile2D), ArgumentSpec("the format", .integer, .setting)],
            optional: [ArgumentSpec("a scale (a number or a tile)", .numberOrTile)],
            result: .widenedFirstArgument, counting: .none),
        .tile(dequantize))

    @Sendable private static func dequantize(_ call: BuiltinCall) throws(Diagnostic) -> TileOutput {
        guard let codes = try call.tile(0, materialized: true), codes.rank == 2 else {
            throw call.error("'\(call.builtin.name)' decodes a 2-D tile of codes")
        }
        let formatCode = try call.integer(1)
        guard let format = KVQuantFormat(rawValue: formatCode) else {
            throw call.error("the format of '\(call.builtin.name)' is 0 (fp8e4m3), 1 (fp8e5m2), 2 (int8), 3 (int4) or 4 (fp4e2m1), found \(formatCode)", at: 1)
        }
        let cols = codes.cols * format.codesPerByte
        /// A factor's value for element (r, c) of the result.
        func factor(_ index: Int, default value: Float) throws(Diagnostic) -> (Int, Int) -> Float {
            guard index < call.arguments.count else { return { _, _ in value } }
            guard let tile = try call.tile(index, materialized: true) else {
                let x = Float(try call.number(index))
                return { _, _ in x }
            }
            let data = tile.data ?? []
            if tile.count == 1 { return { _, _ in data.first ?? 0 } }
            if tile.rank == 1, tile.rows == codes.rows { return { r, _ in data.isEmpty ? 0 : data[r] } }
            guard tile.rank == 2, tile.rows == codes.rows, tile.cols > 0, cols % tile.cols == 0 else {
                throw call.error("a scale or zero of '\(call.builtin.name)' is a number, one element, \(codes.rows) rows, or \(codes.rows) rows of groups dividing \(cols) columns; found \(tile.shapeText)", at: index)
            }
            let groupCols = tile.cols, group = cols / tile.cols
            return { r, c in data.isEmpty ? 0 : data[r * groupCols + c / group] }
        }
        let scale = try factor(2, default: 1), zero = try factor(3, default: 0)
        var result = try call.newTile(rows: codes.rows, cols: cols, rank: 2)
        if let data = codes.data {
            var out = [Float](repeating: 0, count: result.count)
            for r in 0..<codes.rows {
                for c in 0..<cols {
                    let byte = Int(data[r * codes.cols + c / format.codesPerByte])
                    let code = format.codesPerByte == 2 ? (c % 2 == 0 ? byte & 15 : byte >> 4) : byte
                    out[r * cols + c] = format.value(code: code, scale: scale(r, c), zero: zero(r, c))
                }
            }
            result.data = out
        }
        return TileOutput(result)
    }
}
