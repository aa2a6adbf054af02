import AttnNumerics
import Workload

/// Replays a request trace against one allocation policy with iteration-level scheduling
/// (Orca, Yu et al. 2022; vLLM, Kwon et al. 2023): every iteration admits waiting
/// requests first come, first served while memory allows, runs the prompt of newly
/// admitted requests and one decode step of every other running request, and retires the
/// requests that reached their final length.
///
/// Time: each iteration takes what an `IterationTimer` says for its batch (the prompt
/// chunks and decode steps it runs); `run(_:progress:)` uses the fixed `iterationSeconds`.
/// A request's first token comes at the end of the iteration that finishes its prompt
/// (TTFT = that time - arrival); it then runs one decode step per output token and
/// finishes at the end of the last (TPOT = (finish - first token) / output tokens).
///
/// Chunked prefill (`prefillChunk`, Sarathi-Serve, Agrawal et al. 2024; vLLM's
/// max_num_batched_tokens): an iteration computes at most that many tokens, decode
/// steps first, then prompt chunks first come, first served; a request decodes once its
/// whole prompt is computed. The blocks of the whole prompt are allocated at admission
/// either way, so memory accounting does not depend on chunking.
public struct ServingSimulator {
    public struct Configuration: Sendable {
        public var policy: AllocationPolicy
        /// Token slots in the KV pool (`KVCapacity.tokenSlots`).
        public var poolTokens: Int
        /// Longest sequence (contiguous-max reserves it).
        public var maxLength: Int
        public var contiguousStrategy: ContiguousAllocator.Strategy
        public var sharing: SharingMode
        public var iterationSeconds: Double
        public var seed: UInt64
        /// Check the block pool's invariants every iteration (tests).
        public var checkInvariants: Bool
        /// Sliding-window eviction (every layer keeps the last `window` tokens and the first
        /// `sinks`); nil: every token is kept.
        public var eviction: Eviction?
        /// Chunked prefill: the most tokens an iteration computes (decode steps included);
        /// nil: whole prompts in the iteration that admits them.
        public var prefillChunk: Int?
        /// Hybrid allocation for a model whose layers keep different tokens (global,
        /// windowed, chunked attention; recurrent states): one block group per layer kind
        /// (`ServingSimulator+LayerGroups.swift`); nil: one group (every layer keeps the
        /// same tokens). Paged policy only.
        public var hybrid: Hybrid?

        public init(
            policy: AllocationPolicy, poolTokens: Int, maxLength: Int, contiguousStrategy: ContiguousAllocator.Strategy = .firstFit,
            sharing: SharingMode = .none, iterationSeconds: Double = 0.05, seed: UInt64 = 1, checkInvariants: Bool = false,
            eviction: Eviction? = nil, prefillChunk: Int? = nil, hybrid: Hybrid? = nil
        ) {
            self.hybrid = hybrid
            self.eviction = eviction
            self.prefillChunk = prefillChunk
            self.policy = policy
            self.poolTokens = poolTokens
            self.maxLength = maxLength
            self.contiguousStrategy = contiguousStrategy
            self.sharing = sharing
            self.iterationSeconds = iterationSeconds
            self.seed = seed
            self.checkInvariants = checkInvariants
        }
    }

    /// A sliding window with attention sinks (StreamingLLM), applied to every layer: a
    /// sequence keeps its first `sinks` and its last `window` tokens.
    ///
    /// Paged: a sequence holds at most cdiv(sinks, B) sink blocks plus cdiv(window, B) + 1
    /// window blocks (the window may straddle one more block, as vLLM's block manager keeps
    /// cdiv(window, block_size) + 1); once it has them all, a new block reuses the oldest
    /// window block. Contiguous: a reservation is capped at sinks + window slots.
    public struct Eviction: Sendable, Equatable {
        public var window: Int
        public var sinks: Int

        public init(window: Int, sinks: Int) {
            self.window = window
            self.sinks = sinks
        }

