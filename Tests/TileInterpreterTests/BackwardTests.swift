import Testing
import AttnNumerics
@testable import TileInterpreter
import AttnTestSupport
import TileTestSupport

/// Forward + backward programs against float64 analytic gradients and closed-form counts.
@Suite struct BackwardTests {
    typealias S = TestSupport

    /// Runs `bound` in numeric mode and expects its four checks, O, dQ, dK and dV, within
    /// 1e-5 of float64 (fp32 storage and accumulation), and count mode to give the
    /// numeric run's counters (also uncompressed, with `exhaustive`).
    static func expectGradients(
        _ bound: BoundProgram, _ label: String, exhaustive: Bool = false, sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let result = try S.numeric(bound)
        #expect(result.checks.map(\.tensor).sorted() == ["O", "dK", "dQ", "dV"], sourceLocation: sourceLocation)
        for check in result.checks {
            #expect(check.error.maxRelativeError < 1e-5, "\(label) \(check.tensor): \(check.error)", sourceLocation: sourceLocation)
        }
        #expect(try S.count(bound) == result.stats, sourceLocation: sourceLocation)
        if exhaustive {
            #expect(try S.count(bound, compress: false) == result.stats, sourceLocation: sourceLocation)
        }
    }

    /// fp32 storage: every output (O, dQ, dK, dV) within 1e-5 of the float64 gradients
    /// (fp32 accumulation over at most a few hundred terms); ragged shapes, N != Nkv.
    @Test(arguments: ["standard-fwd-bwd", "flash2-fwd-bwd"])
    func gradientsAgreeWithReference(_ algorithm: String) throws {
        let params: [String: Int] = algorithm == "flash2-fwd-bwd" ? ["Br": 32, "Bc": 16, "Bm": 16, "Bn": 32]
            : ["Bm": 32, "Bn": 48, "Bo": 16, "Bk": 32, "Be": 40]
        for (n, nkv, d) in [(77, 77, 16), (50, 130, 32), (129, 65, 8)] {
            let bound = try S.bind(algorithm, S.shape(heads: 2, n: n, nkv: nkv, d: d), dtype: .fp32, params: params)
            try Self.expectGradients(bound, "\(algorithm) N\(n) Nkv\(nkv)")
        }
    }

    /// FlashAttention-2 backward, Tc = cdiv(Nkv, Bn) key blocks: K, V, dK, dV move once;
    /// Q, dO, LSE and D are read once per key block, and the fp32 dQ buffer is read and
    /// written once per key block. Matmul: 4 forward + 10 backward (S recomputed) N Nkv d.
    @Test(arguments: [(1024, 1024, 64), (1000, 777, 64), (4096, 4096, 128)])
    func flashBackwardClosedForm(_ n: Int, _ nkv: Int, _ d: Int) throws {
        let bh = 8, e = 2, br = 128, bn = 128
        let bound = try S.bind("flash2-fwd-bwd", S.shape(batch: 2, heads: 4, n: n, nkv: nkv, d: d), dtype: .fp16)
        let stats = try S.count(bound)
        let byName = Dictionary(uniqueKeysWithValues: stats.kernels.map { ($0.name, $0.counters) })
        let nd = bh * n * d, kd = bh * nkv * d, tc = S.cdiv(nkv, bn)
        let forward = try #require(byName["fwd"])
        #expect(forward.hbmReadBytes == nd * e + 2 * S.cdiv(n, br) * kd * e)
        let pre = try #require(byName["bwd_preprocess"])
        #expect(pre.hbmReadBytes == 2 * nd * e)
        #expect(pre.hbmWriteBytes == bh * n * 4 + nd * 4)
        let backward = try #require(byName["bwd"])
        #expect(backward.hbmReadBytes == 2 * kd * e + tc * (2 * nd * e + 2 * bh * n * 4 + nd * 4))
        #expect(backward.hbmWriteBytes == tc * nd * 4 + 2 * kd * e)
        let convert = try #require(byName["bwd_convert"])
        #expect(convert.hbmReadBytes == nd * 4 && convert.hbmWriteBytes == nd * e)
        #expect(stats.total.flopsMatmul == 14 * bh * n * nkv * d)
    }

