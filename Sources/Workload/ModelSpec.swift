/// The shape of a model as its KV cache sees it: layers, heads, head size, weights,
/// sliding windows or attention chunks and, for hybrids, which layers are state-space
/// (SSM) or Gated DeltaNet layers.
public struct ModelSpec: Sendable, Equatable {
    /// What one layer keeps per sequence.
    public enum LayerKind: String, Sendable, Equatable, CaseIterable {
        /// Keys and values for every cached token (capped by the sliding window or the
        /// attention chunk, if any).
        case attention
        /// A Mamba-style layer: a fixed-size recurrent state, whatever the length.
        case ssm
        /// A Gated DeltaNet layer (linear attention with the delta rule): a fixed-size
        /// recurrent state per value head, whatever the length.
        case deltanet
    }

    /// The keys an attention layer keeps for a sequence, by its kind.
    public enum AttentionSpan: Sendable, Equatable, Hashable {
        /// Every token (global attention).
        case global
        /// The last `window` tokens (plus the model's attention sinks).
        case window(Int)
        /// The tokens of the current chunk of `chunk` tokens (Llama 4's chunked local attention).
        case chunk(Int)

        /// Whether this is a sliding window.
        public var isWindow: Bool {
            if case .window = self { return true }
            return false
        }

        /// `full`, `window W`, `chunk C`: the words reports use.
        public var label: String {
            switch self {
            case .global: return "full"
            case .window(let w): return "window \(w)"
            case .chunk(let c): return "chunk \(c)"
            }
        }

        /// Tokens a layer of this span keeps for a sequence of `context` tokens with
        /// `sinks` attention sinks beside a window: L (global), min(L, W + sinks) (window)
        /// or min(L, C) (chunk: the most a sequence of up to L tokens holds; see `chunkTokens`).
        public func cachedTokens(context: Int, sinks: Int) -> Int {
            switch self {
            case .global: return context
            case .window(let w): return min(context, w + max(0, sinks))
            case .chunk(let c): return min(context, c)
            }
        }

        /// Tokens a chunked layer holds right after the token at position `context - 1`
        /// (from 0): Llama 4's chunked mask (Hugging Face Llama4, `attention_chunk_size`;
        /// Meta's reference `create_chunked_attention_mask`) lets the query at position p see
        /// key k exactly when floor(k / C) = floor(p / C) and k <= p, so the layer needs the
        /// keys C floor((L - 1) / C) ... L - 1: ((L - 1) mod C) + 1 of them. Equals min(L, C)
        /// when L <= C or L is a multiple of C; 0 for an empty sequence.
        public static func chunkTokens(context: Int, chunk: Int) -> Int {
            context <= 0 || chunk <= 0 ? 0 : (context - 1) % chunk + 1
        }
    }

    /// The recurrent state of a Gated DeltaNet layer (Yang, Kautz and Hatamizadeh 2024,
    /// "Gated Delta Networks: Improving Mamba2 with Delta Rule"; Qwen3-Next's
    /// `linear_attention` layers): one d_k x d_v matrix per value head, plus the causal
    /// convolution's last conv_width - 1 inputs of the q, k and v channels.
    public struct DeltaNetState: Sendable, Equatable {
        /// Key (and query) heads (`linear_num_key_heads`).
        public var keyHeads: Int
        /// Value heads (`linear_num_value_heads`); queries and keys are shared by groups of them.
        public var valueHeads: Int
        /// d_k (`linear_key_head_dim`).
        public var keyHeadDim: Int
        /// d_v (`linear_value_head_dim`).
        public var valueHeadDim: Int
        /// Width of the causal convolution (`linear_conv_kernel_dim`).
        public var convWidth: Int

        public init(keyHeads: Int, valueHeads: Int, keyHeadDim: Int, valueHeadDim: Int, convWidth: Int) {
            self.keyHeads = keyHeads
            self.valueHeads = valueHeads
            self.keyHeadDim = keyHeadDim
            self.valueHeadDim = valueHeadDim
            self.convWidth = convWidth
        }

