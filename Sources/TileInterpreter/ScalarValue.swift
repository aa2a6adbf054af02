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

/// Integer arithmetic with the tile language's semantics: `/` floors, `%` takes the sign
/// of the divisor (so both agree with Python), `cdiv(a, b)` is ceil(a / b).
public enum IntegerArithmetic {
    public static func floorDivide(_ a: Int, _ b: Int) -> Int {
        let q = a / b
        return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
    }

    public static func floorRemainder(_ a: Int, _ b: Int) -> Int {
        a - floorDivide(a, b) * b
    }

    public static func ceilDivide(_ a: Int, _ b: Int) -> Int {
        -floorDivide(-a, b)
    }
}
