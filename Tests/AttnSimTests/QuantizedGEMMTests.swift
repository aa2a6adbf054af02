import AttnModel
import AttnNumerics
import AttnPipeline
import Foundation
import Testing
import TileInterpreter
import Workload
import AttnTestSupport
import TileTestSupport

/// gemm-quant.tile: its counts against the IO law in its header, and its products against
/// a float64 product of the dequantized weights, for every mode and format.
@Suite struct QuantizedGEMMTests {
    let pipeline = Pipeline(hardware: TestSupport.h100)
    let shape = ProblemShape(batch: 1, heads: 1, kvHeads: 1, queryLength: 1, keyLength: 1, headDim: 64)

    func parameters(_ format: TensorFormat, mode: Int, _ sizes: [String: Int]) -> [String: ScalarValue] {
        var p = ModelProgramLibrary.quantBinding(format, mode: mode)
        for (name, value) in sizes { p[name] = .int(value) }
        return p
    }

    /// M = 256, Kin = 128, Nout = 384, 128 x 128 tiles, BK = 64: 2 x 3 blocks of 2 inner slices.
    /// X at 2 bytes: 256 x 128 x 2 x 3 column blocks = 196,608; at 1 byte 98,304; FP4 codes
    /// 256 x 64 x 3 = 49,152. W's codes per row block: 384 x 128 (one byte) = 49,152 or
    /// 384 x 64 (4-bit) = 24,576, read by 2 row blocks. Scales per block and slice: BN rows of
    /// the slice's scale columns (int4-g128: the one column both slices share, 2 bytes;
    /// MXFP4: 64 / 32 = 2 one-byte columns; NVFP4: 4), 12 block-slices; the per-tensor scales
    /// 4 bytes (W's; and X's in modes 1, 2) per block. Y in bf16: 256 x 384 x 2 = 196,608.
    /// FLOPs: 2 x 256 x 384 x 128 = 25,165,824 matmul; the accumulation adds 256 x 384 x 2 =
    /// 196,608; a weight-only block dequantizes 128 x 64 elements per slice at 2 FLOPs each
    /// (12 x 16,384 = 196,608), int4's zero point (scale x -8) 128 per slice (1,536); the
    /// per-tensor scales multiply 256 x 384 once each (98,304).
    @Test(arguments: [
        // format, mode, dtype, reads, other FLOPs
        (TensorFormat.int4(group: 128), 0, DType.fp16, 196_608 + 49_152 + 12 * 128 * 2, 196_608 + 196_608 + 1_536),
        (TensorFormat.mxfp4, 0, DType.bf16, 196_608 + 49_152 + 12 * 128 * 2, 196_608 + 196_608),
        (TensorFormat.nvfp4, 0, DType.bf16, 196_608 + 49_152 + 12 * 128 * 4 + 6 * 4, 196_608 + 196_608 + 98_304),
        (TensorFormat.fp8(.e4m3), 0, DType.bf16, 196_608 + 98_304 + 6 * 4, 196_608 + 196_608 + 98_304),
        (TensorFormat.fp8(.e4m3), 1, DType.fp8e4m3, 98_304 + 98_304 + 6 * 8, 196_608 + 2 * 98_304),
        (TensorFormat.nvfp4, 2, DType.fp4e2m1, 49_152 + 12 * 128 * 4 + 49_152 + 12 * 128 * 4 + 6 * 8, 196_608 + 2 * 98_304),
        (TensorFormat.mxfp4, 2, DType.fp4e2m1, 49_152 + 12 * 128 * 2 + 49_152 + 12 * 128 * 2, 196_608),
    ])
    func countsFollowTheIOLaw(_ format: TensorFormat, _ mode: Int, _ dtype: DType, _ reads: Int, _ other: Int) throws {
        let program = try ModelProgramLibrary.gemmQuant()
        let p = parameters(format, mode: mode, ["M": 256, "Kin": 128, "Nout": 384])
        let total = try pipeline.evaluate(program, shape: shape, dtype: dtype, parameters: p).stats.total
        #expect(total.hbmReadBytes == reads, "\(format) mode \(mode)")
        #expect(total.hbmWriteBytes == 196_608)
        #expect(total.flopsMatmul == 25_165_824)
        #expect(total.flopsOther == other, "\(format) mode \(mode)")
    }

