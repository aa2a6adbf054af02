import Foundation
import Testing
import AttnNumerics
import TileLanguage
@testable import TileInterpreter
import AttnTestSupport
import TileTestSupport

/// Count mode folds a grid dimension whose counts repeat with a long period (quest's
/// select every P Bp queries, through the nested divisions qpos / P and cdiv(..., Bp)) and
/// counts the folded box by runs: compressed equals the exhaustive replay byte for byte
/// on small shapes, even and ragged, and a million-token prefill fits a small budget.
@Suite struct FoldedCountTests {
    typealias S = TestSupport

    /// Folding keeps the points and their row-major order: the core's points followed by
    /// the remainder's are the original box's, in order.
    @Test(arguments: [(10, 3, 1, 0), (12, 4, 2, 5), (9, 2, 3, 1)])
    func foldKeepsPointsInOrder(_ count: Int, _ period: Int, _ stride: Int, _ start: Int) {
        var box = GridBox(extents: [2, count])
        box.stride[1] = stride
        box.start[1] = start
        let (core, remainder) = box.folded(1, period: period)
        #expect(core.isFolded)
        #expect(core.count == [2, count / period, period])
        let coreRows = (0..<core.volume).map { core.point(atIndex: $0) }
        let restRows = remainder.map { r in (0..<r.volume).map { r.point(atIndex: $0) } } ?? []
        // Row-major per head: the core's rows of head h then the remainder's.
        let expected = (0..<box.volume).map { box.point(atIndex: $0) }
        #expect((coreRows + restRows).sorted { $0.lexicographicallyPrecedes($1) } == expected)
        #expect(coreRows == expected.filter { $0[1] < start + stride * period * (count / period) })
        #expect(remainder == nil ? count % period == 0 : remainder?.volume == 2 * (count % period))
    }

    /// Nested divisions become one division (floor((floor(x / k1) + y) / k2) =
    /// floor((x + k1 y) / (k1 k2))) and multiples of the divisor come out whole: over
    /// x = r + 64 t (t in 0 ..< 4, r in 0 ..< 64), floor((floor(x / 4) + 3) / 16) is
    /// t + floor((r + 12) / 64), affine in t.
    @Test func nestedDivisionsAreOneDivision() throws {
        var checker = UniformityChecker(parameters: [], tensorShapes: [], dataSlots: [], env: [])
        let t = checker.fresh(IntInterval(0, 3)), r = checker.fresh(IntInterval(0, 63))
        checker.axisVariables = 2
        let scaledT = try #require(t.scaled(by: 64))
        let sum = scaledT + r
        let x = try #require(sum)
        let innerForm = checker.floorDivision(x, by: 4)
        let inner = try #require(innerForm)
        let plusThree = inner + .constant(3)
        let shifted = try #require(plusThree)
        let outerForm = checker.floorDivision(shifted, by: 16)
        let form = try #require(outerForm)
        // t's coefficient is 1: the rest is a variable over r alone.
        #expect(form.terms[0] == 1)
        #expect(checker.foldPeriods[1] == 64)
        #expect(checker.runPeriods[1] == 4)
        // The value at every point equals the floor.
        for tv in 0..<4 {
            for rv in 0..<64 {
                let xv = 64 * tv + rv
                let expected = (xv / 4 + 3) / 16
                let rest = form.terms.filter { $0.key != 0 }
                // The rest is floor((r + 12) / 64) here: 0 for r < 52, 1 from 52.
                let restValue = rest.isEmpty ? 0 : (rv + 12) / 64
                #expect(form.constant + tv + restValue == expected, "t \(tv) r \(rv)")
            }
        }
    }

