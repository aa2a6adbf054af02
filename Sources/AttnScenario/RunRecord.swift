import AttnNumerics
import CostModel
import TileInterpreter

/// The result of one algorithm at one context length: its counters and what follows
/// from them. This is the row every output format prints.
public struct RunRecord: Sendable {
    public var algorithm: String
    public var program: String
    public var hardware: String
    public var mode: ExecutionMode
    public var dtype: DType
    public var shape: ProblemShape
    /// Declared parameters with the values the run used.
    public var parameters: [(name: String, value: ScalarValue)]
    public var stats: RunStats
    /// Numeric mode: each output against its float64 reference.
    public var checks: [CheckResult]
    /// The cost model's time and bound for these counts on the run's hardware profile,
    /// predicted from the same counted pass (`Pipeline.predict`, the framework launch path).
    public var prediction: RunPrediction

    /// Predicted seconds of the run: its kernels plus the launch path's host time.
    public var seconds: Double { prediction.seconds }
    /// What bounds the run: the bound of its longest kernel (`overhead` without kernels).
    public var bound: KernelPrediction.Bound { prediction.kernels.max { $0.seconds < $1.seconds }?.bound ?? .overhead }

    public var context: Int { shape.keyLength }
    public var total: Counters { stats.total }

    /// FLOPs counted for intensity: matmul plus other arithmetic (exp and log are
    /// special-function work, counted apart).
    public var flops: Int { total.flopsMatmul + total.flopsOther }
    public var hbmBytes: Int { total.hbmReadBytes + total.hbmWriteBytes }

    /// Arithmetic intensity: FLOPs per byte of HBM traffic.
    public var arithmeticIntensity: Double { hbmBytes == 0 ? 0 : Double(flops) / Double(hbmBytes) }

    /// Largest error over the checked outputs (nil in count mode).
    public var maxAbsoluteError: Double? { checks.map(\.error.maxAbsoluteError).max() }
    public var maxRelativeError: Double? { checks.map(\.error.maxRelativeError).max() }

    /// The numeric verdict: every check within its tolerance (nil in count mode).
    public var passed: Bool? { checks.isEmpty ? nil : checks.allSatisfy(\.passed) }

    /// `pass`, `FAIL`, or `-` in count mode: the `check` column of every report format.
    public var verdict: String {
        switch passed {
        case .some(true): return "pass"
        case .some(false): return "FAIL"
        case .none: return "-"
        }
    }

    /// One line per failed check: the run, the output, its worst element and by how much.
    public var failures: [String] {
        checks.filter { !$0.passed }.map { "\(algorithm) at context \(context): \($0.summary)" }
    }
}
