/// The static type of a tile-language value.
public enum ValueType: Sendable, Equatable, CustomStringConvertible {
    /// Integers (also booleans: comparisons give 0 or 1).
    case int
    /// Scalars in floating point (e.g. `scale`, `-inf`).
    case float
    /// A tile of 1 or 2 dimensions held on chip.
    case tile(rank: Int)

    public var isScalar: Bool { if case .tile = self { return false } else { return true } }

    public var description: String {
        switch self {
        case .int: return "an integer"
        case .float: return "a float"
        case .tile(let rank): return rank == 1 ? "a 1-D tile" : "a 2-D tile"
        }
    }
}
