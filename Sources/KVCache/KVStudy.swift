import AttnHardware
import AttnNumerics
import Workload

/// A footprint study: one model at several context lengths on one GPU.
public struct KVStudy: Sendable, Equatable {
    public var model: String
    public var contexts: [Int]
    public var batch: Int
    public var dtype: KVDType
    public var hardware: String
    public var weightBytesPerParameter: Int
    /// The layers' weight format (`KVCapacity.weightFormat`); nil: `weightBytesPerParameter`
    /// for every parameter.
    public var weightFormat: TensorFormat?
    public var memoryUtilization: Double
    /// Eviction policy: every attention layer keeps the last `window` tokens (replacing
    /// the model's windows); nil: the model's own windows.
    public var window: Int?
    /// Eviction policy: windowed layers also keep the first `sinks` tokens (StreamingLLM);
    /// nil: the model's own (`attention_sinks`, usually none).
    public var sinks: Int?
    /// Tensor parallelism: KV heads and weights split over this many GPUs (`KVFootprint`).
    public var tensorParallel: Int
    /// Run contexts past the model's maximum context (`ModelSpec.maxContext`) instead of
    /// refusing them (`contextLimits` names them, for a warning).
    public var allowBeyondMax = false

    public init(
        model: String, contexts: [Int], batch: Int = 1, dtype: KVDType = .fp16, hardware: String = "h100-sxm",
        weightBytesPerParameter: Int = 2, memoryUtilization: Double = KVCapacity.defaultMemoryUtilization,
        window: Int? = nil, sinks: Int? = nil, tensorParallel: Int = 1, allowBeyondMax: Bool = false
    ) {
        self.tensorParallel = tensorParallel
        self.allowBeyondMax = allowBeyondMax
        self.window = window
        self.sinks = sinks
        self.model = model
        self.contexts = contexts
        self.batch = batch
        self.dtype = dtype
        self.hardware = hardware
        self.weightBytesPerParameter = weightBytesPerParameter
        self.memoryUtilization = memoryUtilization
    }

    /// The most GPUs `--tp` splits a model over.
    public static let maxTensorParallel = 1024

    /// Whether `spec`'s heads split over `gpus` GPUs: the query heads divide evenly, and
    /// the KV heads divide evenly or each is replicated (G a multiple of kv_heads), as
    /// vLLM requires; nil when they do, else why not.
    public static func tensorParallelProblem(_ spec: ModelSpec, gpus: Int) -> String? {
        if spec.heads % gpus != 0 { return "\(gpus) GPUs do not divide \(spec.id)'s \(spec.heads) query heads" }
        if spec.mla == nil, spec.kvHeads % gpus != 0, gpus % spec.kvHeads != 0 {
            return "\(gpus) GPUs neither divide \(spec.id)'s \(spec.kvHeads) KV heads nor are a multiple of them"
        }
        return nil
    }

    /// The largest weight bytes per parameter a study takes (fp64 weights are 8).
    public static let maxWeightBytesPerParameter = 64

    /// Checks the inputs a model and a GPU do not bound: batch, contexts, weight bytes,
    /// memory utilization and the quantization group size. Errors name the input.
    public func validate() throws(KVInputError) {
        guard batch >= 1 else { throw KVInputError(input: "batch", value: "\(batch)", message: "expected a positive integer") }
        guard tensorParallel >= 1 && tensorParallel <= KVStudy.maxTensorParallel else {
            throw KVInputError(input: "tp", value: "\(tensorParallel)", message: "expected from 1 to \(KVStudy.maxTensorParallel) GPUs")
        }
        for context in contexts where context < 1 {
            throw KVInputError(input: "context", value: "\(context)", message: "expected a positive length")
        }
        guard (1...KVStudy.maxWeightBytesPerParameter).contains(weightBytesPerParameter) else {
            throw KVInputError(
                input: "weight-bytes", value: "\(weightBytesPerParameter)",
                message: "expected bytes per weight parameter from 1 to \(KVStudy.maxWeightBytesPerParameter)")
        }
        if let window, window < 1 || window > ModelSpec.maxContext {
            throw KVInputError(input: "window", value: "\(window)", message: "expected a window from 1 to \(ModelSpec.maxContext) tokens")
        }
        if let sinks, sinks < 0 || sinks > ModelSpec.maxContext {
            throw KVInputError(input: "sinks", value: "\(sinks)", message: "expected from 0 to \(ModelSpec.maxContext) sink tokens")
        }
        try KVStudy.validate(memoryUtilization: memoryUtilization, dtype: dtype)
    }

