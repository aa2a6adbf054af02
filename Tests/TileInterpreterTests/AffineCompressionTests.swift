import Testing
import AttnNumerics
@testable import TileInterpreter
import AttnTestSupport
import TileTestSupport

/// Count mode sums a box of thread blocks whose loop trip counts grow with the block's
/// coordinates (causal masks) from one or two blocks, when it can prove the counts are
/// affine in the coordinates. These tests check the proof's decisions and that the sums
/// equal the exhaustive replay's, bit for bit.
@Suite struct AffineCompressionTests {
    typealias S = TestSupport

    /// Whether a kernel's body counts uniformly / affinely over a box of its grid.
    static func decide(_ bound: BoundProgram, kernel index: Int = 0, _ box: GridBox) -> (uniform: Bool, affine: Bool) {
        let kernel = bound.program.kernels[index]
        let plan = KernelPlan(kernel)
        var uniform = UniformityChecker(bound: bound, kernel: kernel, box: box)
        var affine = UniformityChecker(bound: bound, kernel: kernel, box: box)
        return (uniform.isUniform(plan.body), affine.countsAreAffine(plan.body))
    }

    /// The same over blocks [lower, upper) of the second grid axis, for head 0.
    static func decide(_ bound: BoundProgram, kernel index: Int = 0, queryBlocks lower: Int, _ upper: Int) -> (uniform: Bool, affine: Bool) {
        var box = GridBox(extents: [1, upper - lower])
        box.start[1] = lower
        return decide(bound, kernel: index, box)
    }

    /// Causal FlashAttention-2, N = 4096: query block i reads key blocks 0 ..< T(i) with
    /// T affine in i when Bc divides Br (T = (i + 1) Br / Bc); the last Br / Bc of them
    /// straddle the diagonal, the rest are full. Never uniform over several blocks, affine
    /// (block 0 has its diagonal alone: an empty middle there, `sawEmptyMiddle`), and not
    /// affine when Br < Bc (T = floor(i Br / Bc) + 1 is not affine in i).
    @Test(arguments: [
        (128, 128, 1, 32, true), (128, 64, 1, 32, true), (64, 64, 0, 64, true), (64, 128, 2, 64, false),
    ])
    func causalDecisions(_ br: Int, _ bc: Int, _ lower: Int, _ upper: Int, _ affine: Bool) throws {
        let bound = try S.bind("flash2", S.shape(heads: 2, n: 4096, d: 64), dtype: .fp16, params: ["Br": br, "Bc": bc, "causal": 1])
        let decision = Self.decide(bound, queryBlocks: lower, upper)
        #expect(decision.uniform == false)
        #expect(decision.affine == affine)
    }

    /// The causal backward pass walks query blocks from key block j's diagonal down:
    /// i from 2j (Bm = 64, Bn = 128) to the end, T = 128 - 2j, with its two diagonal
    /// query blocks first: affine with a prefix of two iterations, with a middle of full
    /// blocks left everywhere (j < 63) or not (the last key block, j = 63, has only its
    /// diagonal: an empty middle there, `sawEmptyMiddle`).
    @Test func causalBackwardDecision() throws {
        let bound = try S.bind("flash2-fwd-bwd", S.shape(heads: 2, n: 8192, d: 64), dtype: .fp16, params: ["Bm": 64, "Bn": 128, "causal": 1])
        let index = try #require(bound.program.kernels.firstIndex { $0.name == "bwd" })
        #expect(Self.decide(bound, kernel: index, queryBlocks: 0, 63) == (false, true))
        #expect(Self.decide(bound, kernel: index, queryBlocks: 0, 64) == (false, true))
    }

    /// The sliding window's loop has a constant trip count once the window is full, so
    /// those blocks are uniform; the blocks whose window is still filling (T = i + 1)
    /// are affine.
    @Test func windowDecisions() throws {
        let bound = try S.bind("flash2", S.shape(heads: 2, n: 8192, d: 64), dtype: .fp16, params: ["Br": 128, "Bc": 128, "window": 1024])
        #expect(Self.decide(bound, queryBlocks: 8, 64) == (true, true))
        #expect(Self.decide(bound, queryBlocks: 1, 8) == (false, true))
    }

