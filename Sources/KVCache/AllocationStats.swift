/// What a serving simulation measured, time-averaged over its iterations.
///
/// Each iteration splits the KV memory in use into four parts (the breakdown of Kwon et
/// al. 2023, Figure 2):
/// - token states: slots holding a token's keys and values;
/// - reserved: slots allocated for tokens the request will still produce;
/// - internal fragmentation: allocated slots the request will never fill;
/// - external fragmentation: free slots that the first waiting request cannot use
///   (counted while a request is waiting for memory).
/// Each fraction is that part summed over iterations divided by the sum of all four. With
/// block sharing a slot can serve several sequences, so the split is not defined and the
/// fractions are nil; `sharingSavedFraction` measures sharing instead.
public struct AllocationStats: Sendable, Equatable {
    public var policy: String
    public var requests: Int
    public var completed: Int
    public var iterations: Int
    public var poolTokens: Int
    public var tokenFraction: Double?
    public var reservedFraction: Double?
    public var internalFragmentationFraction: Double?
    public var externalFragmentationFraction: Double?
    /// Most requests running at once.
    public var maxBatch: Int
    /// Mean requests running per iteration.
    public var meanBatch: Double
    /// Requests evicted to make room (paged policy; recomputed later).
    public var preemptions: Int
    /// Blocks copied on write (sharing modes).
    public var copyOnWriteCopies: Int
    /// With sharing: 1 - blocks held / blocks that private copies would hold, time-averaged.
    public var sharingSavedFraction: Double
    /// Which iteration time was used (`IterationTimer.label`).
    public var timing: String
    /// The serving engine's host time added to every iteration (`PagedStudy.hostOverheadSeconds`,
    /// in `timing` too); 0: the kernels alone.
    public var hostOverheadSeconds: Double = 0
    /// Chunked prefill's token budget per iteration, or nil.
    public var prefillChunk: Int?
    /// When the last request finished, seconds from time 0.
    public var seconds: Double
    /// Completed requests / (last finish - first arrival).
    public var requestsPerSecond: Double
    /// Output tokens of completed requests / (last finish - first arrival).
    public var outputTokensPerSecond: Double
    /// Time to first token: end of the iteration that finishes the prompt - arrival.
    public var ttft: LatencySummary
    /// Time per output token: (finish - first token) / output tokens (requests with output).
    public var tpot: LatencySummary
    /// (finish - arrival) / output tokens, vLLM's normalized latency (Kwon et al. 2023, section 6).
    public var normalizedLatency: LatencySummary
    /// Poisson arrival rate of a synthetic trace (set by `PagedStudy`), nil for a CSV trace.
    public var rate: Double? = nil
    /// Hybrid allocation (a model with global and windowed layers): the blocks each kind
    /// of layer group held; nil for one group.
    public var groupUsage: [ServingSimulator.GroupUsage]? = nil
    /// Hybrid allocation: blocks in the shared pool (each B tokens of one group's layers).
    public var poolBlocks: Int? = nil
    /// KV memory in use and requests admitted over time, sampled (`ServingTimeline`).
    public var timeline: [ServingTimeline.Sample] = []
    /// Prefix caching: what the cache saved; nil without it.
    public var prefixCache: PrefixCacheStats? = nil
    /// Swapping preempted requests: what moved; nil with recomputation.
    public var swap: SwapStats? = nil
    /// Several replicas behind a router: how many and which router; nil for one.
    public var cluster: ClusterStats? = nil
    /// Disaggregated prefill and decode (`DisaggregatedCluster`); nil: one pool does both.
    public var disaggregation: DisaggregationStats? = nil

    /// Prompt tokens looked up in the prefix cache, found there, and computed.
    public struct PrefixCacheStats: Sendable, Equatable {
        /// Prompt tokens of every admission (a preempted request's counted again).
        public var promptTokens: Int
        /// Of those, tokens whose blocks were cached (not computed).
        public var hitTokens: Int
        /// Prompt tokens computed (prefill and recomputation).
        public var computedTokens: Int
        /// Cached blocks evicted (least recently used) to make room.
        public var evictions: Int

        /// hitTokens / promptTokens, vLLM's prefix cache hit rate.
        public var hitFraction: Double { promptTokens > 0 ? Double(hitTokens) / Double(promptTokens) : 0 }
    }

    /// Requests swapped out, blocks and bytes moved either way, seconds spent moving them.
    public struct SwapStats: Sendable, Equatable {
        public var tier: String
        public var swapOuts: Int
        public var movedBlocks: Int
        public var movedBytes: Int
        public var transferSeconds: Double
    }

    /// Replicas and their router.
    public struct ClusterStats: Sendable, Equatable {
        public var replicas: Int
        public var router: String
        /// Requests each replica served.
        public var requestsPerReplica: [Int]
    }

    /// A prefill pool and a decode pool, the KV of each prompt sent between them.
    public struct DisaggregationStats: Sendable, Equatable {
        public var prefillReplicas: Int
        public var decodeReplicas: Int
        /// Requests each prefill replica served.
        public var prefillRequestsPerReplica: [Int]
        /// Iterations the prefill replicas ran.
        public var prefillIterations: Int
        /// KV bytes sent from the prefill to the decode pool (every request's prompt, each
        /// GPU's share: prompt tokens x KV bytes per token and GPU).
        public var transferBytes: Int
        /// Seconds of those transfers, summed and the longest.
        public var transferSeconds: Double
        public var longestTransferSeconds: Double
        /// Prefill's own TTFT (the first token leaving the prefill pool), before the transfer.
        public var prefillTTFT: LatencySummary
    }
}
