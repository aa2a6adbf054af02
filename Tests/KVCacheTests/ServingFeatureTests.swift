import Testing
import AttnHardware
import AttnNumerics
@testable import KVCache
@testable import Workload

/// Prefix caching, swapping, clusters, trace formats and the paper's length histograms
/// (issue 21, items 3, 4 and 6), each against numbers derived by hand.
@Suite struct ServingFeatureTests {
    // MARK: Prefix caching

    /// A registered block outlives its table as an evictable cached block, comes back on
    /// a hit, and eviction takes the least recently used, deepest first (a leaf before
    /// its parent).
    @Test func blockPoolCachesAndEvictsLeastRecentlyUsedLeaves() {
        var pool = BlockPool(capacity: 3)
        let key = { (i: Int) in BlockKey(stream: .session(1), index: i) }
        let a = pool.allocate(), b = pool.allocate()
        #expect(a == 0 && b == 1)
        pool.register(0, key: key(0))
        pool.register(1, key: key(1))
        pool.release(0)   // released first: used before block 1
        pool.release(1)
        #expect(pool.freeCount == 3 && pool.usedCount == 0 && pool.cachedCount == 2)
        #expect(pool.cachedPrefix([key(0), key(1), key(2)]) == 2)
        // A hit revives block 0; the next two allocations take the free block 2, then
        // evict block 1 (the only evictable one).
        pool.retain(0)
        #expect(pool.cachedCount == 1 && pool.freeCount == 2)
        #expect(pool.allocate() == 2)
        #expect(pool.allocate() == 1)
        #expect(pool.evictions == 1 && pool.block(for: key(1)) == nil && pool.block(for: key(0)) == 0)
        #expect(pool.invariantViolations(tables: [[0], [2], [1]]).isEmpty)
        // Released together, the deeper block goes first.
        var tree = BlockPool(capacity: 2)
        _ = tree.allocate(2)
        tree.register(0, key: key(0))
        tree.register(1, key: key(1))
        tree.release(1)
        tree.release(0)   // block 0 is used later, so block 1 (its child) is evicted first anyway
        #expect(tree.allocate() == 1)
        var tie = BlockPool(capacity: 2)
        _ = tie.allocate(2)
        tie.register(0, key: key(0))
        tie.register(1, key: key(1))
        tie.release(0)
        tie.release(1)
        #expect(tie.allocate() == 0)   // least recently used wins over depth
    }

    /// Two turns of one conversation in blocks of 16: the first (40 + 8 tokens) leaves
    /// its 3 full blocks cached; the second (prompt 60 = the first's 48 tokens + 12 new)
    /// finds them: 48 of its 60 prompt tokens hit, 12 are computed. Hit rate
    /// 48 / (40 + 60) = 48%; computed 40 + 12 = 52 tokens.
    @Test func aSecondTurnHitsTheFirstTurnsBlocks() throws {
        let trace = [
            Request(id: 0, arrival: 0, promptTokens: 40, outputTokens: 8, session: 7),
            Request(id: 1, arrival: 5, promptTokens: 60, outputTokens: 4, session: 7),
        ]
        var simulator = ServingSimulator(.init(policy: .paged(blockSize: 16), poolTokens: 160, maxLength: 256, checkInvariants: true, prefixCaching: true))
        let stats = try simulator.run(trace)
        let cache = try #require(stats.prefixCache)
        #expect(cache.promptTokens == 100 && cache.hitTokens == 48 && cache.computedTokens == 52)
        #expect(abs(cache.hitFraction - 0.48) < 1e-12)
        #expect(stats.tokenFraction == nil)   // blocks are shared across requests: no four-way split
        // Without caching every prompt token is computed.
        var plain = ServingSimulator(.init(policy: .paged(blockSize: 16), poolTokens: 160, maxLength: 256))
        #expect(try plain.run(trace).prefixCache == nil)
    }

