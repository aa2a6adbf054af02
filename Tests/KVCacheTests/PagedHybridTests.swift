import Testing
import AttnHardware
import AttnNumerics
@testable import KVCache
import Workload

/// Hybrid allocation (vLLM v1's hybrid KV-cache manager): a model that mixes global and
/// windowed layers keeps one block table per layer group in one shared pool.
@Suite struct PagedHybridTests {
    /// A tiny model: one global and one local layer (g = 1), blocks of 2 tokens, a window
    /// of 2 pages (4 tokens), so a local group holds at most cdiv(4, 2) + 1 = 3 blocks.
    static func tiny(poolBlocks: Int) -> ServingSimulator.Hybrid {
        .init(globalGroups: 1, localGroups: 1, local: .init(window: 4, sinks: 0), poolBlocks: poolBlocks)
    }

    /// One request with a 3-token prompt, run to final lengths 3...9. Each iteration adds a
    /// token: at length n the global group holds cdiv(n, 2) blocks and the local group
    /// min(cdiv(n, 2), 3) (at length 9 the window, tokens 5...8, straddles blocks 2, 3 and
    /// 4). So the peaks are (2,2) (2,2) (3,3) (3,3) (4,3) (4,3) (5,3); for length 9 the
    /// seven iterations hold global 2+2+3+3+4+4+5 = 23 and local 2+2+3+3+3+3+3 = 19 blocks.
    @Test func tinyModelBlocksPerGroup() throws {
        let expected = [(2, 2), (2, 2), (3, 3), (3, 3), (4, 3), (4, 3), (5, 3)]
        for output in 0...6 {
            var simulator = ServingSimulator(.init(
                policy: .paged(blockSize: 2), poolTokens: 100, maxLength: 100, checkInvariants: true, hybrid: Self.tiny(poolBlocks: 20)))
            let stats = try simulator.run([Request(id: 0, arrival: 0, promptTokens: 3, outputTokens: output)])
            let groups = try #require(stats.groupUsage)
            #expect(groups.map(\.kind) == ["full", "window 4"])
            #expect(groups[0].peakBlocks == expected[output].0, "output \(output)")
            #expect(groups[1].peakBlocks == expected[output].1, "output \(output)")
            #expect(stats.iterations == output + 1)
            #expect(stats.poolBlocks == 20)
            if output == 6 {
                #expect(groups[0].meanBlocks == 23.0 / 7)
                #expect(groups[1].meanBlocks == 19.0 / 7)
            }
        }
    }

    /// Admission takes the prompt's blocks in every group plus one per group (the
    /// watermark): 2 + 2 + 2 = 6 free blocks for a 3-token prompt. In a pool of 9 the
    /// second request waits (9 - 4 = 5 free); in a pool of 10 both run (10 - 4 = 6), and at
    /// length 5 the first takes the last 2 blocks, so the second is preempted.
    @Test func sharedPoolAdmitsAndPreempts() throws {
        let trace = [Request(id: 0, arrival: 0, promptTokens: 3, outputTokens: 6), Request(id: 1, arrival: 0, promptTokens: 3, outputTokens: 6)]
        var small = ServingSimulator(.init(policy: .paged(blockSize: 2), poolTokens: 100, maxLength: 100, checkInvariants: true, hybrid: Self.tiny(poolBlocks: 9)))
        let a = try small.run(trace)
        #expect(a.maxBatch == 1)
        #expect(a.preemptions == 0)
        #expect(a.completed == 2)
        var larger = ServingSimulator(.init(policy: .paged(blockSize: 2), poolTokens: 100, maxLength: 100, checkInvariants: true, hybrid: Self.tiny(poolBlocks: 10)))
        let b = try larger.run(trace)
        #expect(b.maxBatch == 2)
        #expect(b.preemptions >= 1)
        #expect(b.completed == 2)
    }

    /// Random traces with sinks: the pool's invariants hold every iteration and every block
    /// is free at the end.
    @Test func invariantsOnRandomTraces() throws {
        var generator = SeededGenerator(seed: 7)
        var requests: [Request] = []
        var time = 0.0
        for id in 0..<50 {
            time += generator.nextUnit() * 0.2
            requests.append(Request(id: id, arrival: time, promptTokens: 1 + Int(generator.nextUnit() * 60), outputTokens: Int(generator.nextUnit() * 60)))
        }
        let hybrid = ServingSimulator.Hybrid(globalGroups: 1, localGroups: 5, local: .init(window: 20, sinks: 4), poolBlocks: 300)
        var simulator = ServingSimulator(.init(policy: .paged(blockSize: 4), poolTokens: 300, maxLength: 256, checkInvariants: true, hybrid: hybrid))
        let stats = try simulator.run(requests)
        #expect(stats.completed == requests.count)
        #expect(stats.groupUsage?.map(\.kind) == ["full", "window 20 + 4 sinks"])
    }

