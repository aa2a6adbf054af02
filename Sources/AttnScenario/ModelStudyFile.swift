import AttnModel
import AttnNumerics

/// A whole-model study (`"study": "model"` in a scenario file, or `attnsim model`'s
/// options), resolved by `ModelStudyPlan` and run by `StudyRunner` (docs/scenarios.md,
/// docs/model.md).
public struct ModelStudyFile: Sendable, Equatable {
    /// A built-in model with a `decoder` object, or a model file.
    public var model: String
    public var contexts: [Int]
    public var hardware = "h100-sxm"
    public var batch = 1
    public var dtype = DType.fp16
    /// Formats of the weights, experts, GEMM inputs and KV cache beside `dtype`.
    public var precision = ModelPrecision()
    public var tensorParallel = 1
    public var contextParallel = 1
    /// Expert parallelism over this many GPUs (`ModelRunOptions.expertParallel`).
    public var expertParallel = 1
    /// Attention data parallel beside expert parallelism (`ModelRunOptions.attentionDataParallel`).
    public var attentionDataParallel = false
    /// The busiest expert-parallel GPU's load over the mean; nil: uniform routing's expected maximum.
    public var expertImbalance: Double?
    /// Pipeline stages and the micro-batches that flow through them.
    public var pipelineParallel = 1
    public var microbatches = 1
    /// Sheared-LLaMA pruning targets, as `--prune` (`heads=16,ffn=5504`).
    public var prune: String?
    /// `summary`, `operators` or `parameters`.
    public var view = "summary"
    /// The operator view's phase: `prefill` or `decode`.
    public var phase = "prefill"
    /// Also find where attention's time reaches the FFN's (summary view).
    public var crossover = false
    /// Run each tile program without the count budget (`Runner.countStatementBudget`).
    public var allowLong = false
    /// Run contexts past the model's maximum context instead of refusing them.
    public var allowBeyondMax = false
    /// Speculative decoding against plain decoding (summary view; nil: none).
    public var speculative: SpeculativeRequest?

    public static let views = ["summary", "operators", "parameters"]
    /// The largest batch a file may give.
    public static let maxCount = 1 << 20
    /// The most GPUs `tp`, `cp`, `ep` or `pp` may give.
    public static let maxGPUs = 1024

    public init(model: String, contexts: [Int]) {
        self.model = model
        self.contexts = contexts
    }
}
