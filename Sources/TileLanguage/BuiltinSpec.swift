/// A built-in's signature: its arguments (type and part in counting), its result type and
/// how it counts. Read by the checker (arity, typing), `CountSites` (which arguments are
/// count-relevant), and through it by the data-dependence rule, the sensitivity and
/// uniformity analyses; the interpreter counts a call by `counting` and nothing else.
public struct BuiltinSpec: Sendable {
    /// Arguments every call has, in order.
    public let required: [ArgumentSpec]
    /// Arguments a call may add after the required ones, in order.
    public let optional: [ArgumentSpec]
    /// Arguments every call ends with (after the optional ones).
    public let trailing: [ArgumentSpec]
    public let result: BuiltinResult
    /// Applied element by element (fusable into its consumer).
    public let isElementwise: Bool
    public let counting: CountRule
    /// The result always gets a register buffer of its own (a reduction's), whether or not
    /// its consumer fuses it.
    public let materializesResult: Bool
    /// Whether any argument is a count site (`ArgumentRole.isCountRelevant`).
    public let hasCountRelevantArguments: Bool
    /// The argument lists of every allowed count, from the fewest (the analyses read
    /// them in their inner loops).
    private let listsByCount: [[ArgumentSpec]]

    public init(
        required: [ArgumentSpec], optional: [ArgumentSpec] = [], trailing: [ArgumentSpec] = [],
        result: BuiltinResult, isElementwise: Bool = false, counting: CountRule, materializesResult: Bool = false
    ) {
        self.required = required
        self.optional = optional
        self.trailing = trailing
        self.result = result
        self.isElementwise = isElementwise
        self.counting = counting
        self.materializesResult = materializesResult
        hasCountRelevantArguments = (required + optional + trailing).contains { $0.role.isCountRelevant }
        listsByCount = (0...optional.count).map { extra in required + optional.prefix(extra) + trailing }
    }

    /// Allowed argument counts.
    public var arity: ClosedRange<Int> {
        let fixed = required.count + trailing.count
        return fixed...(fixed + optional.count)
    }

    /// The specs of the arguments of a call with `count` arguments (clamped to `arity`).
    public func arguments(count: Int) -> [ArgumentSpec] {
        let extra = Swift.max(0, Swift.min(optional.count, count - required.count - trailing.count))
        return listsByCount[extra]
    }
}

/// One argument of a built-in.
public struct ArgumentSpec: Sendable {
    /// What the argument is, for messages: "the column", "a tile size".
    public var name: String
    public var type: ArgumentType
    public var role: ArgumentRole

    public init(_ name: String, _ type: ArgumentType, _ role: ArgumentRole = .operand) {
        self.name = name
        self.type = type
        self.role = role
    }
}

/// The static type an argument must have.
public enum ArgumentType: Sendable, Equatable {
    case integer
    /// An integer or a float.
    case number
    /// A number or a tile of any rank.
    case numberOrTile
    /// A tile of any rank.
    case tile
    case tile2D
    /// A dtype name (`fp16`), only as written.
    case dtype
}

/// How an argument takes part in counting.
///
/// Counts depend on integers only through *sites* (docs/ARCHITECTURE.md): arguments with
/// a role other than `.operand` are sites. A site must be decided without data, and over
/// a box of blocks that is counted once it must be the same everywhere (a position pair
/// only in its difference).
public enum ArgumentRole: Sendable, Equatable {
    /// A value the result is computed from; it reaches counts only through what the
    /// result is used for.
    case operand
    /// A size of a tile being built.
    case tileSize
    /// An integer the operation's work or validity depends on: a window, a row period,
    /// a column index (which must lie inside the tile).
    case setting
    /// The first query position of a mask; only its difference with `.keyPosition` counts.
    case queryPosition
    /// The first key position of a mask.
    case keyPosition

    /// Whether the argument is a site.
    public var isCountRelevant: Bool { self != .operand }
}

/// The type of a built-in's result, from its arguments' types.
public enum BuiltinResult: Sendable, Equatable {
    case integer
    /// The first argument's type (a mask, a cast).
    case firstArgument
    /// The first argument's type, with columns that a setting may widen (`dequant`'s
    /// int4 unpacking) or that the call chooses (`topk`, `take`, `hcat`): its shape is
    /// not the first argument's.
    case widenedFirstArgument
    /// A 1-D tile (row reductions, a column).
    case tile1D
    /// A tile whose rank is the number of size arguments.
    case tileOfSizes
    /// Integers give an integer, scalars a float, else a tile of the largest rank.
    case broadcast
    /// A float for an integer argument, else the argument's type.
    case floatOrFirst
}

/// How a built-in adds to the counters (docs/ARCHITECTURE.md, "Counting rules").
public enum CountRule: Sendable, Equatable {
    /// Nothing: integer address arithmetic, tile constructors, column selection.
    case none
    /// One "other" FLOP per output element.
    case elementwise
    /// One exponential per element.
    case exp
    /// One logarithm per element.
    case log
    /// r (c - 1) "other" FLOPs for an r x c tile: pairwise reduction of each row.
    case rowReduction
    /// One "other" FLOP per element (compare and select); hidden elements are added to
    /// `masked_elements`.
    case mask
    /// No FLOPs: rounding to the storage dtype; the result takes its bytes per element.
    case cast
    /// Per element of the result: `other` "other" FLOPs and `special` special-function
    /// evaluations (cos, sin, tanh, exp: counted with the exponentials, as the cost model
    /// runs them all on the special-function units).
    case perElement(other: Int, special: Int)
    /// A top-k selection of k = the result's columns out of c = `TileOutput.reducedColumns`
    /// candidates per row: r c ceil(log2 k) "other" FLOPs (at least r c), the comparisons
    /// of a heap of k that every candidate enters (Knuth, TAOCP vol. 3, 5.2.3). A counting
    /// convention for the FLOPs: the bytes a selection moves are its loads and stores.
    case selection
    /// n(n - 1)(2n - 1) / 6 "other" FLOPs for an n x n result: the inverse of a unit
    /// lower-triangular matrix by forward substitution (`solve_tril`).
    case triangularInverse
}
