import AttnNumerics
import Workload

extension ServingSimulator {
    // MARK: The event loop

    /// What the iterations add up, for the summary.
    struct Tally {
        var completed = 0, preemptions = 0, iterations = 0, maxBatch = 0, batchSum = 0
        /// Token-slot units summed over iterations (no sharing): token states, reserved,
        /// internal and external fragmentation.
        var tokens = 0.0, reserved = 0.0, unusable = 0.0, external = 0.0
        /// With sharing: blocks held, and blocks private copies would hold, summed.
        var heldBlocks = 0.0, privateBlocks = 0.0
        /// Hybrid: blocks of each kind's groups, summed and at most.
        var kindBlocks: [Double] = [], kindPeaks: [Int] = []
        /// Prompt tokens asked for at admission, those found cached, those computed
        /// (prefill, recomputation included).
        var promptTokens = 0, hitTokens = 0, computedTokens = 0
        /// Swapping: requests swapped out, blocks moved either way, seconds moving them.
        var swapOuts = 0, movedBlocks = 0, transferSeconds = 0.0
        /// Prefix caching: cached blocks evicted to make room (set when the run ends).
        var evictions = 0
        /// When each request's first token came and when it finished, by id.
        var firstToken: [Int: Double] = [:]
        var finished: [Int: Double] = [:]
        /// KV memory in use and requests admitted over time, sampled.
        var timeline = ServingTimeline()
        /// The last sample offered to the timeline (a cluster's samples add the replicas').
        var latest: ServingTimeline.Sample? = nil
        /// Requests admitted at least once, by id.
        var admitted = Set<Int>()

        /// The tallies of several replicas as one (counts and sums added, peaks the
        /// largest; the timeline is the cluster's own, `ServingCluster`).
        static func merged(_ tallies: [Tally]) -> Tally {
            if tallies.count == 1 { return tallies[0] }
            var t = Tally()
            for x in tallies {
                t.completed += x.completed
                t.preemptions += x.preemptions
                t.iterations += x.iterations
                t.maxBatch = max(t.maxBatch, x.maxBatch)
                t.batchSum += x.batchSum
                t.tokens += x.tokens
                t.reserved += x.reserved
                t.unusable += x.unusable
                t.external += x.external
                t.heldBlocks += x.heldBlocks
                t.privateBlocks += x.privateBlocks
                if t.kindBlocks.isEmpty {
                    t.kindBlocks = Array(repeating: 0, count: x.kindBlocks.count)
                    t.kindPeaks = Array(repeating: 0, count: x.kindPeaks.count)
                }
                for k in x.kindBlocks.indices where k < t.kindBlocks.count {
                    t.kindBlocks[k] += x.kindBlocks[k]
                    t.kindPeaks[k] = max(t.kindPeaks[k], x.kindPeaks[k])
                }
                t.promptTokens += x.promptTokens
                t.hitTokens += x.hitTokens
                t.computedTokens += x.computedTokens
                t.swapOuts += x.swapOuts
                t.movedBlocks += x.movedBlocks
                t.transferSeconds += x.transferSeconds
                t.evictions += x.evictions
                t.firstToken.merge(x.firstToken) { a, _ in a }
                t.finished.merge(x.finished) { a, _ in a }
                t.admitted.formUnion(x.admitted)
            }
            return t
        }
    }

    /// Whether slots serve several sequences, so the four-way split is not defined:
    /// paged blocks shared by sequences (sharing) or requests (prefix caching).
    static func sharesBlocks(_ c: Configuration) -> Bool {
        guard case .paged = c.policy else { return false }
        return c.sharing != .none || c.prefixCaching
    }

    /// A placeholder for a running request moved out of `running` while it changes.
    static let vacant = Running(request: Request(id: -1, arrival: 0, promptTokens: 1, outputTokens: 0), tokens: 0, tables: [], admittedAt: 0, pending: 0)

    /// Whether nothing is left to run: no running, queued or swapped-out request.
    var isIdle: Bool { running.isEmpty && queue.isEmpty && swapped.isEmpty }

