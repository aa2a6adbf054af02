/// Block statistics of a sequence of rows: the metadata sparse-attention KV caches keep
/// beside their keys, in float64.
///
/// Quest (Tang et al. 2024, Section 3.2) keeps each page's elementwise minimum and
/// maximum key; MoBA (Lu et al. 2025, Section 2.2) scores blocks by their mean-pooled
/// key; NSA (Yuan et al. 2025, Section 3.3.1) compresses blocks of l keys at stride s
/// (mean pooling stands in here for its learned MLP).
public enum BlockPooling {
    /// What a block's rows reduce to, per column.
    public enum Statistic: Sendable {
        case mean, min, max
    }

    /// `values` holds `outer` sequences of `rows` rows of `columns` values (row-major);
    /// block c of each sequence reduces the rows c stride ..< c stride + length that lie
    /// before `validRows` (and `rows`). Returns outer x blocks x columns values; a block
    /// with no valid row is 0.
    public static func pool(
        _ values: [Float], outer: Int, rows: Int, columns: Int, blocks: Int, length: Int, stride: Int, validRows: Int,
        statistic: Statistic
    ) -> [Double] {
        var out = [Double](repeating: 0, count: outer * blocks * columns)
        let limit = Swift.min(rows, validRows)
        for o in 0..<outer {
            for c in 0..<blocks {
                // Blocks that start past the valid rows (or past 64 bits) are empty.
                let (first, overflow) = c.multipliedReportingOverflow(by: stride)
                guard !overflow, first < limit else { continue }
                let last = first + Swift.min(length, limit - first)
                let target = (o * blocks + c) * columns
                for col in 0..<columns {
                    var acc = Double(values[(o * rows + first) * columns + col])
                    for r in (first + 1)..<last {
                        let x = Double(values[(o * rows + r) * columns + col])
                        switch statistic {
                        case .mean: acc += x
                        case .min: acc = Swift.min(acc, x)
                        case .max: acc = Swift.max(acc, x)
                        }
                    }
                    out[target + col] = statistic == .mean ? acc / Double(last - first) : acc
                }
            }
        }
        return out
    }
}
