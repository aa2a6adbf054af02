import AttnNumerics
import AttnScenario
import Testing
@testable import TileInterpreter
import AttnTestSupport
import TileTestSupport

/// The count-mode cases made flat by the summed-loop proof, edge peeling of constant
/// ranges, repeated iterations after a state change, `col` over a range and capped
/// split-KV ranges, 2-D mask grids and residue classes of a summed loop: at small N the
/// compressed counts equal the exhaustive replay's byte for byte, and at a million (and
/// 16M) tokens they are counted within 1,000,000 units of work (statements and proof
/// steps; the exhaustive replay would pass that hundreds of times over).
@Suite struct FlatCountTests {
    typealias S = TestSupport

    /// The block_* parameters of a `--block-mask` spec.
    static func maskParameters(_ spec: String) throws -> [String: Int] {
        guard let mask = BlockMaskOption.parameters(spec) else { throw TestFailure("bad spec \(spec)") }
        return mask.mapValues { value -> Int in if case .int(let i) = value { return i } else { return 0 } }
    }

    /// Causal block-sparse masks (the diagonal tail, kept and skipped key blocks between),
    /// on square tiles even and odd, ragged N, GQA and a decode-like Nkv > N: compressed
    /// equals exhaustive.
    @Test(arguments: ["random:0.25", "random:0.6,seed:9", "local:3,stride:7", "local:2,stride:4", "local:1"])
    func causalBlockMasks(_ spec: String) throws {
        var params = try Self.maskParameters(spec)
        params["causal"] = 1
        let cases: [(ProblemShape, Int)] = [
            (S.shape(heads: 2, n: 256, d: 16), 16), (S.shape(heads: 2, n: 250, d: 16), 16), (S.shape(heads: 3, n: 235, d: 8), 7),
            (S.shape(batch: 2, heads: 4, kvHeads: 2, n: 161, nkv: 170, d: 8), 9),
        ]
        for (shape, b) in cases {
            params["Br"] = b
            params["Bc"] = b
            let bound = try S.bind("flash2", shape, params: params)
            #expect(try S.count(bound) == S.count(bound, compress: false), "\(spec) \(shape) B \(b)")
        }
    }

    /// Ragged N with block-sparse masks, not causal: the last key block is a tail whose
    /// kept or skipped varies from row to row.
    @Test(arguments: ["random:0.25", "local:3,stride:7", "local:2,stride:4"])
    func raggedBlockMasks(_ spec: String) throws {
        var params = try Self.maskParameters(spec)
        for (n, b) in [(253, 16), (239, 12), (200, 7)] {
            params["Br"] = b
            params["Bc"] = b
            let bound = try S.bind("flash2", S.shape(heads: 2, n: n, d: 8), params: params)
            #expect(try S.count(bound) == S.count(bound, compress: false), "\(spec) N \(n) B \(b)")
        }
    }

    /// Block-sparse masks with Br != Bc: the mask's blocks are B = max(Br, Bc) wide, so a
    /// query tile reads its mask row i Br / B and a key tile its column j Bc / B.
    /// Compressed equals exhaustive, causal or not, ragged or not. With Br < Bc and a
    /// causal mask, a query block's last key block is cut at an offset that cycles with
    /// i mod (Bc / Br): the box is counted by residue classes of its summed loop.
    @Test(arguments: ["random:0.3", "local:2,stride:3", "local:1"])
    func unequalTiles(_ spec: String) throws {
        var params = try Self.maskParameters(spec)
        for (n, br, bc) in [(256, 8, 32), (250, 32, 8), (199, 16, 48), (300, 24, 8), (520, 8, 64), (333, 4, 16)] {
            for causal in [0, 1] {
                params["Br"] = br
                params["Bc"] = bc
                params["causal"] = causal
                let bound = try S.bind("flash2", S.shape(heads: 2, n: n, d: 8), params: params)
                #expect(try S.count(bound) == S.count(bound, compress: false), "\(spec) N \(n) Br \(br) Bc \(bc) causal \(causal)")
            }
        }
    }