    /// GQA and MQA FlashAttention-2 forward + backward at fp32, full and causal: dK and dV
    /// of a KV head sum its group's query heads (within 1e-5 of float64: fp32 accumulation,
    /// the expanded shares stored in the storage dtype, fp32 here); counts as in numeric mode.
    @Test(arguments: [(4, 2, 0), (4, 1, 1), (6, 2, 1)])
    func groupedGradientsAgreeWithReference(_ heads: Int, _ kvHeads: Int, _ causal: Int) throws {
        let params = ["Br": 32, "Bc": 16, "Bm": 16, "Bn": 32, "causal": causal]
        for (n, nkv, d) in [(77, 77, 16), (50, 130, 32)] {
            let bound = try S.bind("flash2-fwd-bwd", S.shape(batch: 2, heads: heads, kvHeads: kvHeads, n: n, nkv: nkv, d: d), dtype: .fp32, params: params)
            try Self.expectGradients(bound, "H\(heads)/\(kvHeads) causal \(causal) N\(n) Nkv\(nkv)")
        }
    }

    /// GQA backward, G = heads / kv_heads: the backward reads K and V once per query head
    /// (G times the MHA bytes per KV head) and writes each head's dK, dV share in full;
    /// the reduction reads those shares and writes dK, dV once per KV head. Everything else
    /// is the MHA law with Q-side tensors per query head.
    @Test(arguments: [(8, 2), (8, 1)])
    func groupedBackwardClosedForm(_ heads: Int, _ kvHeads: Int) throws {
        let n = 2048, d = 64, e = 2, bn = 128, batch = 2
        let bound = try S.bind("flash2-fwd-bwd", S.shape(batch: batch, heads: heads, kvHeads: kvHeads, n: n, d: d), dtype: .fp16)
        let stats = try S.count(bound)
        let byName = Dictionary(uniqueKeysWithValues: stats.kernels.map { ($0.name, $0.counters) })
        let bh = batch * heads, bkv = batch * kvHeads, tc = S.cdiv(n, bn)
        let nd = bh * n * d, share = bh * n * d * e
        let backward = try #require(byName["bwd"])
        #expect(backward.hbmReadBytes == 2 * share + tc * (2 * nd * e + 2 * bh * n * 4 + nd * 4))
        #expect(backward.hbmWriteBytes == tc * nd * 4 + 2 * share)
        let reduce = try #require(byName["bwd_reduce_kv"])
        #expect(reduce.hbmReadBytes == 2 * share)
        #expect(reduce.hbmWriteBytes == 2 * bkv * n * d * e)
        #expect(stats.kernels.first { $0.name == "bwd_reduce_kv" }?.blocks == bkv * tc)
        // MHA launches no reduction.
        let mha = try S.count(try S.bind("flash2-fwd-bwd", S.shape(batch: batch, heads: heads, n: n, d: d), dtype: .fp16))
        #expect(mha.kernels.first { $0.name == "bwd_reduce_kv" }?.blocks == 0)
    }

    /// Causal FlashAttention-2 forward + backward at fp32: O, dQ, dK and dV within 1e-5 of
    /// the float64 masked gradients (fp32 accumulation, as above), on blocks that divide
    /// and do not, a chunk of queries at the end of a longer cache, and ragged shapes;
    /// count mode, compressed or not, gives the numeric run's counters.
    @Test(arguments: [
        ["Br": 32, "Bc": 16, "Bm": 16, "Bn": 32], ["Br": 16, "Bc": 48, "Bm": 48, "Bn": 16], ["Br": 32, "Bc": 32, "Bm": 32, "Bn": 32],
    ])
    func causalGradientsAgreeWithReference(_ blocks: [String: Int]) throws {
        var params = blocks
        params["causal"] = 1
        for (n, nkv, d) in [(96, 96, 16), (50, 130, 32), (129, 129, 8)] {
            let bound = try S.bind("flash2-fwd-bwd", S.shape(heads: 2, n: n, nkv: nkv, d: d), dtype: .fp32, params: params)
            try Self.expectGradients(bound, "\(blocks) N\(n) Nkv\(nkv)", exhaustive: true)
        }
    }