    /// Requests held by this replica: queued, running and swapped out (a router's load).
    var outstanding: Int { queue.count + running.count + swapped.count }

    /// Runs the iterations until every request has finished: each admits arrivals first
    /// come, first served, runs one decode step of every prompted request (preempting the
    /// newest when blocks run out) and prompt chunks within the token budget, takes its
    /// time from `timer`, accounts its memory and retires finished requests.
    mutating func replay<Timer: IterationTimer>(
        _ waiting: [Request], configuration c: Configuration, timer: inout Timer, progress: ((Double) -> Void)?
    ) throws(SimulationError) {
        // Swapping adds transfer time to iterations, so a fixed time runs on the clock too.
        let fixed = timer.fixedSeconds != nil && c.preemption == .recompute
        // The next request to arrive; a cursor rather than removeFirst, so a long trace is O(n).
        var nextArrival = 0
        var clock = 0.0
        while tally.completed < waiting.count {
            let now = fixed ? Double(tally.iterations) * c.iterationSeconds : clock
            while nextArrival < waiting.count, waiting[nextArrival].arrival <= now {
                queue.append(waiting[nextArrival])
                nextArrival += 1
            }
            clock = try iterate(now: now, fixed: fixed, configuration: c, timer: &timer)
            if isIdle, nextArrival < waiting.count {
                let next = waiting[nextArrival]
                // Skip idle time to the next arrival.
                if fixed {
                    tally.iterations = max(tally.iterations + 1, Int((next.arrival / c.iterationSeconds).rounded(.up)))
                } else {
                    tally.iterations += 1
                    clock = max(clock, next.arrival)
                }
            } else {
                tally.iterations += 1
            }
            if tally.iterations % 256 == 0 { progress?(Double(tally.completed) / Double(max(1, waiting.count))) }
        }
    }

    /// One iteration starting at `now` over the queued and running requests: admission
    /// (swapped-out requests first), a decode step, prompt chunks, the time (with any
    /// swap transfers), memory accounting and retirement. Returns when it ends.
    mutating func iterate<Timer: IterationTimer>(
        now: Double, fixed: Bool, configuration c: Configuration, timer: inout Timer
    ) throws(SimulationError) -> Double {
        movedBlocks = 0
        let blockedNeed = try admitQueued()
        var batch = decodeStep()
        let prompted = promptChunks(&batch, configuration: c)
        var elapsed = fixed ? c.iterationSeconds : try seconds(batch, timer: &timer)
        if case .swap(let swap) = c.preemption, movedBlocks > 0 {
            let transfer = swap.seconds(blocks: movedBlocks, timer: timer)
            elapsed += transfer
            tally.transferSeconds += transfer
            tally.movedBlocks += movedBlocks
        }
        let end = now + elapsed
        for id in prompted where tally.firstToken[id] == nil { tally.firstToken[id] = end }
        tally.maxBatch = max(tally.maxBatch, running.count)
        tally.batchSum += running.count
        account(blocked: blockedNeed != nil, configuration: c, now: now)
        if c.checkInvariants, case .paged = c.policy {
            let tables = running.flatMap(\.tables) + running.flatMap { $0.groups?.allTables ?? [] } + (prefixTable.isEmpty ? [] : [prefixTable])
            let problems = pool.invariantViolations(tables: tables)
            if !problems.isEmpty { throw .invariant(iteration: tally.iterations, problems: problems) }
        }
        // Retire finished requests.
        var finished: [Running] = []
        running.removeAll { r in
            guard r.pending == 0, r.tokens >= r.request.finalTokens else { return false }
            finished.append(r)
            return true
        }
        for r in finished {
            free(r)
            tally.completed += 1
            tally.finished[r.request.id] = end
        }
        return end
    }

