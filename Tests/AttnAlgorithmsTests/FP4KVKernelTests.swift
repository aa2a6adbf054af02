import AttnAlgorithms
import AttnNumerics
import Testing
import TileLanguage
@testable import TileInterpreter
import AttnTestSupport
import TileTestSupport

/// NVFP4 and MXFP4 KV caches read by the quantized decode kernels (`flash-decoding-quant`
/// and `paged-decode-quant` with quant 4 and 5): the codes and scales by hand, the output
/// against a float64 reference over the dequantized cache, and the IO law.
///
/// Tolerance against the dequantized cache: both sides see the same K and V values (an
/// E2M1 value, at most 2 significant bits, times a one-byte scale, at most 4, is exact in
/// fp32 and in float64), so quantization cancels and what is left is the run's own
/// error as `NumericTolerance` derives it without the quantization term: O stored once in
/// fp16 (2^-11), a split's fp32 partial once more (2^-24, bounded by 2^-23 for both
/// roundings of the split path), and fp32 accumulation over d + Nkv terms, times the
/// softmax's factor 4: 4 (2^-11 + 2^-23 + (d + Nkv) 2^-24).
@Suite struct FP4KVKernelTests {
    typealias S = TestSupport

    /// quant 4 and 5 of the programs, and what each stores per block.
    enum Format: Int, CaseIterable, CustomStringConvertible {
        case nvfp4 = 4
        case mxfp4 = 5
        /// Elements per scale: NVFP4 16, MXFP4 32.
        var block: Int { self == .nvfp4 ? 16 : 32 }
        /// The programs' tensor-name infix of this format's codes and scales.
        var infix: String { self == .nvfp4 ? "4" : "X" }
        var description: String { self == .nvfp4 ? "nvfp4" : "mxfp4" }
    }

    // MARK: Codes

    /// One block [0.9, -0.45, 0.1, 0]: amax 0.9, amax / 6 = 0.15. NVFP4 rounds the scale to
    /// E4M3: 0.15 = 1.2 x 2^-3 -> 1.25 x 2^-3 = 0.15625; the elements / scale are 5.76,
    /// -2.88, 0.64, 0 -> E2M1 6, -3, 0.5, 0 (codes 7, 8 + 5 = 13, 1, 0; packed low nibble
    /// first 7 + 16 x 13 = 215, 1). MXFP4 rounds it to E8M0: 1.2 < 1.5, so 2^-3 = 0.125;
    /// 7.2 -> 6 (saturated), -3.6 -> -4, 0.8 -> 1, 0 (codes 7, 8 + 6 = 14, 2, 0: 231, 2).
    @Test func codesAndScalesByHand() throws {
        let values: [Float] = [0.9, -0.45, 0.1, 0]
        let zero = DType.fp16.round
        let nv = try #require(KVQuantFormat.fp4e2m1.quantize(values, columns: 4, group: 4, roundScale: DType.fp8e4m3.round, roundZero: zero))
        #expect(nv.scales == [0.15625])
        #expect(nv.codes == [215, 1])
        let mx = try #require(KVQuantFormat.fp4e2m1.quantize(values, columns: 4, group: 4, roundScale: DType.e8m0.round, roundZero: zero))
        #expect(mx.scales == [0.125])
        #expect(mx.codes == [231, 2])
        #expect(nv.zeros == [0] && mx.zeros == [0])
        // Dequantized: 6 x 0.15625 = 0.9375 (NVFP4); 6 x 0.125 = 0.75 (MXFP4, the saturated element).
        #expect(KVQuantFormat.fp4e2m1.value(code: 7, scale: nv.scales[0], zero: 0) == 0.9375)
        #expect(KVQuantFormat.fp4e2m1.value(code: 14, scale: mx.scales[0], zero: 0) == -0.5)
    }

    // MARK: Numerics

    /// Ragged decode shapes (Nkv not a multiple of the key blocks or pages), GQA groups of 2
    /// and 3, one query and three; d a multiple of MXFP4's 32.
    static let shapes: [ProblemShape] = [
        S.shape(batch: 2, heads: 4, kvHeads: 2, n: 1, nkv: 301, d: 32),
        S.shape(batch: 1, heads: 3, kvHeads: 1, n: 3, nkv: 157, d: 64),
    ]

