import AttnAlgorithms
import AttnHardware
import AttnNumerics
@testable import CostModel
import Testing
import TileLanguage
@testable import TileInterpreter
import AttnTestSupport
import TileTestSupport

/// `flash3`, FlashAttention-3's forward on Hopper (Shah et al. 2024): flash2's traffic and
/// work by hand, its numerics against the float64 reference, and the wgmma kernel the cost
/// model sees (docs/algorithms.md, docs/io-laws.md).
@Suite struct FlashAttention3Tests {
    typealias S = TestSupport

    /// Warp specialization, TMA and wgmma change no count: flash2's law at 128 x 128 tiles
    /// (reads BH N d e + 2 BH cdiv(N, 128) Nkv d e, writes BH N d e + 4 BH N).
    @Test(arguments: ZooIOLawTests.cases)
    func countsAreFlash2sLaw(_ c: ZooIOLawTests.Case) throws {
        let t = try ZooIOLawTests.count("flash3", c, [:])
        let law = ZooIOLawTests.flash2(c, br: 128, bc: 128)
        #expect(t.hbmReadBytes == law.reads)
        #expect(t.hbmWriteBytes == law.writes)
        #expect(t.flopsMatmul == law.matmul)
        #expect(t.flopsOther == law.other)
        #expect(t.exps == law.exps)
    }

    /// Causal, N = Nkv = 1,024, d = 64, fp16, BH = 2, Br = Bc = 128: T = 8 query blocks
    /// see T (T + 1) / 2 = 36 key blocks. Reads 2 x 1,024 x 64 x 2 (Q) + 2 x 2 x 36 x 128
    /// x 64 x 2 (K and V) = 262,144 + 2,359,296; writes 262,144 (O) + 4 x 2 x 1,024 (LSE);
    /// matmul 4 x 128 x 128 x 64 per block pair x 36 x 2.
    @Test func causalByHand() throws {
        let bound = try S.bind("flash3", S.shape(heads: 2, n: 1024, d: 64), dtype: .fp16, params: ["causal": 1])
        let t = try S.count(bound).total
        #expect(t.hbmReadBytes == 2_621_440)
        #expect(t.hbmWriteBytes == 270_336)
        #expect(t.flopsMatmul == 301_989_888)
    }

    /// Numeric mode against the float64 reference (S.numeric asserts each verdict):
    /// ragged shapes, GQA, causal and window, in each storage dtype. The tolerances are
    /// the derived ones by hand (docs/tile-language.md): O is stored once in the run's
    /// dtype and LSE once in fp32, no temps, reductions of d + Nkv = 364 terms, so O's is
    /// 4 (u + 364 u_fp32) and LSE's 4 x 365 u_fp32 = 8.70e-5.
    @Test(arguments: [(DType.fp16, 1, 0), (.bf16, 0, 96), (.fp32, 0, 0)])
    func numericsMatchTheReference(_ dtype: DType, _ causal: Int, _ window: Int) throws {
        let bound = try S.bind(
            "flash3", S.shape(heads: 4, kvHeads: 2, n: 200, nkv: 300, d: 64), dtype: dtype, params: ["causal": causal, "window": window])
        let result = try S.numeric(bound)
        let u32 = 0x1p-24, u = dtype.unitRoundoff
        let tolerances = Dictionary(uniqueKeysWithValues: result.checks.map { ($0.tensor, $0.tolerance) })
        #expect(tolerances.count == 2)
        #expect(abs((tolerances["O"] ?? 0) - 4 * (u + 364 * u32)) < 1e-15)
        #expect(abs((tolerances["LSE"] ?? 0) - 4 * 365 * u32) < 1e-15)
    }

    /// On Hopper the two consumer warp groups hold 64 rows each, so the kernel runs wgmma
    /// and its GEMM time is the tensor cores' alone, t = matmul FLOPs / (ceiling x eta);
    /// flash2 at the same tiles (4 warps, mma.sync) is bound by its B-operand reads from
    /// shared memory and is slower.
    @Test func wgmmaOnHopper() throws {
        let shape = S.shape(heads: 8, n: 4096, d: 128)
        let fa3 = try S.bind("flash3", shape, dtype: .bf16, hardware: S.h100)
        let fa2 = try S.bind("flash2", shape, dtype: .bf16, params: ["Br": 128, "Bc": 128], hardware: S.h100)
        let model = CostModel(hardware: S.h100, dtype: .bf16)
        let stats3 = try S.count(fa3), stats2 = try S.count(fa2)
        let kernel3 = try #require(fa3.program.kernels.first), kernel2 = try #require(fa2.program.kernels.first)
        let counters3 = try #require(stats3.kernels.first).counters
        #expect(model.usesAsyncMMA(kernel: kernel3, counters: counters3, threads: 256))
        #expect(!model.usesAsyncMMA(kernel: kernel2, counters: try #require(stats2.kernels.first).counters, threads: 128))
        let seconds = model.matmulSeconds(kernel: kernel3, counters: counters3, threads: 256, activeSMs: S.h100.smCount)
        let byHand = Double(counters3.flopsMatmul) / (model.matmulFlopsPerSecond * CalibrationSet.standard.matmulEfficiency)
        #expect(abs(seconds / byHand - 1) < 1e-12)
        #expect(model.predict(fa3, stats3).seconds < model.predict(fa2, stats2).seconds)
    }
}
