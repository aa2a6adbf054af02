import Testing
@testable import KVCache
import Workload

/// Cascade reads of shared prefix blocks with prefix caching (issue 21, item 3): which
/// blocks several decoding sequences hold in each iteration, and the KV tokens a cascade
/// kernel does not read, by hand.
@Suite struct CascadeReadTests {
    /// Records every batch; 1 s per iteration.
    struct Recorder: IterationTimer {
        var batches: [IterationBatch] = []
        var label: String { "recorder" }
        var fixedSeconds: Double? { nil }
        mutating func seconds(_ batch: IterationBatch) -> Double {
            batches.append(batch)
            return 1
        }
    }

    /// Blocks of 16; shared blocks {3 readers: 2 blocks, 2 readers: 1 block}. With Bb = 32
    /// requests per prefix tile each shared block is read once: (3 - 1) x 2 x 16 + (2 - 1)
    /// x 1 x 16 = 80 tokens saved; with Bb = 2 the 3-reader blocks are read twice: (3 - 2) x
    /// 2 x 16 + (2 - 1) x 16 = 48; with Bb = 1 every sequence reads its own: 0.
    @Test(arguments: [(32, 80), (2, 48), (1, 0)])
    func savedTokensByHand(_ requestsPerBlock: Int, _ saved: Int) {
        let batch = IterationBatch(decodeSequences: 5, decodeContextTokens: 500, sharedDecodeBlocks: [3: 2, 2: 1], blockTokens: 16)
        #expect(batch.cascadeSavedTokens(requestsPerBlock: requestsPerBlock) == saved)
        #expect(IterationBatch(decodeSequences: 5, decodeContextTokens: 500).cascadeSavedTokens(requestsPerBlock: 32) == 0)
    }

    /// Three requests of one prefix group (a 32-token system prompt: 2 blocks of 16),
    /// prompts of 40 tokens in sessions of their own, 1 s iterations. Iteration 0 (t = 0):
    /// r0 (output 4) computes its prompt and registers the group's 2 blocks. Iteration 1:
    /// r1 and r2 (arrived at 0.5 s, output 2) are admitted on those 2 blocks (32 tokens hit,
    /// 8 computed each) while r0 decodes alone: no block has two decoding readers.
    /// Iterations 2 and 3: all three decode (one step per output token), each table
    /// starting with the 2 group blocks: 2 blocks of 3 readers, so a cascade reads
    /// 2 x 32 = 64 tokens fewer (Bb >= 3). r1 and r2 then finish; iteration 4: r0's last
    /// step, alone again.
    @Test func aSharedSystemPromptIsReadOncePerIteration() throws {
        let trace = (0..<3).map { i in
            Request(id: i, arrival: i == 0 ? 0 : 0.5, promptTokens: 40, outputTokens: i == 0 ? 4 : 2, session: i + 1, prefixGroup: 0, sharedPrefixTokens: 32)
        }
        var timer = Recorder()
        var simulator = ServingSimulator(.init(policy: .paged(blockSize: 16), poolTokens: 320, maxLength: 64, checkInvariants: true, prefixCaching: true))
        let stats = try simulator.run(trace, timer: &timer)
        #expect(stats.prefixCache?.hitTokens == 64)
        #expect(timer.batches.map(\.sharedDecodeBlocks) == [[:], [:], [3: 2], [3: 2], [:]])
        #expect(timer.batches.map(\.decodeSequences) == [0, 1, 3, 3, 1])
        let shared = timer.batches[2]
        #expect(shared.blockTokens == 16 && shared.cascadeSavedTokens(requestsPerBlock: 32) == 64)
        // Without prefix caching nothing is shared and no batch says so.
        var plainTimer = Recorder()
        var plain = ServingSimulator(.init(policy: .paged(blockSize: 16), poolTokens: 320, maxLength: 64))
        _ = try plain.run(trace, timer: &plainTimer)
        #expect(plainTimer.batches.allSatisfy { $0.sharedDecodeBlocks.isEmpty && $0.blockTokens == 0 })
    }
}
