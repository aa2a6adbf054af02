/// The constants of the cost model that no datasheet gives (docs/cost-model.md gives each
/// one's meaning, its physical reading and how it was set). They describe how attention
/// kernels use an SM, not one GPU: a profile without a `cost_model` of its own uses
/// `CostModelConstants.standard`, and the GPU-specific figures (bandwidths, latency,
/// peaks, register file, L1) come from the profile.
public struct CostModelConstants: Sendable, Equatable {
    /// Fraction of the matmul ceiling (measured where known) that attention kernels'
    /// GEMMs reach on the full-rate tensor-core instruction: the softmax between the two
    /// GEMMs of an iteration stalls the tensor cores for part of each iteration.
    public var matmulEfficiency: Double
    /// Bytes one resident warp keeps in flight to DRAM (outstanding loads). Over the
    /// profile's DRAM latency it gives the bandwidth one warp can stream (Little's law).
    public var bytesInFlightPerWarp: Double
    /// Fraction of the shared-memory bandwidth (`shared_memory_bytes_per_clock_per_sm`)
    /// that feeds B operands to synchronous MMA (ldmatrix and bank conflicts included).
    public var operandBandwidthFraction: Double
    /// SM clock cycles each loop iteration of a block costs beyond its work (the wait for
    /// the pipelined loads, the block barrier, the loop-carried reductions), not hidden by
    /// other blocks.
    public var iterationCycles: Double
    /// Registers a thread uses beyond its tiles (addresses, indices, loop state).
    public var baseRegistersPerThread: Int
    /// Fraction of re-reads of a datum by co-resident blocks of one SM that its L1 serves,
    /// when the L1 left beside shared memory holds the blocks' tiles.
    public var l1ShareFraction: Double
    /// Fraction of a datasheet matmul peak a GPU sustains, used where its profile has no
    /// measured ceiling: the H100's measured 742 TFLOP/s over its datasheet 989.4 (clocks
    /// drop under dense tensor load; the same power-limited behaviour is assumed elsewhere).
    public var sustainedMatmulFraction: Double = 0.75
    /// Fraction of a datasheet HBM bandwidth a copy sustains, where no measured ceiling is
    /// given: the H100's measured 3.00 TB/s over its datasheet 3.35 TB/s.
    public var sustainedHBMFraction: Double = 0.895
    /// Fixed time per kernel launch.
    public var kernelOverheadSeconds: Double
    /// Fixed time per attention call (framework dispatch), once per run.
    public var callOverheadSeconds: Double
    /// Where the values come from.
    public var source: String

    public init(
        matmulEfficiency: Double, bytesInFlightPerWarp: Double, operandBandwidthFraction: Double, iterationCycles: Double, baseRegistersPerThread: Int,
        l1ShareFraction: Double, kernelOverheadSeconds: Double, callOverheadSeconds: Double, source: String
    ) {
        self.matmulEfficiency = matmulEfficiency
        self.bytesInFlightPerWarp = bytesInFlightPerWarp
        self.operandBandwidthFraction = operandBandwidthFraction
        self.iterationCycles = iterationCycles
        self.baseRegistersPerThread = baseRegistersPerThread
        self.l1ShareFraction = l1ShareFraction
        self.kernelOverheadSeconds = kernelOverheadSeconds
        self.callOverheadSeconds = callOverheadSeconds
        self.source = source
    }

    /// The constants fitted on both H100 calibration files (docs/data/h100-sdpa.csv and
    /// docs/data/h100-triton-d64.csv), used by every profile that has no `cost_model`.
    public static let standard = CostModelConstants(
        matmulEfficiency: 1.0, bytesInFlightPerWarp: 2400, operandBandwidthFraction: 0.475, iterationCycles: 130, baseRegistersPerThread: 24,
        l1ShareFraction: 0.95, kernelOverheadSeconds: 4e-6, callOverheadSeconds: 70e-6,
        source: "fitted on docs/data/h100-sdpa.csv and docs/data/h100-triton-d64.csv (attnsim validate --fit); docs/cost-model.md")
}