    /// A loop over the key blocks up to the query's own, cur + 1 = floor(i / C) + 1 of
    /// them, its last masked (nsa's attend before its window is full): on a residue class
    /// i = r mod C the trip count m + 1 is affine, the last iteration a tail alike across
    /// the class, and the class's first point (m = 0) runs that tail alone. The proof
    /// takes it, its middle empty there (`sawEmptyMiddle`); before, it asked for a middle
    /// iteration everywhere and held only without that point. The class r = C - 1 masks
    /// nothing: all middle, no edge.
    @Test(arguments: [(3, 8, true), (11, 7, false), (7, 8, false)])
    func emptyMiddleDecisions(_ start: Int, _ count: Int, _ emptyMiddle: Bool) throws {
        let bound = try S.bindSource(Self.keyBlocksUpToTheQuery, S.shape(heads: 1, n: 64, d: 8))
        let kernel = bound.program.kernels[0]
        var box = GridBox(extents: [count])
        box.start[0] = start
        box.stride[0] = 8
        var checker = UniformityChecker(bound: bound, kernel: kernel, box: box)
        let affine = checker.countsAreAffine(KernelPlan(kernel).body)
        #expect(affine)
        #expect(checker.sawEmptyMiddle == emptyMiddle)
    }

    /// The same kernel counted: compressed equals exhaustive, N a multiple of C or not,
    /// and (N a multiple of C) query i hides C - 1 - (i mod C) keys of its own block, N / C
    /// x C (C - 1) / 2 in all.
    @Test(arguments: [64, 1000, 1029])
    func emptyMiddlesCountExactly(_ n: Int) throws {
        let bound = try S.bindSource(Self.keyBlocksUpToTheQuery, S.shape(heads: 1, n: n, d: 8))
        let compressed = try S.count(bound)
        #expect(compressed == (try S.count(bound, compress: false)))
        if n % 8 == 0 { #expect(compressed.total.maskedElements == n / 8 * 8 * 7 / 2) }
    }

    /// Query i reads the key blocks 0 ... i / C, the last masked at its diagonal.
    static let keyBlocksUpToTheQuery = """
        param C = 8
        output Y[N, C]
        kernel k grid(i: N):
          acc = zeros(1, 1)
          for j in 0 ..< i / C + 1:
            t = zeros(1, C)
            if (j + 1) * C - 1 > i:
              t = mask_causal(t, i, j * C)
            acc = acc + rowsum(t)
          store Y[i ..< i + 1, 0 ..< 1] = acc
        """

    /// Compressed counts equal the exhaustive replay's: block shapes that divide and do
    /// not, partial last blocks, GQA, a query block longer than the key block, and a
    /// chunk of queries at the end of a longer cache.
    @Test(arguments: [
        (["Br": 64, "Bc": 64, "causal": 1], 2048, 2048), (["Br": 128, "Bc": 32, "causal": 1], 2000, 2000),
        (["Br": 32, "Bc": 64, "causal": 1], 1500, 1500), (["Br": 64, "Bc": 64, "causal": 1], 700, 2100),
        (["Br": 64, "Bc": 32, "window": 256], 2048, 2048), (["Br": 64, "Bc": 64, "window": 200], 1999, 1999),
        (["Br": 16, "Bc": 128, "causal": 1], 4096, 4096), (["Br": 48, "Bc": 128, "window": 1000], 3000, 3500),
    ])
    func compressionIsExact(_ params: [String: Int], _ n: Int, _ nkv: Int) throws {
        let bound = try S.bind("flash2", S.shape(batch: 2, heads: 4, kvHeads: 2, n: n, nkv: nkv, d: 64), dtype: .bf16, params: params)
        #expect(try S.count(bound) == S.count(bound, compress: false), "\(params) N\(n) Nkv\(nkv)")
    }

    /// The grouped GQA schedule (query blocks of 16 rows, key blocks of 128) with a causal
    /// mask: its trip count floor((16 i + 15) / 128) + 1 is affine only on every 8th query
    /// block, so count mode sums residue classes; the sums equal the exhaustive replay's.
    @Test func groupedCausalResidueClasses() throws {
        let bound = try S.bind("flash2-gqa", S.shape(heads: 8, kvHeads: 2, n: 4096, d: 64), dtype: .fp16, params: ["causal": 1])
        #expect(try S.count(bound) == S.count(bound, compress: false))
        let plain = try S.bind("flash2", S.shape(heads: 2, n: 4096, d: 64), dtype: .fp16, params: ["Br": 16, "Bc": 128, "causal": 1])
        func affine(_ box: GridBox) -> Bool { Self.decide(plain, box).affine }
        // Query blocks 8 ..< 256 of head 0: not affine as a run, affine in each of the 8
        // classes i = c mod 8.
        var box = GridBox(extents: [1, 248])
        box.start[1] = 8
        #expect(affine(box) == false)
        let classes = box.residueClasses(along: 1, 8)
        #expect(classes.count == 8 && classes.map(\.volume).reduce(0, +) == 248)
        #expect(classes.allSatisfy(affine))
    }

    /// The closed form at a size only the affine sums make quick: causal, N = 65536,
    /// B = 128, T = 512 query blocks, per head T (T + 1) / 2 key blocks read.
    @Test func causalClosedFormAtScale() throws {
        let n = 65_536, d = 128, b = 128, heads = 16, e = 2
        let bound = try S.bind("flash2", S.shape(heads: heads, n: n, d: d), dtype: .fp16, params: ["Br": b, "Bc": b, "causal": 1])
        let t = try S.count(bound).total
        let blocks = n / b, computed = blocks * (blocks + 1) / 2
        #expect(t.hbmReadBytes == heads * (n * d * e + 2 * computed * b * d * e))
        #expect(t.flopsMatmul == heads * 4 * computed * b * b * d)
        #expect(t.maskedElements == heads * blocks * b * (b - 1) / 2)
    }

    /// A loop whose first iteration moves a carried tile from shared memory to registers
    /// (later iterations read it from registers), and one with a trip count quadratic
    /// in the block index, which is not affine: both still count exactly.
    @Test func carriedStateAndNonAffineTripCounts() throws {
        let program = """
            input  X[N, d]
            output Y[N, d]
            kernel k grid(i: cdiv(N, 8)):
              x = load X[rows(i, 8), :] -> sram
              for j in 0 ..< i + 1:
                x = x * 2
              for j in 0 ..< i * i:
                y = exp(x)
              store Y[rows(i, 8), :] = x
            """
        let bound = try S.bindSource(program, S.shape(heads: 1, n: 256, d: 16))
        let compressed = try S.count(bound)
        #expect(compressed == (try S.count(bound, compress: false)))
        // Closed form: 32 blocks; block i doubles its 8 x 16 tile i + 1 times (one FLOP per
        // element) and exponentiates it i^2 times (counted as exps, not FLOPs).
        let blocks = 32, tile = 8 * 16
        let exps = (0..<blocks).reduce(0) { $0 + $1 * $1 } * tile
        #expect(compressed.total.exps == exps)
        #expect(compressed.total.flopsOther == (0..<blocks).reduce(0) { $0 + $1 + 1 } * tile)
    }

    /// Boxes as progressions: halves and residue classes cover every point once.
    @Test func gridBoxPoints() {
        var box = GridBox(extents: [2, 5])
        box.start[1] = 1
        box.stride[1] = 3                                    // 1, 4, 7, 10, 13
        func points(_ b: GridBox) -> [Int] { (0..<b.count[1]).map { b.start[1] + b.stride[1] * $0 } }
        let (low, high) = box.halves(along: 1)
        #expect(points(low) == [1, 4] && points(high) == [7, 10, 13])
        #expect(box.residueClasses(along: 1, 2).map(points) == [[1, 7, 13], [4, 10]])
        #expect(box.first == [0, 1] && box.last == [1, 13] && box.volume == 10)
    }
}
