import Testing
import AttnNumerics
@testable import TileInterpreter
import TileLanguage
import AttnTestSupport
import TileTestSupport

/// Flash-Decoding, FlashAttention-2's split heuristic, and the GQA schedules.
@Suite struct DecodingTests {
    typealias S = TestSupport

    /// num_splits_heuristic worked by hand. 264 slots = 2 x 132 H100 SMs.
    /// - 32 blocks, 32 key blocks: efficiency 32s/264 / ceil(...); the best is 0.970
    ///   (s = 8: 256/264), and the first s within 85% of it (0.824) is 7 (224/264 = 0.848).
    /// - 220 blocks >= 0.8 x 264 = 211.2: one split.
    /// - 1 block, 4 key blocks: splits are capped at 4; efficiency grows with s, so 4.
    /// - 8 blocks, 10 key blocks: s = 6 to 9 are ineligible (cdiv(10, s) = 2 as for 5);
    ///   s = 10 is best (80/264 = 0.303) and the only one >= 0.258 (s = 5: 0.152).
    @Test(arguments: [
        (32, 264, 32, 128, 7), (220, 264, 64, 128, 1), (1, 264, 4, 128, 4), (8, 264, 10, 128, 10),
        (32, 216, 32, 128, 6),   // A100: 216 slots; s = 6 gives 192/216 = 0.889 >= 0.85 x 0.889
    ])
    func splitHeuristic(_ blocks: Int, _ slots: Int, _ nBlocks: Int, _ maxSplits: Int, _ expected: Int) {
        #expect(SplitHeuristic.numSplits(batchHeadsMBlocks: blocks, numSMs: slots, numNBlocks: nBlocks, maxSplits: maxSplits) == expected)
    }

    /// One decode step (N = 1), MHA, S splits over Tc key blocks: every split block loads
    /// the query, K and V are read once, the partials (fp32) are written and read back.
    @Test(arguments: [(4096, 128, 7), (131_072, 128, 0), (1000, 64, 3)])
    func flashDecodingClosedForm(_ nkv: Int, _ d: Int, _ splits: Int) throws {
        let heads = 32, e = 2
        let bound = try S.bind("flash-decoding", S.shape(heads: heads, n: 1, nkv: nkv, d: d), dtype: .fp16, params: ["splits": splits])
        guard case .int(let s) = bound.parameter("S"), case .int(let bc) = bound.parameter("Bc") else { throw TestFailure("S unbound") }
        #expect(bc == (d <= 64 ? 256 : 128))
        if splits == 0 {
            let expected = SplitHeuristic.numSplits(batchHeadsMBlocks: heads, numSMs: 2 * 132, numNBlocks: S.cdiv(nkv, bc), maxSplits: 128)
            #expect(s == expected)
        } else {
            #expect(s == splits)
        }
        let stats = try S.count(bound)
        let t = stats.total
        let kv = 2 * heads * nkv * d * e
        if s > 1 {
            let partials = heads * s * (d * 4 + 4)
            #expect(t.hbmReadBytes == heads * s * d * e + kv + partials)
            #expect(t.hbmWriteBytes == partials + heads * (d * e + 4))
            #expect(stats.kernels.map(\.blocks) == [heads * s, heads])
        } else {
            #expect(t.hbmReadBytes == heads * d * e + kv)
            #expect(stats.kernels.map(\.blocks) == [heads, 0])
        }
        #expect(t.flopsMatmul == 4 * heads * nkv * d)
    }

    @Test(arguments: [0, 1, 3, 8])
    func flashDecodingAgreesWithReference(_ splits: Int) throws {
        for (n, heads, kvHeads, causal) in [(1, 4, 4, 0), (1, 8, 2, 0), (5, 4, 2, 1), (3, 2, 1, 1)] {
            let bound = try S.bind("flash-decoding", S.shape(heads: heads, kvHeads: kvHeads, n: n, nkv: 700, d: 32), dtype: .fp32,
                                   params: ["splits": splits, "causal": causal, "Bc": 64])
            let result = try S.numeric(bound)
            for check in result.checks {
                #expect(check.error.maxRelativeError < 1e-5, "splits \(splits) N\(n) H\(heads)/\(kvHeads) \(check.tensor): \(check.error)")
            }
            #expect(try S.count(bound) == result.stats)
        }
    }

