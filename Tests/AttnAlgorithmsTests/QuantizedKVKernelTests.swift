import AttnAlgorithms
import AttnNumerics
import Testing
import TileLanguage
@testable import TileInterpreter
import AttnTestSupport
import TileTestSupport

/// Quantized KV read by the decode kernels (`flash-decoding-quant`, `paged-decode-quant`):
/// the codes by hand, the numeric error against float64 attention on the unquantized K
/// and V, and the IO laws (docs/io-laws.md, "Quantized KV decode").
///
/// Tolerance: the derived one (`NumericTolerance`), whose quantization term adds, per
/// quantized input, the square of the format's relative step u_q (fp8e4m3 2^-4, fp8e5m2
/// 2^-3, int8 1/255, int4 1/15) to the storage roundings' squares: an element's error is
/// at most u_q times its group's magnitude, unbiased and independent of the others, so
/// it adds in quadrature, and the softmax amplifies it by the factor 4 as any rounding.
/// The tests show both sides: every run stays within it, and the int4 error is far
/// above the tolerance without the term, so the term is needed and the check can fail.
@Suite struct QuantizedKVKernelTests {
    typealias S = TestSupport

    // MARK: Codes

    /// E4M3 1 = 0.0111.000 (exponent field 7), 448 = 0.1111.110, 2^-9 = 0.0000.001;
    /// E5M2 1 = 0.01111.00, 57,344 = 0.11110.11, 2^-16 = 0.00000.01.
    @Test(arguments: [
        (FP8Format.e4m3, Float(1), UInt8(0x38)), (.e4m3, 448, 0x7E), (.e4m3, 0x1p-9, 0x01), (.e4m3, -1.5, 0xBC), (.e4m3, 0.3, 0x2A),
        (.e5m2, 1, 0x3C), (.e5m2, 57344, 0x7B), (.e5m2, 0x1p-16, 0x01), (.e5m2, -1.5, 0xBE),
    ])
    func fp8Encodes(_ format: FP8Format, _ x: Float, _ bits: UInt8) {
        #expect(format.encode(x) == bits)
        #expect(format.decode(bits) == format.round(x))
    }

    /// Every finite byte decodes to a value that encodes back to it (negative zero
    /// aside), so a code read by `dequant` is exactly the rounded value.
    @Test(arguments: FP8Format.allCases)
    func fp8DecodeEncodeRoundTrips(_ format: FP8Format) {
        var finite = 0
        for byte in 0...255 where byte != 0x80 {
            let x = format.decode(UInt8(byte))
            guard x.isFinite else { continue }
            finite += 1
            #expect(format.encode(x) == UInt8(byte), "\(format) \(byte) -> \(x)")
        }
        // E4M3: 256 - 2 NaNs - the negative zero; E5M2: 256 - 6 NaNs - 2 infinities - the negative zero.
        #expect(finite == (format == .e4m3 ? 253 : 247))
    }

    /// int4, one group of [0, 1, 2, 3]: scale (3 - 0) / 15 = 0.2, rounded to fp16
    /// 0.199951171875; codes round(x / scale) = 0, 5, 10, 15, packed low nibble first:
    /// 0 + 16 * 5 = 80 and 10 + 16 * 15 = 250. int8 with two groups of [-1, 1]: scale
    /// 2 / 255, zero -1, codes 0 and 255 (1 + 1 = 255 scale exactly up to rounding).
    @Test func integerCodesByHand() throws {
        let fp16 = DType.fp16.round
        let int4 = try #require(KVQuantFormat.int4.quantize([0, 1, 2, 3], columns: 4, group: 4, roundScale: fp16, roundZero: fp16))
        #expect(int4.codes == [80, 250])
        #expect(int4.scales == [0.199951171875])
        #expect(int4.zeros == [0])
        #expect(KVQuantFormat.int4.value(code: 15, scale: int4.scales[0], zero: 0) == 15 * 0.199951171875)
        let int8 = try #require(KVQuantFormat.int8.quantize([-1, 1, 1, -1], columns: 4, group: 2, roundScale: fp16, roundZero: fp16))
        #expect(int8.codes == [0, 255, 255, 0])
        #expect(int8.zeros == [-1, -1])
        #expect(int8.scales == [fp16(2 / 255), fp16(2 / 255)])
        // Groups must divide the row; int4 needs an even row.
        #expect(KVQuantFormat.int4.quantize([0, 1, 2], columns: 3, group: 3, roundScale: fp16, roundZero: fp16) == nil)
        #expect(KVQuantFormat.int8.quantize([0, 1, 2, 3], columns: 4, group: 3, roundScale: fp16, roundZero: fp16) == nil)
    }

    // MARK: Numerics

    /// Ragged decode shapes: Nkv not a multiple of the 128-key blocks or 16-token pages,
    /// GQA groups of 2 and 3, one query and three (speculative decoding).
    static let shapes: [ProblemShape] = [
        S.shape(batch: 2, heads: 4, kvHeads: 2, n: 1, nkv: 301, d: 32),
        S.shape(batch: 1, heads: 3, kvHeads: 1, n: 3, nkv: 157, d: 64),
    ]

