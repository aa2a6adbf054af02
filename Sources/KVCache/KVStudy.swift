import AttnHardware
import AttnNumerics

/// A footprint study: one model at several context lengths on one GPU.
public struct KVStudy: Sendable, Equatable {
    public var model: String
    public var contexts: [Int]
    public var batch: Int
    public var dtype: KVDType
    public var hardware: String
    public var weightBytesPerParameter: Int
    public var memoryUtilization: Double

    public init(
        model: String, contexts: [Int], batch: Int = 1, dtype: KVDType = .fp16, hardware: String = "h100-sxm",
        weightBytesPerParameter: Int = 2, memoryUtilization: Double = KVCapacity.defaultMemoryUtilization
    ) {
        self.model = model
        self.contexts = contexts
        self.batch = batch
        self.dtype = dtype
        self.hardware = hardware
        self.weightBytesPerParameter = weightBytesPerParameter
        self.memoryUtilization = memoryUtilization
    }

    /// One row per context.
    public func run() throws -> [KVRecord] {
        let spec = try ModelSpec.named(model)
        let profile = try HardwareProfile.named(hardware)
        let footprint = KVFootprint(model: spec, dtype: dtype)
        let capacity = KVCapacity(footprint: footprint, hardware: profile, weightBytesPerParameter: weightBytesPerParameter, memoryUtilization: memoryUtilization)
        return contexts.map { context in
            KVRecord(
                model: spec.id, attention: spec.attentionKind, hardware: profile.id, context: context, batch: batch,
                dtype: dtype.description, kvBytesPerToken: footprint.bytesPerToken,
                kvBytesPerSequence: footprint.kvBytesPerSequence(context: context),
                ssmStateBytesPerSequence: footprint.ssmStateBytesPerSequence,
                kvBytesTotal: batch * footprint.bytesPerSequence(context: context),
                weightBytes: capacity.weightBytes, budgetBytes: capacity.budgetBytes,
                maxSequences: capacity.sequences(context: context), tokenSlots: capacity.tokenSlots)
        }
    }
}

/// One footprint row: a model at one context length and batch.
public struct KVRecord: Sendable, Equatable {
    public var model: String
    /// MHA, GQA or MQA.
    public var attention: String
    public var hardware: String
    public var context: Int
    public var batch: Int
    public var dtype: String
    /// Attention K and V bytes per token, all layers (before any window cap).
    public var kvBytesPerToken: Int
    /// Attention K and V bytes of one sequence at this context (window-capped).
    public var kvBytesPerSequence: Int
    /// SSM state of one sequence (hybrid models), constant in the context.
    public var ssmStateBytesPerSequence: Int
    /// batch x (KV + SSM state) per sequence.
    public var kvBytesTotal: Int
    public var weightBytes: Int
    /// HBM left for the cache after the weights (see `KVCapacity`).
    public var budgetBytes: Int
    /// Sequences of this context that fit at once.
    public var maxSequences: Int
    /// Token slots that fit.
    public var tokenSlots: Int

    /// Whether the batch fits next to the weights.
    public var fits: Bool { budgetBytes >= 0 && kvBytesTotal <= budgetBytes }
}

/// An allocation study: one model, one trace, several policies.
public struct PagedStudy: Sendable, Equatable {
    public var model: String
    /// `sharegpt`, `alpaca` or a CSV path.
    public var trace: String
    public var requests: Int
    /// Poisson arrival rate of synthetic traces, requests per second.
    public var rate: Double
    public var blockSize: Int
    public var maxLength: Int
    public var policies: [String]
    public var allocator: ContiguousAllocator.Strategy
    public var sharing: SharingMode
    public var dtype: KVDType
    public var hardware: String
    public var memoryUtilization: Double
    public var seed: UInt64

    public static let allPolicies = ["paged", "contiguous-max", "contiguous-pow2", "contiguous-oracle"]

    public init(
        model: String, trace: String, requests: Int = 1000, rate: Double = 10, blockSize: Int = 16, maxLength: Int = 2048,
        policies: [String] = PagedStudy.allPolicies, allocator: ContiguousAllocator.Strategy = .firstFit, sharing: SharingMode = .none,
        dtype: KVDType = .fp16, hardware: String = "h100-sxm", memoryUtilization: Double = KVCapacity.defaultMemoryUtilization, seed: UInt64 = 1
    ) {
        self.model = model
        self.trace = trace
        self.requests = requests
        self.rate = rate
        self.blockSize = blockSize
        self.maxLength = maxLength
        self.policies = policies
        self.allocator = allocator
        self.sharing = sharing
        self.dtype = dtype
        self.hardware = hardware
        self.memoryUtilization = memoryUtilization
        self.seed = seed
    }

    public static func policy(named name: String, blockSize: Int) -> AllocationPolicy? {
        switch name {
        case "paged": return .paged(blockSize: blockSize)
        case "contiguous-max": return .contiguousMax
        case "contiguous-pow2": return .contiguousPow2
        case "contiguous-oracle": return .contiguousOracle
        default: return nil
        }
    }

    /// The requests: generated for `sharegpt`/`alpaca`, else read from the CSV file.
    public func loadTrace() throws -> [Request] {
        if let workload = RequestTrace.Workload.named(trace) {
            return RequestTrace.synthetic(workload, count: requests, rate: rate, maxLength: maxLength, seed: seed)
        }
        let text: String
        do { text = try TextFile.read(trace) } catch {
            throw TraceError(file: trace, row: nil, field: nil, message: "cannot read trace: \(error.reason)")
        }
        return try RequestTrace.parseCSV(text, file: trace)
    }

    /// One `AllocationStats` per policy, in order. `progress(policy, fraction)` reports.
    public func run(progress: ((String, Double) -> Void)? = nil) throws -> [AllocationStats] {
        guard blockSize > 0 else { throw ServingSimulator.SimulationError.invalid("block size must be positive, found \(blockSize)") }
        let spec = try ModelSpec.named(model)
        let profile = try HardwareProfile.named(hardware)
        let capacity = KVCapacity(footprint: KVFootprint(model: spec, dtype: dtype), hardware: profile, memoryUtilization: memoryUtilization)
        guard capacity.tokenSlots > 0 else {
            throw ServingSimulator.SimulationError.invalid("\(spec.id) leaves no room for a KV cache on \(profile.id) (weights \(capacity.weightBytes) bytes)")
        }
        let requests = try loadTrace()
        var results: [AllocationStats] = []
        for name in policies {
            guard let policy = PagedStudy.policy(named: name, blockSize: blockSize) else {
                throw ServingSimulator.SimulationError.invalid("unknown policy '\(name)'; expected one of: \(PagedStudy.allPolicies.joined(separator: ", "))")
            }
            var simulator = ServingSimulator(.init(
                policy: policy, poolTokens: capacity.tokenSlots, maxLength: maxLength, contiguousStrategy: allocator,
                sharing: sharing, seed: seed))
            results.append(try simulator.run(requests) { progress?(name, $0) })
        }
        return results
    }
}

