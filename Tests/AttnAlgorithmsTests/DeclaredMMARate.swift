import AttnHardware
import AttnNumerics
@testable import CostModel
import Testing
import TileLanguage
@testable import TileInterpreter
import AttnTestSupport
import TileTestSupport

/// A low-precision program's GEMMs at the rate its `mma(async, FORMAT)` declares, checked
/// by hand: matmul seconds = matmul FLOPs / (the profile's `format` rate x the sustained
/// fraction x the matmul efficiency) to 1e-12, the whole run faster than `baseline`'s
/// 16-bit one at the same shape (8K, 16 heads of 128, bf16 storage).
func expectDeclaredMMARate(_ program: String, format: DType, baseline: String, on hardware: HardwareProfile, rate: Double) throws {
    typealias S = TestSupport
    let shape = S.shape(heads: 16, n: 8192, d: 128)
    let low = try S.bind(program, shape, dtype: .bf16, hardware: hardware)
    let base = try S.bind(baseline, shape, dtype: .bf16, hardware: hardware)
    let model = CostModel(hardware: hardware, dtype: .bf16)
    let kernel = try #require(low.program.kernels.first)
    #expect(kernel.mmaDType == format)
    let stats = try S.count(low), baseStats = try S.count(base)
    guard let counters = stats.kernels.first?.counters else {
        Issue.record("\(program) counted no kernel")
        return
    }
    let seconds = model.matmulSeconds(kernel: kernel, counters: counters, threads: 256, activeSMs: hardware.smCount)
    #expect(hardware.matmulFlopsPerSecond[format] == rate)
    let byHand = Double(counters.flopsMatmul) / (rate * CalibrationSet.standard.sustainedMatmulFraction * CalibrationSet.standard.matmulEfficiency)
    #expect(abs(seconds / byHand - 1) < 1e-12)
    #expect(model.predict(low, stats).seconds < model.predict(base, baseStats).seconds)
}
