import Testing
import AttnHardware
import CostModel
import TileInterpreter
import AttnTestSupport
import TileTestSupport

/// The cost model's SM-imbalance factor f = SMs x ceil(blocks / SMs) / blocks: a partial
/// last wave costs a whole wave, and fewer blocks than SMs leave SMs idle.
@Suite struct ImbalanceTests {
    typealias S = TestSupport

    /// G identical thread blocks, each one 64 x 64 x 64 matmul (524,288 FLOPs) and nothing else.
    static let program = """
        param G = 1
        input  X[G, 64, 64]
        output Y[G, 64, 64]
        kernel mm grid(i: G):
          x = load X[i, :, :] -> sram
          store Y[i, :, :] = x @ x
        """

    static func computeSeconds(blocks: Int) throws -> Double {
        let bound = try S.bindSource(program, S.shape(heads: 1, n: 64, d: 64), params: ["G": blocks])
        let stats = try S.count(bound)
        #expect(stats.total.flopsMatmul == 2 * 64 * 64 * 64 * blocks)
        #expect(stats.total.flopsOther == 0 && stats.total.exps == 0)
        let prediction = CostModel(hardware: S.h100, dtype: .fp32).predict(bound, stats)
        return try #require(prediction.kernels.first).computeSeconds
    }

    @Test func partialWavesAndIdleSMsCostWholeWaves() throws {
        let sms = S.h100.smCount
        #expect(sms == 132)
        let full = try Self.computeSeconds(blocks: 132)
        // One full wave: f = 1, so t = work of 132 blocks. The kernel runs mma.sync: 64 rows
        // over 4 warps, 16 a warp, each reading B from shared memory, 4 bytes per fp32
        // element: FLOPs x 4 / 32 operand bytes at 128 B/clock x 132 SMs x 1.98 GHz x phi,
        // slower than the tensor cores (494.7 TFLOP/s TF32 x 0.75 sustained).
        let cm = CostModel(hardware: S.h100, dtype: .fp32)
        let operand = Double(132 * 524_288) * 4 / 32 / (128 * 132 * 1.98e9 * cm.calibration.operandBandwidthFraction)
        let mma = Double(132 * 524_288) / (494.7e12 * 0.75 * cm.calibration.matmulEfficiency)
        #expect(operand > mma)
        #expect(abs(full - operand) <= 1e-12 * full)
        // 133 blocks: the 133rd runs in a second wave, f = 132 x 2 / 133, t = 2 x t(132).
        // Without the factor it would be 133/132 x t(132).
        #expect(abs(try Self.computeSeconds(blocks: 133) / full - 2) < 1e-12)
        // 66 blocks: half the SMs idle, f = 132 / 66 = 2, t = t(132).
        #expect(abs(try Self.computeSeconds(blocks: 66) / full - 1) < 1e-12)
        // 264 blocks: two full waves, f = 1, t = 2 t(132).
        #expect(abs(try Self.computeSeconds(blocks: 264) / full - 2) < 1e-12)
    }
}
