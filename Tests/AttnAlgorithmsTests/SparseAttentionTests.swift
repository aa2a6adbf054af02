import Foundation
import Testing
import AttnAlgorithms
import AttnNumerics
@testable import TileInterpreter
import TileLanguage
import AttnTestSupport
import TileTestSupport

/// Data-dependent sparse attention (docs/algorithms.md): DSA, NSA, Quest, MoBA, Reformer's
/// LSH and the Routing Transformer. Each program's output passes its float64 reference of
/// the same selection on ragged shapes in every dtype; a program whose selection is wrong
/// fails with the selection named; its counts are the same compressed, replayed and in
/// numeric mode, and equal the closed forms of docs/io-laws.md; and each reference, given
/// a selection of everything, is dense attention.
@Suite struct SparseAttentionTests {
    typealias S = TestSupport

    struct Case: CustomStringConvertible, Sendable {
        var algorithm: String
        var batch = 1, heads: Int, kvHeads: Int, n: Int, nkv: Int, d: Int
        var params: [String: Int]
        var shape: ProblemShape { ProblemShape(batch: batch, heads: heads, kvHeads: kvHeads, queryLength: n, keyLength: nkv, headDim: d) }
        var description: String { "\(algorithm) B\(batch) H\(heads)/\(kvHeads) N\(n) Nkv\(nkv) d\(d) \(params.sorted { $0.key < $1.key })" }
    }

    /// Ragged everywhere (lengths not multiples of pages, blocks, chunks or tiles); decode
    /// and causal prefill; GQA where the algorithm has it.
    static let cases: [Case] = [
        Case(algorithm: "quest", batch: 2, heads: 4, kvHeads: 2, n: 1, nkv: 300, d: 16, params: ["P": 8, "budget": 64, "Bp": 8]),
        Case(algorithm: "quest", heads: 2, kvHeads: 1, n: 3, nkv: 77, d: 16, params: ["P": 16, "budget": 48, "Bp": 2]),
        Case(algorithm: "moba", heads: 4, kvHeads: 2, n: 5, nkv: 300, d: 16, params: ["B": 16, "topk": 4, "Bs": 4, "Bt": 6]),
        Case(algorithm: "moba", heads: 2, kvHeads: 2, n: 40, nkv: 100, d: 16, params: ["B": 16, "topk": 3, "Bs": 2, "Bt": 16]),
        Case(algorithm: "dsa", batch: 2, heads: 4, kvHeads: 1, n: 1, nkv: 300, d: 16,
             params: ["topk": 40, "rank": 32, "rope": 8, "index_heads": 4, "index_dim": 16, "Bt": 16, "Bh": 3, "Bc": 24, "Br": 1, "Bk": 16]),
        Case(algorithm: "dsa", heads: 4, kvHeads: 1, n: 6, nkv: 50, d: 16,
             params: ["topk": 20, "rank": 32, "rope": 8, "index_heads": 4, "index_dim": 16, "Bt": 8, "Bh": 2, "Bc": 8, "Bq": 4, "causal": 1]),
        Case(algorithm: "nsa", heads: 4, kvHeads: 2, n: 1, nkv: 300, d: 16, params: ["l": 8, "s": 4, "lsel": 16, "n": 5, "w": 32, "Bs": 4]),
        Case(algorithm: "nsa", heads: 4, kvHeads: 1, n: 40, nkv: 100, d: 16, params: ["l": 8, "s": 4, "lsel": 8, "n": 4, "w": 20, "Bs": 2]),
        Case(algorithm: "lsh", heads: 2, kvHeads: 2, n: 200, nkv: 200, d: 16, params: ["buckets": 4, "m": 16, "Br": 48]),
        Case(algorithm: "lsh", heads: 2, kvHeads: 2, n: 150, nkv: 150, d: 16, params: ["buckets": 6, "m": 32, "causal": 1]),
        Case(algorithm: "routing", heads: 2, kvHeads: 2, n: 200, nkv: 200, d: 16, params: ["clusters": 4, "Bk": 32, "Bw": 16, "Bq": 48]),
        Case(algorithm: "routing", heads: 2, kvHeads: 2, n: 3, nkv: 150, d: 16, params: ["clusters": 5, "Bk": 32, "Bw": 16, "causal": 1]),
    ]