    /// The program and the float64 reference agree on which blocks a mask with Br != Bc
    /// keeps: a numeric run passes its checks (the reference masks blocks of max(Br, Bc)
    /// positions), and its FLOPs are the kept tiles'.
    @Test(arguments: [(8, 32, 1), (32, 8, 0), (16, 8, 1)])
    func unequalTilesAgreeWithTheReference(_ br: Int, _ bc: Int, _ causal: Int) throws {
        var params = try Self.maskParameters("random:0.4,seed:3")
        params.merge(["Br": br, "Bc": bc, "causal": causal]) { $1 }
        let n = 160, d = 16
        let bound = try S.bind("flash2", S.shape(heads: 2, n: n, d: d), params: params)
        let result = try S.numeric(bound)
        #expect(result.checks.count == 2)
        // Tiles computed: query tile i, key tile j with mask block (i Br / bs, j Bc / bs) kept and,
        // when causal, j's first key at or before i's last query.
        let bs = max(br, bc)
        let pattern = BlockPattern.random(densityPermille: 400, seed: 3)
        var tiles = 0
        for i in 0..<(n / br) {
            for j in 0..<(n / bc) where pattern.allows(i * br / bs, j * bc / bs) && (causal == 0 || j * bc <= i * br + br - 1) { tiles += 1 }
        }
        #expect(result.stats.total.flopsMatmul == 2 * tiles * 4 * br * bc * d)
    }

    /// A sliding window longer than 64 key blocks (each block's loop starts and ends with
    /// masked blocks: one each when Br = Bc, Br / Bc at both ends otherwise), and the
    /// sinks' tile before it.
    @Test func longWindowEdges() throws {
        for (n, br, bc, window) in [(2048, 8, 8, 600), (1500, 8, 8, 520), (2048, 64, 8, 600), (1800, 48, 4, 400)] {
            let bound = try S.bind("flash2-sinks", S.shape(heads: 2, n: n, d: 8), params: ["Br": br, "Bc": bc, "window": window])
            #expect(try S.count(bound) == S.count(bound, compress: false), "N \(n) Br \(br) Bc \(bc) window \(window)")
        }
    }

    /// paged-decode-v2: a decode step over many partitions (the reduce reads column s of
    /// its weights for every partition s) and causal prefill (partitions capped at each
    /// query block's last page).
    @Test func pagedDecodeV2Partitions() throws {
        let shapes = [
            (S.shape(batch: 2, heads: 4, kvHeads: 2, n: 1, nkv: 1000, d: 8), ["P": 8, "partition": 32]),
            (S.shape(heads: 2, n: 300, d: 8), ["P": 8, "partition": 32, "causal": 1, "Br": 16]),
            (S.shape(heads: 4, kvHeads: 2, n: 200, nkv: 230, d: 8), ["P": 4, "splits": 5, "causal": 1, "Br": 8, "grouped": 1]),
        ]
        for (shape, params) in shapes {
            let bound = try S.bind("paged-decode-v2", shape, params: params)
            #expect(try S.count(bound) == S.count(bound, compress: false), "\(shape) \(params)")
        }
    }

    /// Standard attention's causal mask, a 2-D grid of tiles whose counts differ only in
    /// the mask's offset (`countsAreBanded`), forward and forward-backward, square and
    /// unequal tiles, ragged, Nkv > N.
    @Test(arguments: [("standard", 16, 32), ("standard", 48, 77), ("standard", 32, 16), ("standard-fwd-bwd", 16, 32), ("standard-fwd-bwd", 24, 24)])
    func causalMaskGrids(_ algorithm: String, _ bm: Int, _ bn: Int) throws {
        for (n, nkv) in [(256, 256), (301, 301), (200, 333)] {
            let bound = try S.bind(algorithm, S.shape(heads: 2, n: n, nkv: nkv, d: 8), params: ["Bm": bm, "Bn": bn, "causal": 1])
            let compressed = try S.count(bound)
            #expect(compressed == (try S.count(bound, compress: false)), "\(algorithm) N \(n) Nkv \(nkv) Bm \(bm) Bn \(bn)")
            #expect(compressed.total.maskedElements > 0)
        }
    }