        /// Channels of q, k and v together: 2 H_k d_k + H_v d_v (the convolution's width).
        public var convChannels: Int { 2 * keyHeads * keyHeadDim + valueHeads * valueHeadDim }

        /// State elements per layer and sequence over `gpus` GPUs (heads split, rounded up):
        /// H_v d_k d_v for the recurrent state plus convChannels x (conv_width - 1).
        public func elements(gpus: Int = 1) -> Int {
            let g = max(1, gpus)
            let kh = (keyHeads + g - 1) / g, vh = (valueHeads + g - 1) / g
            return vh * keyHeadDim * valueHeadDim + (2 * kh * keyHeadDim + vh * valueHeadDim) * (convWidth - 1)
        }
    }

    /// DeepSeek Sparse Attention's lightning indexer (DeepSeek-V3.2-Exp): a few small heads
    /// score every cached key and each query attends to its top-k keys. Each attention
    /// layer caches one indexer key per token beside its MLA latent.
    public struct LightningIndexer: Sendable, Equatable {
        /// Indexer heads (`index_n_heads`).
        public var heads: Int
        /// Size of an indexer query or key (`index_head_dim`).
        public var headDim: Int
        /// Keys each query attends to (`index_topk`).
        public var topK: Int
        /// The key cache is FP8 (E4M3) with one fp32 scale per 128 elements, as the released
        /// inference code keeps it (`k_cache` float8_e4m3fn, `k_scale_cache` float32 per
        /// block of 128); false: the KV cache's dtype.
        public var fp8Keys: Bool

        /// Elements per block that share one fp32 scale in the FP8 key cache.
        public static let scaleBlock = 128

        public init(heads: Int, headDim: Int, topK: Int, fp8Keys: Bool) {
            self.heads = heads
            self.headDim = headDim
            self.topK = topK
            self.fp8Keys = fp8Keys
        }

        /// Bytes of one cached key when FP8: head_dim + 4 ceil(head_dim / 128).
        public var fp8KeyBytes: Int { headDim + 4 * ((headDim + Self.scaleBlock - 1) / Self.scaleBlock) }
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
    /// Llama 4's chunked local attention (`attention_chunk_size`): a chunked layer's query
    /// sees the earlier keys of its own chunk of this many tokens. nil: no chunked layers.
    public var attentionChunkSize: Int? = nil
    /// With `attentionChunkSize`: layer i (from 0) is global when (i + 1) is a multiple of
    /// it, chunked otherwise (Llama 4: 4, from `no_rope_layers`); nil: every layer chunked.
    public var attentionChunkPattern: Int? = nil
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
    /// The state of Gated DeltaNet layers (required when any layer is `.deltanet`).
    public var deltanet: DeltaNetState? = nil
    /// DeepSeek Sparse Attention's lightning indexer (with MLA); nil: dense attention.
    public var indexer: LightningIndexer? = nil
    /// The whole decoder layer (FFN, MoE, vocabulary, norms) for `attnsim model`; nil when the file has none.
    public var decoder: DecoderBlock? = nil
    /// Where each figure comes from.
    public var sources: [String: String]

    public var attentionLayers: Int { layerKinds.filter { $0 == .attention }.count }
    public var ssmLayers: Int { layerKinds.filter { $0 == .ssm }.count }
    public var deltanetLayers: Int { layerKinds.filter { $0 == .deltanet }.count }

    /// MLA, or MHA, GQA or MQA from the head counts.
    public var attentionKind: String {
        mla != nil ? "MLA" : kvHeads == heads ? "MHA" : kvHeads == 1 ? "MQA" : "GQA"
    }

    /// The window of layer `layer` (from 0), nil for a global or chunked layer: from
    /// `layerWindows`, else `slidingWindow` with `slidingWindowPattern`.
    public func window(layer: Int) -> Int? {
        if let layerWindows { return layer < layerWindows.count ? layerWindows[layer] : nil }
        guard let slidingWindow else { return nil }
        if let pattern = slidingWindowPattern, pattern > 0, (layer + 1) % pattern == 0 { return nil }
        return slidingWindow
    }

