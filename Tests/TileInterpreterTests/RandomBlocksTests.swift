import Testing
@testable import AttnNumerics
@testable import TileInterpreter

/// The random block pattern (`BlockPattern.random`, `RandomBlocks`): an exact share of
/// every aligned chunk of 64 key blocks, at positions close to a uniform random choice,
/// counted in O(1) and equal to `allows` block by block.
@Suite struct RandomBlocksTests {
    /// Hand-derived: a node of 2 blocks with 1 kept splits 0 or 1 to the left with
    /// probability 1/2 each; of 4 blocks with 2 kept, 0, 1 or 2 with 1/6, 4/6, 1/6
    /// (C(2,l) C(2,2-l) / C(4,2)): cumulative 65536/2, then 65536/6 and 65536 5/6 rounded down.
    @Test func hypergeometricThresholdsByHand() {
        let table = HypergeometricTable.shared
        #expect(table.thresholds(half: 1, kept: 1) == [32768, 65536])
        #expect(table.thresholds(half: 2, kept: 2) == [10922, 54613, 65536])
        #expect(table.thresholds(half: 2, kept: 3) == [32768, 65536])
        #expect(table.thresholds(half: 32, kept: 0) == [65536])
        #expect(table.thresholds(half: 32, kept: 64) == [65536])
        // Symmetric: P(L <= l) + P(L <= n - l - 1) = 1 for n = 32 of 64, to the rounding.
        let row = table.thresholds(half: 32, kept: 32)
        #expect(row.count == 33 && row.last == 65536)
        for l in 0..<32 { #expect(abs(row[l] + row[31 - l] - 65536) <= 1) }
    }

    /// Every aligned chunk of 64 key blocks keeps floor(64 (c + 1) p) - floor(64 c p) of its
    /// off-diagonal blocks (p = 0.25: 16 each; p = 0.3: 19 or 20), whatever the row.
    @Test(arguments: [(250, 1), (300, 4), (7, 2), (999, 3)])
    func chunksKeepTheirShare(_ density: Int, _ seed: Int) {
        let pattern = BlockPattern.random(densityPermille: density, seed: seed)
        for row in [0, 5, 70, 1_000_003, -9] {
            for c in [-2, 0, 1, 2, 15, 1_000_000] {
                let start = 64 * c
                let kept = (start..<start + 64).filter { $0 != row && pattern.allows(row, $0) }.count
                let expected = Self.floorShare(64 * (c + 1), density) - Self.floorShare(64 * c, density)
                let diagonalKept = (start..<start + 64).contains(row) && RandomBlocks(seed: seed, row: row, density: density).keeps(row)
                #expect(kept + (diagonalKept ? 1 : 0) == expected, "density \(density) row \(row) chunk \(c)")
            }
        }
    }

    static func floorShare(_ x: Int, _ density: Int) -> Int {
        let product = x * density
        return product >= 0 ? product / 1000 : -((-product + 999) / 1000)
    }

    /// Over 20,000 rows each position of a chunk is kept about p of the time (within 5
    /// standard deviations, sqrt(p (1 - p) / 20000) = 0.003 at p = 0.25), and two
    /// neighbours together about as often as in a uniform 16-subset of 64 (16 15 / (64 63)
    /// = 0.0595): no position or pair is favoured.
    @Test func positionsAreUniform() {
        let rows = 20_000
        var kept = [Int](repeating: 0, count: 64)
        var neighbours = 0
        for row in 0..<rows {
            let blocks = RandomBlocks(seed: 11, row: row, density: 250)
            let bits = (0..<64).map { blocks.keeps(1024 + $0) }
            for q in 0..<64 where bits[q] { kept[q] += 1 }
            for q in 0..<63 where bits[q] && bits[q + 1] { neighbours += 1 }
        }
        for q in 0..<64 { #expect(abs(Double(kept[q]) / Double(rows) - 0.25) < 0.015, "position \(q)") }
        #expect(abs(Double(neighbours) / Double(rows * 63) - 16.0 * 15.0 / (64.0 * 63.0)) < 0.005)
    }

    /// Counts over ranges that cross chunks, start below zero or lie near either end of
    /// the integers equal counting `allows`; the diagonal is always kept.
    @Test(arguments: [0, 250, 640, 1000])
    func countsMatchAllows(_ density: Int) {
        let pattern = BlockPattern.random(densityPermille: density, seed: 5)
        let ranges = [(0, 200), (-130, 70), (63, 65), (1000, 1000), (640, 1281), (Int.max - 150, Int.max), (Int.min, Int.min + 130)]
        for row in [0, 64, 100, -70, Int.max - 3, Int.min + 2] {
            #expect(pattern.allows(row, row))
            for (lo, hi) in ranges {
                let kept = (lo..<hi).filter { pattern.allows(row, $0) }
                let truths = pattern.truths(row: row, lo, hi)
                #expect(pattern.keptCount(row: row, lo, hi) == kept.count, "row \(row) [\(lo), \(hi))")
                #expect(truths.firstTrue == kept.first && truths.firstFalse == (lo..<hi).first { !pattern.allows(row, $0) })
            }
        }
    }

    /// Different seeds and rows give different choices (the same quota, other positions).
    @Test func seedsAndRowsDiffer() {
        let positions = { (seed: Int, row: Int) in (0..<64).filter { RandomBlocks(seed: seed, row: row, density: 250).keeps(64 + $0) } }
        #expect(positions(1, 3).count == 16 && positions(2, 3).count == 16)
        #expect(positions(1, 3) != positions(2, 3))
        #expect(positions(1, 3) != positions(1, 4))
    }
}