    static let references: [String: ReferenceKind] = [
        "quest": .attentionQuest, "moba": .attentionMoBA, "dsa": .attentionDSA, "nsa": .attentionNSA, "lsh": .attentionLSH,
        "routing": .attentionRouting,
    ]

    @Test(arguments: cases, [DType.fp32, .fp16, .bf16])
    func numericChecksPass(_ c: Case, _ dtype: DType) throws {
        let result = try S.numeric(try S.bind(c.algorithm, c.shape, dtype: dtype, params: c.params))
        #expect(result.checks.count == 1)
        #expect(result.checks.first?.reference === Self.references[c.algorithm])
    }

    /// Count mode reads no data (every index is 0), so it gathers other blocks than the
    /// numeric run: the same number, of the same size. Compressed, replayed block by block
    /// and numeric, the counters agree.
    @Test(arguments: cases)
    func countsDoNotDependOnData(_ c: Case) throws {
        let bound = try S.bind(c.algorithm, c.shape, dtype: .fp16, params: c.params)
        let compressed = try S.count(bound), replayed = try S.count(bound, compress: false)
        let numeric = try S.numeric(bound).stats
        #expect(compressed.total == replayed.total)
        #expect(compressed.total == numeric.total)
        #expect(compressed.kernels.map(\.counters) == numeric.kernels.map(\.counters))
    }

    /// The selection is checked, not trusted: each program with its top-k turned into a
    /// bottom-k (or its argmax into an argmin) fails with the row and the two candidates.
    @Test(arguments: [
        ("quest", "pick = topk(cand, kp)", "pick = topk(-cand, kp)"),
        ("moba", "pick = topk(cand, ks)", "pick = topk(-cand, ks)"),
        ("dsa", "pick = topk(cand, kk)", "pick = topk(-cand, kk)"),
        ("nsa", "pick = topk(cand, kn)", "pick = topk(-cand, kn)"),
        ("lsh", "b = topk(hcat(xr, -xr), 1)", "b = topk(hcat(-xr, xr), 1)"),
        ("routing", "pick = topk(cand, w)", "pick = topk(-cand, w)"),
    ])
    func wrongSelectionsAreCaught(_ algorithm: String, _ from: String, _ to: String) throws {
        let source = try AlgorithmLibrary.builtInSource(algorithm).text
        #expect(source.contains(from))
        guard let c = Self.cases.first(where: { $0.algorithm == algorithm }) else { throw TestFailure("no case for \(algorithm)") }
        let bound = try S.bindSource(source.replacingOccurrences(of: from, with: to), c.shape, params: c.params)
        do {
            _ = try Simulator.run(bound, options: RunOptions(mode: .numeric, seed: 5))
            Issue.record("\(algorithm): a bottom-k selection passed")
        } catch {
            #expect(error.message.contains("is not a float64 top-k up to ties"), "\(error.message)")
            #expect(error.message.contains("was left out, while candidate"), "\(error.message)")
        }
    }

    // MARK: IO laws (docs/io-laws.md)