    static func bind(_ algorithm: String, _ shape: ProblemShape, quant: Int, group: Int? = nil, dtype: DType = .fp16) throws -> BoundProgram {
        var params: [String: ScalarValue] = ["quant": .int(quant)]
        if let group { params["group"] = .int(group) }
        return try BoundProgram(program: try AlgorithmLibrary.program(algorithm), shape: shape, dtype: dtype, hardware: S.h100, overrides: params)
    }

    /// Every format, per token and per group of 16, both kernels: within the derived
    /// tolerance (asserted by `TestSupport.numeric`), and int4 no better than int8.
    @Test(arguments: ["flash-decoding-quant", "paged-decode-quant"], [nil, 16])
    func decodesWithinDerivedTolerance(_ algorithm: String, group: Int?) throws {
        for shape in Self.shapes {
            var errors: [Double] = []
            for quant in 0...3 {
                let result = try S.numeric(try Self.bind(algorithm, shape, quant: quant, group: group))
                let o = try #require(result.checks.first { $0.tensor == "O" })
                #expect(o.error.maxRelativeError > 0)
                errors.append(o.error.maxRelativeError)
            }
            #expect(errors[2] < errors[3], "int8 \(errors[2]) vs int4 \(errors[3])")
            #expect(errors[2] < errors[0], "int8 \(errors[2]) vs fp8e4m3 \(errors[0])")
        }
    }

    /// The quantization term is the derived tolerance's largest part and is needed: int4's
    /// error is far above the tolerance of the same run without it (fp16 storage and fp32
    /// accumulation alone), and within the tolerance with it, 4 (sqrt(R^2 + 2 u_q^2) + n u).
    @Test func quantizationTermIsNeededAndSufficient() throws {
        let bound = try Self.bind("flash-decoding-quant", Self.shapes[0], quant: 3)
        let result = try S.numeric(bound)
        let o = try #require(result.checks.first { $0.tensor == "O" })
        let check = try #require(bound.program.checks.first { $0.tensorName == "O" })
        let step = 1.0 / 15
        // K's and V's int4 codes; the FP4 codes the program also declares are not read.
        #expect(abs(NumericTolerance.quantizationSquares(check, bound: bound, stats: result.stats) - 2 * step * step) < 1e-15)
        // Without the term: the roundings of a few fp16 and fp32 stores in quadrature
        // (at most 3 u(fp16)) and fp32 accumulation over d + Nkv.
        let without = 4 * (3 * 0x1p-11 + Double(32 + 301) * 0x1p-24)
        #expect(o.error.maxRelativeError > 10 * without)
        #expect(o.error.maxRelativeError <= o.tolerance)
        #expect(o.tolerance >= 4 * (2 * step * step).squareRoot())
    }

    // MARK: IO laws

    /// The quantized kernels move what their fp16 counterparts move, with K and V's
    /// 2 d e bytes per token and KV head replaced by 2 (d / c + 4 d / G) bytes (c = 2 for
    /// int4; 4 bytes of fp16 scale and zero per group of G, none for fp8), and add 2 FLOPs
    /// per dequantized element: 4 d per token, KV head and query block.
    @Test(arguments: [0, 2, 3], [nil, 64])
    func ioLaws(quant: Int, group: Int?) throws {
        let c = (batch: 8, heads: 32, kv: 8, n: 1, nkv: 131_072 + 77, d: 128)
        let shape = S.shape(batch: c.batch, heads: c.heads, kvHeads: c.kv, n: c.n, nkv: c.nkv, d: c.d)
        let bhkv = c.batch * c.kv, e = 2
        let perToken = c.d / (quant == 3 ? 2 : 1) + (quant >= 2 ? 4 * c.d / (group ?? c.d) : 0)
        // Flash-Decoding: the same split count (the heuristic sees the same shape and Bc).
        let q = try S.count(try Self.bind("flash-decoding-quant", shape, quant: quant, group: group)).total
        let f = try S.count(try S.bind("flash-decoding", shape, dtype: .fp16)).total
        #expect(q.hbmReadBytes == f.hbmReadBytes - 2 * bhkv * c.nkv * c.d * e + 2 * bhkv * c.nkv * perToken)
        #expect(q.hbmWriteBytes == f.hbmWriteBytes)
        #expect(q.flopsMatmul == f.flopsMatmul)
        #expect(q.flopsOther == f.flopsOther + 4 * bhkv * c.nkv * c.d)
        // Paged: whole pages of 16 tokens.
        let slots = S.cdiv(c.nkv, 16) * 16
        let pq = try S.count(try Self.bind("paged-decode-quant", shape, quant: quant, group: group)).total
        let pf = try S.count(try S.bind("paged-decode", shape, dtype: .fp16)).total
        #expect(pq.hbmReadBytes == pf.hbmReadBytes - 2 * bhkv * slots * c.d * e + 2 * bhkv * slots * perToken)
        #expect(pq.hbmWriteBytes == pf.hbmWriteBytes)
        #expect(pq.flopsOther == pf.flopsOther + 4 * bhkv * slots * c.d)
        // The absolute figure for int4 per group of 64, paged: Q once, the block table
        // (4 bytes per page per KV head), 64 + 8 bytes per token for K and for V.
        if quant == 3 && group == 64 {
            #expect(pq.hbmReadBytes == c.batch * c.heads * c.d * e + 4 * bhkv * S.cdiv(c.nkv, 16) + 2 * bhkv * slots * (64 + 8))
        }
    }