    /// fp8-block128 under the FP8 MMA (sdt 4; DeepSeek-V3's report, Section 3.3.2): M = 256,
    /// Kin = 384, Nout = 384 with 128 x 128 tiles and BK = 64, 2 x 3 blocks of 6 slices, 3
    /// blocks of 128 inner elements each. Reads: X's codes 256 x 384 x 3 column blocks =
    /// 294,912, W's 384 x 384 x 2 row blocks = 294,912, and at each of the 6 x 3 promotions
    /// 128 X scales and one W scale of 4 bytes: 18 x 516 = 9,288 (no per-tensor scales).
    /// Other FLOPs: the slices' accumulation adds 256 x 384 x 6 = 589,824, and per promotion
    /// the 128 row scales sx sw and 2 per element (part x s, + acc): 3 x (6 x 128 + 2 x
    /// 98,304) = 592,128, against per-tensor FP8's 2 x 98,304 for its two scales.
    @Test func blockScaledFP8PromotesEvery128() throws {
        let program = try ModelProgramLibrary.gemmQuant()
        let sizes = ["M": 256, "Kin": 384, "Nout": 384]
        let p = parameters(.fp8Block128, mode: 1, sizes)
        #expect(p["sdt"] == .int(4) && p["WB"] == .int(128) && p["fmt"] == .int(0))
        let block = try pipeline.evaluate(program, shape: shape, dtype: .fp8e4m3, parameters: p).stats.total
        #expect(block.hbmReadBytes == 294_912 + 294_912 + 18 * (128 * 4 + 4))
        #expect(block.hbmWriteBytes == 196_608)
        #expect(block.flopsMatmul == 2 * 256 * 384 * 384)
        #expect(block.flopsOther == 589_824 + 3 * (6 * 128 + 2 * 98_304))
        let tensor = try pipeline.evaluate(program, shape: shape, dtype: .fp8e4m3, parameters: parameters(.fp8(.e4m3), mode: 1, sizes)).stats.total
        #expect(tensor.hbmReadBytes == 294_912 + 294_912 + 6 * 8)
        #expect(tensor.flopsOther == 589_824 + 2 * 98_304)
        // Weight-only fp8-block128 (mode 0) keeps one scale per tensor.
        #expect(parameters(.fp8Block128, mode: 0, sizes)["sdt"] == .int(0))
    }

    /// fp8-block128's product against float64: Y[i, j] = sum_c x[i, c] sx[i, c / 128] w[j, c]
    /// sw[j / 128, c / 128] over FP8 codes x and w, with M = 37, Kin = 320 (two whole blocks
    /// and a half), Nout = 200 (two blocks of W rows), 16-wide tiles, BK = 64, and split-K
    /// S = 1, 2 (a split ends inside a block: its partial is promoted at the split's end) and
    /// 3. The scales are drawn from [0.5, 2). Tolerance per element: Y's bf16 store 2^-8 |y|,
    /// plus (Kin + 3) x 2^-24 of sum |x sx w sw| for the fp32 partial sums (the FP8 products
    /// are exact in fp32), the rounding of sx sw and of part x s, and the fp32 accumulator.
    @Test func blockScaledFP8Numerics() throws {
        let program = try ModelProgramLibrary.gemmQuant()
        let (m, k, n) = (37, 320, 200)
        let blocks = (k + 127) / 128
        var generator = SeededGenerator(seed: 11)
        let w = try quantized(HostTensor(randomNormal: [n, k], dtype: .fp32, generator: &generator).values, rows: n, columns: k, .fp8(.e4m3))
        func scales(_ rows: Int) -> HostTensor {
            var t = HostTensor(shape: [rows, blocks], dtype: .fp32)
            t.values = HostTensor(randomNormal: [rows, blocks], dtype: .fp32, generator: &generator).values.map { 0.5 + 1.5 * (0.5 + 0.5 * tanh($0)) * 0.999 }
            return t
        }
        let xs = scales(m), ws = scales((n + 127) / 128)
        let inputs = ["WQ": w.codes, "XS32": xs, "WS32": ws]
        for s in [1, 2, 3] {
            let p = parameters(.fp8Block128, mode: 1, ["M": m, "Kin": k, "Nout": n, "BM": 16, "BN": 16, "BK": 64, "S": s])
            let bound = try pipeline.bind(program, shape: shape, dtype: .fp8e4m3, parameters: p)
            let tensors = try pipeline.run(bound, options: RunOptions(mode: .numeric, inputs: inputs)).tensors
            let y = try #require(tensors["Y"])
            let x = try #require(tensors["X"])
            var worst = 0.0
            for i in 0..<m {
                for j in 0..<n {
                    var sum = 0.0, magnitude = 0.0
                    for c in 0..<k {
                        let scale = Double(xs.values[i * blocks + c / 128]) * Double(ws.values[(j / 128) * blocks + c / 128])
                        let term = Double(x.values[i * k + c]) * dequantized(w, .fp8(.e4m3), row: j, column: c) * scale
                        sum += term
                        magnitude += abs(term)
                    }
                    let error = abs(Double(y.values[i * n + j]) - sum)
                    worst = max(worst, error / (0x1p-8 * abs(sum) + Double(k + 3) * 0x1p-24 * magnitude + 1e-30))
                }
            }
            #expect(worst <= 1, "S = \(s): worst error / tolerance \(worst)")
        }
    }

