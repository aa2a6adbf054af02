import Dispatch

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
    /// Each off-diagonal block kept with probability density/1000 (seeded hash); the
    /// diagonal is always kept, so every query block sees a key block.
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
            if i == j { return true }
            return Self.randomDraw(Self.randomRowKey(seed: seed, row: i), j) < density
        }
    }

    /// How many key blocks j in [lo, hi) query block `row` keeps: O(1) for dense and
    /// local + strided patterns (the band and the strided columns are arithmetic
    /// progressions), one hash per block for a random one (a tight loop, no allocation).
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
            let key = Self.randomRowKey(seed: seed, row: i)
            // Draws lie in [0, 1000): a density past either end keeps all or none, and
            // draw - d is then negative exactly when kept, so its sign bit counts without
            // a branch (a kept block is a coin flip the branch predictor cannot learn).
            let d = Swift.min(Swift.max(density, 0), 1000)
            var count = 0
            for j in lo..<hi { count &-= (Self.randomDraw(key, j) &- d) >> 63 }
            // The diagonal is always kept; count it if its draw did not.
            if lo <= i && i < hi && Self.randomDraw(key, i) >= d { count += 1 }
            return count
        }
    }

    /// `keptCount` for each row of `rows` over the same range [lo, hi). Random patterns
    /// with many blocks to draw split the rows over all cores (each row's count is its
    /// own, so the result does not depend on the schedule).
    public func keptCounts(rows: [Int], _ lo: Int, _ hi: Int) -> [Int] {
        guard case .random = self, lo < hi else { return rows.map { keptCount(row: $0, lo, hi) } }
        let (work, overflow) = rows.count.multipliedReportingOverflow(by: hi &- lo)
        let chunks = Swift.min(rows.count, 64)
        guard overflow || work >= 1 << 22, chunks > 1 else { return rows.map { keptCount(row: $0, lo, hi) } }
        var counts = [Int](repeating: 0, count: rows.count)
        counts.withUnsafeMutableBufferPointer { buffer in
            let target = SharedCounts(counts: buffer)
            DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
                let start = rows.count * chunk / chunks, end = rows.count * (chunk + 1) / chunks
                for index in start..<end { target.counts[index] = keptCount(row: rows[index], lo, hi) }
            }
        }
        return counts
    }

    /// The counts the rows fill in parallel: each chunk writes only its own rows.
    private struct SharedCounts: @unchecked Sendable {
        let counts: UnsafeMutableBufferPointer<Int>
    }

    /// Columns j in [a, b) with j % stride == stride - 1 (Swift's remainder, as `allows`
    /// takes it: no negative column qualifies unless stride is 1, when every one does).
    private static func stridedColumns(_ a: Int, _ b: Int, _ stride: Int) -> Int {
        guard stride > 0, a < b else { return 0 }
        if stride == 1 { return b - a }
        // Columns c >= 0 below x with (c + 1) a multiple of stride: x / stride.
        return Swift.max(b, 0) / stride - Swift.max(a, 0) / stride
    }

    /// The per-row part of a random pattern's hash: the seed and the query block mixed.
    @inline(__always)
    static func randomRowKey(seed: Int, row i: Int) -> UInt64 {
        UInt64(truncatingIfNeeded: seed) &* 0x9E37_79B9_7F4A_7C15 ^ UInt64(truncatingIfNeeded: i) &* 0xBF58_476D_1CE4_E5B9
    }

    /// The draw in [0, 1000) of key block j for a row key: one SplitMix64 step (the
    /// `SeededGenerator` seeded with key ^ j, first output).
    @inline(__always)
    static func randomDraw(_ key: UInt64, _ j: Int) -> Int {
        var z = (key ^ UInt64(truncatingIfNeeded: j)) &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return Int(truncatingIfNeeded: (z ^ (z >> 31)) % 1000)
    }
}