    static func bind(_ algorithm: String, _ shape: ProblemShape, _ format: Format, splits: Int? = nil) throws -> BoundProgram {
        var params: [String: ScalarValue] = ["quant": .int(format.rawValue)]
        if let splits { params["splits"] = .int(splits) }
        return try BoundProgram(program: try AlgorithmLibrary.program(algorithm), shape: shape, dtype: .fp16, hardware: S.h100, overrides: params)
    }

    /// The dequantized values of a code tensor [..., d / 2] with its scales [..., d / block]:
    /// element c of a row is E2M1(nibble c) x the scale of block c / block.
    static func dequantized(_ codes: HostTensor, _ scales: HostTensor, d: Int, block: Int) -> [Float] {
        let rows = codes.values.count / (d / 2)
        var out = [Float](repeating: 0, count: rows * d)
        for r in 0..<rows {
            for c in 0..<d {
                let byte = Int(codes.values[r * d / 2 + c / 2])
                let nibble = c % 2 == 0 ? byte & 15 : byte >> 4
                out[r * d + c] = DType.decodeE2M1(nibble) * scales.values[r * d / block + c / block]
            }
        }
        return out
    }

    /// Contiguous [batch * kv_heads, Nkv, d] from a pool [pages, kv_heads, P, d] of `values`
    /// through the block table [batch, pages per sequence].
    static func gathered(_ pool: [Float], table: HostTensor, shape: ProblemShape, page: Int) -> [Float] {
        let d = shape.headDim, nkv = shape.keyLength, kv = shape.kvHeads
        var out = [Float](repeating: 0, count: shape.batch * kv * nkv * d)
        for b in 0..<shape.batch {
            for t in 0..<nkv {
                let p = Int(table.values[b * table.shape[1] + t / page])
                for h in 0..<kv {
                    let from = ((p * kv + h) * page + t % page) * d, to = ((b * kv + h) * nkv + t) * d
                    for c in 0..<d { out[to + c] = pool[from + c] }
                }
            }
        }
        return out
    }

