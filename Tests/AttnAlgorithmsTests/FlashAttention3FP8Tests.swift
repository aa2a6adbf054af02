import AttnAlgorithms
import AttnHardware
import AttnNumerics
@testable import CostModel
import Testing
import TileLanguage
@testable import TileInterpreter
import AttnTestSupport
import TileTestSupport

/// `flash3-fp8`, FlashAttention-3's FP8 path (Shah et al. 2024, Section 3.3): its traffic
/// and work by hand against flash2's law, the on-chip transpose of V, its numerics against
/// the float64 reference of the dequantized inputs with P's rounding to e4m3 counted in the
/// derived tolerance, and the FP8 tensor-core rate the cost model gives it.
@Suite struct FlashAttention3FP8Tests {
    typealias S = TestSupport

    /// Dense, Br = Bc = 128, T_r = cdiv(N, 128) query blocks each visiting T_c =
    /// cdiv(Nkv, 128) key blocks:
    ///   reads  = BH N d + 2 BH T_r Nkv d (e4m3 codes, 1 byte) + 4 BH T_r (QS) + 8 BH T_r T_c (KS, VS),
    ///   writes = flash2's: BH N d e + 4 BH N,
    ///   matmul and exponentials = flash2's,
    ///   other  = flash2's + BH (2 N + 2 N T_c + T_r (1 + 2 T_c)): per query row the scale
    ///            folded into 1 / l and the LSE's - log 256, per row and key block the
    ///            shifted max (m - log 256) and V's scale folded into alpha; per block the
    ///            score scale qs / sqrt(d) and per block pair qs ks and vs_{j-1} / vs_j,
    ///   reg->sram = BH T_r Nkv d: every V tile transposed once per query block visiting it.
    @Test(arguments: ZooIOLawTests.cases)
    func countsByHand(_ c: ZooIOLawTests.Case) throws {
        let t = try ZooIOLawTests.count("flash3-fp8", c, [:])
        let law = ZooIOLawTests.flash2(c, br: 128, bc: 128)
        let tr = S.cdiv(c.n, 128), tc = S.cdiv(c.nkv, 128)
        #expect(t.hbmReadBytes == c.bh * c.n * c.d + 2 * c.bh * tr * c.nkv * c.d + 4 * c.bh * tr + 8 * c.bh * tr * tc)
        #expect(t.hbmWriteBytes == law.writes)
        #expect(t.flopsMatmul == law.matmul)
        #expect(t.exps == law.exps)
        #expect(t.flopsOther == law.other + c.bh * (2 * c.n + 2 * c.n * tc + tr * (1 + 2 * tc)))
        #expect(t.registersToSram == c.bh * tr * c.nkv * c.d)
    }

    /// Causal, N = Nkv = 1,024, d = 64, fp16, BH = 2: T = 8 query blocks see 36 key
    /// blocks. Reads 2 x 1,024 x 64 (Q) + 2 x 2 x 36 x 128 x 64 (K, V) + 4 x 2 x 8 (QS) +
    /// 8 x 2 x 36 (KS, VS) = 1,311,360, half flash3's 2,621,440 and the scales; writes
    /// flash3's 270,336; the transpose moves 2 x 36 x 128 x 64 = 589,824 bytes into shared
    /// memory and none through HBM.
    @Test func causalByHand() throws {
        let bound = try S.bind("flash3-fp8", S.shape(heads: 2, n: 1024, d: 64), dtype: .fp16, params: ["causal": 1])
        let t = try S.count(bound).total
        #expect(t.hbmReadBytes == 1_311_360)
        #expect(t.hbmWriteBytes == 270_336)
        #expect(t.registersToSram == 589_824)
        #expect(t.flopsMatmul == 301_989_888)
    }

    /// Numeric mode against attention of the dequantized inputs (code x block scale):
    /// ragged shapes, GQA, causal and window, O in each storage dtype. The derived
    /// tolerances by hand: O stored once at u, reductions of d + Nkv = 364 terms, and one
    /// cast of P to e4m3 (u = 2^-4) outside the softmax's factor 4: 4 (u + 364 u32) + 2^-4;
    /// LSE is made from the fp32 row sum, no cast on its path: 4 x 365 u32. Measured errors
    /// of O are about 0.01, a sixth of the e4m3 term.
    @Test(arguments: [(DType.fp16, 1, 0), (.bf16, 0, 96), (.fp32, 0, 0)])
    func numericsMatchTheReference(_ dtype: DType, _ causal: Int, _ window: Int) throws {
        let bound = try S.bind(
            "flash3-fp8", S.shape(heads: 4, kvHeads: 2, n: 200, nkv: 300, d: 64), dtype: dtype, params: ["causal": causal, "window": window])
        let result = try S.numeric(bound)
        let u32 = 0x1p-24, u = dtype.unitRoundoff
        let checks = Dictionary(uniqueKeysWithValues: result.checks.map { ($0.tensor, $0) })
        #expect(checks.count == 2)
        #expect(abs((checks["O"]?.tolerance ?? 0) - (4 * (u + 364 * u32) + 0x1p-4)) < 1e-15)
        #expect(abs((checks["LSE"]?.tolerance ?? 0) - 4 * 365 * u32) < 1e-15)
        #expect((checks["O"]?.error.maxRelativeError ?? 1) < 0x1p-4 / 2)
    }