    /// The model under the study's eviction policy (`window`, `sinks`); sinks without
    /// any window are an error, since they are kept beside a window.
    public func policyModel(_ spec: ModelSpec) throws(KVInputError) -> ModelSpec {
        let model = spec.withPolicy(window: window, sinks: sinks)
        if let sinks, sinks > 0, !model.hasWindows {
            throw KVInputError(
                input: "sinks", value: "\(sinks)",
                advice: "\(spec.id) has no windowed layer; attention sinks are kept beside a window (give \(Remedy.window) W)")
        }
        return model
    }

    /// The contexts of the study past `spec`'s maximum context, with the positions they ask
    /// for: the context, or under a `window` eviction policy at most sinks + window (a
    /// rolling cache gives positions within the cache, as StreamingLLM does: Xiao et al.
    /// 2023, Section 3.2).
    public func contextLimits(_ spec: ModelSpec) -> [ContextLimit] {
        contexts.compactMap { spec.contextLimit(KVStudy.positions(context: $0, window: window, sinks: sinks ?? spec.attentionSinks)) }
    }

    /// Positions a sequence of `context` tokens asks of the model under an eviction
    /// `window` (with `sinks`): min(context, sinks + window); without one, the context.
    public static func positions(context: Int, window: Int?, sinks: Int?) -> Int {
        guard let window else { return context }
        return min(context, window + max(0, sinks ?? 0))
    }

    /// The checks `KVStudy` and `PagedStudy` share.
    static func validate(memoryUtilization: Double, dtype: KVDType) throws(KVInputError) {
        guard memoryUtilization > 0 && memoryUtilization <= 1 else {
            throw KVInputError(input: "memory-utilization", value: "\(memoryUtilization)", message: "expected a number in (0, 1]")
        }
        if case .elements(let size) = dtype.group, size < 1 {
            throw KVInputError(input: "quant-group", value: "\(size)", message: "expected a positive group size or token")
        }
    }

    /// One row per context. Every byte count is computed with overflow checks: an input
    /// whose footprint does not fit in 64 bits is an error naming it and its largest value.
    public func run() throws -> [KVRecord] {
        try validate()
        let spec = try policyModel(try ModelSpec.named(model))
        let profile = try HardwareProfile.named(hardware)
        if let problem = KVStudy.tensorParallelProblem(spec, gpus: tensorParallel) {
            throw KVInputError(input: "tp", value: "\(tensorParallel)", message: problem)
        }
        try checkFootprints(spec)
        if !allowBeyondMax, let limit = contextLimits(spec).first { throw limit }
        let footprint = KVFootprint(model: spec, dtype: dtype, tensorParallel: tensorParallel)
        let capacity = KVCapacity(
            footprint: footprint, hardware: profile, weightBytesPerParameter: weightBytesPerParameter, memoryUtilization: memoryUtilization,
            weightFormat: weightFormat)
        return contexts.map { context in
            KVRecord(
                model: spec.id, attention: spec.attentionKind, cache: spec.cachePolicy, hardware: profile.id, context: context, batch: batch,
                dtype: dtype.description, kvBytesPerToken: footprint.bytesPerToken,
                kvBytesPerSequence: footprint.kvBytesPerSequence(context: context),
                ssmStateBytesPerSequence: footprint.ssmStateBytesPerSequence,
                crossAttentionBytesPerSequence: footprint.crossAttentionBytesPerSequence ?? Int.max,
                encoderStates: spec.crossAttention?.encoderStates,
                kvBytesTotal: batch * footprint.bytesPerSequence(context: context),
                weightBytes: capacity.weightBytes, budgetBytes: capacity.budgetBytes,
                maxSequences: capacity.sequences(context: context), tokenSlots: capacity.tokenSlots,
                tensorParallel: tensorParallel, kvHeadsPerGPU: spec.mla == nil ? footprint.kvHeadsPerGPU : nil, kvHeads: spec.mla == nil ? spec.kvHeads : nil,
                smallestFittingTP: smallestFittingTP(spec, profile: profile, context: context), kinds: footprint.kinds(context: context))
        }
    }

    /// The fewest GPUs (a power of two up to `maxTensorParallel` that splits the heads)
    /// on which the batch at `context` fits next to the weights; nil when none does.
    func smallestFittingTP(_ spec: ModelSpec, profile: HardwareProfile, context: Int) -> Int? {
        var gpus = 1
        while gpus <= KVStudy.maxTensorParallel {
            if KVStudy.tensorParallelProblem(spec, gpus: gpus) == nil {
                let footprint = KVFootprint(model: spec, dtype: dtype, tensorParallel: gpus)
                let capacity = KVCapacity(
            footprint: footprint, hardware: profile, weightBytesPerParameter: weightBytesPerParameter, memoryUtilization: memoryUtilization,
            weightFormat: weightFormat)
                if let total = Checked.product(batch, footprint.bytesPerSequence(context: context)), capacity.budgetBytes >= 0, total <= capacity.budgetBytes {
                    return gpus
                }
            }
            gpus *= 2
        }
        return nil
    }

