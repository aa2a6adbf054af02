import Testing
import AttnNumerics
@testable import TileInterpreter
import AttnTestSupport
import TileTestSupport

/// Exact HBM byte and FLOP counts of the built-in algorithms against closed forms derived
/// by hand (docs/io-laws.md gives the derivations). Shapes include ragged last blocks.
@Suite struct IOLawTests {
    typealias S = TestSupport

    struct Case: CustomStringConvertible {
        var batch: Int, heads: Int, n: Int, nkv: Int, d: Int, dtype: DType
        var description: String { "B\(batch) H\(heads) N\(n) Nkv\(nkv) d\(d) \(dtype)" }
    }

    static let cases = [
        Case(batch: 1, heads: 2, n: 100, nkv: 100, d: 16, dtype: .fp32),
        Case(batch: 2, heads: 3, n: 1000, nkv: 777, d: 64, dtype: .fp16),
        Case(batch: 2, heads: 16, n: 4096, nkv: 4096, d: 64, dtype: .fp16),
        Case(batch: 1, heads: 8, n: 16384, nkv: 16384, d: 128, dtype: .bf16),
    ]

    /// FlashAttention-2 forward: Q and O move once, K and V once per query block;
    /// LSE (fp32) is written once. FLOPs: 4 N Nkv d matmul; N Nkv + N Tc exps; N logs.
    @Test(arguments: cases, [(Br: 32, Bc: 48), (Br: 128, Bc: 128), (Br: 64, Bc: 256)])
    func flash2(_ c: Case, blocks: (Br: Int, Bc: Int)) throws {
        let bound = try S.bind("flash2", S.shape(batch: c.batch, heads: c.heads, n: c.n, nkv: c.nkv, d: c.d), dtype: c.dtype, params: ["Br": blocks.Br, "Bc": blocks.Bc])
        let t = try S.count(bound).total
        let bh = c.batch * c.heads, e = c.dtype.bytes
        let tr = S.cdiv(c.n, blocks.Br), tc = S.cdiv(c.nkv, blocks.Bc)
        #expect(t.hbmReadBytes == bh * c.n * c.d * e + 2 * bh * tr * c.nkv * c.d * e)
        #expect(t.hbmWriteBytes == bh * c.n * c.d * e + bh * c.n * 4)
        #expect(t.flopsMatmul == 4 * bh * c.n * c.nkv * c.d)
        #expect(t.exps == bh * (c.n * c.nkv + c.n * tc))
        #expect(t.logs == bh * c.n)
        // Per (query block of r rows, key block of c columns): scale r c, rowmax r (c-1),
        // max r, s - m2 r c, m - m2 r, a l r, rowsum r (c-1), + r, a o r d, + r d;
        // then o / l r d and m + log(l) r once per query block.
        #expect(t.flopsOther == bh * c.n * (4 * c.nkv + 2 * tc + 2 * c.d * tc + c.d + 1))
        let br = min(blocks.Br, c.n), bc = min(blocks.Bc, c.nkv)
        #expect(t.peakSramBytes == (br + 2 * bc) * c.d * e)
        #expect(t.sramToRegisters == bh * (c.n * tc + 2 * tr * c.nkv) * c.d * e)
    }

    /// FlashAttention-1 forward (Algorithm 1): K and V once; Q, O, l, m once per K/V
    /// block; O, l, m written once per K/V block plus the initialisation.
    @Test(arguments: cases)
    func flash1(_ c: Case) throws {
        for m in [4096, 16384] {
            let bound = try S.bind("flash1", S.shape(batch: c.batch, heads: c.heads, n: c.n, nkv: c.nkv, d: c.d), dtype: c.dtype, params: ["M": m])
            let t = try S.count(bound).total
            let bh = c.batch * c.heads, e = c.dtype.bytes
            let bc = S.cdiv(m, 4 * c.d), br = min(bc, c.d)
            #expect(bound.parameter("Bc") == .int(bc))
            #expect(bound.parameter("Br") == .int(br))
            let tc = S.cdiv(c.nkv, bc)
            #expect(t.hbmReadBytes == bh * (2 * c.nkv * c.d * e + tc * c.n * (2 * c.d * e + 2 * 4)))
            #expect(t.hbmWriteBytes == bh * (tc + 1) * c.n * (c.d * e + 2 * 4))
            #expect(t.flopsMatmul == 4 * bh * c.n * c.nkv * c.d)
        }
    }

    /// Theorem 2 of the FlashAttention paper: Theta(N^2 d^2 / M) HBM accesses. Across a
    /// sweep of M (Bc = ceil(M/4d), Br = min(Bc, d)) the traffic halves when M doubles,
    /// and bytes * M / (N^2 d^2) stays within a narrow band.
    @Test func flash1ScalesAsTheorem2() throws {
        let n = 8192, d = 64
        var normalized: [Double] = []
        var previous: Int?
        for m in [4 * d * 8, 4 * d * 16, 4 * d * 32, 4 * d * 64, 4 * d * 128] {
            let bound = try S.bind("flash1", S.shape(batch: 1, heads: 1, n: n, d: d), dtype: .fp16, params: ["M": m])
            let t = try S.count(bound).total
            let bytes = t.hbmReadBytes + t.hbmWriteBytes
            normalized.append(Double(bytes) * Double(m) / (Double(n) * Double(n) * Double(d) * Double(d)))
            if let previous {
                let ratio = Double(previous) / Double(bytes)
                #expect(ratio > 1.9 && ratio < 2.05, "doubling M from \(m / 2) to \(m) divided traffic by \(ratio)")
            }
            previous = bytes
        }
        let spread = (normalized.max() ?? 0) / (normalized.min() ?? 1)
        #expect(spread < 1.05, "bytes * M / (N^2 d^2) ranged over \(normalized)")
    }

