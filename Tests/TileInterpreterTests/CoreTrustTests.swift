import AttnNumerics
import Testing
@testable import TileInterpreter
@testable import TileLanguage
import AttnTestSupport
import TileTestSupport

/// The one table of built-ins, the one traversal of count sites, and the promise built on
/// them: compressed count mode accepts exactly what the exhaustive replay accepts and
/// gives the same counters; counters that pass 2^63 - 1 are an error, never a trap.
@Suite struct CoreTrustTests {
    typealias S = TestSupport

    /// Hand-derived: the arguments of each built-in that can change a count.
    @Test(arguments: [
        (Builtin.cdiv, 2, [ArgumentRole.operand, .operand]),
        (.min, 2, [.operand, .operand]),
        (.exp, 1, [.operand]),
        (.rowsum, 1, [.operand]),
        (.zeros, 2, [.tileSize, .tileSize]),
        (.full, 2, [.tileSize, .operand]),
        (.full, 3, [.tileSize, .tileSize, .operand]),
        (.cast, 2, [.operand, .operand]),
        (.maskCausal, 3, [.operand, .queryPosition, .keyPosition]),
        (.maskCausal, 4, [.operand, .queryPosition, .keyPosition, .setting]),
        (.maskWindow, 5, [.operand, .queryPosition, .keyPosition, .setting, .setting]),
        (.col, 2, [.operand, .setting]),
        (.fa2NumSplits, 4, [.operand, .operand, .operand, .operand]),
        (.blockMask, 7, Array(repeating: ArgumentRole.operand, count: 7)),
    ])
    func argumentRoles(_ builtin: Builtin, _ count: Int, _ roles: [ArgumentRole]) {
        #expect(builtin.arity.contains(count))
        #expect(builtin.spec.arguments(count: count).map(\.role) == roles)
    }

    @Test func everyBuiltinHasConsistentArity() {
        for builtin in Builtin.allCases {
            let spec = builtin.spec
            for count in spec.arity {
                #expect(spec.arguments(count: count).count == count, "\(builtin) with \(count) arguments")
            }
        }
        #expect(Builtin.zeros.arity == 1...2)
        #expect(Builtin.full.arity == 2...3)
        #expect(Builtin.maskWindow.arity == 4...5)
        #expect(Builtin.blockMask.arity == 7...7)
    }

    /// The checker types calls from the table: wrong argument types name the argument.
    @Test(arguments: [
        ("  t = zeros(4, 4)\n  c = col(t, 1.5)\n", "the column of 'col' must be an integer, found a float"),
        ("  t = zeros(4)\n  r = rowmax(t)\n", "the tile of 'rowmax' must be a 2-D tile, found a 1-D tile"),
        ("  t = zeros(4, 4)\n  u = mask_causal(t, 0, 0.5)\n", "the first key position of 'mask_causal' must be an integer, found a float"),
        ("  t = zeros(4, 4)\n  u = cast(t, 3)\n", "the dtype of 'cast' must be a dtype: fp32, fp16, bf16, fp8e4m3, fp8e5m2, u8 or e8m0"),
    ])
    func callTypesComeFromTheTable(_ body: String, _ message: String) {
        let text = "kernel k grid(i: 1):\n" + body
        do {
            _ = try Checker.check(SourceFile(name: "t.tile", text: text))
            Issue.record("expected an error")
        } catch {
            #expect(error.message == message)
        }
    }

    /// The sites of a small kernel, in traversal order.
    @Test func countSitesOfAKernel() throws {
        let text = """
            input Q[8, 4]
            output O[8, 4]
            kernel k grid(i: 2):
              for j in 0 ..< i + 1:
                q = load Q[rows(i, 4), :]
                if j > 0:
                  s = mask_causal(q @ q^T, i * 4, j * 4)
                  c = col(s, j)
              store O[rows(i, 4), :] = q
            """
        let program = try Checker.check(SourceFile(name: "t.tile", text: text))
        var kinds: [String] = []
        CountSites.forEach(in: program.kernels[0].body) { site in
            switch site {
            case .index(_, let axis): kinds.append("index\(axis):\(site.expressions.count)")
            case .call(let builtin, _): kinds.append("\(builtin.name):\(site.expressions.count)")
            case .loopBounds: kinds.append("loop")
            case .condition: kinds.append("if")
            }
        }
        #expect(kinds == ["loop", "index0:2", "index1:0", "if", "mask_causal:2", "col:1", "index0:2", "index1:0"])
    }

