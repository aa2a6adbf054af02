/// The fitted constants of the cost model (docs/cost-model.md gives each one's meaning
/// and how it was fitted). Everything else in the model is a datasheet or measured figure.
public struct CostModelConstants: Sendable, Equatable {
    /// Fraction of the measured matmul ceiling attention kernels reach on their GEMMs.
    public var matmulEfficiency: Double
    /// Bytes per second one resident warp can stream from DRAM: the bytes it keeps in
    /// flight over the memory latency. Bounds bandwidth when few warps run.
    public var warpBytesPerSecond: Double
    /// Fixed time per kernel launch.
    public var kernelOverheadSeconds: Double
    /// Fixed time per attention call (framework dispatch), once per run.
    public var callOverheadSeconds: Double
    /// Where the values come from.
    public var source: String

    public init(matmulEfficiency: Double, warpBytesPerSecond: Double, kernelOverheadSeconds: Double, callOverheadSeconds: Double, source: String) {
        self.matmulEfficiency = matmulEfficiency
        self.warpBytesPerSecond = warpBytesPerSecond
        self.kernelOverheadSeconds = kernelOverheadSeconds
        self.callOverheadSeconds = callOverheadSeconds
        self.source = source
    }
}