    /// A fully cached prompt still computes its last token: prompt 32 after a turn of
    /// 32 + 1 tokens hits 31 tokens, not 32. And a group prefix (a system prompt) is
    /// shared across sessions: 2 requests of different sessions with a 32-token shared
    /// prefix in prompts of 40 hit 32 tokens on the second.
    @Test func fullHitsAndGroupPrefixes() throws {
        var simulator = ServingSimulator(.init(policy: .paged(blockSize: 16), poolTokens: 160, maxLength: 256, prefixCaching: true))
        let full = try simulator.run([
            Request(id: 0, arrival: 0, promptTokens: 32, outputTokens: 1, session: 1),
            Request(id: 1, arrival: 5, promptTokens: 32, outputTokens: 1, session: 1),
        ])
        #expect(full.prefixCache?.hitTokens == 31)
        var grouped = ServingSimulator(.init(policy: .paged(blockSize: 16), poolTokens: 160, maxLength: 256, prefixCaching: true))
        let shared = try grouped.run([
            Request(id: 0, arrival: 0, promptTokens: 40, outputTokens: 2, session: 1, prefixGroup: 0, sharedPrefixTokens: 32),
            Request(id: 1, arrival: 5, promptTokens: 40, outputTokens: 2, session: 2, prefixGroup: 0, sharedPrefixTokens: 32),
        ])
        #expect(shared.prefixCache?.hitTokens == 32)
    }

    /// The invariants hold with prefix caching on random multi-turn traces on a small
    /// pool (evictions, hits and preemptions all happen).
    @Test func prefixCachingKeepsTheInvariants() throws {
        let trace = RequestTrace.synthetic(RequestTrace.SessionDataset.chat, count: 120, rate: 20, maxLength: 600, seed: 3)
        var simulator = ServingSimulator(.init(policy: .paged(blockSize: 8), poolTokens: 1600, maxLength: 600, checkInvariants: true, prefixCaching: true))
        let stats = try simulator.run(trace)
        #expect(stats.completed == 120)
        let cache = try #require(stats.prefixCache)
        #expect(cache.hitTokens > 0 && cache.evictions > 0)
        // A request preempted in the iteration that admits it never computes its prompt.
        #expect(cache.computedTokens > 0 && cache.computedTokens <= cache.promptTokens - cache.hitTokens)
    }

    // MARK: Swapping

    /// A fixed clock times a copy with the profile's figures: transfers x latency + bytes /
    /// bandwidth (`IterationTimer.tierTransferSeconds`' default).
    @Test func fixedClockTimesACopyWithTheTiersFigures() throws {
        let link = try #require(MemoryTier(name: "PCIe", bytes: 1 << 30, bytesPerSecond: 32e9, latencySeconds: 1e-5))
        let timer = FixedIterationTime(0.05)
        #expect(timer.tierTransferSeconds(bytes: 32_000_000, transfers: 80, tier: link) == 80 * 1e-5 + 32_000_000 / 32e9)
        // Block-sized copies: OPT-13B blocks of 16 tokens are 16 x 819,200 bytes, one copy
        // per layer for K and one for V (80 copies of 163,840 bytes).
        let swap = ServingSimulator.Swap(tier: link, capacityBlocks: 10, blockBytes: 16 * 819_200, transfersPerBlock: 80)
        #expect(swap.seconds(blocks: 3, timer: timer) == 240 * 1e-5 + Double(3 * 16 * 819_200) / 32e9)
        // The host's time per iteration does not delay a copy: the wrapper passes its base's
        // seconds on (a base charging 1 ms per copy and 1 s per byte: 240 copies of
        // 39,321,600 bytes in all take 0.24 + 39,321,600 s, not the tier's figures).
        #expect(swap.seconds(blocks: 3, timer: HostOverheadTimer(CopyCounter(), hostSeconds: 0.013)) == 0.24 + 39_321_600)
        #expect(MemoryTier(name: "x", bytes: 1, bytesPerSecond: 0, latencySeconds: 0) == nil)
    }

