import AttnNumerics
import TileInterpreter

/// A study to run: one hardware profile, one attention shape, a list of context lengths,
/// and the algorithms to compare. Decoded from a scenario file (docs/scenarios.md).
public struct Scenario: Sendable, Equatable {
    /// One algorithm of a scenario: which program, shown under which label, with which
    /// parameter overrides.
    public struct Algorithm: Sendable, Equatable {
        /// A built-in name (`standard`, `flash1`, `flash2`) or a path to a `.tile` file.
        public var program: String
        /// The name rows are reported under; defaults to `program`.
        public var label: String
        public var parameters: [String: ScalarValue]

        public init(program: String, label: String? = nil, parameters: [String: ScalarValue] = [:]) {
            self.program = program
            self.label = label ?? program
            self.parameters = parameters
        }
    }

    public var name: String
    public var description: String?
    public var hardware: String
    public var mode: ExecutionMode
    public var dtype: DType
    public var seed: UInt64
    public var batch: Int
    public var heads: Int
    public var kvHeads: Int
    public var headDim: Int
    /// Query length; nil means prefill (queries = context). 1 is a decode step.
    public var queryLength: Int?
    /// nil: 1/sqrt(head_dim).
    public var scale: Double?
    /// Key/value lengths, one run per algorithm and context.
    public var contexts: [Int]
    public var algorithms: [Algorithm]
    /// Numeric mode: the normwise relative error every check must stay within; nil: each
    /// check's derived tolerance (`NumericTolerance`).
    public var tolerance: Double?
    /// Numeric mode: run even when the counted work exceeds `Runner.numericWorkBudget`.
    public var allowLong: Bool = false
    /// The scenario file it was decoded from (nil for one built on the command line):
    /// errors found after parsing name it and the field they come from.
    public var file: String?

    public init(
        name: String, description: String? = nil, hardware: String = "h100-sxm", mode: ExecutionMode = .count,
        dtype: DType = .fp16, seed: UInt64 = 1, batch: Int, heads: Int, kvHeads: Int? = nil, headDim: Int,
        queryLength: Int? = nil, scale: Double? = nil, contexts: [Int], algorithms: [Algorithm],
        tolerance: Double? = nil, allowLong: Bool = false
    ) {
        self.name = name
        self.description = description
        self.hardware = hardware
        self.mode = mode
        self.dtype = dtype
        self.seed = seed
        self.batch = batch
        self.heads = heads
        self.kvHeads = kvHeads ?? heads
        self.headDim = headDim
        self.queryLength = queryLength
        self.scale = scale
        self.contexts = contexts
        self.algorithms = algorithms
        self.tolerance = tolerance
        self.allowLong = allowLong
    }

    /// The problem shape at one context length.
    public func shape(context: Int) -> ProblemShape {
        ProblemShape(
            batch: batch, heads: heads, kvHeads: kvHeads, queryLength: queryLength ?? context,
            keyLength: context, headDim: headDim, scale: scale)
    }
}
