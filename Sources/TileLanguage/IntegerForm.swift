/// How count mode's uniformity analysis reads an integer built-in over a box of grid
/// positions or loop iterations (`UniformityChecker`), where integers are affine forms
/// over variables with ranges.
package enum IntegerForm: Sendable {
    /// ceil(a / b): affine when b is a constant that divides a's form exactly (after
    /// adding b - 1); otherwise a variable over the quotient's range that remembers it is
    /// a ceiling division (the analysis keeps b v >= a).
    case ceilingDivision
    /// The smaller (`minimum`) or larger of two integers: one side when the sign of their
    /// difference is known over the box, else a variable over the range of the result.
    case extremum(minimum: Bool)
    /// The result's range from the arguments' ranges (nil: unknown, or the call may fail
    /// somewhere in the box); a single value stands for a constant.
    case ranges(@Sendable ([ClosedRange<Int>]) -> ClosedRange<Int>?)

    /// The form of an integer function that is only known where every argument is a
    /// single value: there it is the function's value (nil where it fails).
    package static func pointwise(_ function: @escaping IntegerFunction) -> IntegerForm {
        .ranges { ranges in
            var points: [Int] = []
            for range in ranges {
                guard range.lowerBound == range.upperBound else { return nil }
                points.append(range.lowerBound)
            }
            guard let value = try? function(points) else { return nil }
            return value...value
        }
    }
}
