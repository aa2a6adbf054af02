import Foundation
import Testing
import AttnAlgorithms
import AttnNumerics
@testable import TileInterpreter
import AttnTestSupport
import TileTestSupport

/// Multi-head latent attention (DeepSeek-V2/V3) decoding: the float64 reference, the
/// naive and absorbed programs' numerics on ragged shapes, and their closed-form IO laws
/// (docs/io-laws.md).
@Suite struct LatentAttentionTests {
    typealias S = TestSupport

    func tensor(_ shape: [Int], _ values: [Float]) -> HostTensor {
        var t = HostTensor(shape: shape, dtype: .fp32)
        t.values = values
        return t
    }

    /// One head, one query, two tokens, every size 1, identity up-projections: the scores
    /// are (q^C c_j + q^R k^R_j) / sqrt(2) = [0, ln 3], so p = [1/4, 3/4] and
    /// o = 3/4 c_2 = 3/4 sqrt(2) ln 3.
    @Test func referenceByHand() throws {
        let c2 = Float(2.0.squareRoot() * log(3.0))
        let out = LatentAttentionReference.output(
            qNope: tensor([1, 1, 1], [1]), qRope: tensor([1, 1, 1], [0]), latent: tensor([1, 2, 1], [0, c2]),
            ropeKey: tensor([1, 2, 1], [5, -7]), wUK: tensor([1, 1, 1], [1]), wUV: tensor([1, 1, 1], [1]), batch: 1, heads: 1)
        let o = try #require(out)
        #expect(o.count == 1)
        // c_2 is rounded to fp32, so exp(score) is 3 to about 1e-8.
        #expect(abs(o[0] - 0.75 * Double(c2)) < 1e-7)
        #expect(abs(o[0] - 0.75 * 2.0.squareRoot() * log(3.0)) < 1e-6)
        // The RoPE part counts: q^R = 1 moves the scores by k^R / sqrt(2).
        let rope = LatentAttentionReference.output(
            qNope: tensor([1, 1, 1], [0]), qRope: tensor([1, 1, 1], [Float(2.0.squareRoot() * log(3.0))]), latent: tensor([1, 2, 1], [1, 2]),
            ropeKey: tensor([1, 2, 1], [0, 1]), wUK: tensor([1, 1, 1], [1]), wUV: tensor([1, 1, 1], [1]), batch: 1, heads: 1)
        // scores [0, ln 3 (to fp32)]: o = 1/4 x 1 + 3/4 x 2 = 1.75.
        #expect(abs((rope?[0] ?? 0) - 1.75) < 1e-6)
        // Mismatched sizes are refused, not read out of bounds.
        #expect(LatentAttentionReference.output(
            qNope: tensor([1, 1, 1], [1]), qRope: tensor([1, 1, 1], [0]), latent: tensor([1, 2, 1], [0, 1]),
            ropeKey: tensor([1, 1, 1], [0]), wUK: tensor([1, 1, 1], [1]), wUV: tensor([1, 1, 1], [1]), batch: 1, heads: 1) == nil)
    }

    struct Case: CustomStringConvertible, Sendable {
        var batch: Int, heads: Int, n: Int, nkv: Int, d: Int, dtype: DType, params: [String: Int]
        var description: String { "B\(batch) H\(heads) N\(n) Nkv\(nkv) d\(d) \(dtype) \(params)" }
    }

    /// Ragged everywhere: Nkv and the rank not multiples of Bc and Bk, heads x N not a
    /// multiple of Bh, N not a multiple of Br.
    static let numericCases = [
        Case(batch: 2, heads: 3, n: 1, nkv: 37, d: 16, dtype: .fp32, params: ["rank": 40, "rope": 8, "Bc": 16, "Bk": 16, "Br": 1, "Bh": 4]),
        Case(batch: 1, heads: 5, n: 3, nkv: 50, d: 8, dtype: .fp16, params: ["rank": 24, "rope": 4, "Bc": 16, "Bk": 10, "Br": 2, "Bh": 4]),
        Case(batch: 2, heads: 2, n: 2, nkv: 19, d: 16, dtype: .bf16, params: ["rank": 32, "rope": 8, "Bc": 8, "Bk": 32, "Br": 64, "Bh": 3]),
    ]

    @Test(arguments: ["mla-decode-naive", "mla-decode-absorbed"], numericCases)
    func numericChecksPass(_ algorithm: String, _ c: Case) throws {
        let params = algorithm == "mla-decode-naive" ? c.params.filter { $0.key != "Bh" } : c.params
        let bound = try S.bind(algorithm, ProblemShape(batch: c.batch, heads: c.heads, kvHeads: 1, queryLength: c.n, keyLength: c.nkv, headDim: c.d), dtype: c.dtype, params: params)
        let result = try S.numeric(bound)
        #expect(result.checks.count == 1)
        #expect(result.checks.first?.reference == .attentionMLA)
    }

    /// The check can fail: the absorbed program without the RoPE part of the score, or
    /// with the value up-projection left out, is far off.
    @Test func brokenProgramsFailTheirCheck() throws {
        let source = try AlgorithmLibrary.builtInSource("mla-decode-absorbed").text
        let shape = ProblemShape(batch: 1, heads: 2, kvHeads: 1, queryLength: 1, keyLength: 20, headDim: 8)
        let params = ["rank": 16, "rope": 4, "Bc": 8, "Bk": 8]
        for (from, to) in [("sc = (ql @ c^T + qr @ kr^T) * sm", "sc = (ql @ c^T) * sm"), ("o = o + ol @ wv", "o = o + ol @ wv * 0.5")] {
            #expect(source.contains(from))
            let bound = try S.bindSource(source.replacingOccurrences(of: from, with: to), shape, params: params)
            let result = try Simulator.run(bound, options: RunOptions(mode: .numeric, seed: 3))
            #expect(result.checks.count == 1)
            #expect(result.checks.allSatisfy { !$0.passed }, "\(to)")
        }
    }

    static let lawCases = [
        Case(batch: 2, heads: 3, n: 2, nkv: 37, d: 16, dtype: .fp32, params: ["rank": 40, "rope": 8, "Bc": 16, "Bk": 16, "Br": 1, "Bh": 4]),
        Case(batch: 1, heads: 128, n: 1, nkv: 4096, d: 128, dtype: .bf16, params: [:]),
        Case(batch: 4, heads: 16, n: 2, nkv: 1000, d: 128, dtype: .fp16, params: ["Bc": 48, "Bk": 96, "Bh": 24]),
    ]

    func sizes(_ c: Case) -> (rank: Int, rope: Int, br: Int, bc: Int, bk: Int, bh: Int) {
        (c.params["rank"] ?? 512, c.params["rope"] ?? 64, c.params["Br"] ?? 64, c.params["Bc"] ?? 64, c.params["Bk"] ?? 64, c.params["Bh"] ?? 32)
    }

    /// Naive: the latent is read once per head and W_UK, W_UV once per token block;
    /// K and V [BH, Nkv, d] are written, then read once per query block with k^R.
    @Test(arguments: lawCases)
    func naiveLaw(_ c: Case) throws {
        let z = sizes(c)
        let bound = try S.bind("mla-decode-naive", ProblemShape(batch: c.batch, heads: c.heads, kvHeads: 1, queryLength: c.n, keyLength: c.nkv, headDim: c.d), dtype: c.dtype, params: c.params.filter { $0.key != "Bh" })
        let t = try S.count(bound).total
        let bh = c.batch * c.heads, e = c.dtype.bytes, d = c.d
        let tc = S.cdiv(c.nkv, z.bc), tr = S.cdiv(c.n, z.br)
        #expect(t.hbmReadBytes == bh * c.nkv * z.rank * e + 2 * bh * tc * z.rank * d * e + bh * c.n * (d + z.rope) * e + bh * tr * c.nkv * (2 * d + z.rope) * e)
        #expect(t.hbmWriteBytes == 2 * bh * c.nkv * d * e + bh * c.n * d * e)
        #expect(t.flopsMatmul == 4 * bh * c.nkv * z.rank * d + 2 * bh * c.n * c.nkv * (2 * d + z.rope))
        // One exp per score and one per rescale per key block.
        #expect(t.exps == bh * c.n * (c.nkv + tc))
    }

    /// Absorbed: nothing of size Nkv is written; the latent and k^R are read once per
    /// Bh packed (head, query) rows of a sequence, shared out over S splits; q_lat and the
    /// fp32 partial o_lat (and, with S > 1, the LSEs) go through HBM.
    @Test(arguments: lawCases, [1, 3, 0])
    func absorbedLaw(_ c: Case, splits: Int) throws {
        let z = sizes(c)
        var params = c.params
        params["splits"] = splits
        let bound = try S.bind("mla-decode-absorbed", ProblemShape(batch: c.batch, heads: c.heads, kvHeads: 1, queryLength: c.n, keyLength: c.nkv, headDim: c.d), dtype: c.dtype, params: params)
        guard case .int(let sp) = bound.parameter("S") else { throw TestFailure("no S") }
        if splits > 0 { #expect(sp == splits) }
        let t = try S.count(bound).total
        let bh = c.batch * c.heads, e = c.dtype.bytes, d = c.d
        let tr = S.cdiv(c.n, z.br), tg = S.cdiv(c.heads * c.n, z.bh), tc = S.cdiv(c.nkv, z.bc)
        let lse = sp > 1 ? 4 * bh * c.n * sp : 0
        #expect(t.hbmReadBytes == bh * c.n * d * e + 2 * bh * tr * z.rank * d * e + sp * bh * c.n * (z.rank + z.rope) * e
            + c.batch * tg * c.nkv * (z.rank + z.rope) * e + 4 * bh * c.n * sp * z.rank + lse)
        #expect(t.hbmWriteBytes == bh * c.n * z.rank * e + 4 * bh * c.n * sp * z.rank + lse + bh * c.n * d * e)
        #expect(t.flopsMatmul == 4 * bh * c.n * z.rank * d + 2 * bh * c.n * c.nkv * (2 * z.rank + z.rope))
        // One exp per score and per rescale; merging S > 1 splits takes 2 S per row.
        #expect(t.exps == bh * c.n * (c.nkv + tc) + (sp > 1 ? 2 * bh * c.n * sp : 0))
    }

    /// Splits change the order of the sums only: the numeric check passes with S = 1, 3
    /// and more splits than latent blocks (empty splits weigh nothing).
    @Test(arguments: [1, 3, 9])
    func splitsKeepTheResult(_ splits: Int) throws {
        let shape = ProblemShape(batch: 2, heads: 3, kvHeads: 1, queryLength: 1, keyLength: 50, headDim: 8)
        let bound = try S.bind("mla-decode-absorbed", shape, dtype: .fp16, params: ["rank": 24, "rope": 4, "Bc": 8, "Bk": 16, "Bh": 2, "splits": splits])
        _ = try S.numeric(bound)
    }

    /// DeepSeek-V3's attention shape (128 heads, d 128, rank 512, rope 64) decoding one
    /// token against 32K cached tokens in bf16: absorbed reads the latent 4 times (128
    /// heads / Bh 32) instead of 128, and writes no K or V; its splits add partials.
    @Test func deepSeekV3DecodeStep() throws {
        let shape = ProblemShape(batch: 1, heads: 128, kvHeads: 1, queryLength: 1, keyLength: 32_768, headDim: 128)
        let naive = try S.count(try S.bind("mla-decode-naive", shape, dtype: .bf16)).total
        let absorbed = try S.count(try S.bind("mla-decode-absorbed", shape, dtype: .bf16)).total
        // Naive: 128 x 32,768 x 512 x 2 (latent per head) + 2 x 128 x 512 x 512 x 128 x 2
        // (W_UK, W_UV per token block) + 128 x 192 x 2 + 128 x 32,768 x 320 x 2 = 24,159,240,192.
        #expect(naive.hbmReadBytes == 24_159_240_192)
        // Absorbed, with FlashAttention-2's heuristic over 4 tiles, 264 slots and 512 latent
        // blocks: the smallest S with wave efficiency 4 S / 264 >= 0.85 whose block count
        // per split differs from S - 1's is 57 (ceil(512 / 57) = 9, ceil(512 / 56) = 10).
        let bound = try S.bind("mla-decode-absorbed", shape, dtype: .bf16)
        #expect(bound.parameter("S") == .int(57))
        // 128 x 128 x 2 + 2 x 128 x 512 x 128 x 2 + 57 x 128 x 576 x 2 + 4 x 32,768 x 576 x 2
        // + 4 x 128 x 57 x 512 + 4 x 128 x 57 = 207,958,528: 116 times less than naive.
        #expect(absorbed.hbmReadBytes == 207_958_528)
        #expect(naive.hbmReadBytes / absorbed.hbmReadBytes == 116)
        // Without splits the latent is still read 4 times, q and o_lat once: 184,991,744.
        let single = try S.count(try S.bind("mla-decode-absorbed", shape, dtype: .bf16, params: ["splits": 1])).total
        #expect(single.hbmReadBytes == 184_991_744)
    }
}
