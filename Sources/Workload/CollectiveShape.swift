/// A transfer between GPUs: what the interconnect carries for tensor, context, expert and
/// pipeline parallelism.
public struct CollectiveShape: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable {
        /// Every GPU holds `bytes` and ends with their sum over the GPUs (tensor
        /// parallelism's two all-reduces per layer: Shoeybi et al. 2019, Megatron-LM).
        case allReduce = "all_reduce"
        /// One GPU sends `bytes` to the next (ring attention's K/V blocks: Liu et al. 2023).
        case send
        /// Every GPU sends `bytes` to the others and receives as many (expert
        /// parallelism's dispatch of tokens to their experts' GPUs and the combine that
        /// brings the outputs back: Lepikhin et al. 2020, GShard; DeepSeek-V3, Section 3.4).
        case allToAll = "all_to_all"
    }

    public var kind: Kind
    /// The bytes each GPU holds (all-reduce) or sends (send; all-to-all: the busiest GPU's
    /// larger of what it sends and what it receives).
    public var bytes: Int
    /// GPUs taking part.
    public var gpus: Int

    public init(_ kind: Kind, bytes: Int, gpus: Int) {
        self.kind = kind
        self.bytes = bytes
        self.gpus = gpus
    }
}
