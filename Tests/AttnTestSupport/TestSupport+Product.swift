extension TestSupport {
    /// How far `y` is from the float64 product of `x` and `w`: the largest absolute
    /// difference over its elements and the largest magnitude of the product, for a test's
    /// relative bound (fp32 accumulation of `inner` terms stays under inner x 2^-24 of the
    /// largest). `x` is rows x inner, `w` inner x columns and `y` rows x columns, row-major.
    public static func productError(x: [Float], w: [Float], y: [Float], rows: Int, inner: Int, columns: Int) -> (worst: Double, largest: Double) {
        var worst = 0.0, largest = 0.0
        for i in 0..<rows {
            for j in 0..<columns {
                var sum = 0.0
                for k in 0..<inner { sum += Double(x[i * inner + k]) * Double(w[k * columns + j]) }
                worst = max(worst, abs(Double(y[i * columns + j]) - sum))
                largest = max(largest, abs(sum))
            }
        }
        return (worst, largest)
    }
}