    /// Standard attention (PyTorch eager): every S and P element crosses HBM; the GEMMs
    /// re-read Q per column tile of S and K, V per row tile.
    @Test(arguments: cases)
    func standard(_ c: Case) throws {
        let bound = try S.bind("standard", S.shape(batch: c.batch, heads: c.heads, n: c.n, nkv: c.nkv, d: c.d), dtype: c.dtype)
        let stats = try S.count(bound)
        let t = stats.total
        let bh = c.batch * c.heads, e = c.dtype.bytes
        // P V's tile rows follow cuBLAS's tile (standard.tile): the largest of 128, 256, 512
        // with d x Bo <= 32,768 that leaves at least half the H100's 132 SMs busy, else 64.
        let bo = [512, 256, 128].first { $0 * c.d <= 32768 && bh * S.cdiv(c.n, $0) * 2 >= 132 } ?? 64
        let (bm, bn) = (128, 256)
        let nd = bh * c.n * c.d * e, kd = bh * c.nkv * c.d * e, s = bh * c.n * c.nkv * e
        let reads = nd + nd * S.cdiv(c.nkv, bn) + kd * S.cdiv(c.n, bm) + s + s + kd * S.cdiv(c.n, bo)
        #expect(t.hbmReadBytes == reads)
        #expect(t.hbmWriteBytes == nd + s + s + nd)
        #expect(t.flopsMatmul == 4 * bh * c.n * c.nkv * c.d)
        #expect(t.exps == bh * c.n * c.nkv)
        // MHA without a mask launches four kernels; the GQA expansion and mask kernels have empty grids.
        #expect(stats.kernels.filter { $0.blocks > 0 }.map(\.name) == ["scale", "qk", "softmax", "pv"])
        let softmax = try #require(stats.kernels.first { $0.name == "softmax" }).counters
        let sIndex = try #require(stats.tensorNames.firstIndex(of: "S"))
        #expect(softmax.tensors[sIndex].readBytes == s, "softmax reads S once when a row fits")
    }

    /// Rows longer than Bsm take two passes: S is read twice.
    @Test func standardTwoPassSoftmax() throws {
        let bound = try S.bind("standard", S.shape(heads: 2, n: 300, d: 32), dtype: .fp16, params: ["Bsm": 128])
        let stats = try S.count(bound)
        let softmax = try #require(stats.kernels.first { $0.name == "softmax" }).counters
        let s = 2 * 300 * 300 * 2
        #expect(softmax.tensors[try #require(stats.tensorNames.firstIndex(of: "S"))].readBytes == 2 * s)
        #expect(softmax.tensors[try #require(stats.tensorNames.firstIndex(of: "P"))].writeBytes == s)
        #expect(softmax.exps == 2 * 2 * 300 * 300 + 2 * 300 * S.cdiv(300, 128))
    }

    /// Standard attention's Theta(Nd + N^2) against FlashAttention-2's
    /// Theta(N^2 d / Br): at d = 64 and Br = 128 the flash algorithm moves several times
    /// fewer bytes, and the gap widens with N as S and P dominate.
    @Test func standardMovesMoreThanFlash() throws {
        var previousGap = 0.0
        for n in [1024, 4096, 16384] {
            let shape = S.shape(batch: 2, heads: 16, n: n, d: 64)
            let standard = try S.count(try S.bind("standard", shape, dtype: .fp16)).total
            let flash = try S.count(try S.bind("flash2", shape, dtype: .fp16)).total
            let gap = Double(standard.hbmReadBytes + standard.hbmWriteBytes) / Double(flash.hbmReadBytes + flash.hbmWriteBytes)
            #expect(gap > 3)
            #expect(gap >= previousGap * 0.99)
            previousGap = gap
        }
    }
}

/// The naive path's GQA expansion and causal mask, as PyTorch runs them.
@Suite struct StandardMaskAndGQATests {
    typealias S = TestSupport

    /// GQA: an expand kernel reads K and V once per KV head and writes them per query
    /// head; the GEMMs then read the expanded copies. Causal: the mask (N x Nkv, storage
    /// dtype) is written once and added to S, which is read and written once more.
    @Test func extraKernels() throws {
        let n = 1024, d = 64, heads = 8, kvHeads = 2, e = 2
        let stats = try S.count(try S.bind("standard", S.shape(heads: heads, kvHeads: kvHeads, n: n, d: d), dtype: .fp16, params: ["causal": 1]))
        let byName = Dictionary(uniqueKeysWithValues: stats.kernels.map { ($0.name, $0) })
        let expand = try #require(byName["expand"]).counters
        #expect(expand.hbmReadBytes == 2 * heads * n * d * e)        // each query head reads its KV head's rows
        #expect(expand.hbmWriteBytes == 2 * heads * n * d * e)
        let build = try #require(byName["mask_build"]).counters
        #expect(build.hbmWriteBytes == n * n && build.hbmReadBytes == 0)   // a one-byte mask
        let add = try #require(byName["mask_add"]).counters
        #expect(add.hbmReadBytes == heads * n * n * (e + 1))          // S and the one-byte mask, per head
        #expect(add.hbmWriteBytes == heads * n * n * e)
        #expect(add.maskedElements == 0)
        #expect(build.maskedElements == n * (n - 1) / 2)
    }
}