    /// Reads and writes by the closed forms of each program's comment and io-laws.md.
    func law(_ c: Case, _ dtype: DType) -> (reads: Int, writes: Int) {
        let p = c.params, e = dtype.bytes, d = c.d, n = c.n, nkv = c.nkv
        func at(_ i: Int) -> Int { i + nkv - n }
        switch c.algorithm {
        case "quest":
            let size = p["P"] ?? 16, pages = S.cdiv(nkv, size), kp = Swift.min(S.cdiv(p["budget"] ?? 4096, size), pages)
            var reads = 0, writes = 0
            for i in 0..<n {
                let last = at(i) / size
                reads += 2 * d * e + 2 * Swift.max(kp, Swift.min(pages, last + 1)) * d * e + 4 * kp + 2 * kp * size * d * e
                writes += 4 * kp + d * e
            }
            return (c.batch * c.heads * reads, c.batch * c.heads * writes)
        case "moba":
            let b = p["B"] ?? 512, blocks = S.cdiv(nkv, b), ks = Swift.min((p["topk"] ?? 3) - 1, blocks), bt = p["Bt"] ?? 128
            var reads = 0, writes = 0
            for i in 0..<n {
                let current = at(i) / b
                let own = Swift.min(b, ((at(i) - current * b) / bt + 1) * bt)
                reads += 2 * d * e + Swift.max(ks, current) * d * e + 4 * ks + 2 * (ks * b + own) * d * e
                writes += 4 * ks + d * e
            }
            return (c.batch * c.heads * reads, c.batch * c.heads * writes)
        case "dsa":
            let (h, rank, rope) = (c.heads, p["rank"] ?? 512, p["rope"] ?? 64)
            let (hi, di, kk) = (p["index_heads"] ?? 64, p["index_dim"] ?? 128, Swift.min(p["topk"] ?? 2048, nkv))
            let (br, bh, bq, bc) = (p["Br"] ?? 64, p["Bh"] ?? 32, p["Bq"] ?? 4, p["Bc"] ?? 64)
            // Key blocks per indexer thread block: 16 while the query blocks number fewer
            // than the H100's 132 SMs, else all of them.
            let kb = p["Kb"] ?? (c.batch * S.cdiv(n, bq) < S.h100.smCount ? 16 : S.cdiv(nkv, bc))
            let causal = (p["causal"] ?? 0) == 1
            let tr = S.cdiv(n, br), hg = S.cdiv(h, bh)
            // The splits of the chosen tokens: given, or FlashAttention-2's heuristic over
            // batch N cdiv(H, Bh) attend blocks, 2 x 132 slots and units of 64 tokens.
            let splits = p["splits"].flatMap { $0 > 0 ? $0 : nil }
                ?? SplitHeuristic.numSplits(batchHeadsMBlocks: c.batch * n * hg, numSMs: 2 * S.h100.smCount, numNBlocks: S.cdiv(kk, 64), maxSplits: 128)
            let lse = splits > 1 ? 4 * h * n * splits : 0
            // absorb; attend (q_lat and q^R once per split, the chosen tokens once per Bh
            // heads); up (the partials and their LSE, W_UV)
            var reads = h * (n * d * e + tr * rank * d * e) + n * (splits * h * (rank + rope) * e + hg * kk * (4 + (rank + rope) * e))
                + h * (4 * n * rank * splits + tr * rank * d * e) + lse
            var writes = h * n * rank * e + 4 * n * h * rank * splits + lse + h * n * d * e
            // index: per block of queries, the keys up to its last query (causal), the
            // queries and weights once per thread block of kb key blocks
            for i in 0..<S.cdiv(n, bq) {
                let rn = Swift.min(bq, n - i * bq)
                let jhi = causal ? Swift.min(S.cdiv(nkv, bc), (at(i * bq) + rn - 1) / bc + 1) : S.cdiv(nkv, bc)
                let keys = Swift.min(nkv, jhi * bc)
                reads += S.cdiv(jhi, kb) * (hi * rn * di + hi * rn * e) + keys * di
                writes += 4 * rn * keys
            }
            // select
            for t in 0..<n {
                reads += 4 * Swift.max(kk, causal ? at(t) + 1 : nkv)
                writes += 4 * kk
            }
            return (c.batch * reads, c.batch * writes)
        case "nsa":
            let g = c.heads / c.kvHeads, s = p["s"] ?? 16, lsel = p["lsel"] ?? 64, w = p["w"] ?? 512, bs = p["Bs"] ?? 64
            let a = lsel / s, ts = S.cdiv(nkv, lsel), kn = Swift.min(p["n"] ?? 16, ts)
            var reads = 0, writes = 0
            for i in 0..<n {
                let current = at(i) / lsel
                let rest = Swift.max(0, current + 1 - kn)
                let window = current - Swift.max(0, (at(i) - w + 1) / lsel) + 1
                reads += 2 * g * d * e + 2 * (current + 1) * a * d * e                      // q twice; KC, VC
                    + g * (4 * kn * a + 4) + g * (4 * a * rest + 4 * S.cdiv(rest, bs))      // SC, LSE
                    + kn * (4 + 2 * lsel * d * e) + 2 * window * lsel * d * e + 3 * g * e + 4 * g * d
                writes += 4 * g * (current + 1) * a + 4 * g * d + 4 * g + 4 * kn + g * d * e
            }
            return (c.batch * c.kvHeads * reads, c.batch * c.kvHeads * writes)
        case "lsh":
            let nb = p["buckets"] ?? 32, m = p["m"] ?? 64, br = p["Br"] ?? 64
            let last = n - (S.cdiv(n, m) - 1) * m
            let reads = n * d * e + S.cdiv(n, br) * d * (nb / 2) * e + 8 * n + 4 * n + 2 * n * d * e
                + n * (d * e + 8) + (2 * n - last) * (2 * d * e + 8) + 4 * n + n * d * e
            let writes = 12 * n + 12 * n + 2 * n * d * e + n * d * e + n * d * e
            return (c.batch * c.heads * reads, c.batch * c.heads * writes)
        default:  // routing
            let nc = p["clusters"] ?? 8, w = S.cdiv(nkv, nc), bq = p["Bq"] ?? 64
            let reads = n * d * e + S.cdiv(n, bq) * nc * d * e + nkv * d * e + nc * d * e + nc * w * (4 + 2 * d * e) + n * (4 + d * e + w * (2 * d * e + 4))
            let writes = 4 * n + 4 * nc * w + nc * w * (2 * d * e + 4) + n * d * e
            return (c.batch * c.heads * reads, c.batch * c.heads * writes)
        }
    }