    /// Checks that every byte count of the study fits in 64 bits for `spec` (after
    /// `validate()`): the weights, each context's sequence and the batch. Bytes per token
    /// and SSM state fit by the model file's limits (`ModelSpec.maxDimension`).
    public func checkFootprints(_ spec: ModelSpec) throws(KVInputError) {
        let footprint = KVFootprint(model: spec, dtype: dtype)
        guard Checked.product(spec.parameters, weightBytesPerParameter) != nil else {
            throw KVInputError(
                input: "weight-bytes", value: "\(weightBytesPerParameter)",
                message: "\(spec.id)'s \(spec.parameters) parameters at this many bytes overflow a 64-bit byte count")
        }
        let perToken = footprint.bytesPerToken
        let state = footprint.ssmStateBytesPerSequence
        guard let cross = footprint.crossAttentionBytesPerSequence, Checked.sum(cross, state) != nil else {
            throw KVInputError(
                input: "model", value: spec.id,
                message: "cross-attention over \(spec.crossAttention?.encoderStates ?? 0) encoder states at \(perToken) KV bytes per token (\(dtype)) "
                    + "overflows a 64-bit byte count; expected at most \((Int.max - state) / max(1, perToken)) encoder states")
        }
        for (index, context) in contexts.enumerated() {
            guard let kv = footprint.checkedKVBytesPerSequence(context: context),
                let perSequence = Checked.sum(kv, state)
            else {
                let largest = perToken > 0 ? (Int.max - state - cross) / perToken : Int.max
                throw KVInputError(
                    input: "context", value: "\(context)",
                    message: "\(spec.id) keeps \(perToken) KV bytes per token at \(dtype), so one sequence overflows a 64-bit byte count; "
                        + "expected a context of at most \(largest)", index: index)
            }
            guard Checked.product(batch, perSequence) != nil else {
                throw KVInputError(
                    input: "batch", value: "\(batch)",
                    message: "\(batch) sequences of \(perSequence) bytes (\(spec.id) at context \(context)) overflow a 64-bit byte count; "
                        + "expected a batch of at most \(Int.max / perSequence)")
            }
        }
    }
}

/// One footprint row: a model at one context length and batch.
public struct KVRecord: Sendable, Equatable {
    public var model: String
    /// MHA, GQA, MQA or MLA.
    public var attention: String
    /// What the attention layers keep (`ModelSpec.cachePolicy`): `full`, `window 4096 + 4 sinks`, ...
    public var cache: String
    public var hardware: String
    public var context: Int
    public var batch: Int
    public var dtype: String
    /// Attention K and V bytes per token, all layers (before any window cap).
    public var kvBytesPerToken: Int
    /// Attention K and V bytes of one sequence at this context (window- and sink-capped).
    public var kvBytesPerSequence: Int
    /// SSM state of one sequence (hybrid models), constant in the context.
    public var ssmStateBytesPerSequence: Int
    /// Cross-attention K and V of one sequence (encoder-decoder models), constant in the
    /// context and included in `kvBytesPerSequence`; 0 for a decoder-only model.
    public var crossAttentionBytesPerSequence: Int = 0
    /// Encoder states the cross-attention attends to; nil for a decoder-only model.
    public var encoderStates: Int? = nil
    /// batch x (KV + SSM state) per sequence.
    public var kvBytesTotal: Int
    public var weightBytes: Int
    /// HBM left for the cache after the weights (see `KVCapacity`).
    public var budgetBytes: Int
    /// Sequences of this context that fit at once.
    public var maxSequences: Int
    /// Token slots that fit.
    public var tokenSlots: Int
    /// GPUs the heads and weights are split over; the byte counts above are one GPU's.
    public var tensorParallel: Int = 1
    /// KV heads one GPU holds (nil for MLA, whose latent every GPU keeps whole).
    public var kvHeadsPerGPU: Int? = nil
    /// The model's KV heads (nil for MLA).
    public var kvHeads: Int? = nil
    /// The fewest GPUs (a power of two) on which this batch fits; nil when none up to 1,024.
    public var smallestFittingTP: Int? = nil
    /// What each kind of layer keeps for one sequence (`KVFootprint.kinds`).
    public var kinds: [KVFootprint.KindBytes] = []

    /// Whether the batch fits next to the weights.
    public var fits: Bool { budgetBytes >= 0 && kvBytesTotal <= budgetBytes }
}

