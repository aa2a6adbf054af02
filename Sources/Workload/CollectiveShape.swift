/// A transfer between GPUs: what the interconnect carries for tensor and context
/// parallelism.
public struct CollectiveShape: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable {
        /// Every GPU holds `bytes` and ends with their sum over the GPUs (tensor
        /// parallelism's two all-reduces per layer: Shoeybi et al. 2019, Megatron-LM).
        case allReduce = "all_reduce"
        /// One GPU sends `bytes` to the next (ring attention's K/V blocks: Liu et al. 2023).
        case send
    }

    public var kind: Kind
    /// The bytes each GPU holds (all-reduce) or sends (send).
    public var bytes: Int
    /// GPUs taking part.
    public var gpus: Int

    public init(_ kind: Kind, bytes: Int, gpus: Int) {
        self.kind = kind
        self.bytes = bytes
        self.gpus = gpus
    }
}
