import AttnAlgorithms
import AttnHardware
@testable import AttnModel
import AttnNumerics
import KVCache
import Testing
import TileInterpreter
import TileLanguage
import Workload
import AttnTestSupport

/// Decode over shared prefix blocks timed as the cascade kernel reads them (issue 21,
/// item 3): the tokens `IterationBatch.cascadeSavedTokens` takes off are the K/V bytes
/// cascade.tile does not move, and the model timer charges decode attention over the rest.
@Suite struct CascadeTimingTests {
    /// Three requests, 8 query heads on 2 KV heads (group 4, so Bb = 128 / 4 = 32), d = 64,
    /// fp16, one query each over 96 keys: a shared prefix of 64 tokens (4 blocks of 16 held
    /// by the 3) and 32 own tokens each. cascade.tile reads K and V of the prefix once per
    /// KV head, 2 x 2 x 64 x 64 x 2 = 32,768 bytes, and of each suffix 2 x 3 x 2 x 32 x 64 x 2
    /// = 49,152: 81,920 bytes, against 2 x 3 x 2 x 96 x 64 x 2 = 147,456 read per request.
    /// The timer's tokens: 3 x 96 = 288 summed context less (3 - 1) x 4 x 16 = 128 saved, 160
    /// tokens of 2 x 2 x 64 x 2 = 512 bytes: 81,920.
    @Test func savedTokensAreTheCascadeKernelsBytes() throws {
        let shape = ProblemShape(batch: 3, heads: 8, kvHeads: 2, queryLength: 1, keyLength: 96, headDim: 64)
        let bound = try BoundProgram(
            program: try AlgorithmLibrary.program("cascade"), shape: shape, dtype: .fp16, hardware: TestSupport.h100, overrides: ["suffix": .int(32)])
        let stats = try Simulator.run(bound, options: RunOptions(mode: .count)).stats
        let names = ["KP", "VP", "KS", "VS"]
        let kvRead = bound.program.tensors.enumerated().filter { names.contains($0.element.name) }.reduce(0) { $0 + stats.total.tensors[$1.offset].readBytes }
        #expect(kvRead == 32_768 + 49_152)
        let batch = IterationBatch(decodeSequences: 3, decodeContextTokens: 3 * 96, sharedDecodeBlocks: [3: 4], blockTokens: 16)
        let read = batch.decodeContextTokens - batch.cascadeSavedTokens(requestsPerBlock: 32)
        #expect(read == 160 && read * 2 * 2 * 64 * 2 == kvRead)
    }

    /// Llama-3-8B (32 heads on 8 KV heads: Bb = 32) on an H100: 64 decoding sequences at a
    /// 2,000-token context sharing a 12-block system prompt take the time of 64 sequences
    /// whose summed context is (64 - 2) x 12 x 16 = 11,904 tokens shorter, less than
    /// without the sharing.
    @Test func theTimerChargesTheTokensRead() throws {
        let predictor = try ModelPredictor(
            architecture: try Architecture(model: try ModelSpec.named("llama-3-8b")), hardware: TestSupport.h100, options: ModelRunOptions(dtype: .fp16))
        var timer = ModelIterationTimer(predictor: predictor)
        #expect(timer.cascadeRequestsPerBlock == 32)
        let shared = IterationBatch(decodeSequences: 64, decodeContextTokens: 64 * 2000, sharedDecodeBlocks: [64: 12], blockTokens: 16)
        #expect(shared.cascadeSavedTokens(requestsPerBlock: 32) == 11_904)
        let cascade = try timer.seconds(shared)
        let reduced = try timer.seconds(IterationBatch(decodeSequences: 64, decodeContextTokens: 64 * 2000 - 11_904))
        let unshared = try timer.seconds(IterationBatch(decodeSequences: 64, decodeContextTokens: 64 * 2000))
        #expect(cascade == reduced)
        #expect(cascade < unshared)
    }
}
