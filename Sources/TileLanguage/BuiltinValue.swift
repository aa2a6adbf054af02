import AttnNumerics

/// A value a built-in takes or gives when a call runs: a number, a tile, or a dtype
/// written as an argument (`cast(p, fp16)`).
package enum BuiltinValue: Sendable {
    case int(Int)
    case float(Double)
    case tile(Tile)
    case dtype(DType)

    /// The tile, when the value is one.
    package var tile: Tile? { if case .tile(let t) = self { return t } else { return nil } }

    /// A number as a Double (NaN for a tile or a dtype, which the checker never lets
    /// through where a number is expected).
    package var number: Double {
        switch self {
        case .int(let i): return Double(i)
        case .float(let x): return x
        case .tile, .dtype: return .nan
        }
    }
}