    /// Window masks over a 2-D grid whose key axis comes first (the offset falls along the
    /// inner axis), with and without a row period.
    @Test(arguments: [(40, 0), (200, 0), (97, 5)])
    func windowMaskGridsKeyAxisFirst(_ window: Int, _ period: Int) throws {
        let mask = period > 0 ? "mask_window(zeros(rn, cn), i * 12, j * 20, \(window), \(period))" : "mask_window(zeros(rn, cn), i * 12, j * 20, \(window))"
        let text = """
            output O[N, Nkv]
            kernel k grid(j: cdiv(Nkv, 20), i: cdiv(N, 12)):
              rn = min(12, N - i * 12)
              cn = min(20, Nkv - j * 20)
              store O[rows(i, 12), cols(j, 20)] = \(mask)

            """
        let bound = try S.bindSource(text, S.shape(heads: 1, n: 400, nkv: 455, d: 4))
        let compressed = try S.count(bound)
        #expect(compressed == (try S.count(bound, compress: false)))
        #expect(compressed.total.maskedElements > 0)
    }

    /// The prefix-LM mask (`flash2-prefix-lm`): past the prefix, a query block's diagonal
    /// key block hides what a causal mask hides, so its count is affine in the block
    /// (`UniformityChecker.prefixMaskIsUniform`). Compressed equals exhaustive for
    /// prefixes inside the first key block, across several, not a multiple of the tiles,
    /// and the whole context; square and unequal tiles, ragged N, Nkv > N, GQA.
    @Test(arguments: [(16, 16), (16, 48), (48, 16), (7, 7)])
    func prefixLMCountsAlike(_ br: Int, _ bc: Int) throws {
        let shapes = [S.shape(heads: 2, n: 256, d: 8), S.shape(heads: 2, n: 251, d: 8), S.shape(batch: 2, heads: 4, kvHeads: 2, n: 150, nkv: 197, d: 8)]
        for shape in shapes {
            for prefix in [0, 1, 5, 64, 100, shape.keyLength] {
                let bound = try S.bind("flash2-prefix-lm", shape, params: ["Br": br, "Bc": bc, "prefix": prefix])
                #expect(try S.count(bound) == S.count(bound, compress: false), "\(shape) Br \(br) Bc \(bc) prefix \(prefix)")
            }
        }
    }

    /// `mask_prefix` whose positions vary over the grid: its keys move away from its
    /// queries, so blocks past the prefix hide all of their tile or part of it, blocks
    /// inside it hide nothing and one block straddles it; with and without a row period
    /// (2 rows per query). Compressed equals exhaustive, and the masked elements are
    /// those counted by hand: block i (rows r < 8 of query i B + off + r mod p, keys
    /// 3 i B + c) hides key > query and key >= P.
    @Test(arguments: [(0, 20, 8), (9, 20, 8), (9, 150, 8), (3, 0, 2), (30, 1000, 2)])
    func prefixMasksWhosePositionsMove(_ off: Int, _ prefix: Int, _ period: Int) throws {
        let text = """
            about "mask_prefix over a grid whose key positions move three times as fast as its queries"
            param B = 8
            param off = 0
            param P = 20
            param p = 8
            input  Q[batch * heads, N, d]
            output O[batch * heads, N, d]
            check O = attention(Q, Q, Q)
            kernel k grid(bh: batch * heads, i: cdiv(N, B)):
              q = load Q[bh, rows(i, B), :] -> sram
              s = mask_prefix(q @ q^T, i * B + off, 3 * i * B, P, p)
              store O[bh, rows(i, B), :] = s @ q
            """
        let n = 200
        let bound = try S.bindSource(text, S.shape(heads: 2, n: n, d: 8), params: ["off": off, "P": prefix, "p": period])
        let compressed = try S.count(bound)
        #expect(compressed == (try S.count(bound, compress: false)))
        var hidden = 0
        for i in 0..<(n / 8) {
            for r in 0..<8 {
                let query = i * 8 + off + r % period
                for c in 0..<8 where 3 * i * 8 + c > query && 3 * i * 8 + c >= prefix { hidden += 1 }
            }
        }
        #expect(compressed.total.maskedElements == 2 * hidden)
    }

    /// A loop whose first iteration changes the carried state and whose rest repeat
    /// (standard attention's two-pass softmax over rows longer than Bsm).
    @Test func repeatedAfterStateChange() throws {
        let bound = try S.bind("standard", S.shape(heads: 2, n: 3, nkv: 700, d: 8), params: ["Bsm": 16])
        #expect(try S.count(bound) == S.count(bound, compress: false))
    }

