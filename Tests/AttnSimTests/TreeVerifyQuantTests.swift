import AttnAlgorithms
import AttnModel
import AttnNumerics
import Foundation
import Testing
import TileInterpreter
import TileLanguage
import AttnTestSupport
import TileTestSupport

/// tree-verify-quant.tile, the verify step over a quantized KV cache: its output against
/// float64 tree attention on the unquantized K and V, and its IO law against tree-verify's.
///
/// Tolerance: the derived one (`NumericTolerance`, asserted by `TestSupport.numeric`),
/// whose quantization term adds the square of each quantized input's relative step
/// (fp8e4m3 2^-4, fp8e5m2 2^-3, int8 1/255, int4 1/15, E2M1 1/6), as for flash-decoding-quant.
@Suite struct TreeVerifyQuantTests {
    typealias S = TestSupport

    static func bind(_ shape: ProblemShape, quant: Int?, params: [String: Int]) throws -> BoundProgram {
        var overrides = params.mapValues { ScalarValue.int($0) }
        let program: Program
        if let quant {
            overrides["quant"] = .int(quant)
            program = try ModelProgramLibrary.treeVerifyQuant()
        } else {
            program = try AlgorithmLibrary.program("tree-verify")
        }
        return try BoundProgram(program: program, shape: shape, dtype: .fp16, hardware: S.h100, overrides: overrides)
    }

    /// A ragged tree (7 drafts of width 2 over 150 cached tokens, blocks of 4 drafts, GQA
    /// groups of 2) in one pass and in 3 prefix splits, every format, per token and per
    /// group of 16: within the derived tolerance, and int8 closer than int4.
    @Test(arguments: [1, 3], [nil, 16])
    func verifiesWithinDerivedTolerance(_ splits: Int, _ group: Int?) throws {
        let shape = S.shape(batch: 2, heads: 4, kvHeads: 2, n: 7, nkv: 157, d: 32)
        var errors: [Double] = []
        for quant in 0...3 {
            var params = ["width": 2, "Bt": 4, "Bc": 32, "splits": splits]
            if let group { params["group"] = group }
            let result = try S.numeric(try Self.bind(shape, quant: quant, params: params))
            let o = try #require(result.checks.first { $0.tensor == "O" })
            #expect(o.error.maxRelativeError > 0)
            errors.append(o.error.maxRelativeError)
        }
        #expect(errors[2] < errors[3], "int8 \(errors[2]) vs int4 \(errors[3])")
    }

    /// NVFP4 (quant 4: an E4M3 scale per 16) and MXFP4 (quant 5: an E8M0 scale per 32) caches,
    /// the same ragged tree in one pass and in 3 prefix splits: within the derived tolerance
    /// (E2M1's relative step 1/6 squared in its quantization term), and not exact.
    @Test(arguments: [1, 3], [4, 5])
    func verifiesFP4WithinDerivedTolerance(_ splits: Int, _ quant: Int) throws {
        let shape = S.shape(batch: 2, heads: 4, kvHeads: 2, n: 7, nkv: 157, d: 32)
        let result = try S.numeric(try Self.bind(shape, quant: quant, params: ["width": 2, "Bt": 4, "Bc": 32, "splits": splits]))
        let o = try #require(result.checks.first { $0.tensor == "O" })
        #expect(o.error.maxRelativeError > 0)
    }

    /// FP4 caches: K and V's 2 d e bytes per token row become 2 (d / 2 + d / G), the E2M1
    /// codes two per byte and one one-byte scale per block of G (NVFP4 16: 16 + 2 = 18 bytes
    /// per vector of d = 32; MXFP4 32: 16 + 1 = 17), over the 1,011 rows per batch and KV
    /// head of the law below; 2 FLOPs per dequantized element.
    @Test(arguments: [(4, 18), (5, 17)])
    func ioLawFP4(_ quant: Int, _ perToken: Int) throws {
        let (batch, kv, d, e) = (2, 2, 32, 2)
        let shape = S.shape(batch: batch, heads: 4, kvHeads: kv, n: 7, nkv: 507, d: d)
        let params = ["width": 1, "Bt": 4, "Bc": 64]
        let q = try S.count(try Self.bind(shape, quant: quant, params: params)).total
        let f = try S.count(try Self.bind(shape, quant: nil, params: params)).total
        let rows = batch * kv * (2 * 500 + 4 + 7)
        #expect(q.hbmReadBytes == f.hbmReadBytes - 2 * rows * d * e + 2 * rows * perToken)
        #expect(q.hbmWriteBytes == f.hbmWriteBytes)
        #expect(q.flopsMatmul == f.flopsMatmul)
        #expect(q.flopsOther == f.flopsOther + 4 * rows * d)
    }

    /// The quantized verify moves tree-verify's bytes with K and V's 2 d e bytes per token
    /// row read replaced by 2 (d / c + 4 d / G) (c = 2 for int4; an fp16 scale and zero per
    /// group of G, none for fp8), and adds 2 FLOPs per dequantized element. Rows read per
    /// batch and KV head: T P + sum_i K_i (tree-verify's law: T = 2 blocks of Bt = 4 over P
    /// = 500 cached tokens, K_i = 4 and 7 draft keys): 2 x 500 + 11 = 1,011.
    @Test(arguments: [0, 2, 3], [nil, 16])
    func ioLaw(_ quant: Int, _ group: Int?) throws {
        let (batch, kv, d, e) = (2, 2, 32, 2)
        let shape = S.shape(batch: batch, heads: 4, kvHeads: kv, n: 7, nkv: 507, d: d)
        let params = ["width": 1, "Bt": 4, "Bc": 64]
        let q = try S.count(try Self.bind(shape, quant: quant, params: params.merging(group.map { ["group": $0] } ?? [:]) { a, _ in a })).total
        let f = try S.count(try Self.bind(shape, quant: nil, params: params)).total
        let rows = batch * kv * (2 * 500 + 4 + 7)
        let perToken = d / (quant == 3 ? 2 : 1) + (quant >= 2 ? 4 * d / (group ?? d) : 0)
        #expect(q.hbmReadBytes == f.hbmReadBytes - 2 * rows * d * e + 2 * rows * perToken)
        #expect(q.hbmWriteBytes == f.hbmWriteBytes)
        #expect(q.flopsMatmul == f.flopsMatmul)
        #expect(q.flopsOther == f.flopsOther + 4 * rows * d)
    }
}