        /// Tokens a sequence of `length` tokens keeps.
        public func kept(_ length: Int) -> Int { min(length, window + sinks) }

        /// Blocks of `blockSize` tokens a sequence holds at most.
        func maxBlocks(_ blockSize: Int) -> Int {
            Checked.ceilDiv(sinks, blockSize) + Checked.ceilDiv(window, blockSize) + 1
        }
    }

    /// Blocks each group held, time-averaged and at most (hybrid allocation).
    public struct GroupUsage: Sendable, Equatable {
        /// `full`, `window W` (sinks included in the words when any), `chunk C` or a state's label.
        public var kind: String
        /// Groups of this kind (each of g layers).
        public var groups: Int
        public var meanBlocks: Double
        public var peakBlocks: Int
    }

    /// Why a simulation could not run.
    public enum SimulationError: Error, Sendable, Equatable, CustomStringConvertible {
        case invalid(String)
        case invariant(iteration: Int, problems: [String])
        case stuck(requestID: Int, needed: Int, pool: Int)

        public var description: String {
            switch self {
            case .invalid(let message): return message
            case .invariant(let iteration, let problems):
                return "block pool invariant broken at iteration \(iteration): " + problems.joined(separator: "; ")
            case .stuck(let id, let needed, let pool):
                return "request \(id) needs \(needed) token slots but the pool has only \(pool); it can never be admitted"
            }
        }
    }

    /// One running request.
    private struct Running {
        var request: Request
        /// Tokens each sequence holds.
        var tokens: Int
        /// Paged: one block table per sequence.
        var tables: [[Int]]
        /// Contiguous: the reserved extent.
        var extentStart: Int
        var extentLength: Int
        var admittedAt: Int
        /// Prompt tokens still to compute (chunked prefill); 0 once the prompt is done.
        var pending: Int
        /// Hybrid: the blocks of every layer group.
        var groups: LayerGroupTables? = nil
    }

    public let configuration: Configuration

    public init(_ configuration: Configuration) {
        self.configuration = configuration
    }

    // Mutable run state.
    private var pool = BlockPool(capacity: 0)
    private var contiguous = ContiguousAllocator(capacity: 0, strategy: .firstFit)
    private var prefixTable: [Int] = []
    private var generator = SeededGenerator(seed: 1)
    private var copies = 0

    /// The most blocks a paged pool may hold (each block costs the simulator two words).
    public static let maxPoolBlocks = 1 << 24
    /// The most slots a contiguous pool may hold (first fit keeps a list of holes).
    public static let maxPoolTokens = 1 << 40
    /// The longest request (prompt + output tokens) a trace may hold (`Request.maxTokens`).
    public static let maxRequestTokens = Request.maxTokens
    /// The most sequences one request may share blocks among (parallel:N, beam:W).
    public static let maxSequences = 1024

    /// Runs the trace to completion. `progress` receives the fraction of requests done.
    public mutating func run(_ trace: [Request], progress: ((Double) -> Void)? = nil) throws(SimulationError) -> AllocationStats {
        var timer = FixedIterationTime(configuration.iterationSeconds)
        return try run(trace, timer: &timer, progress: progress)
    }

    /// Runs the trace to completion with iteration times from `timer`.
    public mutating func run<Timer: IterationTimer>(
        _ trace: [Request], timer: inout Timer, progress: ((Double) -> Void)? = nil
    ) throws(SimulationError) -> AllocationStats {
        var c = configuration
        if let fixed = timer.fixedSeconds { c.iterationSeconds = fixed }
        let blockSize = try Self.validate(c, trace: trace)
        let waiting = try Self.arrivals(trace, configuration: c, fixedClock: timer.fixedSeconds != nil)
        reset(c, blockSize: blockSize)
        let tally = try replay(waiting, configuration: c, blockSize: blockSize, timer: &timer, progress: progress)
        if c.checkInvariants, case .paged = c.policy {
            if !prefixTable.isEmpty { for block in prefixTable { pool.release(block) } }
            if pool.freeCount != pool.capacity {
                throw .invariant(iteration: tally.iterations, problems: ["\(pool.usedCount) blocks still allocated after the last request finished"])
            }
        }
        return summary(tally, waiting: waiting, configuration: c, timing: timer.label)
    }