    /// Programs that fail at one block only: compressed count mode must fail exactly as
    /// the exhaustive replay does (the `col` case once passed compressed).
    @Test(arguments: [
        // A column index past the tile at i = 2.
        "output O[4, 2]\nkernel k grid(i: 4):\n  t = zeros(2, 2)\n  c = col(t, i)\n  store O[i, :] = c\n",
        // A division by zero at i = 2 whose value reaches no site.
        "output O[4, 2]\nkernel k grid(i: 4):\n  t = zeros(2)\n  x = 5 / (i - 2)\n  store O[i, :] = t\n",
        // A window that is not positive at i = 3.
        "output O[4, 2]\nkernel k grid(i: 4):\n  t = zeros(2, 2)\n  u = mask_window(t, 0, 0, 3 - i)\n  store O[i, :] = col(u, 0)\n",
    ])
    func compressedRejectsWhatExhaustiveRejects(_ text: String) throws {
        let bound = try S.bindSource(text, S.shape(heads: 1, n: 4, d: 2))
        let exhaustive = Result { try S.count(bound, compress: false) }
        let compressed = Result { try S.count(bound, compress: true) }
        guard case .failure(let expected) = exhaustive else {
            Issue.record("the exhaustive replay was expected to fail")
            return
        }
        guard case .failure(let actual) = compressed else {
            Issue.record("compressed count mode accepted a program the exhaustive replay rejects: \(expected)")
            return
        }
        #expect("\(actual)" == "\(expected)")
    }

    /// A run whose counts pass 2^63 - 1 is an overflow diagnostic, not a trap:
    /// FlashAttention-2 at 32M tokens, 32 heads, d = 128 does 4 N^2 d h = 1.8e19 matmul FLOPs.
    @Test func counterOverflowIsADiagnostic() throws {
        let n = 32 * 1024 * 1024
        let bound = try S.bind("flash2", S.shape(heads: 32, n: n, d: 128), dtype: .fp16)
        do {
            _ = try Simulator.run(bound, options: RunOptions(mode: .count))
            Issue.record("expected an overflow")
        } catch {
            #expect(error.kind == .overflow)
            #expect(error.message.contains("matmul FLOPs"))
        }
        // Just under: 4 N^2 d h at N = 8M, h = 32 is 1.15e18, which fits.
        let fits = try S.bind("flash2", S.shape(heads: 32, n: 8 * 1024 * 1024, d: 128), dtype: .fp16)
        let stats = try S.count(fits)
        let n8 = 8 * 1024 * 1024
        #expect(stats.total.flopsMatmul == 4 * n8 * n8 * 128 * 32)
    }

    @Test func countersAddWithOverflowChecks() throws {
        var a = Counters(tensorCount: 1)
        a.flopsMatmul = Int.max / 2 + 1
        var sum = Counters(tensorCount: 1)
        try sum.add(a)
        #expect(throws: CounterOverflow(counter: "matmul FLOPs")) { try sum.add(a) }
        var traffic = Counters(tensorCount: 2)
        traffic.tensors[0].hbmToSram = Int.max
        traffic.tensors[1].hbmToRegisters = 1
        // Each counter fits; their sum (HBM read bytes) does not.
        var total = Counters(tensorCount: 2)
        try total.add(traffic)
        #expect(throws: CounterOverflow.self) { try total.checkTotals() }
        let stats = RunStats(kernels: [KernelStats(name: "k", grid: [1], blocks: 1, counters: total)], tensorNames: ["A", "B"])
        #expect(throws: CounterOverflow.self) { _ = try stats.checkedTotal() }
    }
}

