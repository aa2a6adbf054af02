/// How far a simulated output is from its float64 reference.
public struct ErrorMetrics: Sendable, Equatable {
    /// max_i |x_i - ref_i|.
    public var maxAbsoluteError: Double
    /// Normwise relative error: max_i |x_i - ref_i| / max_i |ref_i|.
    ///
    /// Normwise rather than elementwise, so that entries of the reference near zero do
    /// not turn harmless absolute errors into huge ratios.
    public var maxRelativeError: Double

    public init(maxAbsoluteError: Double, maxRelativeError: Double) {
        self.maxAbsoluteError = maxAbsoluteError
        self.maxRelativeError = maxRelativeError
    }

    /// Compares `values` with `reference` elementwise; NaN anywhere gives infinite error.
    /// Returns nil when the two differ in length (they do not describe the same tensor).
    public init?(values: [Float], reference: [Double]) {
        guard values.count == reference.count else { return nil }
        var maxAbs = 0.0
        var maxRef = 0.0
        for (x, r) in zip(values, reference) {
            let diff = abs(Double(x) - r)
            maxAbs = diff.isNaN ? .infinity : max(maxAbs, diff)
            maxRef = max(maxRef, abs(r))
        }
        maxAbsoluteError = maxAbs
        maxRelativeError = maxRef > 0 ? maxAbs / maxRef : maxAbs
    }
}
