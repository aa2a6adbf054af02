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

    public init(mode: ExecutionMode, compress: Bool = true, seed: UInt64 = 1, inputs: [String: HostTensor] = [:]) {
        self.mode = mode
        self.compress = compress
        self.seed = seed
        self.inputs = inputs
    }
}

/// One output compared with its float64 reference.
public struct CheckResult: Sendable, Equatable {
    public var tensor: String
    public var reference: ReferenceKind
    public var error: ErrorMetrics
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
        return try interpreter.run()
    }
}
