/// A setting an error message points the user to (the work budget, count mode, tensor
/// parallelism, ...), as a value: the library says which setting to change and each front
/// end spells it (the command line as its flag: AttnCLI, `Remedy+Flag.swift`);
/// `description` says it in words, for callers of the library.
public enum Remedy: Sendable, Hashable, CustomStringConvertible {
    /// Lift the work budget (a scenario's `allow_long`).
    case allowLong
    /// Run in count mode: the same counters, no tensors.
    case countMode
    /// Set a declared parameter of the program.
    case parameter
    /// A sliding window of keys (eviction).
    case window
    /// Prefix caching on.
    case prefixCaching
    /// Tensor parallelism over the given number of GPUs.
    case tensorParallel(Int)
    /// Context parallelism, over the given number of GPUs when there is one.
    case contextParallel(Int?)
    /// One GPU: neither tensor nor context parallelism.
    case oneGPU
    /// A fixed time per serving iteration, in seconds (nil: a time of the user's choice).
    case fixedTiming(seconds: Double?)
    /// Expert parallelism over the given number of GPUs (nil: a number of the user's choice).
    case expertParallel(Int?)
    /// Pipeline parallelism over the given number of stages (nil: a number of the user's choice).
    case pipelineParallel(Int?)
    /// Attention and the dense layers data parallel beside expert parallelism.
    case attentionDataParallel
    /// Separate prefill and decode pools in serving.
    case disaggregate
    /// The GEMM inputs in the given format.
    case activations(String)
    /// The KV cache in the given format.
    case kvFormat(String)

    public var description: String {
        switch self {
        case .allowLong: return "a lifted work budget"
        case .countMode: return "mode \"count\""
        case .parameter: return "a parameter override"
        case .window: return "window"
        case .prefixCaching: return "prefix caching"
        case .tensorParallel(let gpus): return "tensor parallelism \(gpus)"
        case .contextParallel(let gpus): return gpus.map { "context parallelism \($0)" } ?? "context parallelism"
        case .oneGPU: return "one GPU (tensor and context parallelism 1)"
        case .fixedTiming(let seconds): return seconds.map { "a fixed iteration time of \($0) s" } ?? "a fixed iteration time"
        case .expertParallel(let gpus): return gpus.map { "expert parallelism \($0)" } ?? "expert parallelism"
        case .pipelineParallel(let stages): return stages.map { "pipeline parallelism \($0)" } ?? "pipeline parallelism"
        case .attentionDataParallel: return "data-parallel attention"
        case .disaggregate: return "disaggregated prefill and decode pools"
        case .activations(let format): return "activations \(format)"
        case .kvFormat(let format): return "a KV cache in \(format)"
        }
    }
}