    // MARK: Validation

    /// Checks the configuration and the trace before anything runs; returns the block size
    /// (1 for the contiguous policies). Each error names the input and what was expected.
    private static func validate(_ c: Configuration, trace: [Request]) throws(SimulationError) -> Int {
        guard c.iterationSeconds > 0 && c.iterationSeconds.isFinite else {
            throw .invalid("iteration time must be a positive number of seconds, found \(c.iterationSeconds)")
        }
        if let chunk = c.prefillChunk, chunk < 1 {
            throw .invalid("prefill chunk \(chunk): expected at least 1 token per iteration")
        }
        guard c.poolTokens >= 0 && c.poolTokens <= ServingSimulator.maxPoolTokens else {
            throw .invalid("the pool of \(c.poolTokens) token slots is more than the simulator holds (\(ServingSimulator.maxPoolTokens))")
        }
        guard c.maxLength >= 1 && c.maxLength <= ServingSimulator.maxRequestTokens else {
            throw .invalid("max-len \(c.maxLength): expected a length from 1 to \(ServingSimulator.maxRequestTokens)")
        }
        switch c.sharing {
        case .parallelSampling(let n) where n > ServingSimulator.maxSequences, .beamSearch(let n) where n > ServingSimulator.maxSequences:
            throw .invalid("sharing \(c.sharing): expected at most \(ServingSimulator.maxSequences) sequences per request, found \(n)")
        case .sharedPrefix(let t) where t < 0 || t > ServingSimulator.maxRequestTokens:
            throw .invalid("sharing \(c.sharing): expected a prefix from 1 to \(ServingSimulator.maxRequestTokens) tokens, found \(t)")
        default: break
        }
        for request in trace {
            guard request.promptTokens >= 1, request.outputTokens >= 0, request.arrival >= 0, request.arrival.isFinite,
                let final = Checked.sum(request.promptTokens, request.outputTokens), final <= ServingSimulator.maxRequestTokens
            else {
                throw .invalid(
                    "request \(request.id) (arrival \(request.arrival) s, \(request.promptTokens) prompt and \(request.outputTokens) output tokens): "
                        + "expected a finite arrival >= 0, at least 1 prompt token and at most \(ServingSimulator.maxRequestTokens) tokens in all")
            }
        }
        var blockSize = 1
        switch c.policy {
        case .paged(let b):
            guard b > 0 else { throw .invalid("block size must be positive, found \(b)") }
            guard c.poolTokens / b <= ServingSimulator.maxPoolBlocks else {
                throw .invalid(
                    "block-size \(b): the pool of \(c.poolTokens) token slots makes \(c.poolTokens / b) blocks, more than the simulator holds "
                        + "(\(ServingSimulator.maxPoolBlocks)); expected a block size of at least \(Checked.ceilDiv(c.poolTokens, ServingSimulator.maxPoolBlocks))")
            }
            blockSize = b
            if let h = c.hybrid {
                if let problem = h.problem() { throw .invalid("hybrid allocation: \(problem), found \(h)") }
                guard c.sharing == .none, c.eviction == nil else {
                    throw .invalid("hybrid allocation models neither sharing nor a --window eviction: give one of them")
                }
            }
        default:
            guard c.sharing == .none else { throw .invalid("sharing (\(c.sharing)) needs the paged policy") }
            guard c.hybrid == nil else { throw .invalid("hybrid allocation needs the paged policy") }
        }
        if let eviction = c.eviction {
            guard eviction.window >= 1, eviction.window <= ServingSimulator.maxRequestTokens, eviction.sinks >= 0,
                eviction.sinks <= ServingSimulator.maxRequestTokens
            else {
                throw .invalid("eviction: expected a window from 1 and sinks from 0 to \(ServingSimulator.maxRequestTokens) tokens, found \(eviction.window) and \(eviction.sinks)")
            }
            guard c.sharing == .none else {
                throw .invalid("sharing (\(c.sharing)) with a sliding window is not modeled: give one of them")
            }
        }
        if case .parallelSampling(let n) = c.sharing, n < 1 { throw .invalid("parallel sampling needs at least 1 sample") }
        if case .beamSearch(let w) = c.sharing, w < 1 { throw .invalid("beam search needs a width of at least 1") }
        return blockSize
    }

