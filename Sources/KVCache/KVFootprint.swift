import Workload

/// KV-cache bytes of a model: per token, per sequence at a context length, and in total.
///
/// Per token, each attention layer stores a key and a value vector for every KV head, or,
/// for multi-head latent attention (MLA), one latent vector plus one shared RoPE key:
///     bytes/token/layer = 2 x kv_heads x vector_bytes(head_dim)
///                       = vector_bytes(kv_lora_rank + qk_rope_head_dim)      (MLA)
///     bytes/token       = attention_layers x bytes/token/layer
/// (vector_bytes = elements x element bytes, plus int4 group metadata). A sequence of L
/// tokens keeps, per attention layer, L tokens, or min(L, sinks + window) in a layer with
/// a window; plus a constant state per SSM layer; plus, for an encoder-decoder model, the
/// cross-attention keys and values of its encoder states, once per sequence.
///
/// With tensor parallelism over G GPUs (`tensorParallel`) the footprint is one GPU's: it
/// holds kv_heads / G KV heads, or one when G > kv_heads (each KV head is then replicated
/// on G / kv_heads GPUs, as vLLM does); an MLA latent is shared by all heads, so every GPU
/// keeps all of it; SSM state is split over the GPUs (ceil(inner / G) channels each).
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
        if let mla = model.mla { return dtype.vectorBytes(mla.cachedElements) }
        return 2 * kvHeadsPerGPU * dtype.vectorBytes(model.headDim)
    }

    /// Cache bytes per token over all attention layers (before any window cap).
    public var bytesPerToken: Int { model.attentionLayers * bytesPerTokenPerLayer }

    /// Tokens a layer with `window` (nil: global) keeps for a sequence of `context` tokens:
    /// the context, capped at sinks + window when there is a window.
    public func cachedTokens(context: Int, window: Int?) -> Int {
        guard let window else { return context }
        let sinks = max(0, model.attentionSinks ?? 0)
        return min(context, window + sinks)
    }

    /// Tokens kept for a sequence of `context` tokens, summed over the attention layers
    /// (a token in every layer counts once per layer); nil past 2^63 - 1.
    public func cachedTokenLayers(context: Int) -> Int? {
        var total = 0
        for window in model.attentionWindows {
            guard let sum = Checked.sum(total, cachedTokens(context: context, window: window)) else { return nil }
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

    /// Recurrent state bytes of one sequence (SSM layers), independent of length. States
    /// are not quantized: 4 bytes per element for an fp32 cache, 2 bytes otherwise.
    public var ssmStateBytesPerSequence: Int {
        guard let ssm = model.ssm else { return 0 }
        let elementBytes: Int
        switch dtype {
        case .fp32: elementBytes = 4
        default: elementBytes = 2
        }
        let inner = (ssm.innerDim + tensorParallel - 1) / tensorParallel
        return model.ssmLayers * (inner * ssm.stateDim + inner * (ssm.convWidth - 1)) * elementBytes
    }

    /// Everything one sequence keeps: KV plus SSM state.
    public func bytesPerSequence(context: Int) -> Int {
        let kv = kvBytesPerSequence(context: context)
        return Checked.sum(kv, ssmStateBytesPerSequence) ?? Int.max
    }
}