    /// Admits swapped-out requests first (all or nothing, oldest first), then queued ones
    /// first come, first served, stopping at the first that does not fit: returns the
    /// slots it needs (nil when nothing waits). A request that does not fit an empty pool
    /// can never run.
    mutating func admitQueued() throws(SimulationError) -> Int? {
        while let head = swapped.first {
            guard swapIn(head) else { return swapInNeed(head) }
            swapped.removeFirst()
        }
        while let head = queue.first {
            if var admitted = try admit(head, iteration: tally.iterations) {
                if configuration.promptsArriveComputed && !tally.admitted.contains(head.id) {
                    admitted.pending = 0
                    tally.firstToken[head.id] = head.arrival
                }
                running.append(admitted)
                tally.admitted.insert(head.id)
                queue.removeFirst()
            } else {
                let blockedNeed = need(head)
                if running.isEmpty { throw .stuck(requestID: head.id, needed: blockedNeed, pool: configuration.poolTokens) }
                return blockedNeed
            }
        }
        return nil
    }

    /// One decode step for every request whose prompt was computed in an earlier
    /// iteration; when blocks run out the most recently admitted request is preempted:
    /// swapped out when the lower level has room for it, else its tokens so far become
    /// prompt, recomputed when it is admitted again.
    mutating func decodeStep() -> IterationBatch {
        var index = 0
        var decodeSequences = 0, decodeContext = 0
        // Prefix caching: decoding sequences per shared block (held by several tables).
        var readers: [Int: Int] = [:]
        while index < running.count {
            // A request holding its final tokens already (one arriving computed with no
            // output left, `promptsArriveComputed`) only waits to retire.
            if running[index].pending == 0 && running[index].tokens < running[index].request.finalTokens {
                // Moved out while it grows, so its tables stay uniquely referenced.
                var r = running[index]
                running[index] = Self.vacant
                let grew = grow(&r)
                running[index] = r
                if !grew {
                    // Out of blocks: preempt the most recently admitted request.
                    let victim = running.removeLast()
                    tally.preemptions += 1
                    if !swapOut(victim) {
                        free(victim)
                        var requeued = victim.request
                        let generated = victim.tokens - victim.request.promptTokens
                        requeued.promptTokens += generated
                        requeued.outputTokens -= generated
                        queue.prepend(requeued)
                    }
                    continue
                }
                let sequences = max(1, running[index].tables.count, running[index].extents.count)
                decodeSequences += sequences
                decodeContext += sequences * running[index].tokens
                if configuration.prefixCaching { countSharedBlocks(running[index], into: &readers) }
            }
            index += 1
        }
        var shared: [Int: Int] = [:]
        for (_, m) in readers where m >= 2 { shared[m, default: 0] += 1 }
        return IterationBatch(decodeSequences: decodeSequences, decodeContextTokens: decodeContext, sharedDecodeBlocks: shared, blockTokens: configuration.prefixCaching ? blockSize : 0)
    }

    /// Adds one reader to each leading block of `r`'s table that another table holds too
    /// (a cached prefix: a block's key names everything before it, so shared blocks lead
    /// the table; the walk stops at the first block only this table holds).
    func countSharedBlocks(_ r: Running, into readers: inout [Int: Int]) {
        for table in r.tables {
            for block in table {
                guard pool.referenceCount(block) > 1 else { break }
                readers[block, default: 0] += 1
            }
        }
    }

    /// Prompt chunks within the iteration's token budget (the decode steps come first),
    /// first come, first served; returns the ids of the requests whose prompt is now done
    /// (with prefix caching, their full prompt blocks are registered then).
    mutating func promptChunks(_ batch: inout IterationBatch, configuration c: Configuration) -> [Int] {
        var budget = c.prefillChunk.map { $0 - batch.decodeSequences } ?? Int.max
        var prompted: [Int] = []
        for i in running.indices where running[i].pending > 0 && budget > 0 {
            let take = min(running[i].pending, budget)
            let prompt = running[i].request.promptTokens
            batch.prefill.append(.init(tokens: take, context: prompt - running[i].pending + take))
            running[i].pending -= take
            tally.computedTokens += take
            budget -= take
            if running[i].pending == 0 {
                prompted.append(running[i].request.id)
                if c.prefixCaching {
                    var r = running[i]
                    running[i] = Self.vacant
                    registerFullBlocks(&r)
                    running[i] = r
                }
            }
        }
        return prompted
    }

