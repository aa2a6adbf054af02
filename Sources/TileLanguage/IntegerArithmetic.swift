/// Integer arithmetic with the tile language's semantics: `/` floors, `%` takes the sign
/// of the divisor (so both agree with Python), `cdiv(a, b)` is ceil(a / b).
public enum IntegerArithmetic {
    /// floor(a / b). Precondition: b != 0 and not (a == Int.min and b == -1), the one
    /// quotient that does not fit (`overflows` tells).
    public static func floorDivide(_ a: Int, _ b: Int) -> Int {
        let q = a / b
        return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
    }

    /// a - b floor(a / b), computed without the product (which can overflow near Int.min).
    public static func floorRemainder(_ a: Int, _ b: Int) -> Int {
        if b == -1 { return 0 }
        let r = a % b
        return (r != 0 && (r < 0) != (b < 0)) ? r + b : r
    }

    /// ceil(a / b), computed without negating a (Int.min has no negation).
    public static func ceilDivide(_ a: Int, _ b: Int) -> Int {
        let q = a / b
        return (a % b != 0 && (a < 0) == (b < 0)) ? q + 1 : q
    }

    /// Greatest common divisor of two non-negative integers (gcd(0, k) = k).
    public static func gcd(_ a: Int, _ b: Int) -> Int {
        var (x, y) = (a, b)
        while y != 0 { (x, y) = (y, x % y) }
        return x
    }

    /// Whether a / b (floored or ceiled) does not fit in an Int: only Int.min / -1.
    public static func overflows(_ a: Int, dividedBy b: Int) -> Bool {
        a == Int.min && b == -1
    }
}