    /// The small cases, and a long decode or prefill per program.
    static let lawCases: [Case] = cases + [
        Case(algorithm: "quest", batch: 2, heads: 32, kvHeads: 8, n: 1, nkv: 32_771, d: 128, params: ["P": 16, "budget": 4096, "Bp": 256]),
        Case(algorithm: "moba", heads: 32, kvHeads: 8, n: 1, nkv: 100_000, d: 128, params: ["B": 512, "topk": 3, "Bs": 256, "Bt": 128]),
        Case(algorithm: "dsa", heads: 128, kvHeads: 1, n: 1, nkv: 70_000, d: 128, params: [:]),
        Case(algorithm: "nsa", heads: 64, kvHeads: 4, n: 1, nkv: 65_000, d: 128, params: [:]),
        Case(algorithm: "lsh", heads: 8, kvHeads: 8, n: 4_000, nkv: 4_000, d: 64, params: [:]),
        Case(algorithm: "routing", heads: 8, kvHeads: 8, n: 1, nkv: 20_000, d: 64, params: [:]),
    ]

    @Test(arguments: lawCases)
    func countsFollowTheIOLaws(_ c: Case) throws {
        let dtype = DType.bf16
        let total = try S.count(try S.bind(c.algorithm, c.shape, dtype: dtype, params: c.params)).total
        let expected = law(c, dtype)
        #expect(total.hbmReadBytes == expected.reads)
        #expect(total.hbmWriteBytes == expected.writes)
    }

    /// Matmul FLOPs of DSA decode: absorb and up 2 H rank d each; the indexer 2 H_I d_I per
    /// key and its head sum 2 H_I per key (one query per block); attention 4 rank + 2 rope
    /// per head and chosen token. 128 heads, d 128, rank 512, rope 64, H_I 64, d_I 128,
    /// k = 2,048 of 70,000 tokens.
    @Test func dsaMatmulFLOPs() throws {
        let shape = ProblemShape(batch: 1, heads: 128, kvHeads: 1, queryLength: 1, keyLength: 70_000, headDim: 128)
        let total = try S.count(try S.bind("dsa", shape, dtype: .bf16)).total
        #expect(total.flopsMatmul == 4 * 128 * 512 * 128 + 2 * 64 * 128 * 70_000 + 2 * 64 * 70_000 + 128 * 2048 * (4 * 512 + 2 * 64))
    }

    // MARK: Headline figures (docs/io-laws.md)

