/// The token-expert pairs of one MoE layer under expert parallelism: the mean per GPU
/// and the busiest GPU's, which sets the layer's time.
public struct ExpertLoad: Sendable, Equatable {
    /// Tokens the expert-parallel group routes (all GPUs' tokens together).
    public var tokens: Int
    /// T k / G.
    public var meanPairs: Double
    /// The busiest GPU's pairs: the expected maximum (`ExpertRouting`) or the imbalance
    /// factor times the mean, rounded up.
    public var busiestPairs: Int

    /// The busiest GPU's load over the mean (1 is perfect balance).
    public var imbalance: Double { meanPairs > 0 ? Double(busiestPairs) / meanPairs : 1 }
}