    /// Where a division steps along a box variable: floor((x - 31) / 16) at x = 15 mod 16,
    /// floor(x / 64) at multiples of 64, floor((5 - x) / 8) (coefficient -1) at x = 6 mod
    /// 8; and the runs a folded offset is cut into start at 0 and at every such step.
    @Test func runsAreCutWhereDivisionsStep() throws {
        var checker = UniformityChecker(parameters: [], tensorShapes: [], dataSlots: [], env: [])
        let x = checker.fresh(IntInterval(0, 4095))
        checker.axisVariables = 1
        let shiftedForm = x + .constant(-31)
        let shifted = try #require(shiftedForm)
        let negatedForm = x.scaled(by: -1)
        let negated = try #require(negatedForm)
        let fromFiveForm = negated + .constant(5)
        let fromFive = try #require(fromFiveForm)
        _ = checker.floorDivision(shifted, by: 16)
        _ = checker.floorDivision(x, by: 64)
        _ = checker.floorDivision(fromFive, by: 8)
        #expect(checker.runCuts[0] == [RunCut(period: 16, phase: 15), RunCut(period: 64, phase: 0), RunCut(period: 8, phase: 6)])
        // Each division is constant between two consecutive starts.
        let period = FoldPeriod(period: 4096, run: 16, cuts: [RunCut(period: 16, phase: 15), RunCut(period: 64, phase: 0)])
        #expect(period.runStarts(count: 80) == [0, 15, 31, 47, 63, 64, 79])
        #expect(FoldPeriod(period: 4096, run: 16, cuts: []).runStarts(count: 40) == [0, 16, 32])
        let starts = period.runStarts(count: 4096) + [4096]
        for (a, b) in zip(starts, starts.dropFirst()) {
            #expect(Set((a..<b).map { IntegerArithmetic.floorDivide($0 - 31, 16) }).count == 1, "run \(a) ..< \(b)")
            #expect(Set((a..<b).map { $0 / 64 }).count == 1, "run \(a) ..< \(b)")
        }
        let eights = FoldPeriod(period: 8, run: 8, cuts: [RunCut(period: 8, phase: 6)]).runStarts(count: 64) + [64]
        for (a, b) in zip(eights, eights.dropFirst()) {
            #expect(Set((a..<b).map { IntegerArithmetic.floorDivide(5 - $0, 8) }).count == 1, "run \(a) ..< \(b)")
        }
    }

    /// Quest as a causal prefill (q_len = Nkv): with P Bp past the residue classes' 64 the
    /// select kernel's grid is folded; compressed equals exhaustive on N a multiple of the
    /// period, ragged, and two periods or more.
    @Test(arguments: [(4, 32, 64, 256), (4, 32, 64, 300), (4, 32, 64, 777), (8, 16, 64, 515), (8, 16, 32, 1029), (4, 32, 64, 1024)])
    func questPrefillCountsAlike(_ p: Int, _ bp: Int, _ budget: Int, _ n: Int) throws {
        let bound = try S.bind("quest", S.shape(heads: 2, kvHeads: 1, n: n, d: 8), params: ["P": p, "Bp": bp, "budget": budget])
        #expect(try S.count(bound) == S.count(bound, compress: false), "P \(p) Bp \(bp) budget \(budget) N \(n)")
    }

    /// DSA as a causal prefill: its select kernel's last chunk of logits `L[b, i, c0 ..< c1]`
    /// grows by one with every query (a slice length affine in the folded box), and
    /// compressed equals exhaustive with Bt past the residue classes' 64, N a multiple of
    /// Bt or ragged, topk equal to Bt or not.
    @Test(arguments: [(128, 128, 256), (128, 128, 515), (128, 128, 1029), (96, 128, 700), (200, 128, 777), (128, 96, 1024)])
    func dsaPrefillCountsAlike(_ topk: Int, _ bt: Int, _ n: Int) throws {
        let params = ["causal": 1, "topk": topk, "Bt": bt, "index_heads": 2, "index_dim": 8, "rank": 16, "rope": 8]
        let bound = try S.bind("dsa", S.shape(heads: 2, kvHeads: 1, n: n, d: 8), params: params)
        #expect(try S.count(bound) == S.count(bound, compress: false), "topk \(topk) Bt \(bt) N \(n)")
    }

