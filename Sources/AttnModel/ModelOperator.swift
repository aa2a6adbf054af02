import CostModel

/// Prefill (the whole prompt at once) or decode (one new token per sequence).
public enum ModelPhase: String, Sendable, Equatable, CaseIterable {
    case prefill
    case decode
}

/// One operator of a forward step: what it moves and computes, and its predicted time.
public struct ModelOperator: Sendable, Equatable {
    /// Which part of the model its time counts toward.
    public enum Category: String, Sendable, Equatable, CaseIterable {
        /// The attention sublayer: QKV and O projections, RoPE, KV append, attention itself.
        case attention
        /// The FFN sublayer: dense or expert GEMMs, router, activation.
        case ffn
        /// A Mamba mixer (projections, convolution, scan).
        case ssm
        /// Norms, residual adds, embedding, LM head.
        case other
        /// GPU-to-GPU transfers (all-reduce, ring attention's K/V passing) not hidden by compute.
        case link
    }

    /// `attention`, `qkv_proj`, `ffn_down`, ...
    public var name: String
    /// The layers it runs in, as "0-31"; "model" for the embedding and the LM head.
    public var layers: String
    /// Times it runs per step: layers x instances per layer (active experts).
    public var repeats: Int
    public var category: Category
    /// What computes it: a tile program (`gemm`, `flash2`, ...), `elementwise` (a
    /// streaming formula) or the interconnect.
    public var kernel: String
    /// Per run: FLOPs (matmul + other), weight, activation (inputs and outputs) and KV
    /// bytes it must touch, bytes it sends over the interconnect, and the cost model's
    /// DRAM bytes (after the L2 model for tile programs).
    public var flops: Int
    public var weightBytes: Int
    public var activationBytes: Int
    public var kvBytes: Int
    public var linkBytes: Int
    public var dramBytes: Int
    public var bound: KernelPrediction.Bound?
    /// Predicted seconds of one run.
    public var seconds: Double

    public init(
        name: String, layers: String, repeats: Int, category: Category, kernel: String, flops: Int, weightBytes: Int, activationBytes: Int,
        kvBytes: Int, linkBytes: Int, dramBytes: Int, bound: KernelPrediction.Bound?, seconds: Double
    ) {
        self.name = name
        self.layers = layers
        self.repeats = repeats
        self.category = category
        self.kernel = kernel
        self.flops = flops
        self.weightBytes = weightBytes
        self.activationBytes = activationBytes
        self.kvBytes = kvBytes
        self.linkBytes = linkBytes
        self.dramBytes = dramBytes
        self.bound = bound
        self.seconds = seconds
    }

    /// Seconds over the whole step: repeats x seconds.
    public var totalSeconds: Double { Double(repeats) * seconds }
}

/// One forward step of the whole model (per GPU when parallel).
public struct StepPrediction: Sendable, Equatable {
    public var phase: ModelPhase
    /// Context length: the prompt (prefill) or the tokens cached, the new one included (decode).
    public var context: Int
    public var batch: Int
    public var operators: [ModelOperator]
    /// The largest input + output bytes of any one operator, plus the fp32 logits.
    public var activationBytes: Int
    /// Under expert parallelism, the token-expert pairs of the step's MoE layers: the
    /// mean per GPU and the busiest GPU's (`ExpertRouting`); nil otherwise.
    public var expertLoad: ExpertLoad? = nil

    /// Predicted seconds of the step: every operator, repeats included.
    public var seconds: Double { operators.reduce(0) { $0 + $1.totalSeconds } }

    /// Seconds spent in operators of `category`.
    public func seconds(_ category: ModelOperator.Category) -> Double {
        operators.filter { $0.category == category }.reduce(0) { $0 + $1.totalSeconds }
    }

    /// FLOPs of the step, repeats included.
    public var flops: Int { operators.reduce(0) { $0 + $1.repeats * $1.flops } }

    /// Seconds of the attention core (the tile program of the attention itself, ring steps included).
    public var attentionCoreSeconds: Double {
        operators.filter { $0.name == "attention" }.reduce(0) { $0 + $1.totalSeconds }
    }
}
