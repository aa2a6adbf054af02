import Foundation
import AttnNumerics
import TileLanguage

/// Whether a run computes values or only counts.
public enum ExecutionMode: String, Sendable, CaseIterable {
    /// Real tensors (seeded random inputs); outputs are checked against float64 references.
    case numeric
    /// Shapes only: the same counters without data, fast enough for million-token contexts.
    case count
}

/// How to run a bound program.
public struct RunOptions: Sendable {
    public var mode: ExecutionMode
    /// In count mode, count a box of identical thread blocks or loop iterations once and
    /// multiply (exact: see `UniformityChecker`). Off replays every block and iteration.
    public var compress: Bool
    /// Seed of the random inputs in numeric mode.
    public var seed: UInt64
    /// Input tensors to use instead of generated ones (numeric mode), by name.
    public var inputs: [String: HostTensor]
    /// Normwise relative error every check must stay within (numeric mode); nil: each
    /// check's tolerance derived from the dtypes and reduction lengths (`NumericTolerance`).
    public var tolerance: Double?
    /// The work budget the run spends (`WorkBudget`: statements replayed and proof steps),
    /// shared with the other runs of its command; past it the run stops with a `.budget`
    /// diagnostic (nil: no limit). Count mode is usually flat in the shape, but a program
    /// whose blocks it cannot prove alike is replayed block by block; this bounds that.
    public var budget: WorkBudget?
    /// Told the fraction of the run done (0 to 1) as blocks finish, when blocks run one by
    /// one (numeric mode, traces, exhaustive counting): for a progress bar.
    public var progress: (@Sendable (Double) -> Void)?
    /// Threads a numeric replay runs independent thread blocks on (nil: one per core; 1:
    /// one after another; values below 1 read as 1). Outputs, counters and errors are the
    /// same for every value (see `ParallelReplay`); so are the float64 references.
    public var threads: Int?
    /// Kernel counts shared with other count-mode runs of the same program and hardware
    /// (`tune`'s configurations): a kernel whose parameters, tensors and grid are the same
    /// as in an earlier run is not counted again (`KernelCountCache`). Used only when
    /// compressing; the counts (and the work a kernel spends of the budget) are the same
    /// either way.
    public var countCache: KernelCountCache?

    public init(
        mode: ExecutionMode, compress: Bool = true, seed: UInt64 = 1, inputs: [String: HostTensor] = [:], tolerance: Double? = nil,
        statementBudget: Int? = nil
    ) {
        // `statementBudget`: a budget of its own of that many units (see `budget`).
        self.mode = mode
        self.compress = compress
        self.seed = seed
        self.inputs = inputs
        self.tolerance = tolerance
        self.budget = statementBudget.map { WorkBudget(limitUnits: $0) }
    }
}

/// One output compared with its float64 reference, and the verdict.
public struct CheckResult: Sendable, Equatable {
    public var tensor: String
    public var reference: ReferenceKind
    public var error: ErrorMetrics
    /// Shape of the output; `worstCoordinates` index into it.
    public var shape: [Int]
    /// Largest normwise relative error the check accepts: derived (`NumericTolerance`) or
    /// the user's override.
    public var tolerance: Double
    /// Whether `tolerance` is the user's (`--tolerance`, scenario `tolerance`) rather than derived.
    public var toleranceOverridden: Bool

    public init(tensor: String, reference: ReferenceKind, error: ErrorMetrics, shape: [Int], tolerance: Double, toleranceOverridden: Bool = false) {
        self.tensor = tensor
        self.reference = reference
        self.error = error
        self.shape = shape
        self.tolerance = tolerance
        self.toleranceOverridden = toleranceOverridden
    }

    /// The verdict: the normwise relative error is within the tolerance (NaN never is).
    public var passed: Bool { error.maxRelativeError <= tolerance }

    /// Coordinates of the element with the largest absolute error, e.g. [1, 5, 3].
    public var worstCoordinates: [Int] {
        var rest = error.worstIndex
        var coordinates = [Int](repeating: 0, count: shape.count)
        for axis in shape.indices.reversed() where shape[axis] > 0 {
            coordinates[axis] = rest % shape[axis]
            rest /= shape[axis]
        }
        return coordinates
    }

    /// One line: which output, where its worst element is and by how much it is off.
    public var summary: String {
        let verdict = passed ? "pass" : "FAIL"
        let relation = passed ? "<=" : ">"
        return "\(verdict) \(tensor) (\(reference.rawValue)): relative error \(Self.format(error.maxRelativeError)) \(relation) tolerance "
            + "\(Self.format(tolerance))\(toleranceOverridden ? " (given)" : ""); worst element \(tensor)\(worstCoordinates) = "
            + "\(Self.format(error.worstValue)), reference \(Self.format(error.worstReference)), off by \(Self.format(error.maxAbsoluteError))"
    }

    static func format(_ x: Double) -> String {
        guard x.isFinite else { return x.isNaN ? "nan" : (x > 0 ? "inf" : "-inf") }
        return String(format: "%.3g", x)
    }
}

/// The outcome of a run: its counters and, in numeric mode, its checks and tensors.
public struct RunResult: Sendable {
    public var stats: RunStats
    /// Empty in count mode.
    public var checks: [CheckResult]
    /// Final HBM tensors by name (numeric mode only).
    public var tensors: [String: HostTensor]
}

/// Replays tile programs over the memory hierarchy.
public enum Simulator {
    /// Runs every kernel of `bound` in order. Errors are diagnostics at the statement
    /// that failed (bounds, shapes, on-chip capacity).
    public static func run(_ bound: BoundProgram, options: RunOptions, trace: TraceSink? = nil) throws(Diagnostic) -> RunResult {
        let interpreter = Interpreter(bound: bound, options: options, trace: trace)
        var result = try interpreter.run()
        result.checks = NumericTolerance.judge(result.checks, bound: bound, stats: result.stats, override: options.tolerance)
        return result
    }
}