/// An allocation study: one model, one trace, several policies.
public struct PagedStudy: Sendable, Equatable {
    public var model: String
    /// A built-in workload (`RequestTrace.syntheticNames`) or a CSV or JSONL path.
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
    /// The layers' weight format (`KVCapacity.weightFormat`; the model timing's weights
    /// too); nil: 2 bytes a parameter.
    public var weightFormat: TensorFormat?
    public var memoryUtilization: Double
    public var seed: UInt64
    /// Eviction policy, as `KVStudy.window`: every attention layer keeps the last
    /// `window` tokens; nil: the model's own windows.
    public var window: Int?
    /// Eviction policy, as `KVStudy.sinks`.
    public var sinks: Int?
    /// The iterations' clock: fixed seconds (`run(progress:)`), or the whole model's
    /// prediction, which the caller supplies as a timer (`run(timer:progress:)`).
    public var timing: IterationTiming
    /// Chunked prefill's token budget per iteration (`ServingSimulator.Configuration.prefillChunk`).
    public var prefillChunk: Int?
    /// Tensor parallelism, as `KVStudy.tensorParallel`: KV heads and weights split over
    /// this many GPUs. Every GPU holds every sequence's tokens (for its own heads), so the
    /// pool is the token slots one GPU's budget holds at its bytes per token.
    public var tensorParallel: Int
    /// Model timing: run each tile program without the count budget.
    public var allowLong = false
    /// Run requests longer than the model's maximum context instead of refusing them.
    public var allowBeyondMax = false
    /// Prefix caching in the paged pool (`ServingSimulator.Configuration.prefixCaching`).
    public var prefixCaching = false
    /// What a preemption does with the victim's blocks (paged policy).
    public var preemption: PreemptionMode = .recompute
    /// Replicas behind a router (each with the pool above); 1: one server.
    public var replicas = 1
    public var router: Router = .roundRobin
    /// A sweep of Poisson rates (scenario files' `rates`); nil: `rate` alone.
    public var rates: [Double]? = nil
    /// Disaggregated prefill and decode (`DisaggregatedCluster`): this many prefill and
    /// decode replicas (each of `tensorParallel` GPUs), in place of `replicas` doing both.
    public var disaggregation: Disaggregation? = nil
    /// The serving engine's host time per iteration, added to the timing's
    /// (`HostOverheadTimer`); 0: the kernels alone.
    public var hostOverheadSeconds = 0.0
    /// The largest `hostOverheadSeconds` accepted.
    public static let maxHostOverheadSeconds = 10.0

    /// The replicas of a disaggregated study's two pools.
    public struct Disaggregation: Sendable, Equatable {
        public var prefillReplicas: Int
        public var decodeReplicas: Int

        public init(prefillReplicas: Int, decodeReplicas: Int) {
            self.prefillReplicas = prefillReplicas
            self.decodeReplicas = decodeReplicas
        }
    }

    /// A study's preemption: recompute, or swap to the profile's host memory or storage.
    public enum PreemptionMode: String, Sendable, Equatable, CaseIterable {
        case recompute
        case swapHost = "swap"
        case swapStorage = "swap-storage"
    }

    public static let allPolicies = ["paged", "contiguous-max", "contiguous-pow2", "contiguous-oracle"]

