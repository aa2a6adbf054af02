/// The rest of a decoder layer beyond what the KV cache sees: hidden and FFN sizes, the
/// activation, mixture of experts, vocabulary, norms, positions and, for pruned models,
/// per-layer head and FFN sizes. Read from the `"decoder"` object of a model file
/// (docs/model.md); `attnsim model` builds its operator list and parameter count from it.
public struct DecoderBlock: Sendable, Equatable {
    /// The FFN's nonlinearity; a gated one has a third weight matrix (gate, up, down).
    public enum Activation: String, Sendable, Equatable, CaseIterable {
        /// GELU on up(x): two matrices (GPT-2, GPT-3, Falcon).
        case gelu
        /// ReLU on up(x): two matrices (OPT).
        case relu
        /// SiLU(gate(x)) * up(x): three matrices (Llama, Mistral; Shazeer 2020).
        case swiglu
        /// GELU(gate(x)) * up(x): three matrices (Gemma).
        case geglu

        /// Whether the FFN has a gate matrix beside the up matrix.
        public var isGated: Bool { self == .swiglu || self == .geglu }
    }

    /// The normalization layer; LayerNorm has a bias beside its weight.
    public enum Norm: String, Sendable, Equatable, CaseIterable {
        case layernorm
        case rmsnorm

        /// Parameters per normalized element: weight (and bias for LayerNorm).
        public var parametersPerElement: Int { self == .layernorm ? 2 : 1 }

        /// FLOPs per normalized element: RMSNorm squares and sums it, scales it by the
        /// reciprocal root and multiplies by the weight (4); LayerNorm also sums it for the
        /// mean, subtracts the mean and adds the bias (7).
        public var flopsPerElement: Int { self == .rmsnorm ? 4 : 7 }
    }

    /// How positions enter the model.
    public enum Positions: String, Sendable, Equatable, CaseIterable {
        /// Rotary embeddings applied to Q and K in every attention layer (no parameters).
        case rope
        /// A learned table of `position_embeddings` vectors added to the token embedding.
        case learned
        /// Nothing to compute or store outside attention (ALiBi biases, Mamba's recurrence).
        case none
    }

    /// A sparse mixture-of-experts FFN (Switch/GShard style): a router picks `topK` of
    /// `experts` routed experts per token; `sharedExperts` run on every token.
    public struct MoE: Sendable, Equatable {
        public var experts: Int
        public var topK: Int
        public var sharedExperts: Int
        /// Intermediate size of one expert.
        public var expertIntermediateSize: Int
        /// Layer l (from 0) has experts when l >= `firstDenseLayers`, l >= `offset` and
        /// (l - `offset`) % `every` == 0 (Jamba: every 2, offset 1; DeepSeek-V3: the first
        /// 3 layers dense).
        public var every: Int
        public var offset: Int
        public var firstDenseLayers: Int
        /// The router has a bias per routed expert (DeepSeek-V3's e_score_correction_bias).
        public var routerBias: Bool
        /// The shared experts' output is scaled by a learned sigmoid gate, a 1 x hidden
        /// projection (Qwen3-Next's `shared_expert_gate`).
        public var sharedExpertGate: Bool = false
        /// How the routed experts' weight matrices are stored; nil: like the other weights.
        public var expertDType: ExpertDType? = nil

        public init(
            experts: Int, topK: Int, sharedExperts: Int = 0, expertIntermediateSize: Int, every: Int = 1, offset: Int = 0, firstDenseLayers: Int = 0,
            routerBias: Bool = false, sharedExpertGate: Bool = false, expertDType: ExpertDType? = nil
        ) {
            self.routerBias = routerBias
            self.sharedExpertGate = sharedExpertGate
            self.expertDType = expertDType
            self.experts = experts
            self.topK = topK
            self.sharedExperts = sharedExperts
            self.expertIntermediateSize = expertIntermediateSize
            self.every = every
            self.offset = offset
            self.firstDenseLayers = firstDenseLayers
        }

