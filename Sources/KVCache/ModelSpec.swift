/// The shape of a model as its KV cache sees it: layers, heads, head size, weights,
/// sliding window and, for hybrids, which layers are state-space (SSM) layers.
public struct ModelSpec: Sendable, Equatable {
    /// What one layer keeps per sequence.
    public enum LayerKind: String, Sendable, Equatable {
        /// Keys and values for every cached token (capped by the sliding window, if any).
        case attention
        /// A Mamba-style layer: a fixed-size recurrent state, whatever the length.
        case ssm
    }

    /// The recurrent state of an SSM layer (Mamba: Gu and Dao 2023, Section 3).
    public struct SSMState: Sendable, Equatable {
        /// Channels of the SSM (expand x hidden size).
        public var innerDim: Int
        /// State size N per channel.
        public var stateDim: Int
        /// Width of the causal convolution; it keeps conv_width - 1 past inputs.
        public var convWidth: Int

        public init(innerDim: Int, stateDim: Int, convWidth: Int) {
            self.innerDim = innerDim
            self.stateDim = stateDim
            self.convWidth = convWidth
        }

        /// Elements of state per layer and sequence: inner x state for the SSM plus
        /// inner x (conv_width - 1) for the convolution.
        public var elements: Int { innerDim * stateDim + innerDim * (convWidth - 1) }
    }

    public var id: String
    public var name: String
    public var layers: Int
    public var hiddenSize: Int
    public var heads: Int
    public var kvHeads: Int
    /// Need not equal hiddenSize / heads.
    public var headDim: Int
    /// Weight parameters.
    public var parameters: Int
    /// Longest context the model supports; nil when unknown.
    public var maxContext: Int?
    /// Mistral-style sliding window: each attention layer caches at most this many tokens.
    public var slidingWindow: Int?
    /// One entry per layer.
    public var layerKinds: [LayerKind]
    /// The state of SSM layers (required when any layer is `.ssm`).
    public var ssm: SSMState?
    /// The whole decoder layer (FFN, MoE, vocabulary, norms) for `attnsim model`; nil when the file has none.
    public var decoder: DecoderBlock? = nil
    /// Where each figure comes from.
    public var sources: [String: String]

    public var attentionLayers: Int { layerKinds.filter { $0 == .attention }.count }
    public var ssmLayers: Int { layerKinds.filter { $0 == .ssm }.count }

    /// MHA, GQA or MQA, from the head counts.
    public var attentionKind: String {
        kvHeads == heads ? "MHA" : kvHeads == 1 ? "MQA" : "GQA"
    }
}