    /// Codes and scales for W [Nout, Kin] and, in FP4 mode, X [M, Kin]: values drawn from a
    /// seeded normal distribution quantized by the format's recipe (`KVQuantFormat.quantize`,
    /// scales rounded to their dtype), as a checkpoint stores them.
    func quantized(_ values: [Float], rows: Int, columns: Int, _ format: TensorFormat) throws -> (codes: HostTensor, scales: HostTensor) {
        let code = try #require(format.codeFormat)
        let group = format.blockElements ?? columns
        let scaleType = format.scaleDType ?? .fp32
        let q = try #require(code.quantize(values, columns: columns, group: group, roundScale: scaleType.round, roundZero: { _ in 0 }))
        var codes = HostTensor(shape: [rows, columns / code.codesPerByte], dtype: .u8)
        codes.values = q.codes
        var scales = HostTensor(shape: [rows, (columns + group - 1) / group], dtype: scaleType)
        scales.values = q.scales
        return (codes, scales)
    }

    /// The dequantized value of element (r, c) of a quantized matrix, in float64: the code's
    /// value (an FP8 or E2M1 code, or an offset-binary integer) times its block's scale.
    func dequantized(_ q: (codes: HostTensor, scales: HostTensor), _ format: TensorFormat, row r: Int, column c: Int) -> Double {
        let code = format.codeFormat ?? .int8
        let perRow = q.codes.shape[1]
        let byte = Int(q.codes.values[r * perRow + c / code.codesPerByte])
        let nibble = code.codesPerByte == 2 ? (c % 2 == 0 ? byte & 15 : byte >> 4) : byte
        let group = format.blockElements ?? Int.max
        let scale = format.blockElements == nil ? 1 : Double(q.scales.values[r * q.scales.shape[1] + c / group])
        switch code {
        case .int8: return Double(nibble - 128) * scale
        case .int4: return Double(nibble - 8) * scale
        default: return Double(code.value(code: nibble, scale: 1, zero: 0)) * scale
        }
    }

