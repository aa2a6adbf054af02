import AttnHardware
/// What one serving iteration computes: prompt chunks (prefill) and one new token for each
/// decoding sequence, the input of an `IterationTimer`.
public struct IterationBatch: Sendable, Equatable {
    /// One request's prompt chunk: `tokens` new prompt tokens whose context (the cached
    /// tokens plus these) is `context`.
    public struct Chunk: Sendable, Equatable {
        public var tokens: Int
        public var context: Int

        public init(tokens: Int, context: Int) {
            self.tokens = tokens
            self.context = context
        }
    }

    public var prefill: [Chunk]
    /// Sequences generating one token (parallel samples and beams count one each).
    public var decodeSequences: Int
    /// The decoding sequences' contexts summed (each includes its new token).
    public var decodeContextTokens: Int
    /// Prefix caching: the cached blocks that several decoding sequences of this iteration
    /// hold, as readers -> blocks (m -> how many blocks m decoding sequences hold; m >= 2),
    /// the blocks a cascade kernel reads once for a group instead of once per sequence.
    public var sharedDecodeBlocks: [Int: Int]
    /// Tokens per block of `sharedDecodeBlocks`.
    public var blockTokens: Int

    public init(prefill: [Chunk] = [], decodeSequences: Int = 0, decodeContextTokens: Int = 0, sharedDecodeBlocks: [Int: Int] = [:], blockTokens: Int = 0) {
        self.prefill = prefill
        self.decodeSequences = decodeSequences
        self.decodeContextTokens = decodeContextTokens
        self.sharedDecodeBlocks = sharedDecodeBlocks
        self.blockTokens = blockTokens
    }

    /// The decode KV tokens a cascade kernel does not read (FlashInfer's cascade attention,
    /// Ye et al. 2025; `cascade.tile`): its prefix kernel stacks the queries of up to
    /// `requestsPerBlock` requests (Bb) in one tile and reads their shared block once, so a
    /// block held by m decoding sequences is read cdiv(m, Bb) times instead of m:
    ///
    ///     saved = sum over shared blocks of (m - cdiv(m, Bb)) x block tokens
    ///
    /// (a multi-level cascade: every level of the radix tree is a prefix read once).
    public func cascadeSavedTokens(requestsPerBlock: Int) -> Int {
        let bb = max(1, requestsPerBlock)
        return sharedDecodeBlocks.reduce(0) { sum, entry in
            sum + (entry.key - (entry.key + bb - 1) / bb) * entry.value * blockTokens
        }
    }

    public var isEmpty: Bool { prefill.isEmpty && decodeSequences == 0 }
    /// Prompt tokens of the iteration.
    public var prefillTokens: Int { prefill.reduce(0) { $0 + $1.tokens } }
}

/// How long a serving iteration takes. `ServingSimulator` asks once per iteration; the
/// whole-model predictor (`AttnModel.ModelIterationTimer`) and a fixed time implement it,
/// so the KV-cache module does not depend on the model.
public protocol IterationTimer {
    /// Says which timing is used, for reports (`fixed 0.05 s`, `model llama-2-7b on h100-sxm`).
    var label: String { get }
    /// The fixed time of every iteration, or nil when it depends on the batch.
    var fixedSeconds: Double? { get }
    /// Seconds one iteration over `batch` takes (`batch` is never empty).
    mutating func seconds(_ batch: IterationBatch) throws -> Double
    /// Seconds to send `bytes` from one GPU to another over `link` (disaggregation's KV
    /// hand-off). The model timer asks the cost model (NCCL's send, `CostModel.send`); the
    /// default is the profile's own figures, alpha + bytes / beta.
    func transferSeconds(bytes: Int, over link: Interconnect) -> Double
    /// Seconds to copy `bytes` between HBM and `tier` (host memory or NVMe) as `transfers`
    /// copies one after another (swapping a preempted request's blocks). The model timer
    /// asks the cost model (`CostModel.tierTransferSeconds`); the default is the profile's
    /// own figures, transfers x latency + bytes / bandwidth.
    func tierTransferSeconds(bytes: Int, transfers: Int, tier: MemoryTier) -> Double
}

extension IterationTimer {
    /// The profile's link figures: `latency_seconds` + bytes / `bytes_per_second`.
    public func transferSeconds(bytes: Int, over link: Interconnect) -> Double {
        link.latencySeconds + Double(bytes) / link.bytesPerSecond
    }

    /// The profile's tier figures: transfers x `latency_seconds` + bytes /
    /// `bytes_per_second` (a fixed clock has no cost model to ask; the model timer's
    /// `CostModel.tierTransferSeconds` charges the same figures today).
    public func tierTransferSeconds(bytes: Int, transfers: Int, tier: MemoryTier) -> Double {
        Double(max(0, transfers)) * tier.latencySeconds + Double(max(0, bytes)) / tier.bytesPerSecond
    }
}

/// Every iteration takes the same time.
public struct FixedIterationTime: IterationTimer, Sendable, Equatable {
    public var secondsPerIteration: Double

    public init(_ seconds: Double) { secondsPerIteration = seconds }

    public var label: String { "fixed \(secondsPerIteration) s" }
    public var fixedSeconds: Double? { secondsPerIteration }
    public func seconds(_ batch: IterationBatch) -> Double { secondsPerIteration }
}

/// A latency distribution over requests: mean and nearest-rank percentiles (the p-th
/// percentile of n sorted values is value number ceil(p x n / 100)).
public struct LatencySummary: Sendable, Equatable {
    public var count: Int
    public var mean: Double
    public var p50: Double
    public var p90: Double
    public var p99: Double

    public init(_ values: [Double]) {
        let sorted = values.sorted()
        count = sorted.count
        mean = sorted.isEmpty ? 0 : sorted.reduce(0, +) / Double(sorted.count)
        func rank(_ p: Int) -> Double {
            guard !sorted.isEmpty else { return 0 }
            let index = (p * sorted.count + 99) / 100 - 1
            return sorted[max(0, min(sorted.count - 1, index))]
        }
        p50 = rank(50)
        p90 = rank(90)
        p99 = rank(99)
    }
}
