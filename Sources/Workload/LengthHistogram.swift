import AttnNumerics

/// A distribution of token lengths given as a histogram: equal bins from `minimum` to
/// `maximum` tokens with relative weights (bar heights; only their ratios matter).
/// Drawing picks a bin with probability proportional to its weight and a length
/// uniformly within it (at least `minimum`, at most `maximum`).
public struct LengthHistogram: Sendable, Equatable {
    public var minimum: Double
    public var maximum: Double
    public var weights: [Double]
    /// Running sums of `weights`, for drawing by inverse transform.
    private var cumulative: [Double]

    /// A histogram of at least one bin with non-negative weights that do not all vanish,
    /// over 1 <= minimum < maximum; nil otherwise.
    public init?(minimum: Double, maximum: Double, weights: [Double]) {
        guard minimum >= 1, maximum > minimum, maximum.isFinite, !weights.isEmpty,
              weights.allSatisfy({ $0 >= 0 && $0.isFinite }), weights.contains(where: { $0 > 0 }) else { return nil }
        self.init(checked: minimum, maximum, weights)
    }

    /// The presets' initializer: their figures satisfy the checks above
    /// (`WorkloadTests` asserts it).
    init(checked minimum: Double, _ maximum: Double, _ weights: [Double]) {
        self.minimum = minimum
        self.maximum = maximum
        self.weights = weights
        var sum = 0.0
        cumulative = weights.map { w in
            sum += w
            return sum
        }
    }

    public var binWidth: Double { (maximum - minimum) / Double(weights.count) }

    /// The mean length, each bin's mass at its centre.
    public var mean: Double {
        let total = cumulative.last ?? 1
        return weights.enumerated().reduce(0) { $0 + $1.element * (minimum + (Double($1.offset) + 0.5) * binWidth) } / total
    }

    /// One length drawn with two uniform numbers from `generator`.
    public func draw(_ generator: inout SeededGenerator) -> Int {
        let total = cumulative.last ?? 1
        let u = generator.nextUnit() * total
        // The first bin whose running sum exceeds u (binary search).
        var low = 0, high = cumulative.count - 1
        while low < high {
            let middle = (low + high) / 2
            if cumulative[middle] > u { high = middle } else { low = middle + 1 }
        }
        let start = minimum + Double(low) * binWidth
        let length = Int((start + binWidth * generator.nextUnit()).rounded(.down))
        return min(Int(maximum), max(Int(minimum), length))
    }
}