    /// Which models get hybrid groups: Gemma 2 (21 global + 21 local layers: g = 21, one
    /// group of each), not a model with one kind of layer.
    @Test func groupsFromTheModel() throws {
        let gemma = try ModelSpec.named("gemma-2-9b")
        let study = PagedStudy(model: "gemma-2-9b", trace: "sharegpt")
        let capacity = try study.capacity(gemma, profile: try HardwareProfile.named("h100-sxm"))
        let hybrid = try #require(PagedStudy.hybrid(gemma, capacity: capacity, blockSize: 16))
        #expect(hybrid.kinds == [.init(.full, groups: 1), .init(.window(.init(window: 4096, sinks: 0)), groups: 1)])
        // A block: 16 tokens x 21 layers x 8 KV heads x 256 x 2 (K, V) x 2 bytes = 2,752,512 bytes.
        #expect(hybrid.poolBlocks == capacity.budgetBytes / 2_752_512)
        for name in ["llama-2-7b", "mistral-7b"] {
            let spec = try ModelSpec.named(name)
            let c = try PagedStudy(model: name, trace: "sharegpt").capacity(spec, profile: try HardwareProfile.named("h100-sxm"))
            #expect(PagedStudy.hybrid(spec, capacity: c, blockSize: 16) == nil)
        }
    }

    /// Gemma 2 9B on an H100 at 8K: 100 prompts of 8192 tokens (no output) arrive at once.
    /// One pool of 170,974 token slots (all 42 layers per slot) makes 10,685 blocks of 16;
    /// a sequence takes 512 and admission needs 513 free, so 20 run at once
    /// (10,685 - 19 x 512 = 957 >= 513; 445 left after 20). Hybrid: 21,371 blocks of
    /// 16 tokens x 21 layers; a sequence takes 512 global + min(512, 256 + 1) = 257 local
    /// blocks and admission needs 771 free, so 27 run (21,371 - 26 x 769 = 1,377 >= 771;
    /// 608 left after 27): 27 / 20 = 1.35, against the per-sequence ratio
    /// 1024 / 769 = 1.33 (16,384 / 12,304 token-layers).
    @Test func gemma2HoldsMoreSequencesAt8K() throws {
        let gemma = try ModelSpec.named("gemma-2-9b")
        let capacity = try PagedStudy(model: "gemma-2-9b", trace: "sharegpt").capacity(gemma, profile: try HardwareProfile.named("h100-sxm"))
        #expect(capacity.tokenSlots == 170_974)
        let hybrid = try #require(PagedStudy.hybrid(gemma, capacity: capacity, blockSize: 16))
        #expect(hybrid.poolBlocks == 21_371)
        let trace = (0..<100).map { Request(id: $0, arrival: 0, promptTokens: 8192, outputTokens: 0) }
        var full = ServingSimulator(.init(policy: .paged(blockSize: 16), poolTokens: capacity.tokenSlots, maxLength: 8192))
        var mixed = ServingSimulator(.init(policy: .paged(blockSize: 16), poolTokens: capacity.tokenSlots, maxLength: 8192, hybrid: hybrid))
        let a = try full.run(trace)
        let b = try mixed.run(trace)
        #expect(a.maxBatch == 20)
        #expect(b.maxBatch == 27)
        #expect(b.groupUsage?[0].peakBlocks == 27 * 512)
        #expect(b.groupUsage?[1].peakBlocks == 27 * 257)
    }

    /// `PagedStudy` uses the hybrid pool for Gemma 2's paged policy only; a --window
    /// policy (every layer windowed) keeps the one-pool eviction.
    @Test func studyReportsGroups() throws {
        var study = PagedStudy(model: "gemma-2-9b", trace: "sharegpt", requests: 40, maxLength: 8192, policies: ["paged", "contiguous-oracle"])
        study.timing = .fixed(seconds: 0.05)
        let stats = try study.run()
        #expect(stats[0].groupUsage?.count == 2)
        #expect(stats[1].groupUsage == nil)
        study.window = 1024
        #expect(try study.run()[0].groupUsage == nil)
    }
}