    public init(
        model: String, trace: String, requests: Int = 1000, rate: Double = 10, blockSize: Int = 16, maxLength: Int = 2048,
        policies: [String] = PagedStudy.allPolicies, allocator: ContiguousAllocator.Strategy = .firstFit, sharing: SharingMode = .none,
        dtype: KVDType = .fp16, hardware: String = "h100-sxm", memoryUtilization: Double = KVCapacity.defaultMemoryUtilization, seed: UInt64 = 1,
        window: Int? = nil, sinks: Int? = nil, timing: IterationTiming = .defaultFixed, prefillChunk: Int? = nil, tensorParallel: Int = 1
    ) {
        self.tensorParallel = tensorParallel
        self.timing = timing
        self.prefillChunk = prefillChunk
        self.window = window
        self.sinks = sinks
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

    /// The most requests of a synthetic trace (`RequestTrace.maxRequests`, as a file's):
    /// larger counts are refused up front instead of running for hours.
    public static let maxRequests = RequestTrace.maxRequests
    /// The lowest arrival rate of a synthetic trace: one request per 10^9 seconds keeps a
    /// million arrivals within the simulator's clock.
    public static let minRate = 1e-9

    /// Checks the inputs a model and a GPU do not bound. Errors name the input.
    public func validate() throws(KVInputError) {
        if RequestTrace.isSynthetic(trace) {
            guard requests >= 1 && requests <= PagedStudy.maxRequests else {
                throw KVInputError(input: "requests", value: "\(requests)", message: "expected a synthetic trace of 1 to \(PagedStudy.maxRequests) requests")
            }
        }
        guard rate >= PagedStudy.minRate && rate.isFinite else {
            throw KVInputError(input: "rate", value: "\(rate)", message: "expected at least \(PagedStudy.minRate) requests per second")
        }
        guard blockSize >= 1 && blockSize <= ServingSimulator.maxRequestTokens else {
            throw KVInputError(input: "block-size", value: "\(blockSize)", message: "expected a block size from 1 to \(ServingSimulator.maxRequestTokens) tokens")
        }
        if case .fixed(let seconds) = timing, !(seconds > 0 && seconds.isFinite) {
            throw KVInputError(input: "timing", value: "\(timing)", message: "expected a positive number of seconds per iteration")
        }
        guard hostOverheadSeconds >= 0 && hostOverheadSeconds <= PagedStudy.maxHostOverheadSeconds else {
            throw KVInputError(
                input: "host-overhead", value: "\(hostOverheadSeconds)", message: "expected 0 to \(PagedStudy.maxHostOverheadSeconds) seconds per iteration")
        }
        if let prefillChunk, prefillChunk < 1 || prefillChunk > ServingSimulator.maxRequestTokens {
            throw KVInputError(input: "chunk", value: "\(prefillChunk)", message: "expected a token budget from 1 to \(ServingSimulator.maxRequestTokens) per iteration")
        }
        guard !policies.isEmpty else {
            throw KVInputError(input: "policies", value: "(none)", message: "expected at least one of \(PagedStudy.allPolicies.joined(separator: ", "))")
        }
        for name in policies where PagedStudy.policy(named: name, blockSize: blockSize) == nil {
            throw KVInputError(input: "policies", value: name, message: "expected one of \(PagedStudy.allPolicies.joined(separator: ", "))")
        }
        guard maxLength >= 2 && maxLength <= ServingSimulator.maxRequestTokens else {
            throw KVInputError(input: "max-len", value: "\(maxLength)", message: "expected a length from 2 to \(ServingSimulator.maxRequestTokens) tokens")
        }
        guard replicas >= 1 && replicas <= ServingCluster.maxReplicas else {
            throw KVInputError(input: "replicas", value: "\(replicas)", message: "expected from 1 to \(ServingCluster.maxReplicas) replicas")
        }
        if let d = disaggregation {
            guard replicas == 1 else {
                throw KVInputError(input: "replicas", value: "\(replicas)", advice: "a disaggregated study gives its prefill and decode replicas instead (\(Remedy.disaggregate))")
            }
            for n in [d.prefillReplicas, d.decodeReplicas] where n < 1 || n > ServingCluster.maxReplicas {
                throw KVInputError(input: "disaggregate", value: "\(n)", message: "expected from 1 to \(ServingCluster.maxReplicas) replicas in each pool")
            }
            guard sharing == .none else {
                throw KVInputError(input: "disaggregate", value: "\(sharing)", message: "disaggregated prefill and decode is modeled without sharing; give one of them")
            }
        }
        if router == .prefixAffinity && !prefixCaching {
            throw KVInputError(input: "router", value: router.rawValue, advice: "routes by cached prefixes: it needs prefix caching (\(Remedy.prefixCaching))")
        }
        try KVStudy.validate(memoryUtilization: memoryUtilization, dtype: dtype)
        try KVStudy(model: model, contexts: [], window: window, sinks: sinks, tensorParallel: tensorParallel).validate()
    }

    /// The token slots of KV cache one GPU holds next to its share of the weights
    /// (`KVCapacity` of the study's footprint over `tensorParallel` GPUs): the pool every
    /// policy allocates from. A `tp` the model's heads do not split is an error naming `tp`.
    public func capacity(_ spec: ModelSpec, profile: HardwareProfile) throws(KVInputError) -> KVCapacity {
        if let problem = KVStudy.tensorParallelProblem(spec, gpus: tensorParallel) {
            throw KVInputError(input: "tp", value: "\(tensorParallel)", message: problem)
        }
        return KVCapacity(
            footprint: KVFootprint(model: spec, dtype: dtype, tensorParallel: tensorParallel), hardware: profile,
            memoryUtilization: memoryUtilization, weightFormat: weightFormat)
    }

    /// The eviction the pool can model: when every attention layer has the same window
    /// (a `--window` policy, or a model such as Mistral-7B), sequences keep sinks + window
    /// tokens; nil otherwise (global layers beside one window: `hybrid`, else every
    /// token stays).
    public static func eviction(_ model: ModelSpec) -> ServingSimulator.Eviction? {
        // Recurrent states beside the windows: one block group per kind (`hybrid`).
        guard model.ssmLayers == 0, model.deltanetLayers == 0 else { return nil }
        let windows = model.attentionWindows
        guard let first = windows.first, let window = first, windows.allSatisfy({ $0 == window }) else { return nil }
        return ServingSimulator.Eviction(window: window, sinks: max(0, model.attentionSinks ?? 0))
    }

    /// Hybrid allocation, as vLLM v1's hybrid KV-cache manager, for a model whose layers
    /// keep different tokens: global attention beside windowed (Gemma 2: 21 + 21 layers,
    /// window 4096; any number of windows) or chunked layers (Llama 4), and recurrent
    /// states (Mamba, Gated DeltaNet). The layers form groups of g = gcd of the kinds'
    /// layer counts; one shared pool of `floor(budget / (B x g x bytes per token per
    /// layer))` blocks of B tokens x g layers; a state group takes ceil(g x state bytes
    /// per layer / block bytes) blocks per sequence. Nil for a model with one kind of layer
    /// (or one window for all, the uniform eviction), unless that kind is chunked, and for
    /// a model without attention layers (no page size).
    public static func hybrid(_ model: ModelSpec, capacity: KVCapacity, blockSize: Int) -> ServingSimulator.Hybrid? {
        let spans = model.attentionSpanCounts
        let footprint = capacity.footprint
        var states: [(label: String, layers: Int, bytesPerLayer: Int)] = []
        if model.ssmLayers > 0 { states.append(("ssm state", model.ssmLayers, footprint.mambaStateBytesPerSequence / model.ssmLayers)) }
        if model.deltanetLayers > 0 { states.append(("deltanet state", model.deltanetLayers, footprint.deltanetStateBytesPerSequence / model.deltanetLayers)) }
        guard !spans.isEmpty, blockSize >= 1 else { return nil }
        if spans.count + states.count == 1, spans[0].span == .global || spans[0].span.isWindow { return nil }
        let g = groupLayers(model)
        let perLayer = footprint.bytesPerTokenPerLayer
        guard g > 0, perLayer > 0, let blockBytes = Checked.product(blockSize, g).flatMap({ Checked.product($0, perLayer) }) else { return nil }
        let sinks = max(0, model.attentionSinks ?? 0)
        var kinds: [ServingSimulator.Hybrid.Kind] = []
        for (span, layers) in spans {
            let retention: ServingSimulator.Hybrid.Retention
            switch span {
            case .global: retention = .full
            case .window(let w): retention = .window(ServingSimulator.Eviction(window: w, sinks: sinks))
            case .chunk(let c): retention = .chunk(c)
            }
            kinds.append(.init(retention, groups: layers / g))
        }
        for state in states {
            guard let bytes = Checked.product(g, state.bytesPerLayer) else { return nil }
            kinds.append(.init(.state(blocks: Checked.ceilDiv(bytes, blockBytes), label: state.label), groups: state.layers / g))
        }
        let blocks = capacity.budgetBytes > 0 ? capacity.budgetBytes / blockBytes : 0
        return ServingSimulator.Hybrid(kinds: kinds, poolBlocks: blocks)
    }

    /// Layers per group of the hybrid allocation, g: the gcd of the layer counts of the
    /// model's attention spans and recurrent states (0 for a model without layers).
    static func groupLayers(_ model: ModelSpec) -> Int {
        var g = 0
        for n in model.attentionSpanCounts.map(\.layers) + [model.ssmLayers, model.deltanetLayers] where n > 0 {
            var (a, b) = (g, n)
            while b != 0 { (a, b) = (b, a % b) }
            g = a
        }
        return g
    }

    /// Why prefix caching cannot run with the paged pool of `spec` (nil when it can):
    /// prefix caching keys each full block by the tokens it holds in every layer, which
    /// takes one block table per sequence whose blocks keep their tokens. A uniform
    /// sliding window overwrites its oldest block as the window slides; the hybrid
    /// allocator keeps a table per layer kind, whose window groups overwrite blocks the
    /// same way, chunked groups drop the blocks before the current chunk and state groups
    /// overwrite their recurrent state every token.
    static func prefixCachingProblem(eviction: ServingSimulator.Eviction?, hybrid: ServingSimulator.Hybrid?) -> String? {
        if let eviction {
            return "prefix caching with a sliding window (\(eviction.window) tokens) is not modeled: the window's oldest block is overwritten "
                + "as it slides, so a block does not keep the tokens its key names (docs/kv-cache.md)"
        }
        guard let hybrid else { return nil }
        var reasons: [String] = []
        for kind in hybrid.kinds {
            let reason: String
            switch kind.retention {
            case .full: continue
            case .window: reason = "window groups overwrite their oldest block as the window slides"
            case .chunk: reason = "chunked groups drop the blocks before the current chunk"
            case .state: reason = "state groups overwrite the recurrent state every token"
            }
            if !reasons.contains(reason) { reasons.append(reason) }
        }
        return "prefix caching with the hybrid allocator (a block group per layer kind: \(hybrid.kinds.map(\.retention.label).joined(separator: ", "))) "
            + "is not modeled: a cached block must keep its prefix's tokens in every layer, but " + reasons.joined(separator: ", ") + " (docs/kv-cache.md)"
    }

    /// The longest sequence the study's trace asks of `spec` past its maximum context,
    /// or nil: each request's prompt plus its output clipped to `maxLength` (as the
    /// simulator clips it), or under a `window` eviction policy at most sinks + window.
    public func contextLimit(_ spec: ModelSpec, requests: [Request]) -> ContextLimit? {
        let longest = requests.map { $0.promptTokens + min($0.outputTokens, max(0, maxLength - $0.promptTokens)) }.max() ?? 0
        return spec.contextLimit(KVStudy.positions(context: longest, window: window, sinks: sinks ?? spec.attentionSinks))
    }

    /// The requests: generated for a built-in workload, else read from the CSV or JSONL file.
    public func loadTrace() throws -> [Request] {
        try validate()
        if let generated = RequestTrace.synthetic(named: trace, count: requests, rate: rate, maxLength: maxLength, seed: seed) {
            return generated
        }
        return try RequestTrace.read(trace)
    }

    /// Swapping for the study's preemption mode: the lower level from the profile (an
    /// error when the profile gives none), its capacity in blocks bounded by the GPU's own
    /// blocks (the vLLM paper, Section 4.5), blocks of B x bytes per token, one copy per
    /// layer for keys and one for values. Under `hybrid` allocation a block is one group's:
    /// B x g layers x bytes per token and layer, 2g copies, and the GPU holds its pool's.
    public func swap(
        _ spec: ModelSpec, capacity: KVCapacity, profile: HardwareProfile, hybrid: ServingSimulator.Hybrid? = nil
    ) throws(KVInputError) -> ServingSimulator.Preemption {
        let tier: MemoryTier?
        switch preemption {
        case .recompute: return .recompute
        case .swapHost: tier = profile.hostMemory
        case .swapStorage: tier = profile.storage
        }
        guard let tier else {
            throw KVInputError(
                input: "preemption", value: preemption.rawValue,
                message: "\(profile.id) gives no \(preemption == .swapHost ? "host_memory" : "storage") level to swap to (docs/hardware.md)")
        }
        var blockBytes = blockSize * capacity.footprint.bytesPerToken
        var gpuBlocks = capacity.tokenSlots / blockSize
        var layers = spec.attentionLayers
        if let hybrid {
            layers = PagedStudy.groupLayers(spec)
            blockBytes = blockSize * layers * capacity.footprint.bytesPerTokenPerLayer
            gpuBlocks = hybrid.poolBlocks
        }
        return .swap(.init(
            tier: tier, capacityBlocks: min(gpuBlocks, blockBytes > 0 ? tier.bytes / blockBytes : 0), blockBytes: max(1, blockBytes),
            transfersPerBlock: 2 * max(1, layers)))
    }

    /// One `AllocationStats` per policy, in order, at the study's fixed iteration time.
    /// `progress(policy, fraction)` reports. Model timing needs the model's timer: an error
    /// here (`attnsim paged` and `attnsim run` build it and call `run(timer:progress:)`).
    public func run(progress: ((String, Double) -> Void)? = nil) throws -> [AllocationStats] {
        guard case .fixed(let seconds) = timing else {
            throw ServingSimulator.SimulationError.invalid(
                "model timing needs the whole-model iteration timer (AttnModel.ModelIterationTimer); pass it to run(timer:progress:)")
        }
        var timer = FixedIterationTime(seconds)
        return try run(timer: &timer, progress: progress)
    }

    /// One `AllocationStats` per policy, iteration times from `timer` (shared by the
    /// policies, so a timer that caches keeps its cache) plus `hostOverheadSeconds`.
    public func run<Timer: IterationTimer>(timer: inout Timer, progress: ((String, Double) -> Void)? = nil) throws -> [AllocationStats] {
        guard hostOverheadSeconds > 0 else { return try simulate(timer: &timer, progress: progress) }
        var engine = HostOverheadTimer(timer, hostSeconds: hostOverheadSeconds)
        defer { timer = engine.base }
        return try simulate(timer: &engine, progress: progress).map { stats in
            var stats = stats
            stats.hostOverheadSeconds = hostOverheadSeconds
            return stats
        }
    }

    /// `run(timer:progress:)` with the host overhead already in `timer`.
    func simulate<Timer: IterationTimer>(timer: inout Timer, progress: ((String, Double) -> Void)?) throws -> [AllocationStats] {
        guard blockSize > 0 else { throw ServingSimulator.SimulationError.invalid("block size must be positive, found \(blockSize)") }
        try validate()
        let spec = try KVStudy(model: model, contexts: [], window: window, sinks: sinks).policyModel(try ModelSpec.named(model))
        // An encoder-decoder model also holds its cross-attention K and V per request,
        // which the pool does not allocate: refuse rather than undercount.
        if let cross = spec.crossAttention {
            throw KVInputError(
                input: "model", value: spec.id,
                message: "the paged pool does not model cross-attention K and V (\(cross.encoderStates) encoder states per request); attnsim kv counts them")
        }
        let eviction = PagedStudy.eviction(spec)
        if eviction != nil && sharing != .none {
            throw KVInputError(input: "sharing", value: "\(sharing)", message: "sharing with a sliding window is not modeled; give one of them")
        }
        let profile = try HardwareProfile.named(hardware)
        let capacity = try capacity(spec, profile: profile)
        guard capacity.tokenSlots > 0 else {
            let gpus = tensorParallel > 1 ? "\(tensorParallel) x \(profile.id)" : profile.id
            let perGPU = tensorParallel > 1 ? " per GPU" : ""
            throw ServingSimulator.SimulationError.invalid("\(spec.id) leaves no room for a KV cache on \(gpus) (weights \(capacity.weightBytes) bytes\(perGPU))")
        }
        let requests = try loadTrace()
        if !allowBeyondMax, let limit = contextLimit(spec, requests: requests) { throw limit }
        var results: [AllocationStats] = []
        for name in policies {
            guard let policy = PagedStudy.policy(named: name, blockSize: blockSize) else {
                throw ServingSimulator.SimulationError.invalid("unknown policy '\(name)'; expected one of: \(PagedStudy.allPolicies.joined(separator: ", "))")
            }
            let hybrid = eviction == nil && name == "paged" ? PagedStudy.hybrid(spec, capacity: capacity, blockSize: blockSize) : nil
            if hybrid != nil && sharing != .none {
                throw KVInputError(input: "sharing", value: "\(sharing)", message: "sharing with the hybrid allocator (a block group per layer kind: \(hybrid?.kinds.map(\.retention.label).joined(separator: ", ") ?? "")) is not modeled")
            }
            let paged = name == "paged"
            if prefixCaching && paged, let problem = PagedStudy.prefixCachingProblem(eviction: eviction, hybrid: hybrid) {
                throw KVInputError(input: "prefix-caching", value: "\(spec.id)", message: problem)
            }
            let configuration = ServingSimulator.Configuration(
                policy: policy, poolTokens: capacity.tokenSlots, maxLength: maxLength, contiguousStrategy: allocator,
                sharing: sharing, seed: seed, eviction: eviction, prefillChunk: prefillChunk, hybrid: hybrid,
                prefixCaching: prefixCaching && paged,
                preemption: paged ? try swap(spec, capacity: capacity, profile: profile, hybrid: hybrid) : .recompute)
            var stats: AllocationStats
            if let d = disaggregation {
                guard let link = profile.interconnect else {
                    throw KVInputError(
                        input: "disaggregate", value: profile.id,
                        message: "\(profile.id) gives no interconnect to send KV from the prefill to the decode pool (docs/hardware.md)")
                }
                stats = try DisaggregatedCluster(
                    configuration, prefillReplicas: d.prefillReplicas, decodeReplicas: d.decodeReplicas,
                    router: paged || router != .prefixAffinity ? router : .leastLoaded, kvBytesPerToken: capacity.footprint.bytesPerToken, link: link
                ).run(requests, timer: &timer) { progress?(name, $0) }
            } else if replicas > 1 {
                stats = try ServingCluster(configuration, replicas: replicas, router: paged || router != .prefixAffinity ? router : .leastLoaded)
                    .run(requests, timer: &timer) { progress?(name, $0) }
            } else {
                var simulator = ServingSimulator(configuration)
                stats = try simulator.run(requests, timer: &timer) { progress?(name, $0) }
            }
            stats.rate = RequestTrace.isSynthetic(trace) ? rate : nil
            results.append(stats)
        }
        return results
    }
}