    /// Compressed counts equal exhaustive ones on a ragged, causal, speculative shape.
    @Test(arguments: ["flash-decoding-quant", "paged-decode-quant"], [0, 3])
    func compressedEqualsExhaustive(_ algorithm: String, quant: Int) throws {
        let shape = S.shape(batch: 2, heads: 6, kvHeads: 2, n: 5, nkv: 333, d: 32)
        var params: [String: ScalarValue] = ["quant": .int(quant), "causal": .int(1), "group": .int(8)]
        if algorithm.hasPrefix("flash") { params["splits"] = .int(3) }
        let bound = try BoundProgram(program: try AlgorithmLibrary.program(algorithm), shape: shape, dtype: .bf16, hardware: S.h100, overrides: params)
        #expect(try S.count(bound).total == S.count(bound, compress: false).total)
    }

    // MARK: Errors

    /// `quantize` names earlier float inputs and fills u8 codes; checked without values.
    @Test(arguments: [
        ("input KQ[4, 8] u8 quantize(K, KS, KZ, 2)\ninput K[4, 8]\ninput KS[4, 1] fp16\ninput KZ[4, 1] fp16\n",
         "'quantize' names 'K', which must be a float input declared before 'KQ'"),
        ("input K[4, 8]\ninput KS[4, 1] fp16\ninput KZ[4, 1] fp16\ninput KQ[4, 8] fp16 quantize(K, KS, KZ, 2)\n", "'quantize' fills u8 tensors (codes)"),
        ("input K[4, 8]\ninput KS[4, 1] fp16\ninput KZ[4, 1] fp16\ninput KQ[4, 8] u8 quantize(K, KS, KZ, 0.5)\n", "the format of 'quantize' must be an integer"),
    ])
    func quantizeIsChecked(_ declarations: String, _ message: String) {
        do {
            _ = try Checker.check(SourceFile(name: "t.tile", text: declarations + "kernel k grid(i: 1):\n  x = zeros(1)\n"))
            Issue.record("expected an error")
        } catch {
            #expect(error.message == message)
        }
    }

    /// A run with a format outside 0 ... 3, shapes that do not match, or a `dequant` scale
    /// of the wrong shape fails with a diagnostic, not a crash.
    @Test func runTimeErrors() throws {
        let header = "input K[4, 8]\ninput KS[4, G] fp16\ninput KZ[4, G] fp16\ninput KQ[4, C] u8 quantize(K, KS, KZ, F)\noutput O[4, 8]\n"
        func run(_ params: String, _ body: String) -> String? {
            let text = params + header + "kernel k grid(i: 1):\n  q = load KQ[:, :] -> sram\n" + body
            do {
                let bound = try S.bindSource(text, S.shape(n: 4, d: 8))
                _ = try Simulator.run(bound, options: RunOptions(mode: .numeric, seed: 1))
                return nil
            } catch let diagnostic as Diagnostic {
                return diagnostic.message
            } catch {
                return "\(error)"
            }
        }
        let store = "  store O[:, :] = dequant(q, F, s, z)\n"
        let scales = "  s = load KS[:, :] -> reg\n  z = load KZ[:, :] -> reg\n"
        #expect(run("param F = 2\nparam G = 2\nparam C = 8\n", scales + store) == nil)
        #expect(run("param F = 7\nparam G = 2\nparam C = 8\n", scales + store)?.hasPrefix("the format of 'quantize' is 0 (fp8e4m3)") == true)
        #expect(run("param F = 3\nparam G = 2\nparam C = 8\n", scales + store)?.hasPrefix("'quantize' needs K [..., d], codes [..., d / 2]") == true)
        #expect(run("param F = 2\nparam G = 3\nparam C = 8\n", scales + store)?.hasPrefix("'quantize' needs") == true)
        let wrongScale = "  s = zeros(3, 2)\n  z = 0.0\n"
        #expect(run("param F = 2\nparam G = 2\nparam C = 8\n", wrongScale + store)?.hasPrefix("a scale or zero of 'dequant' is a number") == true)
        #expect(run("param F = 2\nparam G = 2\nparam C = 8\n", scales + "  store O[:, :] = dequant(q, 9)\n")?.hasPrefix("the format of 'dequant' is") == true)
    }
}
