/// How far a simulated output is from its float64 reference.
public struct ErrorMetrics: Sendable, Equatable {
    /// max_i |x_i - ref_i|.
    public var maxAbsoluteError: Double
    /// Normwise relative error: max_i |x_i - ref_i| / max_i |ref_i|.
    ///
    /// Normwise rather than elementwise, so that entries of the reference near zero do
    /// not turn harmless absolute errors into huge ratios.
    public var maxRelativeError: Double
    /// Flat (row-major) index of the element with the largest absolute error (the first
    /// NaN, if any); 0 for an empty tensor.
    public var worstIndex: Int
    /// The output's value at `worstIndex`.
    public var worstValue: Double
    /// The reference's value at `worstIndex`.
    public var worstReference: Double

    public init(maxAbsoluteError: Double, maxRelativeError: Double, worstIndex: Int = 0, worstValue: Double = 0, worstReference: Double = 0) {
        self.maxAbsoluteError = maxAbsoluteError
        self.maxRelativeError = maxRelativeError
        self.worstIndex = worstIndex
        self.worstValue = worstValue
        self.worstReference = worstReference
    }

    /// Compares `values` with `reference` elementwise; NaN anywhere gives infinite error.
    /// Returns nil when the two differ in length (they do not describe the same tensor).
    public init?(values: [Float], reference: [Double]) {
        guard values.count == reference.count else { return nil }
        var maxAbs = 0.0
        var maxRef = 0.0
        var worst = 0
        for (index, (x, r)) in zip(values, reference).enumerated() {
            let diff = abs(Double(x) - r)
            if diff.isNaN {
                if maxAbs != .infinity { worst = index }
                maxAbs = .infinity
            } else if diff > maxAbs {
                maxAbs = diff
                worst = index
            }
            maxRef = max(maxRef, abs(r))
        }
        maxAbsoluteError = maxAbs
        maxRelativeError = maxRef > 0 ? maxAbs / maxRef : maxAbs
        worstIndex = worst
        worstValue = values.isEmpty ? 0 : Double(values[worst])
        worstReference = reference.isEmpty ? 0 : reference[worst]
    }
}
