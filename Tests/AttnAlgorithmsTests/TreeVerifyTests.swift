import Foundation
import Testing
import AttnAlgorithms
import AttnNumerics
@testable import TileInterpreter
import AttnTestSupport
import TileTestSupport

/// Speculative decoding's verify step over a draft tree: its numerics against float64
/// attention under the tree mask, its counts in closed form, and its traffic against
/// decoding the same tokens one at a time.
@Suite struct TreeVerifyTests {
    typealias S = TestSupport

    /// The breadth-first trees by hand: width 3 gives nodes 1 to 3 the root as parent, 4
    /// to 6 node 1, ...; node 13 lies on 13 -> 4 -> 1 -> 0. Width 1 is a chain.
    @Test func draftTreesByHand() throws {
        let tree = try #require(DraftTree(width: 3))
        #expect((1...9).map(tree.parent(of:)) == [0, 0, 0, 1, 1, 1, 2, 2, 2])
        #expect(tree.pathLength(to: 13) == 4)
        #expect(tree.isAncestor(4, ofOrSelf: 13) && tree.isAncestor(0, ofOrSelf: 13) && tree.isAncestor(13, ofOrSelf: 13))
        #expect(!tree.isAncestor(2, ofOrSelf: 13) && !tree.isAncestor(5, ofOrSelf: 13) && !tree.isAncestor(14, ofOrSelf: 13))
        let chain = try #require(DraftTree(width: 1))
        #expect(chain.pathLength(to: 9) == 10)
        #expect(DraftTree(width: 0) == nil)
    }

    /// Trees of width 1 to 4, GQA and MHA, ragged blocks, a prefix or none; fp32 and fp16
    /// at the derived tolerances; counts equal in count mode.
    @Test(arguments: [
        (1, 4, 2, 300, 45, ["width": 2, "Bt": 16]),
        (2, 2, 2, 90, 31, ["width": 1, "Bt": 8]),
        (1, 8, 1, 64, 64, ["width": 3]),
        (1, 2, 1, 1000, 7, ["width": 4, "Bt": 3, "Bc": 64]),
    ])
    func agreesWithTreeAttention(_ batch: Int, _ heads: Int, _ kvHeads: Int, _ nkv: Int, _ drafts: Int, _ params: [String: Int]) throws {
        let shape = S.shape(batch: batch, heads: heads, kvHeads: kvHeads, n: drafts, nkv: nkv, d: 32)
        for dtype in [DType.fp32, .fp16] {
            let bound = try S.bind("tree-verify", shape, dtype: dtype, params: params)
            let result = try S.numeric(bound)
            #expect(try S.count(bound) == result.stats)
            #expect(try S.count(bound, compress: false) == result.stats)
        }
    }

    /// A chain is causal attention: the float64 tree reference at width 1 equals the
    /// blocked causal reference to float64 rounding, and a verify step with the tree mask
    /// replaced by a causal one fails at width 2.
    @Test func chainIsCausalAndTheMaskMatters() throws {
        let problem = ProblemShape(batch: 1, heads: 4, kvHeads: 2, queryLength: 20, keyLength: 70, headDim: 16)
        var generator = SeededGenerator(seed: 5)
        let (q, k, v) = S.randomQKV(problem, generator: &generator)
        let chain = try #require(DraftTree(width: 1))
        let tree = VisibilityAttentionReference.output(problem, q: q, k: k, v: v) { i, j in j < 50 || chain.isAncestor(j - 50, ofOrSelf: i) }
        let causal = AttentionReference.output(problem, q: q, k: k, v: v, mask: AttentionReference.Mask(causal: true))
        let scale = causal.map(abs).max() ?? 1
        #expect(zip(tree, causal).allSatisfy { abs($0 - $1) <= 1e-12 * scale })

        let source = try AlgorithmLibrary.builtInSource("tree-verify").text
        let from = "s = mask_tree((q @ k^T) * scale, i * Bt, 0, width, tn)"
        #expect(source.contains(from))
        let text = source.replacingOccurrences(of: from, with: "s = mask_causal((q @ k^T) * scale, i * Bt, 0, tn)")
        let bound = try S.bindSource(text, S.shape(heads: 2, n: 15, nkv: 40, d: 16), params: ["width": 2])
        let result = try Simulator.run(bound, options: RunOptions(mode: .numeric, seed: 2))
        #expect(!(try #require(result.checks.first).passed))
    }