    /// A timer that charges 1 ms per copy and 1 s per byte, whatever the tier's figures.
    struct CopyCounter: IterationTimer {
        var label: String { "copy counter" }
        var fixedSeconds: Double? { 0.01 }
        func seconds(_ batch: IterationBatch) -> Double { 0.01 }
        func tierTransferSeconds(bytes: Int, transfers: Int, tier: MemoryTier) -> Double {
            Double(transfers) * 1e-3 + Double(bytes)
        }
    }

    /// The swap path takes its seconds from the iteration timer, not from the tier: the
    /// run of `swappingMovesTheVictimsBlocksBothWays` (2 blocks out, 2 back, 2 copies of
    /// 100 bytes each) under a timer charging 1 ms per copy and 1 s per byte moves
    /// 2 x (4 ms + 200 s) = 400.008 s, where the tier's own figures (1 GB/s, no fixed cost)
    /// would give 400 ns.
    @Test func swapTransfersAreTheTimersSeconds() throws {
        let link = try #require(MemoryTier(name: "host", bytes: 1 << 20, bytesPerSecond: 1e9, latencySeconds: 0))
        let swap = ServingSimulator.Swap(tier: link, capacityBlocks: 8, blockBytes: 100, transfersPerBlock: 2)
        var simulator = ServingSimulator(.init(
            policy: .paged(blockSize: 4), poolTokens: 20, maxLength: 64, iterationSeconds: 0.01, checkInvariants: true, preemption: .swap(swap)))
        var timer = CopyCounter()
        let stats = try simulator.run([
            Request(id: 0, arrival: 0, promptTokens: 6, outputTokens: 6),
            Request(id: 1, arrival: 0, promptTokens: 6, outputTokens: 6),
        ], timer: &timer)
        let moved = try #require(stats.swap)
        #expect(moved.movedBlocks == 4 && moved.movedBytes == 400)
        #expect(abs(moved.transferSeconds - 400.008) < 1e-9, "\(moved.transferSeconds)")
    }

    /// Preemption by swapping on a pool of 5 blocks of 4 tokens: two requests of 6 + 6
    /// tokens take 2 blocks each (the second leaves the one free block as its watermark).
    /// At 8 tokens both need a third: the first takes the last free block, the second (the
    /// newest) is swapped out (2 blocks), swapped back in when the first finishes (2
    /// blocks), and finishes; 4 blocks of 100 bytes move at 1 GB/s: 4e-7 s.
    @Test func swappingMovesTheVictimsBlocksBothWays() throws {
        let link = try #require(MemoryTier(name: "host", bytes: 1 << 20, bytesPerSecond: 1e9, latencySeconds: 0))
        let swap = ServingSimulator.Swap(tier: link, capacityBlocks: 8, blockBytes: 100, transfersPerBlock: 2)
        var simulator = ServingSimulator(.init(
            policy: .paged(blockSize: 4), poolTokens: 20, maxLength: 64, iterationSeconds: 0.01, checkInvariants: true, preemption: .swap(swap)))
        let stats = try simulator.run([
            Request(id: 0, arrival: 0, promptTokens: 6, outputTokens: 6),
            Request(id: 1, arrival: 0, promptTokens: 6, outputTokens: 6),
        ])
        #expect(stats.completed == 2 && stats.preemptions == 1)
        let moved = try #require(stats.swap)
        #expect(moved.swapOuts == 1 && moved.movedBlocks == 4 && moved.movedBytes == 400)
        #expect(moved.transferSeconds == 400 / 1e9)
        // Recomputing instead: the victim's 8 tokens become its prompt again.
        var recompute = ServingSimulator(.init(policy: .paged(blockSize: 4), poolTokens: 20, maxLength: 64, iterationSeconds: 0.01))
        let again = try recompute.run([
            Request(id: 0, arrival: 0, promptTokens: 6, outputTokens: 6),
            Request(id: 1, arrival: 0, promptTokens: 6, outputTokens: 6),
        ])
        #expect(again.preemptions == 1 && again.swap == nil)
    }

