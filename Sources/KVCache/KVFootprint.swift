import Workload

/// KV-cache bytes of a model: per token, per sequence at a context length, and in total,
/// and per layer kind.
///
/// Per token, each attention layer stores a key and a value vector for every KV head, or,
/// for multi-head latent attention (MLA), one latent vector plus one shared RoPE key; a
/// layer with DeepSeek Sparse Attention's lightning indexer also stores one indexer key:
///     bytes/token/layer = 2 x kv_heads x vector_bytes(head_dim)
///                       = vector_bytes(kv_lora_rank + qk_rope_head_dim)      (MLA)
///                         + index_head_dim + 4 ceil(index_head_dim / 128)  (indexer, FP8 keys)
///     bytes/token       = attention_layers x bytes/token/layer
/// (vector_bytes = elements x element bytes, plus int4 group metadata). A sequence of L
/// tokens keeps, per attention layer, L tokens, min(L, sinks + window) in a layer with a
/// window, or min(L, chunk) in a chunked layer (`ModelSpec.AttentionSpan`); plus a
/// constant state per SSM or Gated DeltaNet layer; plus, for an encoder-decoder model,
/// the cross-attention keys and values of its encoder states, once per sequence.
///
/// With tensor parallelism over G GPUs (`tensorParallel`) the footprint is one GPU's: it
/// holds kv_heads / G KV heads, or one when G > kv_heads (each KV head is then replicated
/// on G / kv_heads GPUs, as vLLM does); an MLA latent (and an indexer key) is shared by all
/// heads, so every GPU keeps all of it; SSM and DeltaNet state is split over the GPUs
/// (ceil(inner / G) channels, ceil(heads / G) heads each).
public struct KVFootprint: Sendable, Equatable {
    public var model: ModelSpec
    public var dtype: KVDType
    /// GPUs the heads are split over (1: one GPU holds everything).
    public var tensorParallel: Int

    public init(model: ModelSpec, dtype: KVDType, tensorParallel: Int = 1) {
        self.model = model
        self.dtype = dtype
        self.tensorParallel = max(1, tensorParallel)
    }

    /// KV heads one GPU holds: kv_heads / G, at least 1 (replicated when G > kv_heads).
    public var kvHeadsPerGPU: Int { max(1, model.kvHeads / tensorParallel) }

    /// Cache bytes one token adds to one attention layer (on one GPU).
    public var bytesPerTokenPerLayer: Int {
        if let mla = model.mla { return dtype.vectorBytes(mla.cachedElements) + indexerBytesPerTokenPerLayer }
        return 2 * kvHeadsPerGPU * dtype.vectorBytes(model.headDim)
    }

    /// Bytes of one lightning-indexer key per token and layer (0 without an indexer): FP8
    /// with its fp32 scales as DeepSeek-V3.2 keeps it, else at the cache's dtype.
    public var indexerBytesPerTokenPerLayer: Int {
        guard let indexer = model.indexer else { return 0 }
        return indexer.fp8Keys ? indexer.fp8KeyBytes : dtype.vectorBytes(indexer.headDim)
    }

    /// Cache bytes per token over all attention layers (before any window or chunk cap).
    public var bytesPerToken: Int { model.attentionLayers * bytesPerTokenPerLayer }

    /// Tokens a layer with `window` (nil: global) keeps for a sequence of `context` tokens:
    /// the context, capped at sinks + window when there is a window.
    public func cachedTokens(context: Int, window: Int?) -> Int {
        cachedTokens(context: context, span: window.map { .window($0) } ?? .global)
    }

    /// Tokens a layer of `span` keeps for a sequence of `context` tokens
    /// (`ModelSpec.AttentionSpan.cachedTokens`, with the model's attention sinks).
    public func cachedTokens(context: Int, span: ModelSpec.AttentionSpan) -> Int {
        span.cachedTokens(context: context, sinks: model.attentionSinks ?? 0)
    }

    /// Tokens kept for a sequence of `context` tokens, summed over the attention layers
    /// (a token in every layer counts once per layer); nil past 2^63 - 1.
    public func cachedTokenLayers(context: Int) -> Int? {
        var total = 0
        for span in model.attentionSpans {
            guard let sum = Checked.sum(total, cachedTokens(context: context, span: span)) else { return nil }
            total = sum
        }
        return total
    }

    /// Attention cache bytes of one sequence of `context` tokens, or nil past 2^63 - 1:
    /// the self-attention cache and, for an encoder-decoder model, the cross-attention
    /// keys and values (`crossAttentionBytesPerSequence`), once.
    public func checkedKVBytesPerSequence(context: Int) -> Int? {
        cachedTokenLayers(context: context).flatMap { Checked.product($0, bytesPerTokenPerLayer) }
            .flatMap { own in crossAttentionBytesPerSequence.flatMap { Checked.sum(own, $0) } }
    }

