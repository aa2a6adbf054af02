import AttnAlgorithms
import AttnHardware
import AttnNumerics
@testable import CostModel
import Testing
@testable import TileLanguage
@testable import TileInterpreter
import AttnTestSupport
import TileTestSupport

/// `sage3`, SageAttention3's FP4 forward (Zhang et al. 2025, arXiv 2505.11594, Section 3):
/// its traffic and work by hand against flash2's law, P's two-level FP4 quantization by
/// hand, its numerics against the float64 reference of the unquantized inputs, and the FP4
/// tensor-core rate the cost model gives it.
@Suite struct SageAttention3Tests {
    typealias S = TestSupport

    /// Dense, Br = Bc = 128, T_r = cdiv(N, 128) query blocks each reading all of K and V.
    /// Every element of Q, K and V read is an E2M1 code (half a byte) plus its share of
    /// one scale byte per `group` elements: f = 1/2 + 1/16 = 9/16 bytes (NVFP4), 1/2 + 1/32
    /// = 17/32 (MXFP4), against flash2's e. So, with flash2's law at e = 1 (reads1 = BH N d
    /// + 2 BH T_r Nkv d):
    ///   reads  = 9 reads1 / 16 (NVFP4), 17 reads1 / 32 (MXFP4),
    ///   writes = flash2's (O at e, LSE fp32), matmul and exponentials = flash2's,
    ///   other  = flash2's + 2 BH N Nkv (`quantize_fp4`: two per element of P).
    /// d = 16 has no whole MXFP4 block (32): that case runs NVFP4 only.
    @Test(arguments: ZooIOLawTests.cases, [4, 5])
    func countsByHand(_ c: ZooIOLawTests.Case, _ fmt: Int) throws {
        guard c.d % (fmt == 4 ? 16 : 32) == 0 else { return }
        let t = try ZooIOLawTests.count("sage3", c, ["fmt": .int(fmt)])
        let law = ZooIOLawTests.flash2(c, br: 128, bc: 128)
        let tr = S.cdiv(c.n, 128)
        let reads1 = c.bh * c.n * c.d + 2 * c.bh * tr * c.nkv * c.d
        #expect(t.hbmReadBytes == (fmt == 4 ? 9 * reads1 / 16 : 17 * reads1 / 32))
        #expect(t.hbmWriteBytes == law.writes)
        #expect(t.flopsMatmul == law.matmul)
        #expect(t.exps == law.exps)
        #expect(t.flopsOther == law.other + 2 * c.bh * c.n * c.nkv)
    }

    /// Causal, N = Nkv = 1,024, d = 64, bf16, BH = 2, NVFP4: T = 8 query blocks see 36 key
    /// blocks. Reads 2 x 1,024 x 36 (Q: 32 code bytes + 4 scale bytes per row) + 2 x 2 x 36
    /// x 128 x 36 (K and V) = 737,280, against flash2's 2 x 1,024 x 128 + 2 x 2 x 36 x 128
    /// x 128 = 2,621,440 (0.28x: 9/32); writes flash2's 2 x 1,024 x (128 + 4) = 270,336;
    /// matmul flash2's 4 x 2 x 36 x 128^2 x 64 = 301,989,888.
    @Test func causalByHand() throws {
        let shape = S.shape(heads: 2, n: 1024, d: 64)
        let t = try S.count(try S.bind("sage3", shape, dtype: .bf16, params: ["causal": 1])).total
        let f2 = try S.count(try S.bind("flash2", shape, dtype: .bf16, params: ["causal": 1])).total
        #expect(t.hbmReadBytes == 737_280 && f2.hbmReadBytes == 2_621_440)
        #expect(t.hbmWriteBytes == 270_336 && f2.hbmWriteBytes == 270_336)
        #expect(t.flopsMatmul == 301_989_888 && f2.flopsMatmul == 301_989_888)
    }

