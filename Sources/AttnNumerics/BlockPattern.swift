/// Which (query block, key block) pairs a block-sparse attention computes.
///
/// The patterns of the efficient-transformer survey's "fixed patterns" (Tay et al. 2022,
/// Section 3.2; Child et al. 2019's local and strided attention), and a seeded random mask.
public enum BlockPattern: Sendable, Equatable {
    /// Every block.
    case dense
    /// Blocks within `local - 1` of the diagonal, plus every `stride`-th key block
    /// (blocks stride-1, 2 stride-1, ...), which act as summary columns.
    case localStrided(local: Int, stride: Int)
    /// A fraction density/1000 of the off-diagonal blocks at seeded random positions, and
    /// the diagonal, so every query block sees a key block. Each row keeps an exact share
    /// of every aligned run of 64 key blocks (`RandomBlocks`: the fixed count of random
    /// blocks per row of BigBird, Zaheer et al. 2020, spread over the row), which is what
    /// lets a row's kept blocks be counted in O(1).
    case random(densityPermille: Int, seed: Int)

    /// The codes the tile language's `block_mask` builtin takes for `pattern`.
    public init?(code: Int, local: Int, stride: Int, densityPermille: Int, seed: Int) {
        switch code {
        case 0: self = .dense
        case 1: self = .localStrided(local: local, stride: stride)
        case 2: self = .random(densityPermille: densityPermille, seed: seed)
        default: return nil
        }
    }

    /// Whether query block `i` computes key block `j`.
    public func allows(_ i: Int, _ j: Int) -> Bool {
        switch self {
        case .dense:
            return true
        case .localStrided(let local, let stride):
            // |i - j| < local without overflow: a distance past Int.max is never local.
            let (difference, overflow) = i.subtractingReportingOverflow(j)
            let near = !overflow && local > 0 && difference.magnitude < UInt(local)
            return near || (stride > 0 && j % stride == stride - 1)
        case .random(let density, let seed):
            return i == j || RandomBlocks(seed: seed, row: i, density: density).keeps(j)
        }
    }

    /// How many key blocks j in [lo, hi) query block `row` keeps, in O(1): the band and the
    /// strided columns are arithmetic progressions; a random row's whole chunks keep their
    /// share and its two partial chunks are counted down their trees (`RandomBlocks`).
    /// Equal to counting `allows(row, j)` over the range.
    public func keptCount(row i: Int, _ lo: Int, _ hi: Int) -> Int {
        guard lo < hi else { return 0 }
        switch self {
        case .dense:
            return hi - lo
        case .localStrided(let local, let stride):
            // The band i - local < j < i + local clipped to [lo, hi) (a bound past 64 bits
            // is clipped), plus the strided columns outside it.
            var band = 0, bandLo = lo, bandHi = lo
            if local > 0 {
                let below = i.subtractingReportingOverflow(local - 1), above = i.addingReportingOverflow(local)
                bandLo = below.overflow ? lo : Swift.max(lo, below.partialValue)
                bandHi = above.overflow ? hi : Swift.min(hi, above.partialValue)
                if bandLo < bandHi { band = bandHi - bandLo } else { bandHi = bandLo }
            }
            return band + Self.stridedColumns(lo, hi, stride) - Self.stridedColumns(bandLo, bandHi, stride)
        case .random(let density, let seed):
            var count = RandomBlocks(seed: seed, row: i, density: density).count(lo, hi)
            // The diagonal is always kept; count it if its chunk's share did not.
            if lo <= i && i < hi && !RandomBlocks(seed: seed, row: i, density: density).keeps(i) { count += 1 }
            return count
        }
    }

    /// `keptCount` for each row of `rows` over the same range [lo, hi).
    public func keptCounts(rows: [Int], _ lo: Int, _ hi: Int) -> [Int] {
        rows.map { keptCount(row: $0, lo, hi) }
    }

    /// Columns j in [a, b) with j % stride == stride - 1 (Swift's remainder, as `allows`
    /// takes it: no negative column qualifies unless stride is 1, when every one does).
    private static func stridedColumns(_ a: Int, _ b: Int, _ stride: Int) -> Int {
        guard stride > 0, a < b else { return 0 }
        if stride == 1 { return b - a }
        // Columns c >= 0 below x with (c + 1) a multiple of stride: x / stride.
        return Swift.max(b, 0) / stride - Swift.max(a, 0) / stride
    }

}
