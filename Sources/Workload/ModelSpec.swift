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

    /// Multi-head latent attention (DeepSeek-V2, Section 2.1): keys and values are
    /// up-projected from one compressed latent c_KV per token, shared by all heads, plus
    /// one decoupled RoPE key shared by all heads. Only those two are cached.
    public struct LatentAttention: Sendable, Equatable {
        /// d_c: size of the latent c_KV (`kv_lora_rank`).
        public var kvLoraRank: Int
        /// d_h^R: size of the decoupled RoPE key (`qk_rope_head_dim`).
        public var qkRopeHeadDim: Int
        /// Per-head query/key size without RoPE (`qk_nope_head_dim`).
        public var qkNopeHeadDim: Int
        /// Per-head value size (`v_head_dim`).
        public var vHeadDim: Int
        /// d_c': size of the compressed query; nil when queries are not compressed (V2-Lite).
        public var qLoraRank: Int?

        public init(kvLoraRank: Int, qkRopeHeadDim: Int, qkNopeHeadDim: Int, vHeadDim: Int, qLoraRank: Int?) {
            self.kvLoraRank = kvLoraRank
            self.qkRopeHeadDim = qkRopeHeadDim
            self.qkNopeHeadDim = qkNopeHeadDim
            self.vHeadDim = vHeadDim
            self.qLoraRank = qLoraRank
        }

        /// Elements cached per token and layer: kv_lora_rank + qk_rope_head_dim (DeepSeek-V2,
        /// Table 1: (d_c + d_h^R) l elements per token).
        public var cachedElements: Int { kvLoraRank + qkRopeHeadDim }
    }

    /// Encoder-decoder cross-attention (Whisper: Radford et al. 2023, Section 2.2, the
    /// Transformer of Vaswani et al. 2017): every attention layer also attends to the
    /// encoder's states, with keys and values of the layer's head count and size. They
    /// are computed once per request from the encoder output and read by every decode
    /// step, so a sequence caches them once, whatever its length.
    public struct CrossAttention: Sendable, Equatable {
        /// Encoder states each request attends to (Whisper: 1,500 for 30 s of audio).
        public var encoderStates: Int

        public init(encoderStates: Int) {
            self.encoderStates = encoderStates
        }
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
    /// Mistral-style sliding window: each attention layer caches at most this many tokens
    /// (with `slidingWindowPattern`, only the local layers).
    public var slidingWindow: Int?
    /// Interleaved local/global layers (Gemma 2: 2, Gemma 3: 6): with `slidingWindow`,
    /// layer i (from 0) is global, caching every token, when (i + 1) is a multiple of it,
    /// and local otherwise. nil: every layer is local.
    public var slidingWindowPattern: Int?
    /// Per-layer windows, one entry per layer (nil: a global layer); replaces
    /// `slidingWindow` when given.
    public var layerWindows: [Int?]?
    /// StreamingLLM attention sinks (Xiao et al. 2023): windowed layers also keep the
    /// first this many tokens. nil or 0: none.
    public var attentionSinks: Int?
    /// Multi-head latent attention; nil for MHA/GQA/MQA models.
    public var mla: LatentAttention?
    /// Cross-attention to an encoder's states; nil for decoder-only models.
    public var crossAttention: CrossAttention? = nil
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

    /// MLA, or MHA, GQA or MQA from the head counts.
    public var attentionKind: String {
        mla != nil ? "MLA" : kvHeads == heads ? "MHA" : kvHeads == 1 ? "MQA" : "GQA"
    }

    /// The window of layer `layer` (from 0), nil for a global layer: from `layerWindows`,
    /// else `slidingWindow` with `slidingWindowPattern`.
    public func window(layer: Int) -> Int? {
        if let layerWindows { return layer < layerWindows.count ? layerWindows[layer] : nil }
        guard let slidingWindow else { return nil }
        if let pattern = slidingWindowPattern, pattern > 0, (layer + 1) % pattern == 0 { return nil }
        return slidingWindow
    }

    /// The windows of the attention layers, in order (nil: global).
    public var attentionWindows: [Int?] {
        layerKinds.indices.filter { layerKinds[$0] == .attention }.map { window(layer: $0) }
    }

    /// Whether any attention layer has a window.
    public var hasWindows: Bool { attentionWindows.contains { $0 != nil } }

    /// What the attention layers keep, in words: `full`, `window 4096`, `window 4096 + 4
    /// sinks`, `window 4096 on 21 of 42 layers`, `per-layer windows on 3 of 4 layers`.
    public var cachePolicy: String {
        let windows = attentionWindows
        let windowed = windows.compactMap { $0 }
        guard let first = windowed.first else { return "full" }
        let sinks = (attentionSinks ?? 0) > 0 ? " + \(attentionSinks ?? 0) sinks" : ""
        let what = windowed.allSatisfy { $0 == first } ? "window \(first)" : "per-layer windows"
        let layers = windowed.count == windows.count ? "" : " on \(windowed.count) of \(windows.count) layers"
        return what + sinks + layers
    }

    /// This model under a cache eviction policy: `window` (when given) replaces every
    /// layer's window, so every attention layer keeps the last `window` tokens
    /// (StreamingLLM's rolling cache); `sinks` (when given) replaces the attention sinks.
    public func withPolicy(window: Int?, sinks: Int?) -> ModelSpec {
        var model = self
        if let window {
            model.slidingWindow = window
            model.slidingWindowPattern = nil
            model.layerWindows = nil
        }
        if let sinks { model.attentionSinks = sinks }
        return model
    }
}
