/// The built-in functions of the tile language.
public enum Builtin: String, Sendable, Equatable, CaseIterable {
    // Integer arithmetic (also min/max on scalars and tiles).
    case cdiv, min, max
    // Elementwise math on tiles and scalars.
    case exp, log, sqrt
    // Row reductions of a 2-D tile to a row vector.
    case rowmax, rowsum
    // Tile constructors.
    case zeros, full
    // Rounds a tile to a storage dtype: `cast(p, fp16)`.
    case cast

    /// Allowed argument counts.
    public var arity: ClosedRange<Int> {
        switch self {
        case .cdiv, .min, .max, .cast: return 2...2
        case .exp, .log, .sqrt, .rowmax, .rowsum: return 1...1
        case .zeros: return 1...2
        case .full: return 2...3
        }
    }

    /// True for operations applied element by element (fusable into their consumer).
    public var isElementwise: Bool {
        switch self {
        case .min, .max, .exp, .log, .sqrt, .cast: return true
        default: return false
        }
    }
}
