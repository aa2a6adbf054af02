import AttnHardware
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
        /// Prefix caching: full blocks stay cached under their content's key after their
        /// request lets go of them, and a prompt starting with cached blocks takes them
        /// instead of computing them again (`BlockPool`). Paged policy, one block table per
        /// request: no sharing, no sliding window, no hybrid allocation.
        public var prefixCaching: Bool
        /// What a preemption does with the victim's blocks (paged policy).
        public var preemption: Preemption
        /// A disaggregated decode pool (`DisaggregatedCluster`): each request arrives with
        /// its prompt's KV computed by a prefill pool and transferred, so its first
        /// admission allocates the prompt's blocks without computing them, and its first
        /// token counts from its arrival here (a preempted request recomputes as usual).
        public var promptsArriveComputed = false

        public init(
            policy: AllocationPolicy, poolTokens: Int, maxLength: Int, contiguousStrategy: ContiguousAllocator.Strategy = .firstFit,
            sharing: SharingMode = .none, iterationSeconds: Double = 0.05, seed: UInt64 = 1, checkInvariants: Bool = false,
            eviction: Eviction? = nil, prefillChunk: Int? = nil, hybrid: Hybrid? = nil, prefixCaching: Bool = false,
            preemption: Preemption = .recompute
        ) {
            self.prefixCaching = prefixCaching
            self.preemption = preemption
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

    /// What happens to a preempted request's blocks (Kwon et al. 2023, Section 4.5).
    public enum Preemption: Sendable, Equatable, CustomStringConvertible {
        /// Freed; the request's tokens so far become its prompt, computed again when it is
        /// admitted again.
        case recompute
        /// Copied to a memory level below HBM and copied back before it runs again,
        /// while room is left there (else recomputed).
        case swap(Swap)

        public var description: String {
            switch self {
            case .recompute: return "recompute"
            case .swap(let s): return "swap to \(s.tier.name)"
            }
        }
    }

    /// Swapping: where blocks go and what moving one costs. As vLLM swaps, each block is
    /// one copy per layer for its keys and one for its values (`transfersPerBlock` =
    /// 2 x the layers a block holds: every attention layer, or under hybrid allocation the
    /// g layers of one group), each moving blockBytes / transfersPerBlock bytes, and a
    /// request is swapped out or in whole (all or nothing, Section 4.5); the iteration
    /// that moves blocks takes the transfer time on top of its computation. The swap holds
    /// the level and the geometry; the seconds are the iteration timer's
    /// (`IterationTimer.tierTransferSeconds`).
    public struct Swap: Sendable, Equatable {
        public var tier: MemoryTier
        /// Blocks the lower level holds (the paper bounds vLLM's swap space by the GPU's
        /// own KV blocks).
        public var capacityBlocks: Int
        /// Bytes of one pool block (block size x bytes per token; under hybrid allocation
        /// block size x g layers x bytes per token and layer).
        public var blockBytes: Int
        public var transfersPerBlock: Int

        public init(tier: MemoryTier, capacityBlocks: Int, blockBytes: Int, transfersPerBlock: Int) {
            self.tier = tier
            self.capacityBlocks = capacityBlocks
            self.blockBytes = blockBytes
            self.transfersPerBlock = transfersPerBlock
        }

        /// Seconds to move `blocks` blocks one way, as `timer` times copies to and from
        /// the tier: blocks x transfersPerBlock copies of blocks x blockBytes bytes in all.
        public func seconds<Timer: IterationTimer>(blocks: Int, timer: Timer) -> Double {
            timer.tierTransferSeconds(bytes: blocks * blockBytes, transfers: blocks * transfersPerBlock, tier: tier)
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
    public enum SimulationError: AdvisedError, Sendable, Equatable {
        case invalid(String)
        /// An input the simulator cannot take, naming the settings to change.
        case invalidSetting(Advice)
        case invariant(iteration: Int, problems: [String])
        case stuck(requestID: Int, needed: Int, pool: Int)

        public var advice: Advice {
            if case .invalidSetting(let advice) = self { return advice }
            return Advice(description)
        }

        public var description: String {
            switch self {
            case .invalid(let message): return message
            case .invalidSetting(let advice): return advice.description
            case .invariant(let iteration, let problems):
                return "block pool invariant broken at iteration \(iteration): " + problems.joined(separator: "; ")
            case .stuck(let id, let needed, let pool):
                return "request \(id) needs \(needed) token slots but the pool has only \(pool); it can never be admitted"
            }
        }
    }

    /// One running request.
    struct Running {
        var request: Request
        /// Tokens each sequence holds.
        var tokens: Int
        /// Paged: one block table per sequence.
        var tables: [[Int]]
        /// Contiguous: the start of each sequence's reserved extent, all of one length.
        var extents: [Int] = []
        var extentLength: Int = 0
        var admittedAt: Int
        /// Prompt tokens still to compute (chunked prefill); 0 once the prompt is done.
        var pending: Int
        /// Hybrid: the blocks of every layer group.
        var groups: LayerGroupTables? = nil
        /// Prefix caching: leading blocks of the table registered under their keys.
        var registered = 0
        /// Swapped out: the blocks the lower level holds for it.
        var swappedBlocks = 0
    }

    public let configuration: Configuration

    public init(_ configuration: Configuration) {
        self.configuration = configuration
    }

    // Mutable run state.
    var pool = BlockPool(capacity: 0)
    var contiguous = ContiguousAllocator(capacity: 0, strategy: .firstFit)
    var prefixTable: [Int] = []
    var generator = SeededGenerator(seed: 1)
    var copies = 0
    /// The block size of the run (1 for contiguous policies).
    var blockSize = 1
    var tally = Tally()
    var queue = RequestQueue()
    var running: [Running] = []
    /// Swapped-out requests, first preempted first; each holds `tables.count` x its
    /// blocks' worth of the lower level.
    var swapped: [Running] = []
    var hostBlocksUsed = 0
    /// Blocks moved to or from the lower level in the current iteration.
    var movedBlocks = 0

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
        let waiting = try Self.arrivals(trace, configuration: c, fixedClock: timer.fixedSeconds != nil && c.preemption == .recompute)
        reset(c, blockSize: blockSize)
        try replay(waiting, configuration: c, timer: &timer, progress: progress)
        try checkEmptyPool(c)
        tally.evictions = pool.evictions
        return summary([tally], waiting: waiting, configuration: c, timing: timer.label)
    }

    /// With invariant checks: after the last request every block is free or cached.
    func checkEmptyPool(_ c: Configuration) throws(SimulationError) {
        guard c.checkInvariants, case .paged = c.policy else { return }
        var pool = self.pool
        if !prefixTable.isEmpty { for block in prefixTable { pool.release(block) } }
        if pool.usedCount != 0 {
            throw .invariant(iteration: tally.iterations, problems: ["\(pool.usedCount) blocks still allocated after the last request finished"])
        }
    }

    // MARK: Validation

    /// Checks the configuration and the trace before anything runs; returns the block size
    /// (1 for the contiguous policies). Each error names the input and what was expected.
    static func validate(_ c: Configuration, trace: [Request]) throws(SimulationError) -> Int {
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
                    throw .invalidSetting("hybrid allocation models neither sharing nor a \(Remedy.window) eviction: give one of them")
                }
            }
        default:
            // Contiguous policies keep a private copy per sequence (parallel samples, beams).
            guard c.hybrid == nil else { throw .invalid("hybrid allocation needs the paged policy") }
            guard !c.prefixCaching else { throw .invalid("prefix caching needs the paged policy") }
        }
        if c.prefixCaching {
            guard c.sharing == .none, c.eviction == nil, c.hybrid == nil else {
                throw .invalid(
                    "prefix caching is modeled without sharing, a sliding window or hybrid allocation (its blocks must keep the tokens "
                        + "their key names, which shared, window, chunked and state blocks do not): give one of them")
            }
        }
        if case .swap(let swap) = c.preemption {
            guard case .paged = c.policy, c.sharing == .none else {
                throw .invalid("swapping preempted requests is modeled for the paged policy without sharing (a request's sequences share blocks)")
            }
            guard swap.capacityBlocks >= 0, swap.blockBytes >= 1, swap.transfersPerBlock >= 1 else {
                throw .invalid("swap: expected a capacity of 0 or more blocks, blocks of at least 1 byte and 1 copy, found \(swap)")
            }
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
    static func arrivals(_ trace: [Request], configuration c: Configuration, fixedClock: Bool) throws(SimulationError) -> [Request] {
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
    mutating func reset(_ c: Configuration, blockSize: Int) {
        self.blockSize = blockSize
        if case .paged = c.policy {
            pool = BlockPool(capacity: c.hybrid?.poolBlocks ?? c.poolTokens / blockSize)
        } else {
            contiguous = ContiguousAllocator(capacity: c.poolTokens, strategy: c.contiguousStrategy)
        }
        generator = SeededGenerator(seed: c.seed)
        copies = 0
        prefixTable = []
        tally = Tally()
        queue = RequestQueue()
        running = []
        swapped = []
        hostBlocksUsed = 0
        movedBlocks = 0
    }
}