    /// The time of an iteration over `batch` from a timer that depends on it (0 for an
    /// empty batch); a timer's failure or a time that is not positive and finite is an error.
    func seconds<Timer: IterationTimer>(_ batch: IterationBatch, timer: inout Timer) throws(SimulationError) -> Double {
        guard !batch.isEmpty else { return 0 }
        let elapsed: Double
        do { elapsed = try timer.seconds(batch) } catch {
            throw .invalid("iteration time (\(timer.label)): \(error)")
        }
        guard elapsed > 0, elapsed.isFinite else {
            throw .invalid("iteration time (\(timer.label)) must be a positive number of seconds, found \(elapsed)")
        }
        return elapsed
    }

    /// The slots of every running request in token-slot units (hybrid: token-group
    /// units, each group's slots counted once per group): token states, slots reserved
    /// for tokens still to come, and allocated slots never to be filled.
    func memory(configuration c: Configuration) -> (tokens: Int, reserved: Int, unusable: Int) {
        var tokens = 0, reserved = 0, unusable = 0
        for r in running {
            if let h = c.hybrid {
                let split = r.groups?.account(tokens: r.tokens, final: r.request.finalTokens, h, blockSize: blockSize) ?? (tokens: 0, reserved: 0, unusable: 0)
                tokens += split.tokens
                reserved += split.reserved
                unusable += split.unusable
                continue
            }
            let final = c.eviction?.kept(r.request.finalTokens) ?? r.request.finalTokens
            let held = c.eviction?.kept(r.tokens) ?? r.tokens
            let sequences = max(1, r.tables.count, r.extents.count)
            let allocated: Int
            if case .paged = c.policy {
                allocated = (r.tables.first?.count ?? 0) * blockSize
            } else {
                allocated = r.extentLength
            }
            let used = min(final, allocated)
            tokens += held * sequences
            reserved += max(0, used - held) * sequences
            unusable += (allocated - used) * sequences
        }
        return (tokens, reserved, unusable)
    }

    /// This replica's state for a timeline sample at `now`: its running requests' memory,
    /// and the requests running, waiting (queued or swapped out) and admitted so far.
    func sample(now: Double, memory m: (tokens: Int, reserved: Int, unusable: Int)) -> ServingTimeline.Sample {
        .init(
            seconds: now, usedTokens: m.tokens, allocatedTokens: m.tokens + m.reserved + m.unusable, running: running.count,
            waiting: queue.count + swapped.count, admitted: tally.admitted.count)
    }

    /// Adds one iteration's memory to the tally (token states, reserved, internal and
    /// external fragmentation while a request waits for memory, `blocked`; blocks per
    /// group under hybrid allocation; held and private blocks when blocks are shared) and
    /// offers a timeline sample taken at `now`.
    mutating func account(blocked: Bool, configuration c: Configuration, now: Double) {
        let (tokens, reserved, unusable) = memory(configuration: c)
        let point = sample(now: now, memory: (tokens, reserved, unusable))
        tally.timeline.offer(point)
        tally.latest = point
        var external = 0
        if blocked {
            if case .paged = c.policy { external = pool.freeCount * blockSize } else { external = contiguous.freeSlots }
        }
        if let h = c.hybrid {
            var held = Array(repeating: 0, count: h.kinds.count)
            for r in running { for (k, n) in (r.groups?.heldBlocks(h) ?? []).enumerated() { held[k] += n } }
            if tally.kindBlocks.isEmpty {
                tally.kindBlocks = Array(repeating: 0, count: h.kinds.count)
                tally.kindPeaks = Array(repeating: 0, count: h.kinds.count)
            }
            for k in held.indices {
                tally.kindBlocks[k] += Double(held[k])
                tally.kindPeaks[k] = max(tally.kindPeaks[k], held[k])
            }
        }
        if !Self.sharesBlocks(c) {
            tally.tokens += Double(tokens)
            tally.reserved += Double(reserved)
            tally.unusable += Double(unusable)
            tally.external += Double(external)
        } else {
            tally.heldBlocks += Double(pool.usedCount)
            tally.privateBlocks += Double(running.reduce(0) { $0 + $1.tables.reduce(0) { $0 + $1.count } } + privatePrefixBlocks())
        }
    }