    /// DeepSeek-V3.2's attention shape decoding one token at 128K (bf16): DSA reads the
    /// indexer keys (128 B a token), the logits (4 B a token) and 2,048 latents per 32 heads;
    /// absorbed MLA over every token reads the whole latent cache per 32 heads.
    ///
    /// The grid at batch 1: the indexer's 2,048 key blocks of 64 in thread blocks of 16
    /// (128 blocks); attend's 4 head groups split over the 2,048 chosen tokens by
    /// FlashAttention-2's heuristic with 4 blocks, 264 slots and 32 units of 64 tokens:
    /// efficiencies 4 S / 264 (one partial wave), best 128 / 264 at S = 32, and the
    /// eligible counts between 17 and 31 give the same 2 units a split as 16, so S = 32 is
    /// the first within 0.85 of the best: 128 attend blocks.
    @Test func dsaAgainstDenseMLAAt128K() throws {
        let shape = ProblemShape(batch: 1, heads: 128, kvHeads: 1, queryLength: 1, keyLength: 131_072, headDim: 128)
        let bound = try S.bind("dsa", shape, dtype: .bf16)
        let stats = try S.count(bound)
        #expect(stats.kernels.map(\.blocks) == [128, 128, 1, 128, 128])
        let dsa = stats.total
        let unsplit = try S.count(try S.bind("dsa", shape, dtype: .bf16, params: ["splits": 1, "Kb": 2048])).total
        let dense = try S.count(try S.bind("mla-decode-absorbed", shape, dtype: .bf16)).total
        // Unsplit: 128 x 128 x 2 + 128 x 512 x 128 x 2 (absorb) + 64 x 128 + 64 x 2 +
        // 131,072 x 128 (index) + 4 x 131,072 (select) + 128 x 576 x 2 + 4 x 2,048 x
        // (4 + 576 x 2) (attend) + 4 x 128 x 512 + 128 x 512 x 128 x 2 (up) = 60,776,576.
        #expect(unsplit.hbmReadBytes == 60_776_576)
        // Split: the indexer's 127 more blocks read q^I and w again (127 x 8,320), attend
        // reads q_lat and q^R 31 times more (31 x 128 x 576 x 2), up the 32 fp32 partials
        // and their LSE (31 x 4 x 128 x 512 + 4 x 128 x 32): 74,547,200.
        #expect(dsa.hbmReadBytes == 60_776_576 + 127 * 8_320 + 31 * 128 * 576 * 2 + 31 * 4 * 128 * 512 + 4 * 128 * 32)
        #expect(dsa.hbmReadBytes == 74_547_200)
        #expect(dense.hbmReadBytes == 660_533_248)
        #expect(dense.hbmReadBytes / dsa.hbmReadBytes == 8)
    }

    /// Quest at 32K with a 4K-token budget (pages of 16), Llama-2-7B-like decode (32 heads,
    /// d 128, fp16): 2 x 256 + 2 x 2,048 x 256 + 4 x 256 + 2 x 256 x 16 x 256 = 3,147,264
    /// bytes per head, against Flash-Decoding's K and V of every token.
    @Test func questAt32KWithA4KBudget() throws {
        let shape = ProblemShape(batch: 1, heads: 32, kvHeads: 32, queryLength: 1, keyLength: 32_768, headDim: 128)
        let quest = try S.count(try S.bind("quest", shape, dtype: .fp16)).total
        let dense = try S.count(try S.bind("flash-decoding", shape, dtype: .fp16)).total
        #expect(quest.hbmReadBytes == 32 * 3_147_264)
        #expect(dense.hbmReadBytes == 537_043_840)
        #expect(Double(dense.hbmReadBytes) / Double(quest.hbmReadBytes) > 5.3)
    }

    /// NSA at 64K (64 heads, 4 KV heads, d 128, bf16, the paper's l 32, s 16, l' 64, n 16,
    /// w 512) reads, per KV head, 4,096 compressed + 1,024 selected + 512 window tokens'
    /// keys and values: the 11.6x fewer tokens of the paper's Table 4 (65,536 / 5,632).
    @Test func nsaAgainstFlash2At64K() throws {
        let shape = ProblemShape(batch: 1, heads: 64, kvHeads: 4, queryLength: 1, keyLength: 65_536, headDim: 128)
        let nsa = try S.count(try S.bind("nsa", shape, dtype: .bf16)).total
        let flash2 = try S.count(try S.bind("flash2", shape, dtype: .bf16)).total
        let decoding = try S.count(try S.bind("flash-decoding", shape, dtype: .bf16)).total
        // Per KV head, the tokens: 2 x (4,096 + 1,024 + 512) x 128 x 2 = 2,883,584; the rest:
        // q twice (2 x 4,096), the compressed scores and LSE (16 x 260 + 16 x 16,128 + 16 x
        // 16 x 4), the indices (64), the gates (96) and the compressed output (8,192) = 279,776.
        #expect(nsa.hbmReadBytes == 4 * (2_883_584 + 279_776))
        #expect(nsa.hbmReadBytes == 12_653_440)
        #expect(flash2.hbmReadBytes == 2_147_500_032)
        #expect(decoding.hbmReadBytes == 137_033_984)
        #expect(flash2.hbmReadBytes / nsa.hbmReadBytes == 169)
        #expect(decoding.hbmReadBytes / nsa.hbmReadBytes == 10)
    }