    /// Both kernels, both formats, with and without split-KV: O within the tolerance above
    /// of float64 attention over the dequantized cache, and within the derived tolerance
    /// (`TestSupport.numeric`, quantization term 2 (1/6)^2) of attention over the
    /// unquantized K and V; the quantization error is far above the first tolerance, so the
    /// reference over the dequantized cache is what the kernel computes.
    @Test(arguments: ["flash-decoding-quant", "paged-decode-quant"], Format.allCases)
    func matchesTheDequantizedCache(_ algorithm: String, _ format: Format) throws {
        for shape in Self.shapes {
            for splits in algorithm.hasPrefix("flash") ? [1, 3] : [nil] {
                let bound = try Self.bind(algorithm, shape, format, splits: splits)
                let result = try S.numeric(bound)
                let paged = algorithm.hasPrefix("paged")
                let suffix = paged ? "p" : ""
                func cache(_ name: String) throws -> [Float] {
                    let codes = try #require(result.tensors["\(name)\(format.infix)Q\(suffix)"])
                    let scales = try #require(result.tensors["\(name)\(format.infix)S\(suffix)"])
                    let values = Self.dequantized(codes, scales, d: shape.headDim, block: format.block)
                    guard paged else { return values }
                    return Self.gathered(values, table: try #require(result.tensors["BT"]), shape: shape, page: 16)
                }
                let kvShape = [shape.batch * shape.kvHeads, shape.keyLength, shape.headDim]
                var k = HostTensor(shape: kvShape, dtype: .fp32), v = HostTensor(shape: kvShape, dtype: .fp32)
                k.values = try cache("K")
                v.values = try cache("V")
                let q = try #require(result.tensors["Q"])
                let reference = AttentionReference.output(shape, q: q, k: k, v: v)
                let o = try #require(result.tensors["O"])
                let error = try #require(ErrorMetrics(values: o.values, reference: reference)).maxRelativeError
                let tolerance = 4 * (0x1p-11 + 0x1p-23 + Double(shape.headDim + shape.keyLength) * 0x1p-24)
                #expect(error <= tolerance, "\(algorithm) \(format) \(shape): \(error) against \(tolerance)")
                let check = try #require(result.checks.first { $0.tensor == "O" })
                #expect(check.error.maxRelativeError > 10 * tolerance, "quantization visible: \(check.error.maxRelativeError)")
                // The derived tolerance counts K's and V's codes of this format only.
                let declaration = try #require(bound.program.checks.first { $0.tensorName == "O" })
                let squares = NumericTolerance.quantizationSquares(declaration, bound: bound, stats: result.stats)
                #expect(abs(squares - 2.0 / 36) < 1e-15)
            }
        }
    }

    // MARK: IO law

    /// The cache bytes with scales per token and KV head are 2 x vector bytes of d = 128:
    /// NVFP4 64 codes + 8 E4M3 scales = 72, MXFP4 64 + 4 E8M0 scales = 68 (KVDType's
    /// `vectorBytes`); the kernels move what their fp16 counterparts move with K and V's
    /// 2 d e bytes replaced by these, and add 2 FLOPs per dequantized element.
    @Test(arguments: Format.allCases)
    func ioLaw(_ format: Format) throws {
        let c = (batch: 8, heads: 32, kv: 8, n: 1, nkv: 32_768 + 77, d: 128)
        let shape = S.shape(batch: c.batch, heads: c.heads, kvHeads: c.kv, n: c.n, nkv: c.nkv, d: c.d)
        let bhkv = c.batch * c.kv, e = 2
        let vectorBytes = format == .nvfp4 ? 72 : 68
        #expect(vectorBytes == c.d / 2 + c.d / format.block)
        let q = try S.count(try Self.bind("flash-decoding-quant", shape, format)).total
        let f = try S.count(try S.bind("flash-decoding", shape, dtype: .fp16)).total
        #expect(q.hbmReadBytes == f.hbmReadBytes - 2 * bhkv * c.nkv * c.d * e + 2 * bhkv * c.nkv * vectorBytes)
        #expect(q.hbmWriteBytes == f.hbmWriteBytes)
        #expect(q.flopsMatmul == f.flopsMatmul)
        #expect(q.flopsOther == f.flopsOther + 4 * bhkv * c.nkv * c.d)
        // Paged: whole pages of 16 tokens; Q once, the block table (4 bytes per page and KV
        // head), the pages' codes and scales.
        let pages = S.cdiv(c.nkv, 16), slots = pages * 16
        let pq = try S.count(try Self.bind("paged-decode-quant", shape, format)).total
        #expect(pq.hbmReadBytes == c.batch * c.heads * c.d * e + 4 * bhkv * pages + 2 * bhkv * slots * vectorBytes)
        let pf = try S.count(try S.bind("paged-decode", shape, dtype: .fp16)).total
        #expect(pq.flopsOther == pf.flopsOther + 4 * bhkv * slots * c.d)
    }

    /// A block size other than the format's, or an odd head dimension, is refused at bind.
    @Test func formatRequirements() throws {
        let shape = S.shape(batch: 1, heads: 2, n: 1, nkv: 64, d: 32)
        let program = try AlgorithmLibrary.program("flash-decoding-quant")
        for (overrides, message) in [
            (["quant": ScalarValue.int(4), "group": .int(32)], "NVFP4 has one E4M3 scale per 16 elements: group is 16"),
            (["quant": .int(5), "group": .int(16)], "MXFP4 has one E8M0 scale per 32 elements: group is 32"),
            (["quant": .int(6)], "quant is 0 (fp8e4m3), 1 (fp8e5m2), 2 (int8), 3 (int4), 4 (nvfp4) or 5 (mxfp4)"),
        ] {
            do {
                _ = try BoundProgram(program: program, shape: shape, dtype: .fp16, hardware: S.h100, overrides: overrides)
                Issue.record("expected \(message)")
            } catch {
                #expect("\(error)".contains(message), "\(error)")
            }
        }
    }
}