    /// The slow count cases (flash2 random:0.25 --causal, local:3,stride:7 on
    /// 48 x 48 tiles, memory-efficient random --causal, ragged N, standard --causal, odd
    /// square tiles, Br != Bc with and without a mask, a long window, flash2-sinks with
    /// Br = 256, Bc = 16) at a million tokens (32 heads, d 128), a million less three,
    /// and 16M tokens (2 heads, the most a 16M prefill allows): each fits a budget of
    /// 1,000,000 units of work (exceeding it throws), where exhaustive counting replays
    /// hundreds of millions of statements at 1M. Measured (debug build): 8,700 to 200,000
    /// units at 1M and 16,000 to 530,000 at 16M; what grows is the listing of query-block
    /// rows (one unit each, O(N / Br)), not the replay.
    @Test(arguments: [
        ("flash2", "random:0.25", ["causal": 1]), ("flash2", "local:3,stride:7", ["Br": 48, "Bc": 48]),
        ("flash2", "local:2,stride:4", ["causal": 1]), ("flash2", "random:0.25", ["Br": 64, "Bc": 64, "causal": 1]),
        ("flash2", "random:0.25", ["Br": 64, "Bc": 128, "causal": 1]), ("flash2", "local:2,stride:3", ["Br": 32, "Bc": 128, "causal": 1]),
        ("flash2", "random:0.25", ["Br": 128, "Bc": 32, "causal": 1]), ("flash2", "local:3,stride:7", ["Br": 47, "Bc": 47, "causal": 1]),
        ("flash2", "", ["Br": 47, "Bc": 47, "causal": 1]), ("flash2", "", ["Br": 48, "Bc": 80, "causal": 1]), ("flash2", "", ["window": 4096]),
        ("memory-efficient", "random:0.25", ["causal": 1]), ("flash2-sinks", "", ["Br": 256, "Bc": 16]),
        ("standard", "", ["causal": 1]), ("standard-fwd-bwd", "", ["causal": 1]),
        ("flash2-prefix-lm", "", [:]), ("flash2-prefix-lm", "", ["Br": 64, "Bc": 32, "prefix": 1000]),
    ])
    func millionTokensFromFewStatements(_ algorithm: String, _ spec: String, _ extra: [String: Int]) throws {
        let params = try (spec.isEmpty ? [:] : Self.maskParameters(spec)).merging(extra) { $1 }
        for (heads, n) in [(32, 1 << 20), (32, (1 << 20) - 3), (2, 1 << 24)] {
            let bound = try S.bind(algorithm, S.shape(heads: heads, n: n, d: 128), dtype: .fp16, params: params)
            let stats = try Simulator.run(bound, options: RunOptions(mode: .count, statementBudget: 1_000_000)).stats
            #expect(stats.total.hbmReadBytes > 0)
        }
    }

    /// paged-decode-v2 is flat in its partitions: one decode step over 256M and 2^31
    /// tokens (32 query and 8 KV heads, d 128: 524,288 and 4,194,304 partitions of 512)
    /// and a causal prefill over 128K (the same heads) and 32M tokens (one head, d 64:
    /// the most a 32M prefill allows), partitions capped at each query block's last page,
    /// each fit a budget of 1,000,000 units (measured: 395 units for either decode step,
    /// 3,500 at 128K and 526,000 at 32M, the query blocks listed). Its HBM reads are at
    /// least the keys and values once.
    @Test(arguments: [(1, 1 << 28, 0, 32, 8, 128), (1, 1 << 31, 0, 32, 8, 128), (1 << 17, 1 << 17, 1, 32, 8, 128), (1 << 25, 1 << 25, 1, 1, 1, 64)])
    func pagedDecodeV2IsFlatInPartitions(_ queries: Int, _ context: Int, _ causal: Int, _ heads: Int, _ kvHeads: Int, _ d: Int) throws {
        let shape = ProblemShape(batch: 1, heads: heads, kvHeads: kvHeads, queryLength: queries, keyLength: context, headDim: d)
        let bound = try S.bind("paged-decode-v2", shape, dtype: .fp16, params: ["causal": causal])
        let stats = try Simulator.run(bound, options: RunOptions(mode: .count, statementBudget: 1_000_000)).stats
        #expect(stats.total.hbmReadBytes >= 2 * kvHeads * context * d * 2)
    }
}