    // MARK: Clusters

    /// Round robin alternates; least loaded sends a request to the replica holding the
    /// fewest; prefix affinity keeps a conversation on the replica that caches it.
    @Test func routersPlaceRequestsAsStated() throws {
        let configuration = ServingSimulator.Configuration(policy: .paged(blockSize: 16), poolTokens: 1600, maxLength: 512, prefixCaching: true)
        let burst = (0..<6).map { Request(id: $0, arrival: 0, promptTokens: 20, outputTokens: 10) }
        var timer = FixedIterationTime(0.01)
        let rr = try ServingCluster(configuration, replicas: 2, router: .roundRobin).run(burst, timer: &timer)
        #expect(rr.cluster?.requestsPerReplica == [3, 3] && rr.completed == 6)
        // Least loaded: a burst alternates too (each new request goes to the emptier replica).
        let ll = try ServingCluster(configuration, replicas: 3, router: .leastLoaded).run(burst, timer: &timer)
        #expect(ll.cluster?.requestsPerReplica == [2, 2, 2])
        // Two conversations of three turns, 10 s apart; in turns 0 and 1 the second starts
        // 0.05 s after the first (still running, so the second goes elsewhere), in turn 2
        // 0.05 s before it. Per conversation, turn 0 (40 + 20 tokens) leaves 3 full blocks
        // (48 tokens) cached, turn 1 (100 + 20) 7 (112 tokens).
        var turns: [Request] = []
        for turn in 0..<3 {
            for session in 0..<2 {
                let offset = turn < 2 ? Double(session) * 0.05 : Double(1 - session) * 0.05
                turns.append(Request(id: turns.count, arrival: Double(turn) * 10 + offset, promptTokens: 40 + 60 * turn, outputTokens: 20, session: session))
            }
        }
        // Prefix affinity: turn 1 matches 3 of 6 blocks (not over half: least loaded, which
        // is the conversation's replica), turn 2 7 of 10: its conversation's replica.
        // Hits 48 + 112 per conversation.
        let affinity = try ServingCluster(configuration, replicas: 4, router: .prefixAffinity).run(turns, timer: &timer)
        #expect(affinity.cluster?.requestsPerReplica == [3, 3, 0, 0])
        #expect(affinity.prefixCache?.hitTokens == 320)
        // Least loaded places turn 1 as affinity does (48 each) but turn 2 crosswise: 96.
        let loaded = try ServingCluster(configuration, replicas: 4, router: .leastLoaded).run(turns, timer: &timer)
        #expect(loaded.prefixCache?.hitTokens == 96)
        // Round robin puts turn 1 on replicas 2 and 3 and turn 2 crosswise: no hit.
        let spread = try ServingCluster(configuration, replicas: 4, router: .roundRobin).run(turns, timer: &timer)
        #expect(spread.prefixCache?.hitTokens == 0)
    }

    // MARK: Trace files

    /// Azure LLM inference traces: date-time arrivals become seconds after the earliest.
    @Test func azureAndBurstGPTColumns() throws {
        let azure = try RequestTrace.parseCSV(
            "TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46.6805900,374,44\n2023-11-16 18:15:50.1805900,396,109\n", file: "azure.csv")
        #expect(azure.map(\.promptTokens) == [374, 396] && azure.map(\.outputTokens) == [44, 109])
        #expect(azure[0].arrival == 0 && abs(azure[1].arrival - 3.5) < 1e-6)
        let burst = try RequestTrace.parseCSV(
            "Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type\n5,ChatGPT,472,18,490,Conversation log\n45,GPT-4,1087,230,1317,Conversation log\n",
            file: "burst.csv")
        #expect(burst == [Request(id: 0, arrival: 5, promptTokens: 472, outputTokens: 18), Request(id: 1, arrival: 45, promptTokens: 1087, outputTokens: 230)])
        #expect(RequestTrace.secondsSinceEpoch("1970-01-02 00:00:00") == 86_400)
        #expect(RequestTrace.secondsSinceEpoch("2023-11-16 18:15:46") == 1_700_158_546)
        #expect(RequestTrace.secondsSinceEpoch("2024-05-10T00:00:00+02:00") == 1_715_292_000)
        #expect(RequestTrace.secondsSinceEpoch("2023-02-29 00:00:00") == nil)   // not a leap year
    }

