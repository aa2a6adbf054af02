import AttnNumerics

/// Storage precision: rounding a tile to a dtype (`cast`), decoding quantized codes on
/// chip (`dequant`), codes the tensor cores multiply as they are (`mma_operand`) and a
/// register tile quantized to block-scaled FP4 for the next MMA (`quantize_fp4`).
extension Builtin {
    static let quantization: [Builtin] = [.cast, .dequant, .mmaOperand, .quantizeFP4]

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

    /// `quantize_fp4(p, format)`: a 2-D tile as the block-scaled FP4 MMA reads it once it
    /// is quantized in registers (SageAttention3's P, Zhang et al. 2025, arXiv 2505.11594,
    /// Section 3): each row cut into blocks of 16 (format 4, NVFP4) or 32 (format 5,
    /// MXFP4) columns along the MMA's inner dimension, the last block of a ragged row
    /// shorter (the hardware pads it with zeros), every element rounded to E2M1 after
    /// division by its block's scale and multiplied back:
    ///
    ///     NVFP4 (two-level): s1 = rowmax |p| / (448 x 6)          (fp32, per row)
    ///                        s2 = e4m3(blockmax |p / s1| / 6)     (per 1 x 16 block)
    ///                        p' = e2m1(p / (s1 s2)) s1 s2
    ///     MXFP4:             s2 = e8m0(blockmax |p| / 6),  p' = e2m1(p / s2) s2
    ///
    /// The first level maps each row's largest value to E4M3's 448 x E2M1's 6, so the
    /// block scales use E4M3's whole range (P's values lie in [0, 1], where block maxima
    /// / 6 would fall into E4M3's subnormals); a zero scale is taken as 1. Per element of
    /// the result: two "other" FLOPs, the block maximum's compare and the multiply by
    /// 1 / (s1 s2); the E2M1 conversion is a conversion, counted like `cast`: nothing.
    /// The result's elements are one byte each in registers (E2M1 packs two; bytes are
    /// whole numbers here).
    public static let quantizeFP4 = Builtin(
        "quantize_fp4",
        BuiltinSpec(
            required: [ArgumentSpec("the tile", .tile2D), ArgumentSpec("the format", .integer, .setting)],
            result: .firstArgument, counting: .perElement(other: 2, special: 0)),
        .tile { call throws(Diagnostic) in
            guard var tile = try call.tile(0, materialized: true), tile.rank == 2 else {
                throw call.error("'quantize_fp4' quantizes a 2-D tile")
            }
            let format = try call.integer(1)
            guard format == 4 || format == 5 else {
                throw call.error("the format of 'quantize_fp4' is 4 (NVFP4: E4M3 scales per 16) or 5 (MXFP4: E8M0 scales per 32), found \(format)", at: 1)
            }
            if let data = tile.data {
                tile.data = quantizedFP4(data, rows: tile.rows, cols: tile.cols, nvfp4: format == 4)
            }
            tile.level = .registers
            tile.elementBytes = 1
            return TileOutput(tile)
        })

    /// The values of `quantize_fp4` for a row-major `rows` x `cols` tile.
    static func quantizedFP4(_ data: [Float], rows: Int, cols: Int, nvfp4: Bool) -> [Float] {
        let group = nvfp4 ? 16 : 32
        var out = data
        for r in 0..<rows {
            let row = data[(r * cols)..<((r + 1) * cols)]
            // NVFP4's first level: the row's largest magnitude to 448 x 6.
            var s1: Float = 1
            if nvfp4 {
                let top = row.map(\.magnitude).max() ?? 0
                s1 = top > 0 && top.isFinite ? top / (448 * 6) : 1
            }
            var c0 = 0
            while c0 < cols {
                let c1 = Swift.min(cols, c0 + group)
                let block = data[(r * cols + c0)..<(r * cols + c1)]
                let top = (block.map(\.magnitude).max() ?? 0) / s1
                var s2 = nvfp4 ? DType.fp8e4m3.round(top / 6) : DType.e8m0.round(top / 6)
                if !(s2 > 0) || !s2.isFinite { s2 = 1 }
                let scale = s1 * s2
                for i in (r * cols + c0)..<(r * cols + c1) { out[i] = DType.roundToE2M1(data[i] / scale) * scale }
                c0 = c1
            }
        }
        return out
    }

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
