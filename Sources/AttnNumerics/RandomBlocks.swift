/// The off-diagonal key blocks one row of a random block pattern keeps
/// (`BlockPattern.random`), defined so that they can be counted over any range in O(1).
///
/// The key blocks are cut into aligned chunks of 64 (blocks 64c ..< 64c + 64). Chunk c
/// keeps exactly its share of the density p = d / 1000,
///
///     n_c = floor(64 (c + 1) p) - floor(64 c p),
///
/// so any run of whole chunks keeps floor(64 c2 p) - floor(64 c1 p) blocks, and which n_c
/// of its 64 blocks is a seeded random choice: the chunk is halved down to single blocks,
/// and at each halving the node's kept count n splits between its two halves as a
/// hypergeometric draw would (left half of s blocks keeps l with probability
/// C(s, l) C(s, n - l) / C(2 s, n), from a table in 1/65536ths), which makes every
/// n-subset of the chunk about equally likely. Whether a block is kept, or how many of a
/// chunk's first q are, follows one path down the tree: six draws.
///
/// The rows of BigBird's random attention (Zaheer et al. 2020, Section 2) likewise keep a
/// fixed number of random blocks each; here the count is fixed per 64 blocks.
struct RandomBlocks {
    let seed: Int
    let row: Int
    /// The density in permille, clamped to [0, 1000].
    let density: Int

    init(seed: Int, row: Int, density: Int) {
        self.seed = seed
        self.row = row
        self.density = Swift.min(Swift.max(density, 0), 1000)
    }

    /// Key blocks per chunk.
    static let chunkBlocks = 64

    /// Whether the row keeps key block j (the diagonal aside).
    func keeps(_ j: Int) -> Bool {
        let start = j & ~(Self.chunkBlocks - 1)
        var n = quota(chunkStart: start)
        var position = j - start
        var size = Self.chunkBlocks, node = 1
        let key = chunkKey(start)
        while n > 0 && n < size {
            let half = size / 2
            let left = Self.split(n, half: half, Self.draw(key, node: node))
            if position < half {
                n = left
                node = 2 * node
            } else {
                n -= left
                position -= half
                node = 2 * node + 1
            }
            size = half
        }
        return n > 0
    }

    /// Off-diagonal key blocks the row keeps in [lo, hi) (saturating at Int.max for a
    /// range longer than Int.max).
    func count(_ lo: Int, _ hi: Int) -> Int {
        guard lo < hi else { return 0 }
        if lo < 0 && hi > 0 {
            let (sum, overflow) = count(lo, 0).addingReportingOverflow(count(0, hi))
            return overflow ? Int.max : sum
        }
        return cumulative(hi) - cumulative(lo)
    }

    /// Kept blocks in [0, x) for x >= 0, minus those in [x, 0) for x < 0: whole chunks by
    /// their shares, then the first x - start blocks of x's chunk.
    private func cumulative(_ x: Int) -> Int {
        let start = x & ~(Self.chunkBlocks - 1)
        return share(start) + prefix(chunkStart: start, x - start)
    }

    /// floor(x p) for a chunk boundary x: the kept blocks of the chunks in [0, x) (their
    /// negation for x < 0), written q d + floor(r d / 1000) with x = 1000 q + r, r in
    /// [0, 1000). The result fits in 64 bits (|x p| <= |x|), so wrapping arithmetic
    /// gives it exactly even where q d alone would not fit.
    private func share(_ x: Int) -> Int {
        let r = Self.residue(x)
        let q = x / 1000 - (x % 1000 < 0 ? 1 : 0)
        return q &* density &+ r * density / 1000
    }

    /// x mod 1000, in [0, 1000).
    private static func residue(_ x: Int) -> Int {
        let r = x % 1000
        return r < 0 ? r + 1000 : r
    }

    /// The blocks kept in the chunk starting at `start`: floor((r + 64) p) - floor(r p)
    /// with r = start mod 1000 (the whole part of start p cancels).
    private func quota(chunkStart start: Int) -> Int {
        let r = Self.residue(start)
        return (r + Self.chunkBlocks) * density / 1000 - r * density / 1000
    }

