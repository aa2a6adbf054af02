import AttnNumerics

extension BlockPattern {
    /// Of the key blocks j in [lo, hi) of query block `row`: how many the pattern keeps,
    /// the first it keeps and the first it skips. The count is `keptCount` (closed form
    /// for dense and local + strided patterns); the first of each kind is found by a scan
    /// that stops as soon as both are known (for local + strided it jumps the band, so
    /// it takes a few steps).
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
            var firstTrue: Int?, firstFalse: Int?
            var j = lo
            while j < hi && ((firstTrue == nil && count > 0) || (firstFalse == nil && count < hi - lo)) {
                if allows(i, j) { firstTrue = firstTrue ?? j } else { firstFalse = firstFalse ?? j }
                j += 1
            }
            return (count, firstTrue, firstFalse)
        }
    }
}