    /// `quantize_fp4` by hand on one row of 32 values: 1, 0.3, 0.1 then 0.01, 0.004 in the
    /// second 16, zeros elsewhere.
    /// NVFP4: s1 = 1 / 2,688 (the row's max to 448 x 6). Block 1: max 2,688 / 6 = 448, an
    /// E4M3 value, so the scale s1 x 448 = 1/6; 6, 1.8, 0.6 round to E2M1's 6, 2, 0.5: 1,
    /// 1/3, 1/12. Block 2: max 0.01 x 2,688 / 6 = 4.48, E4M3 4.5 (step 0.5 in [4, 8)),
    /// scale 4.5 / 2,688; 0.01 and 0.004 become 5.97 and 2.39, E2M1 6 and 2: 27 / 2,688 and
    /// 9 / 2,688 (0.4% and 16% off: the block's own scale keeps small values).
    /// MXFP4: one block of 32, scale E8M0(1/6) = 2^-3 (1/6 = 1.33 x 2^-3, below 1.5 x 2^-3);
    /// 8, 2.4, 0.8, 0.08, 0.032 round to 6 (saturated), 2, 1, 0, 0: 0.75, 0.25, 0.125, 0, 0.
    @Test func quantizeFP4ByHand() {
        var row = [Float](repeating: 0, count: 32)
        for (index, value) in [(0, 1), (1, 0.3), (2, 0.1), (16, 0.01), (17, 0.004)] as [(Int, Float)] { row[index] = value }
        let nv = Builtin.quantizedFP4(row, rows: 1, cols: 32, nvfp4: true)
        let mx = Builtin.quantizedFP4(row, rows: 1, cols: 32, nvfp4: false)
        func near(_ a: Float, _ b: Double) -> Bool { abs(Double(a) - b) <= 1e-6 * max(abs(b), 1e-3) }
        #expect(near(nv[0], 1) && near(nv[1], 1.0 / 3) && near(nv[2], 1.0 / 12))
        #expect(near(nv[16], 27.0 / 2688) && near(nv[17], 9.0 / 2688))
        #expect(nv.enumerated().allSatisfy { [0, 1, 2, 16, 17].contains($0.offset) || $0.element == 0 })
        #expect(mx[0] == 0.75 && mx[1] == 0.25 && mx[2] == 0.125 && mx[16] == 0 && mx[17] == 0)
    }