    /// MoBA as a causal prefill (q_len = Nkv): its attend kernel's own-block loop runs
    /// (qpos - cur B) / Bt + 1 times, constant on runs of Bt queries of the folded box, and
    /// masks its last tile at an offset that moves with every query (a causal mask hiding
    /// an affine count, `maskIsAffine`); compressed equals exhaustive with B past the
    /// residue classes' 64, N a multiple of B or ragged, Bs cutting the selection in one
    /// chunk or several (past select's fold period B Bs), Bt dividing B or not.
    @Test(arguments: [(128, 32, 4, 3, 512), (128, 32, 4, 3, 515), (128, 32, 2, 4, 1029), (128, 48, 4, 3, 700), (256, 64, 8, 2, 777), (128, 128, 4, 3, 1024), (128, 32, 2, 3, 2000)])
    func mobaPrefillCountsAlike(_ b: Int, _ bt: Int, _ bs: Int, _ topk: Int, _ n: Int) throws {
        let bound = try S.bind("moba", S.shape(heads: 2, kvHeads: 1, n: n, d: 8), params: ["B": b, "Bt": bt, "Bs": bs, "topk": topk])
        #expect(try S.count(bound) == S.count(bound, compress: false), "B \(b) Bt \(bt) Bs \(bs) topk \(topk) N \(n)")
    }

    /// NSA as a causal prefill (q_len = Nkv): its compress kernel masks the last chunk of
    /// compressed keys at cmax = (p - l + 1) / s, which steps at p = l - 1 mod s, beside
    /// cur = p / lsel stepping at multiples of lsel; the folded runs are cut where each
    /// division steps (`FoldPeriod.runStarts`). Compressed equals exhaustive with the fold
    /// period lsel Bs past the residue classes' 64 (128 and 256), N a multiple of it or
    /// ragged, and l - 1 a multiple of s or not.
    @Test(arguments: [(8, 4, 16, 8, 256), (8, 4, 16, 8, 300), (8, 4, 16, 8, 777), (8, 4, 16, 8, 1029), (12, 4, 16, 16, 1024), (16, 8, 32, 4, 2000), (8, 4, 16, 8, 515)])
    func nsaPrefillCountsAlike(_ l: Int, _ s: Int, _ lsel: Int, _ bs: Int, _ n: Int) throws {
        let params = ["l": l, "s": s, "lsel": lsel, "Bs": bs, "n": 4, "w": 48]
        let bound = try S.bind("nsa", S.shape(heads: 2, kvHeads: 1, n: n, d: 8), params: params)
        #expect(try S.count(bound) == S.count(bound, compress: false), "l \(l) s \(s) lsel \(lsel) Bs \(bs) N \(n)")
    }