    // MARK: References against dense attention

    func tensor(_ shape: [Int], _ generator: inout SeededGenerator) -> HostTensor {
        HostTensor(randomNormal: shape, dtype: .fp32, generator: &generator)
    }

    func selection(_ rows: Int, _ chosen: [Int]) -> HostTensor {
        var t = HostTensor(shape: [rows, 1, chosen.count], dtype: .fp32)
        t.values = (0..<rows).flatMap { _ in chosen.map(Float.init) }
        return t
    }

    func expectClose(_ a: [Double], _ b: [Double], _ what: String) {
        let scale = b.map(abs).max() ?? 1
        let worst = zip(a, b).map { abs($0 - $1) }.max() ?? .infinity
        #expect(a.count == b.count && worst <= 1e-12 * scale, "\(what): \(worst)")
    }

    /// Every page (Quest), every block (MoBA: causal), every selection block with the
    /// selected branch's gate alone (NSA: causal): each is dense attention.
    @Test func blockSelectionsOfEverythingAreDenseAttention() throws {
        var generator = SeededGenerator(seed: 11)
        let shape = ProblemShape(batch: 1, heads: 4, kvHeads: 2, queryLength: 1, keyLength: 48, headDim: 8)
        let q = tensor([4, 1, 8], &generator), k = tensor([2, 6, 8, 8], &generator), v = tensor([2, 6, 8, 8], &generator)
        let dense = AttentionReference.output(shape, q: q, k: k, v: v)
        let causal = AttentionReference.output(shape, q: q, k: k, v: v, mask: .init(causal: true))
        let pages = tensor([2, 6, 8], &generator)
        let quest = try SparseAttentionReference.quest(q: q, k: k, v: v, keyMin: pages, keyMax: pages, selection: selection(4, Array(0..<6)), shape: shape)
        expectClose(quest, dense, "quest")
        let moba = try SparseAttentionReference.moba(q: q, k: k, v: v, keyMean: pages, selection: selection(4, Array(0..<6)), shape: shape)
        expectClose(moba, causal, "moba")
        // NSA: Q [kv heads, group, N, d] holds the same rows as [heads, N, d].
        var gates = HostTensor(shape: [2, 2, 1, 3], dtype: .fp32)
        gates.values = [0, 1, 0, 0, 1, 0, 0, 1, 0, 0, 1, 0]
        var compressed = HostTensor(shape: [2, 12, 8], dtype: .fp32)
        compressed.values = tensor([2, 12, 8], &generator).values
        let nsa = try SparseAttentionReference.nsa(
            q: q, k: k, v: v, keyC: compressed, valueC: compressed, gates: gates, selection: selection(2, Array(0..<6)), shape: shape,
            configuration: .init(block: 8, stride: 4, window: 4))
        expectClose(nsa, causal, "nsa")
    }

