import AttnNumerics
import AttnScenario
import Testing
@testable import TileInterpreter
import AttnTestSupport
import TileTestSupport

/// Count mode's block-sparse rows: kept counts in closed form (local + strided) or by a
/// tight hash loop (random), rows grouped by their kept count and counted from two
/// blocks. Compressed counts must equal the exhaustive replay's.
@Suite struct BlockMaskCountTests {
    typealias S = TestSupport

    /// `keptCount` and `truths` agree with `allows` block by block, over ranges that cross
    /// the band, start below zero, hold stride 1 (every column) and rows near Int.max.
    @Test(arguments: [
        BlockPattern.dense, .localStrided(local: 1, stride: 0), .localStrided(local: 2, stride: 4), .localStrided(local: 3, stride: 1),
        .localStrided(local: 0, stride: 3), .random(densityPermille: 250, seed: 1), .random(densityPermille: 0, seed: 5),
        .random(densityPermille: 1000, seed: 2), .random(densityPermille: 1500, seed: 3), .random(densityPermille: -4, seed: 3),
    ])
    func keptCountMatchesAllows(_ pattern: BlockPattern) {
        let ranges = [(0, 20), (-7, 9), (5, 6), (3, 3), (12, 40), (-30, -2)]
        for i in [0, 1, 4, 9, 17, -3, 35] {
            for (lo, hi) in ranges {
                let kept = (lo..<max(lo, hi)).filter { pattern.allows(i, $0) }
                let truths = pattern.truths(row: i, lo, hi)
                #expect(pattern.keptCount(row: i, lo, hi) == kept.count, "\(pattern) row \(i) [\(lo), \(hi))")
                #expect(truths.trueCount == kept.count)
                #expect(truths.firstTrue == kept.first, "\(pattern) row \(i) [\(lo), \(hi))")
                #expect(truths.firstFalse == (lo..<max(lo, hi)).first { !pattern.allows(i, $0) }, "\(pattern) row \(i) [\(lo), \(hi))")
            }
        }
        // A row whose band bound passes Int.max is clipped, not trapped.
        let top = Int.max - 2
        let near = (top - 5..<top + 2).filter { pattern.allows(top, $0) }.count
        #expect(pattern.keptCount(row: top, top - 5, top + 2) == near)
        #expect(pattern.keptCounts(rows: [0, 4, 9], 0, 20) == [0, 4, 9].map { i in (0..<20).filter { pattern.allows(i, $0) }.count })
    }

    /// Hand-derived: local 1 + stride 2 over 5 blocks keeps the diagonal and the odd
    /// columns: rows 0..4 keep {0,1,3}, {1,3}, {1,2,3}, {1,3}, {1,3,4} = 3+2+3+2+3 = 13.
    @Test func localStridedKeptBlocksByHand() throws {
        let pattern = BlockPattern.localStrided(local: 1, stride: 2)
        #expect((0..<5).map { pattern.keptCount(row: $0, 0, 5) } == [3, 2, 3, 2, 3])
        let b = 16, d = 16, e = 4, heads = 3
        let params = ["Br": b, "Bc": b, "block_pattern": 1, "block_local": 1, "block_stride": 2]
        let bound = try S.bind("flash2", S.shape(heads: heads, n: 5 * b, d: d), params: params)
        let t = try S.count(bound).total
        // Q once, K and V once per kept pair; O once and LSE (fp32) once.
        #expect(t.hbmReadBytes == heads * (5 * b * d * e + 2 * 13 * b * d * e))
        #expect(t.flopsMatmul == heads * 13 * 4 * b * b * d)
        #expect(t.hbmWriteBytes == heads * (5 * b * d * e + 5 * b * 4))
    }

    /// Ragged and GQA shapes, both pattern kinds, non-causal and causal (the causal rows
    /// vary in length and stay on the per-row path): compressed equals exhaustive.
    @Test(arguments: ["local:2,stride:4", "local:1,stride:3", "local:3", "random:0.25", "random:0.6,seed:9"])
    func compressedEqualsExhaustive(_ spec: String) throws {
        guard let mask = BlockMaskOption.parameters(spec) else { throw TestFailure("bad spec \(spec)") }
        var params = mask.mapValues { value -> Int in if case .int(let i) = value { return i } else { return 0 } }
        let shapes = [
            S.shape(heads: 2, n: 200, d: 16), S.shape(heads: 2, n: 190, nkv: 333, d: 16), S.shape(batch: 2, heads: 4, kvHeads: 2, n: 161, d: 16),
        ]
        for (shape, (br, bc)) in zip(shapes, [(16, 16), (16, 32), (32, 16)]) {
            for causal in [0, 1] where causal == 0 || shape.queryLength <= shape.keyLength {
                params["Br"] = br
                params["Bc"] = bc
                params["causal"] = causal
                guard (shape.queryLength + br - 1) / br <= (shape.keyLength + bc - 1) / bc else { continue }
                let bound = try S.bind("flash2", shape, params: params)
                #expect(try S.count(bound) == S.count(bound, compress: false), "\(spec) \(shape) Br \(br) Bc \(bc) causal \(causal)")
            }
        }
    }

    /// A million-token block-sparse run counts its 262,144 blocks from a few blocks: it
    /// fits a budget of 20,000 statements (the per-row path replayed 8,192 rows, about
    /// 30 statements each). Its K/V traffic is the kept pairs' exactly.
    @Test(arguments: ["local:2,stride:4", "random:0.25"])
    func millionTokenMaskCountsFromFewBlocks(_ spec: String) throws {
        guard let mask = BlockMaskOption.parameters(spec) else { throw TestFailure("bad spec \(spec)") }
        let params = mask.mapValues { value -> Int in if case .int(let i) = value { return i } else { return 0 } }
        let n = 1 << 20, b = 128, d = 128, heads = 32, e = 2
        let bound = try S.bind("flash2", S.shape(heads: heads, n: n, d: d), dtype: .fp16, params: params)
        let stats = try Simulator.run(bound, options: RunOptions(mode: .count, statementBudget: 20_000)).stats
        guard let pattern = BlockPattern(code: params["block_pattern"] ?? 0, local: params["block_local"] ?? 1, stride: params["block_stride"] ?? 0,
                                         densityPermille: params["block_density"] ?? 250, seed: params["block_seed"] ?? 1)
        else { throw TestFailure("bad pattern") }
        let blocks = n / b
        let kept = pattern.keptCounts(rows: Array(0..<blocks), 0, blocks).reduce(0, +)
        #expect(stats.total.hbmReadBytes == heads * (n * d * e + 2 * kept * b * d * e))
    }
}