    /// Y against sum_k x[i, k] w[j, k] in float64 over the dequantized X and W, ragged tiles
    /// (M = 37, Kin = 96, Nout = 45 with 16-wide tiles), with and without split-K. Integer
    /// codes are symmetric (the program's zero point is -8 or -128 scales), so the
    /// values are re-coded under the recipe's scales here. Tolerance per element: Y is stored in bf16
    /// (half an ulp, 2^-9 relative; 2^-8 allowed) after an fp32 accumulation of 96 exact
    /// products of dequantized values (at most 96 x 2^-24 of sum |x w|); the products
    /// themselves are exact in fp32 (a code of at most 4 significant bits times a scale of
    /// at most 11).
    @Test(arguments: [
        (TensorFormat.int4(group: 32), 0, DType.fp16),
        (TensorFormat.int8(group: 16), 0, DType.bf16),
        (TensorFormat.mxfp4, 0, DType.bf16),
        (TensorFormat.nvfp4, 0, DType.bf16),
        (TensorFormat.fp8(.e4m3), 0, DType.bf16),
        (TensorFormat.fp8(.e5m2), 1, DType.fp8e5m2),
        (TensorFormat.nvfp4, 2, DType.fp4e2m1),
        (TensorFormat.mxfp4, 2, DType.fp4e2m1),
    ])
    func computesTheProductOfTheDequantizedWeights(_ format: TensorFormat, _ mode: Int, _ dtype: DType) throws {
        let program = try ModelProgramLibrary.gemmQuant()
        let (m, k, n) = (37, 96, 45)
        var generator = SeededGenerator(seed: 7)
        let wValues = HostTensor(randomNormal: [n, k], dtype: .fp32, generator: &generator).values
        let xValues = HostTensor(randomNormal: [m, k], dtype: .fp32, generator: &generator).values
        var w = try quantized(wValues, rows: n, columns: k, format)
        if case .int4 = format { w.codes.values = recentred(wValues, w.scales, group: 32, columns: k, bits: 4) }
        if case .int8 = format { w.codes.values = recentred(wValues, w.scales, group: 16, columns: k, bits: 8) }
        var inputs: [String: HostTensor] = ["WQ": w.codes]
        switch format.scaleDType {
        case .fp16?: inputs["WS16"] = w.scales
        case .fp8e4m3?: inputs["WS8"] = w.scales
        case .e8m0?: inputs["WSE"] = w.scales
        default: break
        }
        var gs = HostTensor(shape: [1, 2], dtype: .fp32)
        gs.values = [0.75, 1.25]
        inputs["GS"] = gs
        var x: (codes: HostTensor, scales: HostTensor)?
        if mode == 2 {
            let q = try quantized(xValues, rows: m, columns: k, format)
            inputs["XQ"] = q.codes
            inputs[format == .nvfp4 ? "XS8" : "XSE"] = q.scales
            x = q
        }
        for s in [1, 3] {
            let p = parameters(format, mode: mode, ["M": m, "Kin": k, "Nout": n, "BM": 16, "BN": 16, "BK": 16, "S": s])
            let bound = try pipeline.bind(program, shape: shape, dtype: dtype, parameters: p)
            let tensors = try pipeline.run(bound, options: RunOptions(mode: .numeric, inputs: inputs)).tensors
            let y = try #require(tensors["Y"])
            let xs = try #require(tensors["X"])
            let tensorScale = format.hasTensorScale ? 0.75 * (mode == 0 ? 1 : 1.25) : 1
            var worst = 0.0
            for i in 0..<m {
                for j in 0..<n {
                    var sum = 0.0, magnitude = 0.0
                    for c in 0..<k {
                        let xv = x.map { dequantized($0, format, row: i, column: c) } ?? Double(xs.values[i * k + c])
                        let product = xv * dequantized(w, format, row: j, column: c)
                        sum += product
                        magnitude += abs(product)
                    }
                    sum *= tensorScale
                    magnitude *= abs(tensorScale)
                    let error = abs(Double(y.values[i * n + j]) - sum)
                    let bound = 0x1p-8 * abs(sum) + Double(k) * 0x1p-24 * magnitude + 1e-30
                    worst = max(worst, error / bound)
                }
            }
            #expect(worst <= 1, "\(format) mode \(mode) S = \(s): worst error / tolerance \(worst)")
        }
    }

    /// Symmetric offset-binary integer codes (code - 2^(bits-1) times the scale, as the program
    /// reads them) of values under the given group scales: round(x / scale) clamped, + offset.
    func recentred(_ values: [Float], _ scales: HostTensor, group: Int, columns: Int, bits: Int) -> [Float] {
        let offset = 1 << (bits - 1)
        let groups = scales.shape[1]
        var codes = [Int](repeating: 0, count: values.count)
        for (index, x) in values.enumerated() {
            let scale = scales.values[(index / columns) * groups + (index % columns) / group]
            let q = Int((x / scale).rounded(.toNearestOrEven))
            codes[index] = min(max(q, -offset), offset - 1) + offset
        }
        guard bits == 4 else { return codes.map(Float.init) }
        return stride(from: 0, to: codes.count, by: 2).map { Float(codes[$0] + 16 * codes[$0 + 1]) }
    }
}