    /// The trace in arrival order (ties by id), each output clipped so that prompt +
    /// output fits `maxLength`. Ids must be unique; on a fixed clock the last arrival must
    /// fall within the iterations an Int counts.
    private static func arrivals(_ trace: [Request], configuration c: Configuration, fixedClock: Bool) throws(SimulationError) -> [Request] {
        let waiting = trace.sorted { ($0.arrival, $0.id) < ($1.arrival, $1.id) }.map { request -> Request in
            var r = request
            r.outputTokens = min(r.outputTokens, max(0, c.maxLength - r.promptTokens))
            return r
        }
        // Iterations are counted in an Int: an arrival past the last one is an error, not a trap.
        let lastIteration = Double(Int.max / 4)
        if fixedClock, let late = waiting.last, late.arrival / c.iterationSeconds >= lastIteration {
            throw .invalid(
                "request \(late.id) arrives at \(late.arrival) s, past the simulator's clock (\(lastIteration * c.iterationSeconds) s "
                    + "in iterations of \(c.iterationSeconds) s); expected earlier arrivals or a higher arrival rate")
        }
        var ids = Set<Int>()
        for r in waiting {
            guard ids.insert(r.id).inserted else { throw .invalid("request id \(r.id) appears twice in the trace") }
        }
        return waiting
    }

    /// Empties the pool (or the contiguous allocator) and the run's other state.
    private mutating func reset(_ c: Configuration, blockSize: Int) {
        if case .paged = c.policy {
            pool = BlockPool(capacity: c.hybrid?.poolBlocks ?? c.poolTokens / blockSize)
        } else {
            contiguous = ContiguousAllocator(capacity: c.poolTokens, strategy: c.contiguousStrategy)
        }
        generator = SeededGenerator(seed: c.seed)
        copies = 0
        prefixTable = []
    }

    // MARK: The event loop

    /// What the iterations add up, for the summary.
    private struct Tally {
        var completed = 0, preemptions = 0, iterations = 0, maxBatch = 0, batchSum = 0
        /// Token-slot units summed over iterations (no sharing): token states, reserved,
        /// internal and external fragmentation.
        var tokens = 0.0, reserved = 0.0, unusable = 0.0, external = 0.0
        /// With sharing: blocks held, and blocks private copies would hold, summed.
        var heldBlocks = 0.0, privateBlocks = 0.0
        /// Hybrid: blocks of each kind's groups, summed and at most.
        var kindBlocks: [Double] = [], kindPeaks: [Int] = []
        /// When each request's first token came and when it finished, by id.
        var firstToken: [Int: Double] = [:]
        var finished: [Int: Double] = [:]
        /// KV memory in use and requests admitted over time, sampled.
        var timeline = ServingTimeline()
        /// Requests admitted at least once, by id.
        var admitted = Set<Int>()
    }