extension CoreTrustTests {
    /// Each built-in is one definition: found by its name, holding its own signature.
    @Test func definitionsBelongToTheirBuiltin() {
        #expect(Set(Builtin.allCases.map(\.name)).count == Builtin.allCases.count)
        for builtin in Builtin.allCases { #expect(Builtin.named(builtin.name) === builtin) }
        #expect(Builtin.col.spec.required.map(\.name) == ["the tile", "the column"])
        #expect(Builtin.blockMask.spec.required.count == 7)
        #expect(Builtin.fa2NumSplits.spec.required.count == 4)
        #expect(Builtin.cast.spec.counting == .cast)
        #expect(Builtin.exp.spec.counting == .exp)
        #expect(Builtin.log.spec.counting == .log)
        #expect(Builtin.sqrt.spec.counting == .elementwise)
        #expect(Builtin.rowmax.spec.counting == .rowReduction)
        #expect(Builtin.maskWindow.spec.required.count == 4)
        #expect(Builtin.maskCausal.spec.required.count == 3)
        #expect(Builtin.full.spec.trailing.count == 1)
        #expect(Builtin.zeros.spec.optional.count == 1)
        #expect(Builtin.cdiv.spec.result == .integer)
        #expect(Builtin.min.spec.result == .broadcast)
        #expect(Builtin.max.spec.result == .broadcast)
        #expect(Builtin.rowsum.spec.result == .tile1D)
    }
}

extension CoreTrustTests {
    /// Causal FlashAttention-2 with Br = 48, Bc = 80: the trip count floor((48 i + 47) / 80)
    /// is affine on residue classes of i modulo 80 / gcd(48, 80) = 5, a period outside
    /// 2, 4, 8, 16. Compressed counts equal the exhaustive replay's on ragged shapes.
    @Test(arguments: [1000, 2999, 4096])
    func residuePeriodFromTheDivisions(_ n: Int) throws {
        let bound = try S.bind("flash2", S.shape(heads: 2, n: n, d: 16), dtype: .fp16, params: ["Br": 48, "Bc": 80, "causal": 1])
        #expect(try S.count(bound) == S.count(bound, compress: false))
    }
}

extension CoreTrustTests {
    /// 2-D grids of masks (standard attention's causal mask build, and windows with a row
    /// period): a box whose offsets vary is counted once when the mask hides all or none of
    /// every tile in it. Compressed equals exhaustive on ragged shapes; the tile sizes are
    /// coprime so that offsets take every value next to the thresholds.
    @Test(arguments: [(700, 900), (1000, 1000), (333, 1024)])
    func standardCausalMaskGrid(_ n: Int, _ nkv: Int) throws {
        let bound = try S.bind("standard", S.shape(heads: 2, n: n, nkv: nkv, d: 16), dtype: .fp16, params: ["Bm": 48, "Bn": 77, "causal": 1])
        #expect(try S.count(bound) == S.count(bound, compress: false))
    }