    /// The counts per batch and KV head (docs/io-laws.md): g = heads / kv_heads rows per
    /// draft token, P = Nkv - N cached tokens read once per block of Bt draft tokens, block
    /// i seeing K_i = min(N, (i + 1) Bt) draft keys; each row hides the draft keys of its
    /// block's range that are not its ancestors.
    @Test(arguments: [(300, 45, 16, 2, 128), (32_832, 64, 32, 4, 128), (4_100, 60, 7, 1, 64), (64, 64, 128, 2, 128)])
    func closedForm(_ nkv: Int, _ drafts: Int, _ bt: Int, _ width: Int, _ bc: Int) throws {
        let batch = 2, heads = 8, kvHeads = 2, d = 64, e = 2, g = heads / kvHeads
        let shape = S.shape(batch: batch, heads: heads, kvHeads: kvHeads, n: drafts, nkv: nkv, d: d)
        let total = try S.count(try S.bind("tree-verify", shape, dtype: .fp16, params: ["width": width, "Bt": bt, "Bc": bc])).total
        let tree = try #require(DraftTree(width: width))
        let p = nkv - drafts, blocks = S.cdiv(drafts, bt), prefixBlocks = S.cdiv(p, bc), bkv = batch * kvHeads
        let sizes = (0..<blocks).map { min(bt, drafts - $0 * bt) }
        let seen = (0..<blocks).map { min(drafts, ($0 + 1) * bt) }
        #expect(total.hbmReadBytes == bkv * (g * drafts * d * e + 2 * blocks * p * d * e + 2 * d * e * seen.reduce(0, +)))
        #expect(total.hbmWriteBytes == bkv * g * drafts * d * e)
        let pairs = zip(sizes, seen).reduce(0) { $0 + $1.0 * $1.1 }
        #expect(total.flopsMatmul == bkv * 4 * g * d * (drafts * p + pairs))
        let hidden = (0..<blocks).reduce(0) { sum, i in
            sum + (i * bt..<(i * bt + sizes[i])).reduce(0) { $0 + seen[i] - tree.pathLength(to: $1) }
        }
        #expect(total.maskedElements == bkv * g * hidden)
        #expect(total.exps == bkv * g * zip(sizes, seen).reduce(0) { $0 + $1.0 * (p + prefixBlocks + $1.1 + 1) })
        // Per row: 4 c + 2 + 2 d per prefix block of c keys, 5 K + 2 + 2 d for the masked
        // draft block, d for o / l.
        #expect(total.flopsOther == bkv * g * zip(sizes, seen).reduce(0) { $0 + $1.0 * (4 * p + (2 + 2 * d) * prefixBlocks + 5 * $1.1 + 2 + 3 * d) })
    }

    /// One verify step reads the cache once per block; decoding the N tokens one at a time
    /// (N Flash-Decoding steps over P + 1, ..., P + N keys) reads K and V
    /// 2 kv_heads d e (N P + N (N + 1) / 2), exactly what the verify kernel reads with one
    /// draft token per block and a chain: at 32K cached tokens and 64 draft tokens, 32
    /// times what the verify step reads with 32 tokens a block (Llama-3-8B's 32 / 8 heads).
    @Test func verifyAgainstSequentialDecoding() throws {
        let heads = 32, kvHeads = 8, d = 128, e = 2, p = 32_768, drafts = 64
        func kvReads(_ stats: RunStats) throws -> Int {
            let names = stats.tensorNames, total = stats.total
            return total.tensors[try #require(names.firstIndex(of: "K"))].readBytes + total.tensors[try #require(names.firstIndex(of: "V"))].readBytes
        }
        var decoding = 0
        for t in 1...drafts {
            let step = S.shape(heads: heads, kvHeads: kvHeads, n: 1, nkv: p + t, d: d)
            decoding += try kvReads(try S.count(try S.bind("flash-decoding", step, dtype: .fp16, params: ["splits": 1])))
        }
        #expect(decoding == 2 * kvHeads * d * e * (drafts * p + drafts * (drafts + 1) / 2))
        let verifyShape = S.shape(heads: heads, kvHeads: kvHeads, n: drafts, nkv: p + drafts, d: d)
        let oneByOne = try kvReads(try S.count(try S.bind("tree-verify", verifyShape, dtype: .fp16, params: ["width": 1, "Bt": 1])))
        #expect(oneByOne == decoding)
        let verify = try kvReads(try S.count(try S.bind("tree-verify", verifyShape, dtype: .fp16, params: ["width": 2])))
        // Bt = 128 / 4 = 32 draft tokens a block: two blocks, the prefix read twice.
        #expect(verify == 2 * kvHeads * d * e * (2 * p + 32 + 64))
        #expect(Double(decoding) / Double(verify) > 31.9 && Double(decoding) / Double(verify) < 32.1)
    }
}