        /// Whether layer `index` (from 0) has experts rather than the dense FFN.
        public func appliesTo(layer index: Int) -> Bool {
            index >= firstDenseLayers && index >= offset && (index - offset) % every == 0
        }
    }

    /// A low-precision format of the routed experts' weight matrices.
    public enum ExpertDType: String, Sendable, Equatable, CaseIterable {
        /// OCP Microscaling FP4 (MX v1.0): blocks of 32 E2M1 elements (4 bits each) sharing
        /// one E8M0 scale byte, 4.25 bits per element (gpt-oss's `quantization_config`
        /// `mxfp4`: every expert's gate_up_proj and down_proj; their biases stay bf16).
        case mxfp4

        /// Bytes of `elements` stored in this format: ceil(n / 2) element bytes plus one
        /// scale byte per block of 32 (ceil(n / 32)).
        public func bytes(elements n: Int) -> Int {
            switch self {
            case .mxfp4: return (n + 1) / 2 + (n + 31) / 32
            }
        }
    }

    /// Intermediate size of the dense FFN.
    public var intermediateSize: Int
    public var activation: Activation
    public var vocabSize: Int
    public var norm: Norm
    /// Norm layers in each decoder layer: 2 (pre-attention, pre-FFN), 1 for Falcon-7B's
    /// parallel block, 4 for Gemma 2's pre and post norms.
    public var normsPerLayer: Int
    /// Whether a norm follows the last layer.
    public var finalNorm: Bool
    /// Whether the LM head reuses the embedding matrix.
    public var tiedEmbeddings: Bool
    /// Whether the linear layers (projections, FFN) carry biases.
    public var bias: Bool
    public var positions: Positions
    /// Rows of the learned position table (`positions == .learned`), else 0.
    public var positionEmbeddings: Int
    /// Llama 4's NoPE layers (`no_rope_layer_interval`): layer i (from 0) applies no RoPE
    /// when (i + 1) is a multiple of it; nil: RoPE in every attention layer (with `rope`).
    public var noRopeLayerInterval: Int? = nil
    /// Queries and keys are RMS-normalized per head with a learned weight of head_dim each
    /// (Qwen3, Gemma 3: `q_norm`, `k_norm`).
    public var qkNorm: Bool = false
    /// One learned sink logit per head joins every softmax's denominator (gpt-oss's
    /// `sinks`: attention may put weight on no token).
    public var sinkLogits: Bool = false
    /// The attention output is multiplied by sigmoid(x W_g), W_g a second hidden x
    /// heads x head_dim half of the query projection (Qwen3-Next's gated attention).
    public var attentionOutputGate: Bool = false
    public var moe: MoE?
    /// Mamba's dt rank (SSM layers): the width of the low-rank delta projection.
    public var ssmDtRank: Int?
    /// Per-layer query heads, KV heads and FFN intermediate sizes of a pruned model; nil:
    /// every layer has the model's.
    public var layerHeads: [Int]?
    public var layerKVHeads: [Int]?
    public var layerIntermediateSizes: [Int]?

    public init(
        intermediateSize: Int, activation: Activation, vocabSize: Int, norm: Norm, normsPerLayer: Int = 2, finalNorm: Bool = true,
        tiedEmbeddings: Bool = false, bias: Bool = false, positions: Positions = .rope, positionEmbeddings: Int = 0, moe: MoE? = nil,
        ssmDtRank: Int? = nil, layerHeads: [Int]? = nil, layerKVHeads: [Int]? = nil, layerIntermediateSizes: [Int]? = nil
    ) {
        self.intermediateSize = intermediateSize
        self.activation = activation
        self.vocabSize = vocabSize
        self.norm = norm
        self.normsPerLayer = normsPerLayer
        self.finalNorm = finalNorm
        self.tiedEmbeddings = tiedEmbeddings
        self.bias = bias
        self.positions = positions
        self.positionEmbeddings = positionEmbeddings
        self.moe = moe
        self.ssmDtRank = ssmDtRank
        self.layerHeads = layerHeads
        self.layerKVHeads = layerKVHeads
        self.layerIntermediateSizes = layerIntermediateSizes
    }
}
