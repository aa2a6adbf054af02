import AttnAlgorithms
import AttnHardware
import AttnNumerics
import Testing
import TileInterpreter
import TileLanguage

/// `KernelCountCache`: a kernel is counted once per distinct value of what it reads, and
/// runs through the cache count exactly what runs without it count.
@Suite struct KernelCountCacheTests {
    /// flash2-fwd-bwd over Br in {32, 64} x Bm in {32, 64} (Bc = 32, Bn = 64), causal GQA.
    /// Its five kernels read: fwd Br (and Bc); bwd_preprocess, bwd and bwd_convert Bm (and
    /// Bn); bwd_reduce_kv only Bn. So of 4 x 5 = 20 kernel runs, 2 + 2 + 2 + 2 + 1 = 9 are
    /// counted and 11 come from the cache, and every configuration's stats equal an
    /// uncached run's.
    @Test func forwardBackwardKernelsCountedOncePerParameterValues() throws {
        let program = try AlgorithmLibrary.program("flash2-fwd-bwd")
        let hardware = try HardwareProfile.named("h100-sxm")
        let shape = ProblemShape(batch: 1, heads: 4, kvHeads: 2, queryLength: 200, keyLength: 200, headDim: 16)
        let cache = KernelCountCache(program: program, hardware: hardware)
        var configurations = 0
        for br in [32, 64] {
            for bm in [32, 64] {
                let overrides: [String: ScalarValue] = ["Br": .int(br), "Bc": .int(32), "Bm": .int(bm), "Bn": .int(64), "causal": .int(1)]
                let bound = try BoundProgram(program: program, shape: shape, dtype: .fp16, hardware: hardware, overrides: overrides)
                let plain = try Simulator.run(bound, options: RunOptions(mode: .count)).stats
                var options = RunOptions(mode: .count)
                options.countCache = cache
                let cached = try Simulator.run(bound, options: options).stats
                #expect(cached == plain)
                #expect(plain.kernels.count == 5)
                configurations += 1
            }
        }
        #expect(configurations == 4)
        #expect(cache.lookups.misses == 9)
        #expect(cache.lookups.hits == 11)
    }

    /// Exhaustive counts (no compression) never use the cache: they are the yardstick.
    @Test func exhaustiveRunsBypassTheCache() throws {
        let program = try AlgorithmLibrary.program("flash2")
        let hardware = try HardwareProfile.named("h100-sxm")
        let shape = ProblemShape(batch: 1, heads: 1, kvHeads: 1, queryLength: 64, keyLength: 64, headDim: 16)
        let bound = try BoundProgram(program: program, shape: shape, dtype: .fp16, hardware: hardware, overrides: ["Br": .int(16), "Bc": .int(16)])
        let cache = KernelCountCache(program: program, hardware: hardware)
        var options = RunOptions(mode: .count, compress: false)
        options.countCache = cache
        let first = try Simulator.run(bound, options: options).stats
        options.compress = true
        let compressed = try Simulator.run(bound, options: options).stats
        let again = try Simulator.run(bound, options: options).stats
        #expect(first == compressed)
        #expect(again == compressed)
        #expect(cache.lookups.misses == 1)
        #expect(cache.lookups.hits == 1)
    }
}
