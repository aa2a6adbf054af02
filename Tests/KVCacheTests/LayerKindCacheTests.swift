import AttnHardware
import AttnNumerics
@testable import KVCache
import Testing
import Workload
import AttnTestSupport

/// Models whose layers keep different tokens are cached per layer kind: in `kv`
/// (`KVFootprint.kinds`) and in `paged`'s pool (one block group per kind, vLLM's hybrid
/// KV-cache manager: `ServingSimulator.Hybrid`).
@Suite struct LayerKindCacheTests {
    /// Llama 4's chunked mask: the query at position p sees keys C floor(p / C) ... p, so
    /// after L tokens a chunked layer holds ((L - 1) mod C) + 1 of them.
    @Test func chunkRule() {
        let cases: [(context: Int, chunk: Int, held: Int)] = [
            (0, 8192, 0), (1, 8192, 1), (8191, 8192, 8191), (8192, 8192, 8192), (8193, 8192, 1), (20_000, 8192, 3616), (1 << 20, 8192, 8192),
            (5, 4, 1), (8, 4, 4),
        ]
        for c in cases { #expect(ModelSpec.AttentionSpan.chunkTokens(context: c.context, chunk: c.chunk) == c.held, "\(c)") }
        // A sequence of up to L tokens held at most min(L, C): what `kv` reports.
        #expect(ModelSpec.AttentionSpan.chunk(8192).cachedTokens(context: 20_000, sinks: 4) == 8192)
        #expect(ModelSpec.AttentionSpan.chunk(8192).cachedTokens(context: 5000, sinks: 0) == 5000)
        #expect(ModelSpec.AttentionSpan.window(128).cachedTokens(context: 5000, sinks: 4) == 132)
    }

    struct Case: Sendable, CustomStringConvertible {
        var model: String
        var context: Int
        var dtype: KVDType
        /// kind, layers, tokens per layer (nil: a state), bytes per sequence.
        var kinds: [(String, Int, Int?, Int)]
        var description: String { "\(model) at \(context)" }
    }

    /// Per kind at bf16 (per token and layer: gpt-oss 2 x 8 x 64 x 2 = 2,048; Llama 4 2 x 8 x
    /// 128 x 2 = 4,096; Gemma 3 27B 2 x 16 x 128 x 2 = 8,192; Qwen3-Next 2 x 2 x 256 x 2 =
    /// 2,048 and per DeltaNet layer (32 x 128 x 128 + (2 x 16 x 128 + 32 x 128) x 3) x 2 =
    /// 1,097,728 bytes; Jamba's Mamba layers 8192 x (16 + 3) x 2 = 311,296 bytes):
    /// - gpt-oss-120b at 128K: 18 x 131,072 x 2,048 + 18 x 128 x 2,048;
    /// - Llama 4 Scout at 1M: 12 x 1,048,576 x 4,096 = 51,539,607,552 global, 36 x 8,192 x
    ///   4,096 = 1,207,959,552 chunked: 52,747,567,104 (every token: 206,158,430,208);
    /// - Gemma 3 27B at 128K: 10 x 131,072 x 8,192 + 52 x 1,024 x 8,192;
    /// - Qwen3-Next at 256K: 12 x 262,144 x 2,048 and 36 x 1,097,728 = 39,518,208 of state;
    /// - Jamba at 256K: 4 x 262,144 x 4,096 and 28 x 311,296.
    static let cases: [Case] = [
        Case(model: "gpt-oss-120b", context: 131_072, dtype: .bf16, kinds: [("full", 18, 131_072, 4_831_838_208), ("window 128", 18, 128, 4_718_592)]),
        Case(model: "llama-4-scout", context: 1 << 20, dtype: .bf16, kinds: [("full", 12, 1 << 20, 51_539_607_552), ("chunk 8192", 36, 8192, 1_207_959_552)]),
        Case(model: "gemma-3-27b", context: 131_072, dtype: .bf16, kinds: [("full", 10, 131_072, 10_737_418_240), ("window 1024", 52, 1024, 436_207_616)]),
        Case(model: "qwen3-next-80b", context: 262_144, dtype: .bf16, kinds: [("full", 12, 262_144, 6_442_450_944), ("deltanet state", 36, nil, 39_518_208)]),
        Case(model: "jamba-v0.1", context: 262_144, dtype: .fp16, kinds: [("full", 4, 262_144, 4_294_967_296), ("ssm state", 28, nil, 8_716_288)]),
    ]

    @Test(arguments: cases)
    func bytesPerKind(_ c: Case) throws {
        let footprint = KVFootprint(model: try ModelSpec.named(c.model), dtype: c.dtype)
        let kinds = footprint.kinds(context: c.context)
        #expect(kinds.map(\.kind) == c.kinds.map(\.0))
        #expect(kinds.map(\.layers) == c.kinds.map(\.1))
        #expect(kinds.map(\.tokensPerLayer) == c.kinds.map(\.2))
        #expect(kinds.map(\.bytesPerSequence) == c.kinds.map(\.3))
        #expect(footprint.bytesPerSequence(context: c.context) == c.kinds.reduce(0) { $0 + $1.3 })
    }

    /// Llama 4 Scout's headline: at 1M tokens, chunked caching keeps 52,747,567,104 bytes
    /// against 206,158,430,208 when every layer keeps every token (3.9 times less); the kv
    /// record carries the kinds and the cache policy in words.
    @Test func scoutAtOneMillion() throws {
        let record = try KVStudy(model: "llama-4-scout", contexts: [1 << 20], dtype: .bf16).run()[0]
        #expect(record.kvBytesPerSequence == 52_747_567_104)
        #expect(record.kvBytesPerToken * (1 << 20) == 206_158_430_208)
        #expect(record.cache == "chunk 8192 on 36 of 48 layers")
        #expect(record.kinds.count == 2)
        // A --window policy replaces the chunks too: every layer keeps its last 4,096 tokens.
        let windowed = try KVStudy(model: "llama-4-scout", contexts: [1 << 20], dtype: .bf16, window: 4096).run()[0]
        #expect(windowed.kvBytesPerSequence == 48 * 4096 * 4096)
    }

    /// The indexer key stays FP8 with its scale whatever the cache's dtype: DeepSeek-V3.2 at
    /// fp8 keeps 61 x (576 + 132) = 43,188 bytes per token, at fp32 61 x (576 x 4 + 132).
    @Test func indexerKeysKeepTheirFormat() throws {
        let spec = try ModelSpec.named("deepseek-v3.2")
        #expect(KVFootprint(model: spec, dtype: .fp8(.e4m3)).bytesPerToken == 43_188)
        #expect(KVFootprint(model: spec, dtype: .fp32).bytesPerToken == 61 * (576 * 4 + 132))
        // Shared by all heads: every GPU keeps it whole.
        #expect(KVFootprint(model: spec, dtype: .bf16, tensorParallel: 8).bytesPerToken == 78_324)
    }

    // MARK: The paged pool

    /// One request with a 3-token prompt grown to 9 tokens, blocks of 2: a full group holds
    /// cdiv(n, 2) blocks (2, 2, 3, 3, 4, 4, 5 at n = 3 ... 9); a chunk-4 group holds the
    /// blocks from floor(4 floor((n - 1) / 4) / 2) to floor((n - 1) / 2): 2, 2, 1, 1, 2, 2,
    /// 1 (at n = 5 the chunk of tokens 4 ... 7 begins and blocks 0 and 1 are freed); a state
    /// group of 3 blocks holds 3 throughout. Sums over the 7 iterations: 23, 11 and 21.
    @Test func chunkAndStateGroups() throws {
        let hybrid = ServingSimulator.Hybrid(
            kinds: [.init(.full, groups: 1), .init(.chunk(4), groups: 1), .init(.state(blocks: 3, label: "deltanet state"), groups: 1)], poolBlocks: 40)
        var simulator = ServingSimulator(.init(policy: .paged(blockSize: 2), poolTokens: 100, maxLength: 100, checkInvariants: true, hybrid: hybrid))
        let stats = try simulator.run([Request(id: 0, arrival: 0, promptTokens: 3, outputTokens: 6)])
        let groups = try #require(stats.groupUsage)
        #expect(groups.map(\.kind) == ["full", "chunk 4", "deltanet state"])
        #expect(groups.map(\.peakBlocks) == [5, 2, 3])
        let means: [Double] = [23.0 / 7, 11.0 / 7, 21.0 / 7]
        #expect(groups.map(\.meanBlocks) == means)
    }

    /// Admission needs the prompt's blocks of every group plus one per growing group (the
    /// state's blocks are taken once): a 3-token prompt takes 2 + 2 + 3 and needs 2 more.
    /// In a pool of 8 it waits forever (stuck); in 9 it runs.
    @Test func admissionCountsEveryGroup() throws {
        func run(_ pool: Int) throws -> AllocationStats {
            let hybrid = ServingSimulator.Hybrid(
                kinds: [.init(.full, groups: 1), .init(.chunk(4), groups: 1), .init(.state(blocks: 3, label: "ssm state"), groups: 1)], poolBlocks: pool)
            var simulator = ServingSimulator(.init(policy: .paged(blockSize: 2), poolTokens: 100, maxLength: 100, checkInvariants: true, hybrid: hybrid))
            return try simulator.run([Request(id: 0, arrival: 0, promptTokens: 3, outputTokens: 2)])
        }
        #expect(throws: ServingSimulator.SimulationError.self) { _ = try run(8) }
        #expect(try run(9).completed == 1)
    }

    /// Random traces over full, two windows, a chunk and a state: the pool's invariants hold
    /// every iteration and every block is free at the end.
    @Test func invariantsOnRandomTraces() throws {
        var generator = SeededGenerator(seed: 11)
        var requests: [Request] = []
        var time = 0.0
        for id in 0..<60 {
            time += generator.nextUnit() * 0.2
            requests.append(Request(id: id, arrival: time, promptTokens: 1 + Int(generator.nextUnit() * 70), outputTokens: Int(generator.nextUnit() * 70)))
        }
        let hybrid = ServingSimulator.Hybrid(
            kinds: [
                .init(.full, groups: 1), .init(.window(.init(window: 12, sinks: 2)), groups: 2), .init(.window(.init(window: 30, sinks: 0)), groups: 1),
                .init(.chunk(10), groups: 3), .init(.state(blocks: 2, label: "ssm state"), groups: 2),
            ], poolBlocks: 500)
        var simulator = ServingSimulator(.init(policy: .paged(blockSize: 4), poolTokens: 500, maxLength: 256, checkInvariants: true, hybrid: hybrid))
        let stats = try simulator.run(requests)
        #expect(stats.completed == requests.count)
        #expect(stats.groupUsage?.map(\.kind) == ["full", "window 12 + 2 sinks", "window 30", "chunk 10", "ssm state"])
    }

    struct PoolCase: Sendable, CustomStringConvertible {
        var model: String
        var tp: Int
        /// Block groups (kind, groups of g layers) and the layers per group g.
        var kinds: [(ServingSimulator.Hybrid.Retention, Int)]
        var g: Int
        var description: String { model }
    }

    /// The groups `paged` gives each model (blocks of 16 tokens, bf16): g = gcd of the
    /// kinds' layer counts; a state group takes ceil(g x state bytes per layer / (16 x g x
    /// KV bytes per token and layer)) blocks per sequence: Qwen3-Next 12 x 1,097,728 /
    /// (16 x 12 x 2,048) = 33.5 -> 34; Jamba 4 x 8192 x 19 x 2 / (16 x 4 x 4,096) = 4.75 -> 5.
    static let pools: [PoolCase] = [
        PoolCase(model: "gpt-oss-120b", tp: 1, kinds: [(.full, 1), (.window(.init(window: 128, sinks: 0)), 1)], g: 18),
        PoolCase(model: "llama-4-scout", tp: 8, kinds: [(.full, 1), (.chunk(8192), 3)], g: 12),
        PoolCase(model: "gemma-3-27b", tp: 1, kinds: [(.full, 5), (.window(.init(window: 1024, sinks: 0)), 26)], g: 2),
        PoolCase(model: "qwen3-next-80b", tp: 1, kinds: [(.full, 1), (.state(blocks: 34, label: "deltanet state"), 3)], g: 12),
        PoolCase(model: "jamba-v0.1", tp: 1, kinds: [(.full, 1), (.state(blocks: 5, label: "ssm state"), 7)], g: 4),
    ]

    @Test(arguments: pools)
    func groupsFromTheModel(_ c: PoolCase) throws {
        let spec = try ModelSpec.named(c.model)
        let study = PagedStudy(model: c.model, trace: "sharegpt", dtype: .bf16, tensorParallel: c.tp)
        let capacity = try study.capacity(spec, profile: try HardwareProfile.named("h100-sxm"))
        let hybrid = try #require(PagedStudy.hybrid(spec, capacity: capacity, blockSize: 16))
        #expect(hybrid.kinds.map(\.retention) == c.kinds.map(\.0))
        #expect(hybrid.kinds.map(\.groups) == c.kinds.map(\.1))
        let blockBytes = 16 * c.g * capacity.footprint.bytesPerTokenPerLayer
        #expect(hybrid.poolBlocks == max(0, capacity.budgetBytes) / blockBytes)
        // Dense and MLA models and a uniform window keep one pool.
        for name in ["qwen3-8b", "kimi-k2", "mistral-7b"] {
            let other = try ModelSpec.named(name)
            let cap = try PagedStudy(model: name, trace: "sharegpt").capacity(other, profile: try HardwareProfile.named("h100-sxm"))
            #expect(PagedStudy.hybrid(other, capacity: cap, blockSize: 16) == nil)
        }
    }

    /// gpt-oss-120b on one H100 (bf16, 12,060,595,584 bytes left beside 65,248,815,744 of
    /// weights): 100 prompts of 16,384 tokens at once. One pool holds floor(12,060,595,584 /
    /// 73,728) = 163,582 token slots, 10,223 blocks of 16; a sequence takes 1,024 and needs
    /// 1,025 free, so 9 run. The hybrid pool has floor(12,060,595,584 / (16 x 18 x 2,048)) =
    /// 20,447 blocks; a sequence takes 1,024 full blocks and cdiv(128, 16) + 1 = 9 window
    /// blocks, and admission needs 1,033 + 2 free: 19 run (20,447 - 18 x 1,033 = 1,853 >=
    /// 1,035; 820 left after 19).
    @Test func gptOssHoldsTwiceTheSequences() throws {
        let spec = try ModelSpec.named("gpt-oss-120b")
        let capacity = try PagedStudy(model: "gpt-oss-120b", trace: "sharegpt", dtype: .bf16).capacity(spec, profile: TestSupport.h100)
        #expect(capacity.budgetBytes == 12_060_595_584 && capacity.tokenSlots == 163_582)
        let hybrid = try #require(PagedStudy.hybrid(spec, capacity: capacity, blockSize: 16))
        #expect(hybrid.poolBlocks == 20_447)
        let trace = (0..<100).map { Request(id: $0, arrival: 0, promptTokens: 16_384, outputTokens: 0) }
        var one = ServingSimulator(.init(policy: .paged(blockSize: 16), poolTokens: capacity.tokenSlots, maxLength: 16_384))
        var grouped = ServingSimulator(.init(policy: .paged(blockSize: 16), poolTokens: capacity.tokenSlots, maxLength: 16_384, hybrid: hybrid))
        #expect(try one.run(trace).maxBatch == 9)
        let b = try grouped.run(trace)
        #expect(b.maxBatch == 19)
        #expect(b.groupUsage?.map(\.peakBlocks) == [19 * 1024, 19 * 9])
    }
}