    /// The split count trades parallelism for traffic: HBM bytes grow with S (query
    /// reloads and fp32 partials) while the key traffic stays.
    @Test func moreSplitsMoveMoreBytes() throws {
        var previous = 0
        for splits in [1, 2, 4, 8, 16] {
            let t = try S.count(try S.bind("flash-decoding", S.shape(heads: 32, n: 1, nkv: 32_768, d: 128), dtype: .fp16, params: ["splits": splits])).total
            let bytes = t.hbmReadBytes + t.hbmWriteBytes
            #expect(bytes > previous)
            previous = bytes
        }
    }

    /// GQA: per-query-head flash2 reads each KV head's K and V once per query head; the
    /// grouped schedule reads them once per group. At equal query rows per head the
    /// K/V traffic differs by heads / kv_heads exactly.
    @Test(arguments: [(8, 2), (8, 1), (16, 4)])
    func groupedScheduleSavesTheGroupFactor(_ heads: Int, _ kvHeads: Int) throws {
        let n = 1024, d = 64, br = 32, e = 2
        let shape = S.shape(heads: heads, kvHeads: kvHeads, n: n, d: d)
        let perHead = try S.count(try S.bind("flash2", shape, dtype: .fp16, params: ["Br": br, "Bc": 64])).total
        let grouped = try S.count(try S.bind("flash2-gqa", shape, dtype: .fp16, params: ["Br": br, "Bc": 64])).total
        let q = heads * n * d * e
        let kvPerHead = perHead.hbmReadBytes - q, kvGrouped = grouped.hbmReadBytes - q
        #expect(kvPerHead == 2 * heads * (n / br) * n * d * e)
        #expect(kvPerHead == kvGrouped * (heads / kvHeads))
        #expect(perHead.flopsMatmul == grouped.flopsMatmul)
        #expect(perHead.hbmWriteBytes == grouped.hbmWriteBytes)
    }

    /// flash2-gqa and memory-efficient are other defaults of existing programs.
    @Test func aliasesChangeDefaultsOnly() throws {
        let memoryEfficient = try S.bind("memory-efficient", S.shape(heads: 2, n: 256, d: 64), dtype: .fp16)
        #expect(memoryEfficient.parameter("Br") == .int(64) && memoryEfficient.parameter("Bc") == .int(64))
        let flash2 = try S.bind("flash2", S.shape(heads: 2, n: 256, d: 64), dtype: .fp16, params: ["Br": 64, "Bc": 64])
        #expect(try S.count(memoryEfficient) == S.count(flash2))
        let overridden = try S.bind("memory-efficient", S.shape(heads: 2, n: 256, d: 64), params: ["Br": 128])
        #expect(overridden.parameter("Br") == .int(128))
    }
}

/// The aliases run their programs on real tensors too.
@Suite struct AliasNumericTests {
    @Test(arguments: ["flash2-gqa", "memory-efficient"])
    func aliasesAgreeWithReference(_ algorithm: String) throws {
        for (n, nkv, heads, kvHeads, causal) in [(100, 100, 8, 2, 0), (77, 130, 4, 4, 0), (96, 96, 6, 3, 1)] {
            let bound = try TestSupport.bind(algorithm, TestSupport.shape(heads: heads, kvHeads: kvHeads, n: n, nkv: nkv, d: 32), dtype: .fp16,
                                             params: ["causal": causal, "Br": 16, "Bc": 32])
            let result = try TestSupport.numeric(bound)
            for check in result.checks {
                #expect(check.error.maxRelativeError < DType.fp16.unitRoundoff + 1e-5, "\(algorithm) \(check.tensor): \(check.error)")
            }
        }
    }
}