    /// Runs the iterations until every request has finished: each admits arrivals first
    /// come, first served, runs one decode step of every prompted request (preempting the
    /// newest when blocks run out) and prompt chunks within the token budget, takes its
    /// time from `timer`, accounts its memory and retires finished requests.
    private mutating func replay<Timer: IterationTimer>(
        _ waiting: [Request], configuration c: Configuration, blockSize: Int, timer: inout Timer, progress: ((Double) -> Void)?
    ) throws(SimulationError) -> Tally {
        let fixed = timer.fixedSeconds != nil
        var tally = Tally()
        // The next request to arrive; a cursor rather than removeFirst, so a long trace is O(n).
        var nextArrival = 0
        var queue = RequestQueue()
        var running: [Running] = []
        var clock = 0.0
        while tally.completed < waiting.count {
            let now = fixed ? Double(tally.iterations) * c.iterationSeconds : clock
            while nextArrival < waiting.count, waiting[nextArrival].arrival <= now {
                queue.append(waiting[nextArrival])
                nextArrival += 1
            }
            let blockedNeed = try admit(&queue, into: &running, blockSize: blockSize, iteration: tally.iterations, admitted: &tally.admitted)
            var batch = decodeStep(&running, queue: &queue, blockSize: blockSize, tally: &tally)
            let prompted = promptChunks(&running, batch: &batch, configuration: c)
            let end = now + (fixed ? c.iterationSeconds : try seconds(batch, timer: &timer))
            for id in prompted where tally.firstToken[id] == nil { tally.firstToken[id] = end }
            tally.maxBatch = max(tally.maxBatch, running.count)
            tally.batchSum += running.count
            account(running, blocked: blockedNeed != nil, configuration: c, blockSize: blockSize, now: now, waiting: queue.count, tally: &tally)
            if c.checkInvariants, case .paged = c.policy {
                let tables = running.flatMap(\.tables) + running.flatMap { $0.groups?.allTables ?? [] } + (prefixTable.isEmpty ? [] : [prefixTable])
                let problems = pool.invariantViolations(tables: tables)
                if !problems.isEmpty { throw .invariant(iteration: tally.iterations, problems: problems) }
            }
            // Retire finished requests.
            running.removeAll { r in
                guard r.pending == 0, r.tokens >= r.request.finalTokens else { return false }
                free(r)
                tally.completed += 1
                tally.finished[r.request.id] = end
                return true
            }
            clock = end
            if running.isEmpty && queue.isEmpty, nextArrival < waiting.count {
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
        return tally
    }

    /// Admits queued requests first come, first served, stopping at the first that does
    /// not fit: returns the slots it needs (nil when the queue emptied). A request that
    /// does not fit an empty pool can never run.
    private mutating func admit(
        _ queue: inout RequestQueue, into running: inout [Running], blockSize: Int, iteration: Int, admitted ids: inout Set<Int>
    ) throws(SimulationError) -> Int? {
        while let head = queue.first {
            if let admitted = try admit(head, blockSize: blockSize, iteration: iteration) {
                running.append(admitted)
                ids.insert(head.id)
                queue.removeFirst()
            } else {
                let blockedNeed = need(head, blockSize: blockSize)
                if running.isEmpty { throw .stuck(requestID: head.id, needed: blockedNeed, pool: configuration.poolTokens) }
                return blockedNeed
            }
        }
        return nil
    }

    /// One decode step for every request whose prompt was computed in an earlier
    /// iteration; when blocks run out the most recently admitted request is preempted
    /// (its tokens so far become prompt, recomputed when it is admitted again).
    private mutating func decodeStep(_ running: inout [Running], queue: inout RequestQueue, blockSize: Int, tally: inout Tally) -> IterationBatch {
        var index = 0
        var decodeSequences = 0, decodeContext = 0
        while index < running.count {
            if running[index].pending == 0 {
                if !grow(&running[index], blockSize: blockSize) {
                    // Out of blocks: preempt the most recently admitted request.
                    let victim = running.removeLast()
                    free(victim)
                    var requeued = victim.request
                    let generated = victim.tokens - victim.request.promptTokens
                    requeued.promptTokens += generated
                    requeued.outputTokens -= generated
                    queue.prepend(requeued)
                    tally.preemptions += 1
                    continue
                }
                let sequences = max(1, running[index].tables.count)
                decodeSequences += sequences
                decodeContext += sequences * running[index].tokens
            }
            index += 1
        }
        return IterationBatch(decodeSequences: decodeSequences, decodeContextTokens: decodeContext)
    }

    /// Prompt chunks within the iteration's token budget (the decode steps come first),
    /// first come, first served; returns the ids of the requests whose prompt is now done.
    private func promptChunks(_ running: inout [Running], batch: inout IterationBatch, configuration c: Configuration) -> [Int] {
        var budget = c.prefillChunk.map { $0 - batch.decodeSequences } ?? Int.max
        var prompted: [Int] = []
        for i in running.indices where running[i].pending > 0 && budget > 0 {
            let take = min(running[i].pending, budget)
            let prompt = running[i].request.promptTokens
            batch.prefill.append(.init(tokens: take, context: prompt - running[i].pending + take))
            running[i].pending -= take
            budget -= take
            if running[i].pending == 0 { prompted.append(running[i].request.id) }
        }
        return prompted
    }

    /// The time of an iteration over `batch` from a timer that depends on it (0 for an
    /// empty batch); a timer's failure or a time that is not positive and finite is an error.
    private func seconds<Timer: IterationTimer>(_ batch: IterationBatch, timer: inout Timer) throws(SimulationError) -> Double {
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

    /// Adds this iteration's memory to the tally: token states, reservations and internal
    /// fragmentation of every running request, external fragmentation while a request
    /// waits for memory (`blocked`), blocks per group (hybrid), and with sharing the
    /// blocks held against the blocks private copies would hold.
    /// Adds one iteration's memory to the tally (token states, reserved, internal and
    /// external fragmentation; blocks per group; held and private blocks with sharing) and
    /// offers a timeline sample taken at `now` with `waiting` requests queued.
    private func account(
        _ running: [Running], blocked: Bool, configuration c: Configuration, blockSize: Int, now: Double, waiting: Int, tally: inout Tally
    ) {
        var tokens = 0, reserved = 0, unusable = 0
        for r in running {
            let final = c.eviction?.kept(r.request.finalTokens) ?? r.request.finalTokens
            let held = c.eviction?.kept(r.tokens) ?? r.tokens
            let sequences = r.tables.isEmpty ? 1 : r.tables.count
            let allocated: Int
            if case .paged = c.policy {
                allocated = (r.tables.first?.count ?? 0) * blockSize
            } else {
                allocated = r.extentLength
            }
            if let h = c.hybrid {
                // Token-group units: each group's tokens, counted once per group.
                let split = r.groups?.account(tokens: r.tokens, final: r.request.finalTokens, h, blockSize: blockSize) ?? (tokens: 0, reserved: 0, unusable: 0)
                tokens += split.tokens
                reserved += split.reserved
                unusable += split.unusable
                continue
            }
            let used = min(final, allocated)
            tokens += held * sequences
            reserved += max(0, used - held) * sequences
            unusable += (allocated - used) * sequences
        }
        tally.timeline.offer(.init(
            seconds: now, usedTokens: tokens, allocatedTokens: tokens + reserved + unusable, running: running.count, waiting: waiting,
            admitted: tally.admitted.count))
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
        if c.sharing == .none {
            tally.tokens += Double(tokens)
            tally.reserved += Double(reserved)
            tally.unusable += Double(unusable)
            tally.external += Double(external)
        } else {
            tally.heldBlocks += Double(pool.usedCount)
            tally.privateBlocks += Double(running.reduce(0) { $0 + $1.tables.reduce(0) { $0 + $1.count } } + privatePrefixBlocks(running))
        }
    }

    // MARK: The summary

    /// The statistics of a finished run: memory fractions, batch sizes, preemptions and
    /// copies, throughput, and the TTFT, TPOT and normalized-latency distributions.
    private func summary(_ tally: Tally, waiting: [Request], configuration c: Configuration, timing: String) -> AllocationStats {
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
        let span = lastFinish - (waiting.first?.arrival ?? 0)
        let total = tally.tokens + tally.reserved + tally.unusable + tally.external
        func fraction(_ x: Double) -> Double? { c.sharing == .none ? (total > 0 ? x / total : 0) : nil }
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
        return stats
    }

    /// Blocks of the shared prefix that private copies would hold: one copy per sequence.
    private func privatePrefixBlocks(_ running: [Running]) -> Int {
        guard case .sharedPrefix = configuration.sharing else { return 0 }
        return prefixTable.count * running.count
    }

    /// Slots (contiguous) or blocks x size (paged) a request needs to be admitted.
    private func need(_ request: Request, blockSize: Int) -> Int {
        switch configuration.policy {
        case .paged:
            if let h = configuration.hybrid {
                // Blocks of every group, in token slots of the whole model (rounded up).
                let blocks = h.promptPoolBlocks(request.promptTokens, blockSize: blockSize) + h.watermarkBlocks
                return Checked.ceilDiv(blocks * blockSize, h.totalGroups)
            }
            // Overflow-free: prompts are at most 2^40 tokens and sequences at most 1024 (checked in run).
            return (promptBlocks(request.promptTokens, blockSize: blockSize) + configuration.sharing.sequences) * blockSize
        default:
            return contiguous.footprint(reservation(request))
        }
    }

    /// Blocks a prompt of `tokens` occupies (at most the eviction's blocks).
    private func promptBlocks(_ tokens: Int, blockSize: Int) -> Int {
        let blocks = Checked.ceilDiv(tokens, blockSize)
        return configuration.eviction.map { min(blocks, $0.maxBlocks(blockSize)) } ?? blocks
    }

    /// Slots a contiguous policy reserves for `request` (capped by the eviction).
    private func reservation(_ request: Request) -> Int {
        let length = configuration.policy.reservation(finalTokens: request.finalTokens, maxLength: configuration.maxLength)
        return configuration.eviction.map { min(length, $0.kept(length)) } ?? length
    }

    private mutating func admit(_ request: Request, blockSize: Int, iteration: Int) throws(SimulationError) -> Running? {
        let c = configuration
        switch c.policy {
        case .paged:
            if let h = c.hybrid {
                guard let groups = LayerGroupTables.admit(prompt: request.promptTokens, h, blockSize: blockSize, pool: &pool) else { return nil }
                var r = Running(
                    request: request, tokens: request.promptTokens, tables: [], extentStart: 0, extentLength: 0, admittedAt: iteration,
                    pending: request.promptTokens)
                r.groups = groups
                return r
            }
            var prefixTokens = 0
            if case .sharedPrefix(let tokens) = c.sharing {
                prefixTokens = min(tokens, request.promptTokens) / blockSize * blockSize
            }
            let sequences = c.sharing.sequences
            let promptBlocks = self.promptBlocks(request.promptTokens - prefixTokens, blockSize: blockSize)
            let prefixBlocksNeeded = prefixTokens > 0 && prefixTable.isEmpty ? prefixTokens / blockSize : 0
            // Room for the prompt and one new block per sequence (a watermark, as vLLM keeps).
            guard pool.freeCount >= promptBlocks + prefixBlocksNeeded + sequences else { return nil }
            if prefixBlocksNeeded > 0 {
                for _ in 0..<prefixBlocksNeeded { if let block = pool.allocate() { prefixTable.append(block) } }
            }
            var table: [Int] = []
            if prefixTokens > 0 {
                for block in prefixTable.prefix(prefixTokens / blockSize) {
                    pool.retain(block)
                    table.append(block)
                }
            }
            for _ in 0..<promptBlocks { if let block = pool.allocate() { table.append(block) } }
            var tables = [table]
            for _ in 1..<max(1, sequences) {
                for block in table { pool.retain(block) }
                tables.append(table)
            }
            return Running(
                request: request, tokens: request.promptTokens, tables: tables, extentStart: 0, extentLength: 0, admittedAt: iteration,
                pending: request.promptTokens)
        default:
            let length = reservation(request)
            guard let start = contiguous.allocate(length) else { return nil }
            return Running(
                request: request, tokens: request.promptTokens, tables: [], extentStart: start, extentLength: contiguous.footprint(length),
                admittedAt: iteration, pending: request.promptTokens)
        }
    }

    /// One more token for every sequence of `r`; false when the pool ran out.
    private mutating func grow(_ r: inout Running, blockSize: Int) -> Bool {
        guard case .paged = configuration.policy else {
            r.tokens += 1
            return true
        }
        if case .beamSearch(let width) = configuration.sharing, width > 1 {
            // The new beams descend from the current ones, favouring the best: parent
            // index floor(width * u^2) for uniform u. Children share the parent's blocks;
            // beams left without children are freed.
            var next: [[Int]] = []
            for _ in 0..<width {
                let u = generator.nextUnit()
                let parent = min(width - 1, Int(Double(width) * u * u))
                for block in r.tables[parent] { pool.retain(block) }
                next.append(r.tables[parent])
            }
            for table in r.tables { for block in table { pool.release(block) } }
            r.tables = next
        }
        let position = r.tokens
        if let h = configuration.hybrid {
            // Each kind of group by its rule (`LayerGroupTables.grow`).
            guard r.groups?.grow(position: position, h, blockSize: blockSize, pool: &pool) ?? false else { return false }
            r.tokens += 1
            return true
        }
        if let eviction = configuration.eviction, r.tables.count == 1 {
            // One sequence (sharing is refused with eviction). A token that starts a new
            // block takes a free block, or, once the sequence holds all the blocks it may,
            // the oldest window block (after the sink blocks), whose tokens left the window.
            if position % blockSize == 0 {
                if r.tables[0].count >= eviction.maxBlocks(blockSize) {
                    let reused = r.tables[0].remove(at: Checked.ceilDiv(eviction.sinks, blockSize))
                    r.tables[0].append(reused)
                } else {
                    guard let block = pool.allocate() else { return false }
                    r.tables[0].append(block)
                }
            }
            r.tokens += 1
            return true
        }
        for s in r.tables.indices {
            if position / blockSize >= r.tables[s].count {
                guard let block = pool.allocate() else { return false }
                r.tables[s].append(block)
            } else if let last = r.tables[s].last, pool.referenceCount(last) > 1 {
                // Copy on write: the first write into a shared block copies that block only.
                guard let block = pool.allocate() else { return false }
                pool.release(last)
                r.tables[s][r.tables[s].count - 1] = block
                copies += 1
            }
        }
        r.tokens += 1
        return true
    }

    private mutating func free(_ r: Running) {
        if case .paged = configuration.policy {
            for table in r.tables { for block in table { pool.release(block) } }
            r.groups?.release(pool: &pool)
        } else {
            contiguous.release(start: r.extentStart, length: r.extentLength)
        }
    }
}

/// A first-come, first-served queue of requests: O(1) at both ends (a head index into an
/// array, compacted when half of it is spent).
struct RequestQueue {
    private var items: [Request] = []
    private var head = 0

    var isEmpty: Bool { head == items.count }
    /// Requests waiting.
    var count: Int { items.count - head }
    var first: Request? { isEmpty ? nil : items[head] }

    mutating func append(_ request: Request) { items.append(request) }

    /// Puts a preempted request back at the front.
    mutating func prepend(_ request: Request) {
        if head > 0 {
            head -= 1
            items[head] = request
        } else {
            items.insert(request, at: 0)
        }
    }

    mutating func removeFirst() {
        head += 1
        if head == items.count {
            items.removeAll(keepingCapacity: true)
            head = 0
        } else if head > 1024 && head * 2 > items.count {
            items.removeFirst(head)
            head = 0
        }
    }
}