    /// JSON Lines: this tool's keys with prefix columns, and Mooncake's (milliseconds).
    @Test func jsonLinesTraces() throws {
        let own = try RequestTrace.parseJSONLines(
            #"{"arrival": 0.5, "prompt_tokens": 300, "output_tokens": 20, "session": "a", "prefix_group": "sys", "prefix_tokens": 200}"# + "\n"
                + #"{"arrival": 0, "prompt_tokens": 10, "output_tokens": 5}"# + "\n",
            file: "t.jsonl")
        #expect(own[0] == Request(id: 1, arrival: 0, promptTokens: 10, outputTokens: 5))
        #expect(own[1] == Request(id: 0, arrival: 0.5, promptTokens: 300, outputTokens: 20, session: 0, prefixGroup: 0, sharedPrefixTokens: 200))
        let mooncake = try RequestTrace.parseJSONLines(#"{"timestamp": 1500, "input_length": 6955, "output_length": 52, "hash_ids": [1, 2]}"#, file: "m.jsonl")
        #expect(mooncake == [Request(id: 0, arrival: 1.5, promptTokens: 6955, outputTokens: 52)])
    }

    /// Errors name the file, the line and the field.
    @Test func traceFormatErrorsNameLineAndField() {
        let cases: [(() throws -> Void, String)] = [
            ({ _ = try RequestTrace.parseCSV("TIMESTAMP,ContextTokens,GeneratedTokens\nyesterday,5,3\n", file: "a.csv") },
             "a.csv: line 2: TIMESTAMP: expected a date and time such as 2023-11-16 18:15:46.6805900, found 'yesterday'"),
            ({ _ = try RequestTrace.parseCSV("Timestamp,Request tokens,Response tokens\n1,5,0\n", file: "b.csv") },
             "b.csv: line 2: Response tokens: expected a positive integer, found '0'"),
            ({ _ = try RequestTrace.parseCSV("when,what\n1,2\n", file: "c.csv") },
             "c.csv: line 1: no known columns; expected those of one of: attnsim (arrival, prompt_tokens, output_tokens); azure (TIMESTAMP, ContextTokens, GeneratedTokens); burstgpt (Timestamp, Request tokens, Response tokens); mooncake (timestamp, input_length, output_length)"),
            ({ _ = try RequestTrace.parseJSONLines("{\"arrival\": 0, \"prompt_tokens\": 5, \"output_tokens\": 3}\n[1]\n", file: "d.jsonl") },
             "d.jsonl: line 2: expected a JSON object, found an array of 1"),
            ({ _ = try RequestTrace.parseJSONLines("{\"arrival\": 0, \"prompt_tokens\": true, \"output_tokens\": 3}\n", file: "e.jsonl") },
             "e.jsonl: line 1: prompt_tokens: expected a number or a string, found true"),
            ({ _ = try RequestTrace.parseCSV("arrival,prompt_tokens,output_tokens,prefix_group,prefix_tokens\n0,5,3,g,9\n", file: "f.csv") },
             "f.csv: line 2: prefix_tokens: expected a shared prefix of 1 to 5 tokens (the prompt's), found '9'"),
            ({ _ = try RequestTrace.parseCSV("arrival,prompt_tokens,output_tokens,prefix_tokens\n0,5,3,4\n", file: "g.csv") },
             "g.csv: line 2: prefix_group: missing value; prefix_tokens needs the group it is shared by"),
        ]
        for (body, expected) in cases {
            do {
                try body()
                Issue.record("no error; expected \(expected)")
            } catch {
                #expect("\(error)" == expected)
            }
        }
    }

    // MARK: Synthetic workloads

    /// The digitized Figure 11 histograms give the means the paper prints (ShareGPT
    /// 161.31 and 337.99 tokens, Alpaca 19.31 and 58.45) within 1.3%, and draws from them
    /// match the histograms' own means within 2% over 20,000 requests.
    @Test func figure11HistogramsGiveThePapersMeans() {
        let cases: [(LengthHistogram, Double, Double)] = [
            (.shareGPTPrompt, 161.31, 0.001), (.shareGPTOutput, 337.99, 0.001), (.alpacaPrompt, 19.31, 0.015), (.alpacaOutput, 58.45, 0.005),
        ]
        for (histogram, printed, tolerance) in cases {
            #expect(abs(histogram.mean / printed - 1) < tolerance, "\(histogram.mean) vs \(printed)")
            #expect(LengthHistogram(minimum: histogram.minimum, maximum: histogram.maximum, weights: histogram.weights) == histogram)
        }
        for workload in [RequestTrace.Dataset.shareGPT, .alpaca] {
            let requests = RequestTrace.synthetic(workload, count: 20_000, rate: 10, maxLength: 100_000, seed: 5)
            let prompt = Double(requests.reduce(0) { $0 + $1.promptTokens }) / 20_000
            let output = Double(requests.reduce(0) { $0 + $1.outputTokens }) / 20_000
            // Lengths are whole tokens drawn uniformly within a bin: half a token below the centre.
            #expect(abs(prompt / (workload.prompt.mean - 0.5) - 1) < 0.02, "\(workload.name) prompt \(prompt)")
            #expect(abs(output / (workload.output.mean - 0.5) - 1) < 0.02, "\(workload.name) output \(output)")
        }
    }

    /// Session workloads: turns of a session are prefixes of one another, every request
    /// starts with the group prefix, and requests arrive at about the rate.
    @Test func sessionWorkloadsNestTheirTurns() {
        let chat = RequestTrace.synthetic(.chat, count: 4000, rate: 5, maxLength: 4096, seed: 2)
        #expect(chat.count == 4000 && chat.map(\.id) == Array(0..<4000))
        var last: [Int: Request] = [:]
        for r in chat {
            #expect(r.prefixGroup == 0 && r.sharedPrefixTokens == 200 && r.promptTokens > 200)
            if let session = r.session, let before = last[session] {
                #expect(r.promptTokens > before.finalTokens && r.arrival >= before.arrival)
            }
            if let session = r.session { last[session] = r }
        }
        // Sessions start at rate / 4 with 4 turns on average (a few end early, at the longest
        // sequence): about 5 requests/s once the first sessions have had their turns.
        let window = chat.filter { $0.arrival >= 300 && $0.arrival < 700 }.count
        #expect(abs(Double(window) / 400 / 5 - 1) < 0.15, "\(window) requests in 400 s")
        let fewShot = RequestTrace.synthetic(.fewShot, count: 100, rate: 5, maxLength: 2048, seed: 2)
        #expect(fewShot.allSatisfy { $0.sharedPrefixTokens == 341 && $0.promptTokens > 341 })
        #expect(Set(fewShot.compactMap(\.session)).count == 100)
    }

    // MARK: With block groups per layer kind and the timeline

    /// Swapping under hybrid allocation (a full group and a window-4 group, blocks of 4,
    /// a pool of 10). Each 6 + 10-token request takes 2 full + 2 window blocks at
    /// admission, both fit with the 2-block watermark (4 + 4 + 2). At position 8 each takes
    /// a full block (the window group reuses its oldest); at 12 the pool is empty, so the
    /// newest request is swapped out whole: 3 full + 2 window = 5 blocks. It comes back
    /// when the first finishes, as a 12-token prompt: 3 full + min(3, 2) window = 5 blocks,
    /// 10 moved in all; the timeline counts it waiting meanwhile.
    @Test func swappingUnderHybridAllocationMovesEveryGroupsBlocks() throws {
        let link = try #require(MemoryTier(name: "host", bytes: 1 << 20, bytesPerSecond: 1e9, latencySeconds: 0))
        let swap = ServingSimulator.Swap(tier: link, capacityBlocks: 16, blockBytes: 100, transfersPerBlock: 2)
        let hybrid = ServingSimulator.Hybrid(globalGroups: 1, localGroups: 1, local: .init(window: 4, sinks: 0), poolBlocks: 10)
        var simulator = ServingSimulator(.init(
            policy: .paged(blockSize: 4), poolTokens: 40, maxLength: 64, iterationSeconds: 0.01, checkInvariants: true, hybrid: hybrid,
            preemption: .swap(swap)))
        let stats = try simulator.run([
            Request(id: 0, arrival: 0, promptTokens: 6, outputTokens: 10),
            Request(id: 1, arrival: 0, promptTokens: 6, outputTokens: 10),
        ])
        #expect(stats.completed == 2 && stats.preemptions == 1)
        let moved = try #require(stats.swap)
        #expect(moved.swapOuts == 1 && moved.movedBlocks == 10 && moved.movedBytes == 1000)
        #expect(moved.transferSeconds == 1000 / 1e9)
        #expect(stats.groupUsage?.map(\.peakBlocks) == [6, 4])
        #expect(stats.timeline.contains { $0.running == 1 && $0.waiting == 1 })
        #expect(stats.timeline.last?.admitted == 2)
    }

    /// A cluster's timeline adds the replicas' states at each replica iteration. Two
    /// 20 + 10-token requests at time 0, round robin over 2 replicas, blocks of 16: replica
    /// 0's first iteration sees its request running and replica 1's queued; replica 1's sees
    /// both running, 20 token states and 2 blocks (32 slots) each.
    @Test func clusterTimelineAddsTheReplicas() throws {
        let configuration = ServingSimulator.Configuration(policy: .paged(blockSize: 16), poolTokens: 1600, maxLength: 512)
        let burst = (0..<2).map { Request(id: $0, arrival: 0, promptTokens: 20, outputTokens: 10) }
        var timer = FixedIterationTime(0.01)
        let stats = try ServingCluster(configuration, replicas: 2, router: .roundRobin).run(burst, timer: &timer)
        #expect(stats.timeline.count >= 2)
        let first = try #require(stats.timeline.first), second = stats.timeline[1]
        #expect(first.seconds == 0 && first.running == 1 && first.waiting == 1 && first.admitted == 1)
        #expect(first.usedTokens == 20 && first.allocatedTokens == 32)
        #expect(second.seconds == 0 && second.running == 2 && second.waiting == 0 && second.admitted == 2)
        #expect(second.usedTokens == 40 && second.allocatedTokens == 64)
    }

    /// Prefix caching keys a block by the tokens it keeps in every layer: a model served by
    /// the hybrid allocator (Gemma 2: a window group) is refused with the reason.
    @Test func prefixCachingWithLayerGroupsIsRefused() throws {
        var study = PagedStudy(
            model: "gemma-2-9b", trace: "sharegpt", requests: 10, rate: 1, blockSize: 16, maxLength: 2048, policies: ["paged"])
        study.prefixCaching = true
        #expect {
            _ = try study.run()
        } throws: { error in
            "\(error)".contains("prefix caching with the hybrid allocator (a block group per layer kind: full, window 4096) is not modeled")
        }
    }
}