    @Test(arguments: [(5, 0), (37, 0), (37, 3), (130, 5)])
    func windowMaskGrid(_ window: Int, _ period: Int) throws {
        let mask = period > 0 ? "mask_window(zeros(rn, cn), i * 16, j * 23, \(window), \(period))" : "mask_window(zeros(rn, cn), i * 16, j * 23, \(window))"
        let text = """
            output O[N, Nkv]
            kernel k grid(i: cdiv(N, 16), j: cdiv(Nkv, 23)):
              rn = min(16, N - i * 16)
              cn = min(23, Nkv - j * 23)
              store O[rows(i, 16), cols(j, 23)] = \(mask)

            """
        let bound = try S.bindSource(text, S.shape(heads: 1, n: 301, nkv: 419, d: 4))
        let compressed = try S.count(bound)
        #expect(compressed == (try S.count(bound, compress: false)))
        #expect(compressed.total.maskedElements > 0)
    }
}

extension CoreTrustTests {
    /// The all-or-nothing rule at its thresholds, box by box: a 16 x 23 tile, row r is query
    /// 16 i + r, column c key k0 + c, so the offset is D = 16 i - k0 over the box's i. A
    /// causal mask keeps everything when D >= 22 and hides everything when D + 15 < 0.
    @Test(arguments: [
        (22, true), (21, false), (100, true),   // D from k0' = 16 lo - k0 up: keeps all from 22
        (-16 - 48, true), (-15 - 48, false),    // D + 15 < 0 over the whole box: hides all
    ])
    func maskThresholds(_ lowestOffset: Int, _ uniform: Bool) throws {
        // Four query blocks i = 0 ..< 4, so D ranges over lowestOffset + 16 * (0 ..< 4).
        let k0 = -lowestOffset
        let text = """
            output O[64, 23]
            kernel k grid(i: 4):
              s = mask_causal(zeros(16, 23), i * 16, \(k0))
              store O[rows(i, 16), :] = s

            """
        let bound = try S.bindSource(text, S.shape(heads: 1, n: 64, d: 23))
        let kernel = bound.program.kernels[0]
        var checker = UniformityChecker(bound: bound, kernel: kernel, box: GridBox(extents: [4]))
        #expect(checker.isUniform(KernelPlan(kernel).body) == uniform)
        #expect(try S.count(bound) == S.count(bound, compress: false))
    }
}

extension CoreTrustTests {
    /// A count run that cannot compress stops at its work budget (or is refused at the
    /// loop that would pass it) with a `.budget` diagnostic saying how to go on; without a
    /// budget it runs to the end.
    @Test func statementBudgetStopsReplays() throws {
        // Trip counts (i^2 mod 13) + N are not affine, and the loop carries an integer:
        // every block and iteration replays, N (N + 6) + 2 N statements or so.
        let text = """
            output O[N, 1]
            kernel k grid(i: N):
              c = 0
              for j in 0 ..< (i * i) % 13 + N:
                c = c + 1
              store O[i, :] = zeros(1)

            """
        let bound = try S.bindSource(text, S.shape(heads: 1, n: 64, d: 1))
        do {
            _ = try Simulator.run(bound, options: RunOptions(mode: .count, statementBudget: 1000))
            Issue.record("expected the budget to stop the run")
        } catch {
            #expect(error.kind == .budget)
            #expect(error.message.contains("budget of 1,000 units of work"))
            #expect(error.notes.contains { $0.contains("--allow-long") })
        }
        let stats = try Simulator.run(bound, options: RunOptions(mode: .count)).stats
        // 64 stores of one fp32 element.
        #expect(stats.total.hbmWriteBytes == 64 * 4)
    }
}

extension CoreTrustTests {
    /// The reference's shared pass gives exactly the log-sum-exp of the separate one (same
    /// float64 operations in the same order), masked or not.
    @Test(arguments: [false, true])
    func sharedReferencePassAgrees(_ causal: Bool) {
        let problem = S.shape(heads: 2, kvHeads: 1, n: 7, nkv: 11, d: 4)
        var generator = SeededGenerator(seed: 3)
        let (q, k, v) = S.randomQKV(problem, generator: &generator)
        var mask = AttentionReference.Mask()
        mask.causal = causal
        let both = AttentionReference.outputAndLogSumExp(problem, q: q, k: k, v: v, mask: mask)
        #expect(both.logSumExp == AttentionReference.logSumExp(problem, q: q, k: k, mask: mask))
    }
}

extension CoreTrustTests {
    /// The SIMD tile matmul against a scalar i-p-j loop written here, on widths that are
    /// and are not multiples of the vector width: identical floats (same addition order).
    @Test(arguments: [(3, 5, 11), (4, 64, 64), (1, 1, 8), (2, 7, 17), (16, 3, 1)])
    func simdMatmulMatchesScalar(_ m: Int, _ k: Int, _ n: Int) {
        var generator = SeededGenerator(seed: UInt64(m * 1000 + k * 10 + n))
        let a = (0..<(m * k)).map { _ in Float(generator.nextUnit() * 2 - 1) }
        let b = (0..<(k * n)).map { _ in Float(generator.nextUnit() * 2 - 1) }
        var expected = [Float](repeating: 0, count: m * n)
        for i in 0..<m {
            for p in 0..<k {
                for j in 0..<n { expected[i * n + j] += a[i * k + p] * b[p * n + j] }
            }
        }
        #expect(TileMath.matmul(a, b, m: m, k: k, n: n) == expected)
        // A hand-checked case: [1 2; 3 4] [5 6; 7 8] = [19 22; 43 50].
        #expect(TileMath.matmul([1, 2, 3, 4], [5, 6, 7, 8], m: 2, k: 2, n: 2) == [19, 22, 43, 50])
    }
}