    /// Sliding-window forward + backward at fp32 (1e-5, fp32 accumulation): windows of one
    /// key, shorter and longer than a block, MHA and GQA, a query chunk at the end of a
    /// longer cache; compressed and exhaustive counts equal the numeric run's.
    @Test(arguments: [1, 7, 20, 64])
    func windowGradientsAgreeWithReference(_ window: Int) throws {
        let params = ["Br": 32, "Bc": 16, "Bm": 16, "Bn": 32, "window": window]
        for (n, nkv, kvHeads) in [(77, 77, 2), (50, 130, 1), (96, 96, 4)] {
            let bound = try S.bind("flash2-fwd-bwd", S.shape(heads: 4, kvHeads: kvHeads, n: n, nkv: nkv, d: 16), dtype: .fp32, params: params)
            try Self.expectGradients(bound, "W\(window) N\(n) Nkv\(nkv)", exhaustive: true)
        }
    }

    /// Window W = R B with N = Nkv and all blocks B, T = N / B: the forward's query block i
    /// and the backward's key block j each pair with min(i, R) + 1 (resp. min(T - 1 - j,
    /// R) + 1) blocks, the same set of pairs; both passes mask the diagonal block's upper
    /// triangle and, once the window has slid past the start, the oldest block's lower
    /// triangle with the diagonal (B(B+1)/2).
    @Test func windowBackwardClosedForm() throws {
        let n = 4096, d = 64, b = 128, r = 4, bh = 2, e = 2
        let bound = try S.bind("flash2-fwd-bwd", S.shape(heads: bh, n: n, d: d), dtype: .fp16,
                               params: ["Br": b, "Bc": b, "Bm": b, "Bn": b, "window": r * b])
        let stats = try S.count(bound)
        let byName = Dictionary(uniqueKeysWithValues: stats.kernels.map { ($0.name, $0.counters) })
        let t = n / b, kd = bh * n * d
        let pairs = (0..<t).reduce(0) { $0 + min($1, r) + 1 }
        #expect(pairs == (0..<t).reduce(0) { $0 + min(t - 1 - $1, r) + 1 })
        let masked = bh * (t * b * (b - 1) / 2 + (t - r) * b * (b + 1) / 2)
        let backward = try #require(byName["bwd"])
        #expect(backward.hbmReadBytes == 2 * kd * e + bh * pairs * (b * d * e * 2 + b * 4 * 2 + b * d * 4))
        #expect(backward.maskedElements == masked)
        let forward = try #require(byName["fwd"])
        #expect(forward.hbmReadBytes == kd * e + 2 * bh * pairs * b * d * e)
        #expect(forward.maskedElements == masked)
        #expect(stats.total.flopsMatmul == bh * 14 * pairs * b * b * d)
    }

    /// Causal backward with N = Nkv, key blocks Bn = B and query blocks Bm = B / r (the
    /// forward uses B for both): key block j reads the Tq - j r query blocks from its
    /// diagonal down (Tq = N / Bm), each moving Q, dO, LSE, D and the dQ buffer; its r
    /// diagonal query blocks are masked, B(B-1)/2 elements in all. Matmul: 4 B^2 d per
    /// forward pair (Tk(Tk+1)/2 of them) and 10 Bm B d per backward pair.
    @Test(arguments: [(1024, 64, 64, 64), (8192, 128, 128, 64)])
    func causalBackwardClosedForm(_ n: Int, _ d: Int, _ b: Int, _ bm: Int) throws {
        let bh = 4, e = 2
        let bound = try S.bind("flash2-fwd-bwd", S.shape(batch: 2, heads: 2, n: n, d: d), dtype: .fp16,
                               params: ["Br": b, "Bc": b, "Bm": bm, "Bn": b, "causal": 1])
        let stats = try S.count(bound)
        let byName = Dictionary(uniqueKeysWithValues: stats.kernels.map { ($0.name, $0.counters) })
        let tk = n / b, tq = n / bm, r = b / bm, kd = bh * n * d
        let forwardPairs = tk * (tk + 1) / 2
        let backwardPairs = (0..<tk).reduce(0) { $0 + tq - $1 * r }
        let perPair = bm * d * e * 2 + bm * 4 * 2 + bm * d * 4
        let backward = try #require(byName["bwd"])
        #expect(backward.hbmReadBytes == 2 * kd * e + bh * backwardPairs * perPair)
        #expect(backward.hbmWriteBytes == bh * backwardPairs * bm * d * 4 + 2 * kd * e)
        #expect(backward.maskedElements == bh * tk * b * (b - 1) / 2)
        let forward = try #require(byName["fwd"])
        #expect(forward.hbmReadBytes == kd * e + 2 * bh * forwardPairs * b * d * e)
        #expect(stats.total.flopsMatmul == bh * (4 * forwardPairs * b * b * d + 10 * backwardPairs * bm * b * d))
    }

