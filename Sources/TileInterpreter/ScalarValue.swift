import TileLanguage

/// A bound parameter value: an integer or a float.
public enum ScalarValue: Sendable, Equatable, CustomStringConvertible {
    case int(Int)
    case float(Double)

    public var asDouble: Double {
        switch self {
        case .int(let i): return Double(i)
        case .float(let x): return x
        }
    }

    public var description: String {
        switch self {
        case .int(let i): return String(i)
        case .float(let x): return String(x)
        }
    }
}

/// The tile language's integer arithmetic (`TileLanguage.IntegerArithmetic`), by its
/// plain name in this module's files that do not import TileLanguage.
typealias IntegerArithmetic = TileLanguage.IntegerArithmetic