    /// Where a `min` or `max` of a box variable switches sides (`noteSwitch`): max(0,
    /// floor((x - 511) / 64)) takes the division from x = 511 (its sides tie up to 574),
    /// min(x, 100) the constant from x = 100, min(200, 3 x / 4 + 7) the constant from the first x
    /// with 3 x / 4 + 7 >= 200, x = 258; a difference whose terms turn different ways
    /// (floor(x / 4) - floor(x / 8) - 10, not monotone in the proof's terms) is not cut.
    @Test func switchesAreCutWhereExtremaTurn() throws {
        var checker = UniformityChecker(parameters: [], tensorShapes: [], dataSlots: [], env: [])
        let x = checker.fresh(IntInterval(0, 4095))
        checker.axisVariables = 1
        let shiftedForm = x + .constant(-511)
        let shifted = try #require(shiftedForm)
        let windowForm = checker.floorDivision(shifted, by: 64)
        let window = try #require(windowForm)
        let startDifference = AffineForm.constant(0) - window
        checker.noteSwitch(try #require(startDifference))
        #expect(checker.switchCuts[0] == [511])
        let capDifference = x - .constant(100)
        checker.noteSwitch(try #require(capDifference))
        #expect(checker.switchCuts[0] == [100, 511])
        let scaledForm = x.scaled(by: 3)
        let quarterForm = checker.floorDivision(try #require(scaledForm), by: 4)
        let quarter = try #require(quarterForm)
        let growingForm = quarter + .constant(7)
        let growing = try #require(growingForm)
        let limitDifference = AffineForm.constant(200) - growing
        checker.noteSwitch(try #require(limitDifference))
        #expect(checker.switchCuts[0] == [100, 258, 511])
        let fourths = checker.floorDivision(x, by: 4), eighths = checker.floorDivision(x, by: 8)
        let mixedForm = try #require(fourths) - (try #require(eighths))
        let mixed = try #require(mixedForm)
        let shiftedMixedForm = mixed + .constant(-10)
        checker.noteSwitch(try #require(shiftedMixedForm))
        #expect(checker.switchCuts[0] == [100, 258, 511])
    }

    /// nsa's attend kernel alone (its window starts at max(0, (p - w + 1) / lsel), the
    /// grid cut where that switches): compressed equals exhaustive with the switch inside
    /// the grid (w a multiple of lsel or not) and past its end (w >= N), N ragged or not.
    @Test(arguments: [(48, 16, 300), (40, 16, 515), (512, 64, 2000), (100, 32, 1029), (600, 64, 512)])
    func nsaWindowCountsAlike(_ w: Int, _ lsel: Int, _ n: Int) throws {
        let bound = try S.bindSource(try Self.nsaKernel("attend"), S.shape(heads: 2, kvHeads: 1, n: n, d: 8), params: ["lsel": lsel, "w": w, "n": 4])
        #expect(try S.count(bound) == S.count(bound, compress: false), "w \(w) lsel \(lsel) N \(n)")
    }

    /// nsa's attend kernel alone is counted by the same work at 4K, 64K and 1M (32 heads,
    /// 8 KV heads, d 128): the grid is cut once where the window's start switches, and
    /// each side by residue classes of lsel; it was halved once per doubling of N (541,000
    /// units at 4K, 669,000 at 16K), then 438,000 units while the queries before the
    /// window is full (p < w - 1) were halved down to single queries, each class's first
    /// query running its loop's masked last iteration alone (now an empty middle there:
    /// `UniformityChecker.sawEmptyMiddle`; 155,000 units).
    @Test func nsaAttendIsFlat() throws {
        let source = try Self.nsaKernel("attend")
        let units = try [1 << 12, 1 << 16, 1 << 20].map { n in
            let bound = try S.bindSource(source, S.shape(heads: 32, kvHeads: 8, n: n, d: 128), dtype: .fp16)
            var options = RunOptions(mode: .count)
            let budget = WorkBudget(limitUnits: 1_000_000)
            options.budget = budget
            let stats = try Simulator.run(bound, options: options).stats
            #expect(stats.total.hbmReadBytes > 0)
            return budget.spentUnits
        }
        #expect(units[0] == units[1] && units[1] == units[2], "units of work at 4K, 64K, 1M: \(units)")
        #expect(units[0] <= 200_000, "units of work: \(units[0])")
    }

    /// A sliding-window mask whose width grows with the query (`windowMaskIsUniform`, as
    /// nsa's select forces its blocks with `mask_window(z, cur - 2, b0, cur - 2)`): block i
    /// masks a 1 x C row at query i, key 0, width i + 1, which shows keys 0 ... min(i, C - 1)
    /// and hides C - 1 - i of them while i < C - 1 (the window's lower edge never reaches
    /// key 0): 39 + 38 + ... + 1 = 780 for C = 40, whatever N. Compressed equals exhaustive.
    @Test(arguments: [300, 1029])
    func windowsOfGrowingWidthCountAlike(_ n: Int) throws {
        let program = """
            param C = 40
            output Y[N, C]
            kernel k grid(i: N):
              z = zeros(1, C)
              z = mask_window(z, i, 0, i + 1)
              store Y[i ..< i + 1, :] = z
            """
        let bound = try S.bindSource(program, S.shape(heads: 1, n: n, d: 8))
        let compressed = try S.count(bound)
        #expect(compressed == (try S.count(bound, compress: false)))
        #expect(compressed.total.maskedElements == 39 * 40 / 2)
    }

    /// NSA's prefill at a million tokens (32 heads, 8 KV heads, d 128; also a million less
    /// three, whose ragged runs cost compress about 115,000 more) and 16M (2 heads) fits
    /// 1,000,000 units of work: compress folded and cut where its divisions step, select
    /// folded with its chunk's scores in slots of their own (so its chunk loop carries
    /// only `best` and `pos`) and its forced blocks masked by a window whose width grows
    /// with the query (`windowMaskIsUniform`), attend cut where its window's start
    /// switches and each side counted by residue classes of lsel (the queries before the
    /// window is full too, their classes' first query a tail alone: `sawEmptyMiddle`).
    @Test(arguments: [(32, 1 << 20), (32, (1 << 20) - 3), (2, 1 << 24)])
    func nsaPrefillIsFlat(_ heads: Int, _ n: Int) throws {
        let bound = try S.bind("nsa", S.shape(heads: heads, kvHeads: heads == 32 ? 8 : 1, n: n, d: 128), dtype: .fp16)
        let stats = try Simulator.run(bound, options: RunOptions(mode: .count, statementBudget: 1_000_000)).stats
        #expect(stats.total.hbmReadBytes > 0)
    }

    /// The built-in nsa program with `kernel` alone among its kernels.
    static func nsaKernel(_ kernel: String) throws -> String {
        let url = repositoryRoot.appendingPathComponent("Sources/AttnAlgorithms/Programs/nsa.tile")
        var kept: [Substring] = []
        var skipping = false
        for line in try String(contentsOf: url, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("kernel ") {
                skipping = !line.hasPrefix("kernel \(kernel) ")
            } else if !line.isEmpty && !line.hasPrefix(" ") {
                skipping = false
            }
            if !skipping { kept.append(line) }
        }
        return kept.joined(separator: "\n")
    }

    /// Quest's causal prefill at a million tokens (32 heads, d 128; also a million less
    /// three) and 16M (2 heads) fits 1,000,000 units of work: the folded select kernel is
    /// counted by runs whose number depends on P Bp, not on N.
    @Test(arguments: [(32, 1 << 20), (32, (1 << 20) - 3), (2, 1 << 24)])
    func questPrefillIsFlat(_ heads: Int, _ n: Int) throws {
        let bound = try S.bind("quest", S.shape(heads: heads, n: n, d: 128), dtype: .fp16)
        let stats = try Simulator.run(bound, options: RunOptions(mode: .count, statementBudget: 1_000_000)).stats
        #expect(stats.total.hbmReadBytes > 0)
    }

    /// DSA's causal prefill at a million tokens (32 heads, d 128; also a million less
    /// three) and 16M (2 heads) fits 1,000,000 units of work.
    @Test(arguments: [(32, 1 << 20), (32, (1 << 20) - 3), (2, 1 << 24)])
    func dsaPrefillIsFlat(_ heads: Int, _ n: Int) throws {
        let bound = try S.bind("dsa", S.shape(heads: heads, n: n, d: 128), dtype: .fp16, params: ["causal": 1])
        let stats = try Simulator.run(bound, options: RunOptions(mode: .count, statementBudget: 1_000_000)).stats
        #expect(stats.total.hbmReadBytes > 0)
    }

    /// MoBA's causal prefill at a million tokens (32 heads, d 128; also a million less
    /// three) and 16M (2 heads) fits 1,000,000 units of work: both kernels are counted by
    /// runs whose number depends on B, Bt and Bs, not on N (select's pooled keys, reloaded
    /// in chunks, are left out of the carried-state watch: `CarriedState.reloadedSlots`).
    @Test(arguments: [(32, 1 << 20), (32, (1 << 20) - 3), (2, 1 << 24)])
    func mobaPrefillIsFlat(_ heads: Int, _ n: Int) throws {
        let bound = try S.bind("moba", S.shape(heads: heads, n: n, d: 128), dtype: .fp16)
        let stats = try Simulator.run(bound, options: RunOptions(mode: .count, statementBudget: 1_000_000)).stats
        #expect(stats.total.hbmReadBytes > 0)
    }
}