    /// DSA choosing every token is absorbed MLA over every token
    /// (`LatentAttentionReference`; q^R laid out [batch, N, heads, dR] here).
    @Test func dsaChoosingEveryTokenIsMLA() throws {
        var generator = SeededGenerator(seed: 12)
        let (heads, n, nkv, d, dc, dr) = (3, 2, 10, 4, 6, 2)
        let shape = ProblemShape(batch: 1, heads: heads, kvHeads: 1, queryLength: n, keyLength: nkv, headDim: d)
        let qn = tensor([heads, n, d], &generator), qr = tensor([heads, n, dr], &generator)
        let c = tensor([1, nkv, 1, dc], &generator), kr = tensor([1, nkv, 1, dr], &generator)
        let wuk = tensor([heads, dc, d], &generator), wuv = tensor([heads, dc, d], &generator)
        var qrByQuery = HostTensor(shape: [1, n, heads, dr], dtype: .fp32)
        for h in 0..<heads {
            for t in 0..<n {
                for r in 0..<dr { qrByQuery.values[(t * heads + h) * dr + r] = qr.values[(h * n + t) * dr + r] }
            }
        }
        let qi = tensor([1, 2, n, 4], &generator), ki = tensor([1, nkv, 4], &generator), wi = tensor([1, 2, n, 1], &generator)
        var all = HostTensor(shape: [1, n, nkv], dtype: .fp32)
        all.values = (0..<n).flatMap { _ in (0..<nkv).map(Float.init) }
        let dsa = try SparseAttentionReference.dsa(
            qNope: qn, qRope: qrByQuery, latent: c, ropeKey: kr, wUK: wuk, wUV: wuv, indexQuery: qi, indexKey: ki, indexWeight: wi,
            selection: all, shape: shape, causal: false)
        let mla = try #require(LatentAttentionReference.output(qNope: qn, qRope: qr, latent: c, ropeKey: kr, wUK: wuk, wUV: wuv, batch: 1, heads: heads))
        expectClose(dsa, mla, "dsa")
    }

    /// One cluster holding every key is dense attention (causal or not); one LSH bucket and
    /// one chunk is attention with normalized keys and the self score -1e5.
    @Test func oneClusterOrBucketIsDenseAttention() throws {
        var generator = SeededGenerator(seed: 13)
        let shape = ProblemShape(batch: 1, heads: 2, kvHeads: 2, queryLength: 6, keyLength: 6, headDim: 4)
        let q = tensor([2, 6, 4], &generator), k = tensor([2, 6, 4], &generator), v = tensor([2, 6, 4], &generator)
        let mu = tensor([2, 1, 4], &generator)
        var zero = HostTensor(shape: [2, 6, 1], dtype: .fp32)
        zero.values = Array(repeating: 0, count: 12)
        var every = HostTensor(shape: [2, 1, 6], dtype: .fp32)
        every.values = (0..<2).flatMap { _ in (0..<6).map(Float.init) }
        for causal in [false, true] {
            let routing = try SparseAttentionReference.routing(q: q, k: k, v: v, centroids: mu, queryClusters: zero, clusterKeys: every, shape: shape, causal: causal)
            expectClose(routing, AttentionReference.output(shape, q: q, k: k, v: v, mask: .init(causal: causal)), "routing causal \(causal)")
        }
        // LSH: x_0 > 0 for every token and R = e_0 put every token in bucket 0 of 2.
        var x = q
        for t in 0..<12 { x.values[t * 4] = abs(x.values[t * 4]) + 0.5 }
        var rotation = HostTensor(shape: [2, 4, 1], dtype: .fp32)
        rotation.values = [1, 0, 0, 0, 1, 0, 0, 0]
        let lsh = try SparseAttentionReference.lsh(qk: x, v: v, rotations: rotation, buckets: zero, shape: shape, chunk: 8, causal: false)
        for head in 0..<2 {
            for i in 0..<6 {
                let row = (0..<6).map { j -> (key: Int, score: Double) in
                    let xi = (0..<4).map { Double(x.values[(head * 6 + i) * 4 + $0]) }, xj = (0..<4).map { Double(x.values[(head * 6 + j) * 4 + $0]) }
                    let norm = xj.reduce(0) { $0 + $1 * $1 }.squareRoot()
                    return (j, i == j ? -1e5 : zip(xi, xj).reduce(0) { $0 + $1.0 * $1.1 } / norm * 0.5)
                }
                let direct = try #require(S.directSoftmaxRow(row, columns: 4) { j, c in Double(v.values[(head * 6 + j) * 4 + c]) })
                expectClose(Array(lsh[((head * 6 + i) * 4)..<((head * 6 + i + 1) * 4)]), direct.output, "lsh head \(head) token \(i)")
            }
        }
    }
}
