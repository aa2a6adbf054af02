/// A normalization layer over `rows` vectors of `width` elements each (RMSNorm or
/// LayerNorm): read once, normalized, scaled by a weight of `width` (and shifted by a bias
/// for LayerNorm), written once.
public struct NormShape: Sendable, Hashable {
    public var rows: Int
    public var width: Int
    public var kind: DecoderBlock.Norm

    public init(rows: Int, width: Int, kind: DecoderBlock.Norm) {
        self.rows = rows
        self.width = width
        self.kind = kind
    }

    /// Elements read (and as many written): rows x width.
    public var elements: Int { rows * width }

    /// FLOPs: `kind.flopsPerElement` per element.
    public var flops: Int { kind.flopsPerElement * elements }

    /// Parameters of the layer: its weight (and LayerNorm's bias), width each.
    public var parameters: Int { kind.parametersPerElement * width }
}
