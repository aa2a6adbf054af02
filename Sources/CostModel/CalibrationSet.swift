/// The constants of the cost model that no datasheet gives, fitted to measured runs, with
/// the data they were fitted on (docs/cost-model.md, "Constants", gives each one's
/// physical meaning and how it was set).
///
/// They describe how kernels use an SM and how a framework launches them, not one GPU:
/// the GPU-specific figures (bandwidths, latencies, peaks, register file, L1, warp width)
/// come from the hardware profile, so one set serves every profile.
public struct CalibrationSet: Sendable, Equatable {
    /// A short name (`h100-2026-12`).
    public var name: String
    /// Fraction of the matmul ceiling (measured where known) that GEMMs reach on the
    /// full-rate tensor-core instruction. 1 in the standard set, not fitted: the ceiling is
    /// already the measured sustained rate (742 TFLOP/s on the H100).
    public var matmulEfficiency: Double
    /// Bytes one resident warp keeps in flight to DRAM (outstanding loads). Over the
    /// profile's DRAM latency it gives the bandwidth one warp can stream (Little's law).
    public var bytesInFlightPerWarp: Double
    /// Fraction of the shared-memory bandwidth (`shared_memory_bytes_per_clock_per_sm`)
    /// that feeds B operands to the warp-level MMA (ldmatrix and bank conflicts included).
    public var operandBandwidthFraction: Double
    /// SM clock cycles each loop iteration of a block costs beyond its work (the wait for
    /// the pipelined loads, the block barrier, the loop-carried reductions), not hidden by
    /// other blocks.
    public var iterationCycles: Double
    /// SM clock cycles a loop iteration costs for each row reduction that crosses warps
    /// (a row spread over several warps: it meets in shared memory behind a barrier).
    public var crossWarpReductionCycles: Double
    /// Registers a thread uses beyond its tiles (addresses, indices, loop state).
    public var baseRegistersPerThread: Int
    /// Fraction of re-reads of a datum by co-resident blocks of one SM that its L1 serves,
    /// when the L1 left beside shared memory holds the blocks' tiles.
    public var l1ShareFraction: Double
    /// Seconds a block waits at the barrier of a reduction across its warps (a row spread
    /// over several warps: a softmax block per row), beyond the load latency: the barrier
    /// releases when the block's slowest warp has its data, the tail of the loaded latency.
    public var barrierWaitSeconds: Double
    /// Fraction of a datasheet matmul peak a GPU sustains, used where its profile has no
    /// measured ceiling: the H100's measured 742 TFLOP/s over its datasheet 989.4 (clocks
    /// drop under dense tensor load; the same power-limited behaviour is assumed elsewhere).
    public var sustainedMatmulFraction: Double = 0.75
    /// Fraction of a datasheet HBM bandwidth a copy sustains, where no measured ceiling is
    /// given: the H100's measured 3.00 TB/s over its datasheet 3.35 TB/s.
    public var sustainedHBMFraction: Double = 0.895
    /// Fixed time per kernel launch (the launch, the first wave's ramp and the last
    /// block's drain).
    public var kernelOverheadSeconds: Double
    /// Host time per call through a framework's dispatcher (PyTorch's eager operators and
    /// `scaled_dot_product_attention`), once per call: the GPU waits on it.
    public var callOverheadSeconds: Double
    /// Host time per call of a compiled kernel launched directly (a Triton kernel's
    /// launcher), once per call.
    public var directLaunchOverheadSeconds: Double
    /// Where the values come from: the data they were fitted on and how.
    public var source: String

    public init(
        name: String, matmulEfficiency: Double, bytesInFlightPerWarp: Double, operandBandwidthFraction: Double, iterationCycles: Double,
        crossWarpReductionCycles: Double, baseRegistersPerThread: Int, l1ShareFraction: Double, barrierWaitSeconds: Double, kernelOverheadSeconds: Double,
        callOverheadSeconds: Double, directLaunchOverheadSeconds: Double, source: String
    ) {
        self.name = name
        self.matmulEfficiency = matmulEfficiency
        self.bytesInFlightPerWarp = bytesInFlightPerWarp
        self.operandBandwidthFraction = operandBandwidthFraction
        self.iterationCycles = iterationCycles
        self.crossWarpReductionCycles = crossWarpReductionCycles
        self.baseRegistersPerThread = baseRegistersPerThread
        self.l1ShareFraction = l1ShareFraction
        self.barrierWaitSeconds = barrierWaitSeconds
        self.kernelOverheadSeconds = kernelOverheadSeconds
        self.callOverheadSeconds = callOverheadSeconds
        self.directLaunchOverheadSeconds = directLaunchOverheadSeconds
        self.source = source
    }

    /// The set fitted on the three H100 calibration files together (docs/data/h100-sdpa.csv,
    /// h100-triton-d64.csv and h100-triton-paged.csv; `attnsim validate --fit`), used by
    /// every profile.
    public static let standard = CalibrationSet(
        name: "h100-2026-12", matmulEfficiency: 1.0, bytesInFlightPerWarp: 2450, operandBandwidthFraction: 0.45, iterationCycles: 120,
        crossWarpReductionCycles: 60, baseRegistersPerThread: 24, l1ShareFraction: 1.0, barrierWaitSeconds: 1.9e-6, kernelOverheadSeconds: 1e-6,
        callOverheadSeconds: 60e-6, directLaunchOverheadSeconds: 5e-6,
        source: "fitted on docs/data/h100-sdpa.csv, h100-triton-d64.csv and h100-triton-paged.csv (113 H100 runs; attnsim validate --fit); docs/cost-model.md")

    /// The named sets, by `name`.
    public static let named: [String: CalibrationSet] = [standard.name: standard]
}

/// How a call's kernels are launched: what host time the GPU waits on per call.
public enum LaunchPath: String, Sendable, Equatable, CaseIterable {
    /// Through a framework's dispatcher (PyTorch eager, `scaled_dot_product_attention`).
    case framework
    /// A compiled kernel launched directly (Triton).
    case direct

    /// The host time per call this path costs under `calibration`.
    public func overheadSeconds(_ calibration: CalibrationSet) -> Double {
        switch self {
        case .framework: return calibration.callOverheadSeconds
        case .direct: return calibration.directLaunchOverheadSeconds
        }
    }
}
