import Testing
import AttnHardware
import CostModel
import TileInterpreter
import AttnTestSupport
import TileTestSupport

/// Blackwell's CTA-wide tcgen05.mma runs asynchronously: a GEMM loop's fixed cycles per
/// iteration hide behind the tensor cores' work, where on Hopper (and with the warp-level
/// MMA anywhere) the two add (docs/cost-model.md, "Tensor cores per generation").
@Suite struct CTAWideMMATests {
    typealias S = TestSupport

    /// One 128 x 128 output tile per block, K = 4,096 streamed in 64-wide slices: 64 loop
    /// iterations of a 128 x 64 by 64 x 128 product (2,097,152 FLOPs each), 2 stages.
    static let program = """
        param G = 1
        input  X[G, 128, 4096]
        input  W[4096, 128]
        output Y[G, 128, 128]
        kernel mm grid(i: G) warps(4) stages(2) mma(async):
          acc = zeros(128, 128)
          for k in 0 ..< 64:
            x = load X[i, :, rows(k, 64)] -> sram
            w = load W[rows(k, 64), :] -> sram
            acc = acc + x @ w
          store Y[i, :, :] = acc
        """

    /// The prediction, the model, the matmul FLOPs, the loop iterations and the time of the
    /// accumulation's adds on the CUDA cores (f x other FLOPs / vector peak, f = 1 here).
    static func prediction(_ hardware: HardwareProfile, blocks: Int) throws -> (KernelPrediction, CostModel, Int, Int, Double) {
        let bound = try S.bindSource(program, S.shape(heads: 1, n: 128, d: 64), params: ["G": blocks])
        let stats = try S.count(bound)
        let cost = CostModel(hardware: hardware, dtype: .fp16)
        let kernel = try #require(cost.predict(bound, stats).kernels.first)
        let c = stats.kernels[0].counters
        #expect(c.flopsOther == blocks * 64 * 128 * 128)
        return (kernel, cost, c.flopsMatmul, c.loopIterations, Double(c.flopsOther) / hardware.vectorFlopsPerSecond)
    }

    /// 148 blocks on the B200 (one wave, f = 1): the MMA takes 148 x 64 x 2,097,152 FLOPs /
    /// (2.25 PFLOP/s x 0.75) = 11.77 us; the iterations 64 x 120 cycles / 1.86 GHz = 4.13 us
    /// per SM. The compute term takes the larger, 11.77 us, not their sum (15.90 us). On the
    /// H100 (wgmma: the warps wait on their MMA) 132 blocks add them: 132 x 134,217,728 /
    /// 742 TFLOP/s + 64 x 120 / 1.98 GHz = 23.88 + 3.88 us. Both add the accumulation's
    /// 128 x 128 adds per iteration on the CUDA cores.
    @Test func blackwellHidesIterationCyclesBehindTheMMA() throws {
        let b200 = try HardwareProfile.named("b200")
        let (blackwell, cost, flops, iterations, adds) = try Self.prediction(b200, blocks: b200.smCount)
        #expect(flops == 148 * 64 * 2 * 128 * 64 * 128 && iterations == 148 * 64)
        let mma = Double(flops) / (b200.matmulFlopsPerSecond[.fp16]! * cost.calibration.sustainedMatmulFraction)
        let cycles = 64 * cost.calibration.iterationCycles / b200.clockHz
        #expect(mma > cycles)
        #expect(abs(blackwell.computeSeconds - (mma + adds)) <= 1e-9 * mma)

        let (hopper, h100, hopperFlops, _, hopperAdds) = try Self.prediction(S.h100, blocks: S.h100.smCount)
        let hopperMMA = Double(hopperFlops) / h100.matmulFlopsPerSecond
        let hopperCycles = 64 * h100.calibration.iterationCycles / S.h100.clockHz
        #expect(abs(hopper.computeSeconds - (hopperMMA + hopperCycles + hopperAdds)) <= 1e-9 * hopper.computeSeconds)
    }
}