    // MARK: The summary

    /// The statistics of a finished run (of one replica, or several merged): memory
    /// fractions, batch sizes, preemptions and copies, throughput, prefix-cache hits,
    /// swapping, and the TTFT, TPOT and normalized-latency distributions.
    func summary(_ tallies: [Tally], waiting: [Request], configuration c: Configuration, timing: String) -> AllocationStats {
        let tally = Tally.merged(tallies)
        var ttft: [Double] = [], tpot: [Double] = [], normalized: [Double] = []
        var lastFinish = 0.0, outputTokens = 0
        for r in waiting {
            guard let first = tally.firstToken[r.id], let finish = tally.finished[r.id] else { continue }
            lastFinish = max(lastFinish, finish)
            outputTokens += r.outputTokens
            ttft.append(first - r.arrival)
            if r.outputTokens > 0 {
                tpot.append((finish - first) / Double(r.outputTokens))
                normalized.append((finish - r.arrival) / Double(r.outputTokens))
            }
        }
        let firstArrival = waiting.map(\.arrival).min() ?? 0
        let span = lastFinish - firstArrival
        let total = tally.tokens + tally.reserved + tally.unusable + tally.external
        let split = !Self.sharesBlocks(c)
        func fraction(_ x: Double) -> Double? { split ? (total > 0 ? x / total : 0) : nil }
        let iterations = tally.iterations
        var stats = AllocationStats(
            policy: c.policy.description, requests: waiting.count, completed: tally.completed, iterations: iterations,
            poolTokens: c.poolTokens, tokenFraction: fraction(tally.tokens), reservedFraction: fraction(tally.reserved),
            internalFragmentationFraction: fraction(tally.unusable), externalFragmentationFraction: fraction(tally.external),
            maxBatch: tally.maxBatch, meanBatch: iterations > 0 ? Double(tally.batchSum) / Double(iterations) : 0,
            preemptions: tally.preemptions, copyOnWriteCopies: copies,
            sharingSavedFraction: tally.privateBlocks > 0 ? 1 - tally.heldBlocks / tally.privateBlocks : 0,
            timing: timing, prefillChunk: c.prefillChunk, seconds: lastFinish,
            requestsPerSecond: span > 0 ? Double(tally.completed) / span : 0, outputTokensPerSecond: span > 0 ? Double(outputTokens) / span : 0,
            ttft: LatencySummary(ttft), tpot: LatencySummary(tpot), normalizedLatency: LatencySummary(normalized))
        if let h = c.hybrid {
            let n = Double(max(1, iterations))
            stats.groupUsage = h.kinds.indices.map { k in
                GroupUsage(
                    kind: h.kinds[k].retention.label, groups: h.kinds[k].groups, meanBlocks: (k < tally.kindBlocks.count ? tally.kindBlocks[k] : 0) / n,
                    peakBlocks: k < tally.kindPeaks.count ? tally.kindPeaks[k] : 0)
            }
            stats.poolBlocks = h.poolBlocks
        }
        stats.timeline = tally.timeline.thinned
        if c.prefixCaching {
            stats.prefixCache = .init(
                promptTokens: tally.promptTokens, hitTokens: tally.hitTokens, computedTokens: tally.computedTokens, evictions: tally.evictions)
        }
        if case .swap(let swap) = c.preemption {
            stats.swap = .init(
                tier: swap.tier.name, swapOuts: tally.swapOuts, movedBlocks: tally.movedBlocks,
                movedBytes: tally.movedBlocks * swap.blockBytes, transferSeconds: tally.transferSeconds)
        }
        return stats
    }
}