    /// Numeric mode against attention of the unquantized inputs: ragged shapes (N = 200,
    /// Nkv = 300: a last key block of 44 keys, P's last scale block 12 wide), GQA, causal
    /// and window, both formats.
    ///
    /// The derived tolerance by hand (`NumericTolerance`): E2M1 has a 1-bit mantissa, so
    /// one rounding errs by at most u = 2^-2 of an element in its normal range and by half
    /// its smallest step (0.25 of the block's 6) below it; relative to its block's largest
    /// magnitude, a block-quantized element is off by at most 1/6 (`KVQuantFormat.relativeStep`:
    /// the half step 1 of [4, 6] over 6). Q, K and V are quantized once each (three
    /// squares of 1/6, amplified by the softmax's 4 with O's store u_O and the d + Nkv =
    /// 364 fp32 accumulations), P once in registers (`quantize_fp4`, counted as a cast at
    /// 2^-2, outside the factor 4):
    ///   tol(O)   = 4 (sqrt(u_O^2 + 3 / 36) + 364 u32) + 1/4,
    ///   tol(LSE) = 4 (sqrt(u32^2 + 2 / 36) + 364 u32)   (Q and K only; l from the fp32 P).
    /// Those bound the worst case. The measured error of O is held to a tighter bound: one
    /// FP4 rounding's u = 1/4 plus what the block scale's own rounding can clip off a
    /// block's largest element: NVFP4's E4M3 scale is within 2^-4 (bound 1/4 + 1/16 =
    /// 5/16), MXFP4's E8M0 scale, the nearest power of two to max / 6, leaves the largest
    /// up to 1.5 x 6 before it saturates at 6, 1/3 of it off (bound 1/4 + 1/3 = 7/12).
    /// Measured: NVFP4 0.16-0.23, MXFP4 0.32-0.43. And it is above e4m3's u = 2^-4 (FP8
    /// attention's rounding; flash3-fp8 measures about 0.01): the FP4 roundings are there.
    @Test(arguments: [(DType.bf16, 1, 0, 4), (.fp16, 0, 96, 4), (.fp32, 0, 0, 4), (.bf16, 1, 0, 5), (.fp32, 0, 0, 5)])
    func numericsMatchTheReference(_ dtype: DType, _ causal: Int, _ window: Int, _ fmt: Int) throws {
        let bound = try S.bind(
            "sage3", S.shape(heads: 4, kvHeads: 2, n: 200, nkv: 300, d: 64), dtype: dtype,
            params: ["causal": causal, "window": window, "fmt": fmt])
        let result = try S.numeric(bound)
        let u32 = 0x1p-24, u = dtype.unitRoundoff
        let checks = Dictionary(uniqueKeysWithValues: result.checks.map { ($0.tensor, $0) })
        #expect(checks.count == 2)
        #expect(abs((checks["O"]?.tolerance ?? 0) - (4 * ((u * u + 3.0 / 36).squareRoot() + 364 * u32) + 0.25)) < 1e-12)
        #expect(abs((checks["LSE"]?.tolerance ?? 0) - 4 * ((u32 * u32 + 2.0 / 36).squareRoot() + 364 * u32)) < 1e-12)
        let error = try #require(checks["O"]?.error.maxRelativeError)
        #expect(error < (fmt == 4 ? 5.0 / 16 : 7.0 / 12) && error > 0x1p-4, "\(error)")
    }

    /// The check can fail: without K's block scales in the scores (each K element about
    /// 6 / max of its block, three times too large for normal inputs) or V's in P V, O is
    /// off by more than the derived tolerance and the run fails; without P's quantization
    /// (P V with the fp32 P) it passes, closer to the reference (fp32: 0.159 against 0.168).
    @Test(arguments: [
        ("k = mma_operand(kc, 4, kb)", "k = mma_operand(kc, 4)", false),
        ("v = mma_operand(vc, 4, vb)", "v = mma_operand(vc, 4)", false),
        ("p4 = quantize_fp4(p, fmt)", "p4 = p", true),
    ])
    func mutantsAreJudged(_ line: String, _ replacement: String, _ passes: Bool) throws {
        let shape = S.shape(heads: 4, kvHeads: 2, n: 200, nkv: 300, d: 64)
        let text = try AlgorithmLibrary.builtInSource("sage3").text
        #expect(text.contains(line))
        func run(_ source: String) throws -> CheckResult {
            let bound = try S.bindSource(source, shape, dtype: .fp32)
            let result = try Simulator.run(bound, options: RunOptions(mode: .numeric, seed: 7))
            return try #require(result.checks.first { $0.tensor == "O" })
        }
        let o = try run(text.replacingOccurrences(of: line, with: replacement))
        #expect(o.passed == passes, "\(o.summary)")
        if passes { #expect(o.error.maxRelativeError < (try run(text)).error.maxRelativeError) }
    }

    /// The kernel declares `mma(async, fp4e2m1)`: on the B200 its GEMMs run at the
    /// datasheet's dense FP4 rate (9 PFLOPS) x the sustained fraction, four times the bf16
    /// rate, while O is stored in bf16; at 8K, 16 heads of 128 it is faster than flash2.
    @Test func fp4RateOnBlackwell() throws {
        #expect(S.b200.matmulFlopsPerSecond[.bf16] == 2_250e12)
        try expectDeclaredMMARate("sage3", format: .fp4e2m1, baseline: "flash2", on: S.b200, rate: 9_000e12)
    }
}
