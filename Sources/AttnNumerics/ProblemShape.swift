/// The shape of an attention problem: batch, heads, lengths, head dimension and scale.
public struct ProblemShape: Sendable, Equatable {
    public var batch: Int
    public var heads: Int
    public var kvHeads: Int
    /// Query length N.
    public var queryLength: Int
    /// Key/value length Nkv.
    public var keyLength: Int
    public var headDim: Int
    /// nil: 1/sqrt(headDim).
    public var scale: Double?

    public init(batch: Int, heads: Int, kvHeads: Int, queryLength: Int, keyLength: Int, headDim: Int, scale: Double? = nil) {
        self.batch = batch
        self.heads = heads
        self.kvHeads = kvHeads
        self.queryLength = queryLength
        self.keyLength = keyLength
        self.headDim = headDim
        self.scale = scale
    }

    public var effectiveScale: Double { scale ?? 1 / Double(headDim).squareRoot() }

    /// The key/value head a flattened query head (b*heads + h) reads: b*kv_heads +
    /// h / (heads / kv_heads) (grouped-query attention; MHA when equal).
    public func kvHead(forQueryHead bh: Int) -> Int {
        let b = bh / heads
        let h = bh % heads
        return b * kvHeads + h / (heads / kvHeads)
    }
}