    /// The check can fail: without V's per-block scale in the rescale (alpha alone), or
    /// with K's block scales left out of the scores, O is off by far more than e4m3's step
    /// and the run fails; without the rounding of P (P V in fp32) it passes.
    @Test(arguments: [
        ("o = (a * (vp / vs)) * o", "o = a * o", false),
        ("s = (q @ k^T) * (sq * ks)", "s = (q @ k^T) * sq", false),
        ("p8 = cast(p, fp8e4m3)", "p8 = p", true),
    ])
    func mutantsAreJudged(_ line: String, _ replacement: String, _ passes: Bool) throws {
        let text = try AlgorithmLibrary.builtInSource("flash3-fp8").text
        #expect(text.contains(line))
        let bound = try S.bindSource(text.replacingOccurrences(of: line, with: replacement), S.shape(heads: 4, kvHeads: 2, n: 200, nkv: 300, d: 64), dtype: .fp16)
        let result = try Simulator.run(bound, options: RunOptions(mode: .numeric, seed: 7))
        let o = try #require(result.checks.first { $0.tensor == "O" })
        #expect(o.passed == passes, "\(o.summary)")
    }

    /// The kernel declares `mma(async, fp8e4m3)`: on the H100 SXM its GEMMs run at the
    /// datasheet's FP8 rate (1,978.9 TFLOPS) x the sustained fraction 0.75, twice the bf16
    /// rate, while O is stored in bf16; at 8K, 16 heads of 128 it is faster than flash3.
    @Test func fp8RateOnHopper() throws {
        try expectDeclaredMMARate("flash3-fp8", format: .fp8e4m3, baseline: "flash3", on: S.h100, rate: 1_978.9e12)
    }

    /// Which casts reach a checked output, by hand (`NumericTolerance.roundingSquares`):
    /// flash2-triton rounds P to fp16 in its 16-bit loop only, so an fp16 run's O gains
    /// C = 2^-11 and an fp32 run's (the branch `elem_bytes == 2` not taken) nothing; in the
    /// two-kernel program below the cast reaches Y through the temp T, and Z, computed from
    /// the uncast tile, gains nothing. d = 32, Nkv = 100: n = 132.
    @Test func castsOnTheOutputPath() throws {
        let u32 = 0x1p-24
        for (dtype, c) in [(DType.fp16, 0x1p-11), (.fp32, 0.0)] {
            let bound = try S.bind("flash2-triton", S.shape(heads: 2, n: 100, d: 32), dtype: dtype)
            let check = try #require(bound.program.checks.first)
            #expect(abs(NumericTolerance.derived(check, bound: bound, stats: nil) - (4 * (dtype.unitRoundoff + 132 * u32) + c)) < 1e-15)
        }
        let text = """
            input  X[4, 8]
            output Y[4, 8]
            output Z[4, 8]
            temp   T[4, 8]
            check Y = attention(X, X, X)
            check Z = attention(X, X, X)
            kernel a grid(i: 1):
              x = load X[:, :] -> reg
              y = cast(x * 2.0, fp8e5m2)
              store T[:, :] = y
              store Z[:, :] = x
            kernel b grid(i: 1):
              t = load T[:, :] -> reg
              store Y[:, :] = t + 1.0
            """
        let bound = try S.bindSource(text, S.shape(batch: 1, heads: 4, n: 8, d: 8))
        #expect(NumericTolerance.roundingSquares(bound.program.checks[0], bound: bound, lastKernel: 1) == 0x1p-6)
        #expect(NumericTolerance.roundingSquares(bound.program.checks[1], bound: bound, lastKernel: 1) == 0)
    }

    /// `mma(async, DTYPE)` names a dtype the tensor cores multiply; anything else is a
    /// syntax error at the name.
    @Test(arguments: [
        ("mma(async, fp8e4m3)", nil),
        ("mma(sync, fp4)", nil),
        ("mma(async, u8)", "unknown MMA input dtype 'u8'"),
        ("mma(async, fp9)", "unknown MMA input dtype 'fp9'"),
    ])
    func mmaDTypeInTheHeader(_ attribute: String, _ message: String?) {
        let text = "output O[1, 4]\nkernel k grid(i: 1) \(attribute):\n  store O[0 ..< 1, :] = zeros(1, 4)\n"
        do {
            let program = try Checker.check(SourceFile(name: "h.tile", text: text))
            #expect(message == nil)
            #expect(program.kernels.first?.mmaDType != nil)
        } catch {
            #expect(message.map { error.description.contains($0) } ?? false, "\(error)")
        }
    }
}
