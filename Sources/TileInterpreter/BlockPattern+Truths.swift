import AttnNumerics

extension BlockPattern {
    /// Of the key blocks j in [lo, hi) of query block `row`: how many the pattern keeps,
    /// the first it keeps and the first it skips. The count is `keptCount` (O(1)); the
    /// first of each kind is found by a scan that jumps the band (local + strided) or by
    /// binary searches over counts (random).
    func truths(row i: Int, _ lo: Int, _ hi: Int) -> (trueCount: Int, firstTrue: Int?, firstFalse: Int?) {
        guard lo < hi else { return (0, nil, nil) }
        let count = keptCount(row: i, lo, hi)
        switch self {
        case .dense:
            return (count, lo, nil)
        case .localStrided(let local, let stride):
            // The band is [bandLo, bandHi); strided columns are isolated unless stride is 1.
            var bandLo = lo, bandHi = lo
            if local > 0 {
                let below = i.subtractingReportingOverflow(local - 1), above = i.addingReportingOverflow(local)
                bandLo = below.overflow ? lo : Swift.max(lo, below.partialValue)
                bandHi = above.overflow ? hi : Swift.min(hi, above.partialValue)
                if bandHi < bandLo { bandHi = bandLo }
            }
            var firstTrue: Int? = bandLo < bandHi ? bandLo : nil
            if stride == 1 {
                firstTrue = lo
            } else if stride > 1 {
                let start = Swift.max(lo, 0)
                let (column, overflow) = start.addingReportingOverflow(stride - 1 - start % stride)
                if !overflow && column < hi { firstTrue = Swift.min(firstTrue ?? column, column) }
            }
            var firstFalse: Int?
            if count < hi - lo {
                var j = lo
                while j < hi {
                    if !allows(i, j) {
                        firstFalse = j
                        break
                    }
                    j = (j >= bandLo && j < bandHi) ? bandHi : j + 1
                }
            }
            return (count, firstTrue, firstFalse)
        case .random:
            // Kept blocks in [lo, m + 1) grow with m: the first kept block is the least m
            // where they reach 1, the first skipped one the least m where they fall
            // behind m + 1 - lo (binary searches over O(1) counts).
            func least(_ holds: (Int) -> Bool) -> Int {
                var (low, high) = (lo, hi - 1)
                while low < high {
                    let mid = low + (high - low) / 2
                    if holds(mid) { high = mid } else { low = mid + 1 }
                }
                return low
            }
            let firstTrue = count == 0 ? nil : least { keptCount(row: i, lo, $0 + 1) >= 1 }
            let firstFalse = count == hi - lo ? nil : least { keptCount(row: i, lo, $0 + 1) < $0 + 1 - lo }
            return (count, firstTrue, firstFalse)
        }
    }
}
