/// KV-cache bytes of a model: per token, per sequence at a context length, and in total.
///
/// Per token, each attention layer stores a key and a value vector for every KV head:
///     bytes/token = attention_layers x 2 x kv_heads x vector_bytes(head_dim)
/// (vector_bytes = head_dim x element bytes, plus int4 group metadata). A sequence of L
/// tokens keeps min(L, window) of them per attention layer, plus a constant state per SSM
/// layer.
public struct KVFootprint: Sendable, Equatable {
    public var model: ModelSpec
    public var dtype: KVDType

    public init(model: ModelSpec, dtype: KVDType) {
        self.model = model
        self.dtype = dtype
    }

    /// Key and value bytes one token adds to one attention layer.
    public var bytesPerTokenPerLayer: Int { 2 * model.kvHeads * dtype.vectorBytes(model.headDim) }

    /// Key and value bytes per cached token over all attention layers (before any window cap).
    public var bytesPerToken: Int { model.attentionLayers * bytesPerTokenPerLayer }

    /// Tokens an attention layer keeps for a sequence of `context` tokens.
    public func cachedTokens(context: Int) -> Int {
        model.slidingWindow.map { min(context, $0) } ?? context
    }

    /// Attention KV bytes of one sequence of `context` tokens.
    public func kvBytesPerSequence(context: Int) -> Int { cachedTokens(context: context) * bytesPerToken }

    /// Recurrent state bytes of one sequence (SSM layers), independent of length. States
    /// are not quantized: 4 bytes per element for an fp32 cache, 2 bytes otherwise.
    public var ssmStateBytesPerSequence: Int {
        guard let ssm = model.ssm else { return 0 }
        let elementBytes: Int
        switch dtype {
        case .fp32: elementBytes = 4
        default: elementBytes = 2
        }
        return model.ssmLayers * ssm.elements * elementBytes
    }

    /// Everything one sequence keeps: KV plus SSM state.
    public func bytesPerSequence(context: Int) -> Int {
        kvBytesPerSequence(context: context) + ssmStateBytesPerSequence
    }
}