    /// Standard attention's backward materializes dP and dS: with S and P, four N x Nkv
    /// tensors, each written once and read once or twice.
    @Test func standardBackwardMaterializesScores() throws {
        let n = 1024, d = 64, bh = 16, e = 2
        let stats = try S.count(try S.bind("standard-fwd-bwd", S.shape(batch: 2, heads: 8, n: n, d: d), dtype: .fp16))
        let names = stats.tensorNames
        let total = stats.total
        func traffic(_ name: String) throws -> TensorTraffic { total.tensors[try #require(names.firstIndex(of: name))] }
        let s = bh * n * n * e
        #expect(try traffic("S").writeBytes == s && traffic("S").readBytes == s)
        #expect(try traffic("P").writeBytes == s && traffic("P").readBytes == 3 * s)   // pv, dv, softmax backward
        #expect(try traffic("dP").writeBytes == s && traffic("dP").readBytes == s)
        #expect(try traffic("dS").writeBytes == s && traffic("dS").readBytes == 2 * s)  // dq and dk
        #expect(total.flopsMatmul == 12 * bh * n * n * d)
    }

    /// Causal standard attention, forward + backward: PyTorch's math path adds a
    /// materialized N x Nkv mask to S and computes every block anyway, so the causal run
    /// moves the unmasked run's bytes plus the mask (written once, read once per head) and
    /// one more read and write of S; the matmul FLOPs are unchanged. Gradients at fp32
    /// within 1e-5 of the float64 masked reference (fp32 accumulation).
    @Test func standardCausalBackward() throws {
        let n = 1024, d = 64, bh = 4, e = 2
        let shape = S.shape(batch: 2, heads: 2, n: n, d: d)
        let full = try S.count(try S.bind("standard-fwd-bwd", shape, dtype: .fp16)).total
        let causal = try S.count(try S.bind("standard-fwd-bwd", shape, dtype: .fp16, params: ["causal": 1])).total
        let scores = n * n * e
        #expect(causal.hbmReadBytes - full.hbmReadBytes == 2 * bh * scores)
        #expect(causal.hbmWriteBytes - full.hbmWriteBytes == scores + bh * scores)
        #expect(causal.flopsMatmul == full.flopsMatmul)
        for (n, nkv) in [(77, 77), (50, 130)] {
            let bound = try S.bind("standard-fwd-bwd", S.shape(heads: 2, n: n, nkv: nkv, d: 16), dtype: .fp32,
                                   params: ["causal": 1, "Bm": 32, "Bn": 48, "Bo": 16, "Bk": 32, "Be": 40])
            try Self.expectGradients(bound, "N\(n) Nkv\(nkv)")
        }
    }

    /// GQA standard attention, forward + backward, as PyTorch's math path runs it: K and V
    /// expanded to every query head (read per query head, written as copies), the GEMMs on
    /// the copies, and dK, dV summed over each group from per-head shares. Against the MHA
    /// run with as many query heads: 4 heads Nkv d e more read (the expansion and the
    /// reduction each read two per-head tensors) and 2 heads Nkv d e + 2 kv_heads Nkv d e
    /// more written. Gradients at fp32 within 1e-5 of float64 (fp32 accumulation).
    @Test(arguments: [2, 1])
    func standardGroupedBackward(_ kvHeads: Int) throws {
        let n = 1024, d = 64, batch = 2, heads = 4, e = 2
        let mha = try S.count(try S.bind("standard-fwd-bwd", S.shape(batch: batch, heads: heads, n: n, d: d), dtype: .fp16)).total
        let gqa = try S.count(try S.bind("standard-fwd-bwd", S.shape(batch: batch, heads: heads, kvHeads: kvHeads, n: n, d: d), dtype: .fp16)).total
        let perHead = batch * heads * n * d * e, perKVHead = batch * kvHeads * n * d * e
        #expect(gqa.hbmReadBytes - mha.hbmReadBytes == 4 * perHead)
        #expect(gqa.hbmWriteBytes - mha.hbmWriteBytes == 2 * perHead + 2 * perKVHead)
        #expect(gqa.flopsMatmul == mha.flopsMatmul)
        for causal in [0, 1] {
            let bound = try S.bind("standard-fwd-bwd", S.shape(heads: heads, kvHeads: kvHeads, n: 50, nkv: 130, d: 16), dtype: .fp32,
                                   params: ["causal": causal, "Bm": 32, "Bn": 48, "Bo": 16, "Bk": 32, "Be": 40])
            try Self.expectGradients(bound, "kv \(kvHeads) causal \(causal)")
        }
    }

    /// The FlashAttention paper's Figure 2 setting (GPT-2 medium attention: batch 64,
    /// 16 heads, N 1024, d 64, fp16, A100): the standard path moves several times the
    /// bytes of FlashAttention-2 for about 17% fewer FLOPs (docs/algorithms.md compares
    /// both with the paper's 40.3 GB vs 4.4 GB and 66.6 vs 75.2 GFLOPs).
    @Test func figure2Setting() throws {
        let shape = S.shape(batch: 64, heads: 16, n: 1024, d: 64)
        let a100 = try AttnHardwareProfiles.a100()
        let standard = try S.count(try S.bind("standard-fwd-bwd", shape, dtype: .fp16, hardware: a100)).total
        let flash = try S.count(try S.bind("flash2-fwd-bwd", shape, dtype: .fp16, hardware: a100)).total
        // Per-kernel sums (MiB): nd = BH N d e = 128, s = BH N^2 e = 2048; the GEMMs
        // re-read their N x d operand once per 256- or 64-wide output tile.
        let nd = 64 * 16 * 1024 * 64 * 2, sq = 64 * 16 * 1024 * 1024 * 2
        let standardReads = nd + (4 * nd + 8 * nd) + sq + (sq + 16 * nd) + (sq + 16 * nd) + (4 * nd + 8 * nd)
            + 2 * sq + (sq + 16 * nd) + (sq + 16 * nd) + nd
        let standardWrites = nd + sq + sq + nd + nd + sq + sq + nd + nd + nd
        #expect(standard.hbmReadBytes == standardReads)
        #expect(standard.hbmWriteBytes == standardWrites)
        // FlashAttention-2: forward (Q once, K/V per 128-row query block, O, LSE), the
        // preprocessing (O, dO in; D, the cleared fp32 dQ buffer out), the backward
        // (K, V once; Q, dO, LSE, D and the fp32 dQ buffer per 128-row key block), and
        // the conversion of dQ.
        let bh = 64 * 16, n = 1024, lse = bh * n * 4, dq32 = 2 * nd, blocks = 8
        let flashReads = (nd + 2 * blocks * nd) + 2 * nd + (2 * nd + blocks * (2 * nd + 2 * lse + dq32)) + dq32
        let flashWrites = (nd + lse) + (lse + dq32) + (blocks * dq32 + 2 * nd) + nd
        #expect(flash.hbmReadBytes == flashReads)
        #expect(flash.hbmWriteBytes == flashWrites)
        #expect(standardReads + standardWrites == 36_507_222_016)
        #expect(flashReads + flashWrites == 10_410_262_528)
        #expect(Double(flash.flopsMatmul) / Double(standard.flopsMatmul) == 14.0 / 12.0)
    }
}

import AttnHardware

enum AttnHardwareProfiles {
    static func a100() throws -> HardwareProfile { try HardwareProfile.named("a100-40gb-sxm") }
}