    /// The attention chunk of layer `layer` (from 0), nil for a global or windowed layer:
    /// `attentionChunkSize` with `attentionChunkPattern`.
    public func chunk(layer: Int) -> Int? {
        guard let size = attentionChunkSize else { return nil }
        if let pattern = attentionChunkPattern, pattern > 0, (layer + 1) % pattern == 0 { return nil }
        return size
    }

    /// What attention layer `layer` keeps: its window, its chunk, or every token.
    public func span(layer: Int) -> AttentionSpan {
        if let w = window(layer: layer) { return .window(w) }
        if let c = chunk(layer: layer) { return .chunk(c) }
        return .global
    }

    /// The windows of the attention layers, in order (nil: global or chunked).
    public var attentionWindows: [Int?] {
        layerKinds.indices.filter { layerKinds[$0] == .attention }.map { window(layer: $0) }
    }

    /// The spans of the attention layers, in order.
    public var attentionSpans: [AttentionSpan] {
        layerKinds.indices.filter { layerKinds[$0] == .attention }.map { span(layer: $0) }
    }

    /// The distinct spans of the attention layers with how many layers have each: global
    /// first, then the windows and then the chunks, each in order of first appearance (the
    /// order `kv` reports and `paged` groups them in).
    public var attentionSpanCounts: [(span: AttentionSpan, layers: Int)] {
        var counts: [(span: AttentionSpan, layers: Int)] = []
        for span in attentionSpans {
            if let at = counts.firstIndex(where: { $0.span == span }) { counts[at].layers += 1 } else { counts.append((span, 1)) }
        }
        func rank(_ span: AttentionSpan) -> Int {
            switch span {
            case .global: return 0
            case .window: return 1
            case .chunk: return 2
            }
        }
        return counts.enumerated().sorted { (rank($0.element.span), $0.offset) < (rank($1.element.span), $1.offset) }.map(\.element)
    }

    /// Whether any attention layer has a window.
    public var hasWindows: Bool { attentionWindows.contains { $0 != nil } }

    /// What the attention layers keep, in words: `full`, `window 4096`, `window 4096 + 4
    /// sinks`, `window 4096 on 21 of 42 layers`, `per-layer windows on 3 of 4 layers`,
    /// `chunk 8192 on 36 of 48 layers`.
    public var cachePolicy: String {
        let spans = attentionSpans
        let windows = attentionWindows
        let windowed = windows.compactMap { $0 }
        let chunks = spans.compactMap { span -> Int? in if case .chunk(let c) = span { return c } else { return nil } }
        var parts: [String] = []
        if let first = windowed.first {
            let sinks = (attentionSinks ?? 0) > 0 ? " + \(attentionSinks ?? 0) sinks" : ""
            let what = windowed.allSatisfy { $0 == first } ? "window \(first)" : "per-layer windows"
            let layers = windowed.count == windows.count ? "" : " on \(windowed.count) of \(windows.count) layers"
            parts.append(what + sinks + layers)
        }
        if let first = chunks.first {
            parts.append("chunk \(first)" + (chunks.count == spans.count ? "" : " on \(chunks.count) of \(spans.count) layers"))
        }
        return parts.isEmpty ? "full" : parts.joined(separator: ", ")
    }

    /// This model under a cache eviction policy: `window` (when given) replaces every
    /// layer's window and chunk, so every attention layer keeps the last `window` tokens
    /// (StreamingLLM's rolling cache); `sinks` (when given) replaces the attention sinks.
    public func withPolicy(window: Int?, sinks: Int?) -> ModelSpec {
        var model = self
        if let window {
            model.slidingWindow = window
            model.slidingWindowPattern = nil
            model.layerWindows = nil
            model.attentionChunkSize = nil
            model.attentionChunkPattern = nil
        }
        if let sinks { model.attentionSinks = sinks }
        return model
    }
}