    /// Cross-attention K and V of one sequence: attention layers x encoder states x
    /// bytes per token and layer, computed once per request from the encoder output and
    /// read by every decode step, so independent of the decoder's length (0 for a
    /// decoder-only model; nil past 2^63 - 1). Whisper large-v3 at fp16: 32 x 1,500 x
    /// 2 x 20 x 64 x 2 = 245,760,000 bytes per request.
    public var crossAttentionBytesPerSequence: Int? {
        guard let cross = model.crossAttention else { return 0 }
        return Checked.product(model.attentionLayers, cross.encoderStates).flatMap { Checked.product($0, bytesPerTokenPerLayer) }
    }

    /// Attention cache bytes of one sequence of `context` tokens (callers check the
    /// inputs first, `KVStudy.checkFootprints`; a footprint past 2^63 - 1 saturates).
    public func kvBytesPerSequence(context: Int) -> Int { checkedKVBytesPerSequence(context: context) ?? Int.max }

    /// Bytes per state element: states are not quantized, 4 bytes for an fp32 cache and 2
    /// otherwise.
    var stateElementBytes: Int {
        switch dtype {
        case .fp32: return 4
        default: return 2
        }
    }

    /// SSM state bytes of one sequence over all SSM layers, independent of length: per
    /// layer inner x state + inner x (conv_width - 1) elements (Mamba, Gu and Dao 2023).
    public var mambaStateBytesPerSequence: Int {
        guard let ssm = model.ssm else { return 0 }
        let inner = (ssm.innerDim + tensorParallel - 1) / tensorParallel
        return model.ssmLayers * (inner * ssm.stateDim + inner * (ssm.convWidth - 1)) * stateElementBytes
    }

    /// Gated DeltaNet state bytes of one sequence over all DeltaNet layers, independent of
    /// length: per layer H_v d_k d_v + (2 H_k d_k + H_v d_v)(conv_width - 1) elements.
    public var deltanetStateBytesPerSequence: Int {
        guard let state = model.deltanet else { return 0 }
        return model.deltanetLayers * state.elements(gpus: tensorParallel) * stateElementBytes
    }

    /// Recurrent state bytes of one sequence (SSM and Gated DeltaNet layers), independent
    /// of length.
    public var ssmStateBytesPerSequence: Int { mambaStateBytesPerSequence + deltanetStateBytesPerSequence }

    /// Everything one sequence keeps: KV plus recurrent state.
    public func bytesPerSequence(context: Int) -> Int {
        let kv = kvBytesPerSequence(context: context)
        return Checked.sum(kv, ssmStateBytesPerSequence) ?? Int.max
    }

    /// What one kind of layer keeps for a sequence.
    public struct KindBytes: Sendable, Equatable {
        /// `full`, `window W` (`+ S sinks`), `chunk C`, `ssm state`, `deltanet state`.
        public var kind: String
        public var layers: Int
        /// Tokens each layer keeps (nil for a recurrent state).
        public var tokensPerLayer: Int?
        /// Bytes of all the layers of this kind for one sequence (saturating past 2^63 - 1).
        public var bytesPerSequence: Int
    }

    /// One entry per kind of layer, for a sequence of `context` tokens: global attention
    /// first, then each window and each chunk in order of first appearance, then SSM and
    /// DeltaNet states. Their bytes add up to `bytesPerSequence(context:)`.
    public func kinds(context: Int) -> [KindBytes] {
        let sinks = max(0, model.attentionSinks ?? 0)
        var out: [KindBytes] = []
        for (span, layers) in model.attentionSpanCounts {
            let tokens = cachedTokens(context: context, span: span)
            let bytes = Checked.product(tokens, bytesPerTokenPerLayer).flatMap { Checked.product($0, layers) } ?? Int.max
            var label = span.label
            if case .window = span, sinks > 0 { label += " + \(sinks) sinks" }
            out.append(KindBytes(kind: label, layers: layers, tokensPerLayer: tokens, bytesPerSequence: bytes))
        }
        if model.ssmLayers > 0 {
            out.append(KindBytes(kind: "ssm state", layers: model.ssmLayers, tokensPerLayer: nil, bytesPerSequence: mambaStateBytesPerSequence))
        }
        if model.deltanetLayers > 0 {
            out.append(KindBytes(kind: "deltanet state", layers: model.deltanetLayers, tokensPerLayer: nil, bytesPerSequence: deltanetStateBytesPerSequence))
        }
        return out
    }
}
