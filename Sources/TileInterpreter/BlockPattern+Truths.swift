import AttnNumerics

extension BlockPattern {
    /// Of the key blocks j in [lo, hi) of query block `row`: how many the pattern keeps,
    /// the first it keeps and the first it skips. In closed form for dense and local +
    /// strided patterns; one seeded draw per block for a random one.
    func truths(row i: Int, _ lo: Int, _ hi: Int) -> (trueCount: Int, firstTrue: Int?, firstFalse: Int?) {
        guard lo < hi else { return (0, nil, nil) }
        switch self {
        case .dense:
            return (hi - lo, lo, nil)
        case .localStrided(let local, let stride):
            // Kept: the band |i - j| < local, and the columns j = stride - 1 (mod stride).
            let bandLo = Swift.max(lo, i - local + 1), bandHi = Swift.min(hi, i + local)
            let band = Swift.max(0, bandHi - bandLo)
            func strided(_ a: Int, _ b: Int) -> Int {
                // Columns in [a, b) with j % stride == stride - 1: floor((j + 1) / stride) steps.
                guard stride > 0, a < b else { return 0 }
                return IntegerArithmetic.floorDivide(b, stride) - IntegerArithmetic.floorDivide(a, stride)
            }
            let count = band + strided(lo, hi) - strided(bandLo, Swift.max(bandLo, bandHi))
            // The first kept and the first skipped lie within local + stride of lo.
            var firstTrue: Int?, firstFalse: Int?
            var j = lo
            while j < hi && (firstTrue == nil || firstFalse == nil) {
                if allows(i, j) { firstTrue = firstTrue ?? j } else { firstFalse = firstFalse ?? j }
                if firstTrue == nil && j < bandLo && (stride <= 0 || bandLo - j < stride) {
                    j += 1
                } else if firstTrue != nil && firstFalse == nil && j >= bandLo && j < bandHi {
                    j = bandHi  // the band is all kept
                } else {
                    j += 1
                }
            }
            return (count, firstTrue, firstFalse)
        case .random:
            var count = 0
            var firstTrue: Int?, firstFalse: Int?
            for j in lo..<hi {
                if allows(i, j) {
                    count += 1
                    if firstTrue == nil { firstTrue = j }
                } else if firstFalse == nil {
                    firstFalse = j
                }
            }
            return (count, firstTrue, firstFalse)
        }
    }
}