    /// Kept blocks among the first `q` of the chunk starting at `start`.
    private func prefix(chunkStart start: Int, _ q: Int) -> Int {
        var n = quota(chunkStart: start)
        guard q > 0, n > 0 else { return 0 }
        var position = q, size = Self.chunkBlocks, node = 1, count = 0
        let key = chunkKey(start)
        // Down the path of block q: every left half passed on the way is counted whole.
        while position > 0 && n > 0 {
            if n == size { return count + position }
            let half = size / 2
            let left = Self.split(n, half: half, Self.draw(key, node: node))
            if position < half {
                n = left
                node = 2 * node
            } else {
                count += left
                n -= left
                position -= half
                node = 2 * node + 1
            }
            size = half
        }
        return count
    }

    /// The seed, row and chunk mixed into one key.
    private func chunkKey(_ start: Int) -> UInt64 {
        Self.mix(
            UInt64(truncatingIfNeeded: seed) &* 0x9E37_79B9_7F4A_7C15 ^ UInt64(truncatingIfNeeded: row) &* 0xBF58_476D_1CE4_E5B9
                ^ UInt64(truncatingIfNeeded: start) &* 0x94D0_49BB_1331_11EB)
    }

    /// The draw in [0, 65536) of tree node `node` (1 the chunk, 2 n and 2 n + 1 its halves).
    private static func draw(_ key: UInt64, node: Int) -> Int {
        Int(truncatingIfNeeded: mix(key &+ UInt64(truncatingIfNeeded: node) &* 0x9E37_79B9_7F4A_7C15) >> 48)
    }

    /// SplitMix64's output function (Steele, Lea and Flood 2014).
    private static func mix(_ x: UInt64) -> UInt64 {
        var z = (x ^ (x >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// How many of a node's n kept blocks its left half of `half` keeps, for a draw u in
    /// [0, 65536): the least l whose cumulative hypergeometric probability, in 1/65536ths,
    /// passes u.
    static func split(_ n: Int, half: Int, _ u: Int) -> Int {
        let lowest = Swift.max(0, n - half)
        let thresholds = HypergeometricTable.shared.thresholds(half: half, kept: n)
        var (low, high) = (0, thresholds.count - 1)
        while low < high {
            let mid = (low + high) / 2
            if u < thresholds[mid] { high = mid } else { low = mid + 1 }
        }
        return lowest + low
    }
}

/// Cumulative hypergeometric probabilities, in 1/65536ths, of a node of 2 s blocks with n
/// kept splitting l to its left half: P(L <= l) = sum over t <= l of C(s, t) C(s, n - t) /
/// C(2 s, n), for s = 1, 2, 4, ..., 32 and every n, exact in integers (binomials up to
/// C(64, 32) < 2^64).
struct HypergeometricTable: Sendable {
    static let shared = HypergeometricTable()

    /// By log2(s), then n: the thresholds for l = max(0, n - s) ... min(n, s); the last is
    /// 65536.
    private let table: [[[Int]]]

    init() {
        var binomial = [[UInt64]](repeating: [UInt64](repeating: 0, count: 65), count: 65)
        for n in 0...64 {
            binomial[n][0] = 1
            if n > 0 { for k in 1...n { binomial[n][k] = binomial[n - 1][k - 1] &+ (k <= n - 1 ? binomial[n - 1][k] : 0) } }
        }
        var table: [[[Int]]] = []
        var half = 1
        while half <= RandomBlocks.chunkBlocks / 2 {
            var byKept: [[Int]] = []
            for n in 0...(2 * half) {
                let total = binomial[2 * half][n]
                var running: UInt64 = 0
                var thresholds: [Int] = []
                for l in Swift.max(0, n - half)...Swift.min(n, half) {
                    running += binomial[half][l] * binomial[half][n - l]
                    let scaled = running.multipliedFullWidth(by: 65536)
                    thresholds.append(Int(total.dividingFullWidth((scaled.high, scaled.low)).quotient))
                }
                byKept.append(thresholds)
            }
            table.append(byKept)
            half *= 2
        }
        self.table = table
    }

    func thresholds(half: Int, kept n: Int) -> [Int] {
        table[half.trailingZeroBitCount][n]
    }
}
