import Testing
import AttnNumerics
@testable import TileInterpreter
@testable import TileLanguage
import AttnTestSupport
import TileTestSupport

/// The pieces data-dependent sparse attention is written with: the selection built-ins'
/// values, i32 tensors written as tiles and read one element at a time, the `pool`
/// initializer, the float64 top-k with its tie rule, and references that read a recorded
/// selection.
@Suite struct SelectionBuiltinTests {
    typealias S = TestSupport

    func tensor(_ shape: [Int], _ values: [Float]) -> HostTensor {
        var t = HostTensor(shape: shape, dtype: .fp32)
        t.values = values
        return t
    }

    /// Runs a one-block program over X [2, 5] and returns Y.
    func run(_ body: String, x: [Float], y: String = "Y[2, 5] fp32") throws -> [Float] {
        let text = "input  X[2, 5]\noutput \(y)\nkernel k grid(i: 1):\n  x = load X[:, :]\n" + body
        let bound = try S.bindSource(text, S.shape(heads: 1, n: 2, d: 5))
        let result = try Simulator.run(bound, options: RunOptions(mode: .numeric, inputs: ["X": tensor([2, 5], x)]))
        return try #require(result.tensors["Y"]).values
    }

    static let x: [Float] = [3, -1, 3, .infinity * -1, 7, 0, .nan, 2, 2, -5]

    /// topk: largest first, equal values in column order, -inf after every finite value,
    /// NaN last. Row 0 [3, -1, 3, -inf, 7] -> 4, 0, 2, 1, 3; row 1 [0, NaN, 2, 2, -5] ->
    /// 2, 3, 0, 4, 1.
    @Test func topkOrdersByValueThenColumn() throws {
        #expect(try run("  store Y[:, :] = topk(x, 5)\n", x: Self.x) == [4, 0, 2, 1, 3, 2, 3, 0, 4, 1])
        #expect(try run("  store Y[:, :] = topk(x, 2)\n", x: Self.x, y: "Y[2, 2] fp32") == [4, 0, 2, 3])
        // take reads the chosen values; hcat and iota build candidate sets.
        #expect(try run("  store Y[:, :] = take(x, topk(x, 2))\n", x: Self.x, y: "Y[2, 2] fp32") == [7, 3, 2, 2])
        #expect(try run("  store Y[:, :] = hcat(take(x, topk(x, 1)), iota(2, 4, 10))\n", x: Self.x) == [7, 10, 11, 12, 13, 2, 10, 11, 12, 13])
    }

    /// Masks by values: after (key position > query position), apart (ids differ), self
    /// (equal positions replaced). Query positions 1 and 3 (column 0 of X); keys 0 ... 4.
    @Test func valueMasks() throws {
        let x: [Float] = [1, 0, 0, 0, 0, 3, 0, 0, 0, 0]
        let ninf = -Float.infinity
        #expect(try run("  store Y[:, :] = mask_after(x * 0.0, col(x, 0), iota(1, 5, 0))\n", x: x)
            == [0, 0, ninf, ninf, ninf, 0, 0, 0, 0, ninf])
        #expect(try run("  store Y[:, :] = mask_apart(x * 0.0, 2, iota(1, 5, 0))\n", x: x) == [ninf, ninf, 0, ninf, ninf, ninf, ninf, 0, ninf, ninf])
        #expect(try run("  store Y[:, :] = mask_self(x * 0.0, col(x, 0), iota(1, 5, 0), -7.0)\n", x: x) == [0, -7, 0, 0, 0, 0, 0, 0, -7, 0])
    }

    @Test(arguments: [
        ("  y = topk(x, 6)\n", "k of 'topk' must be between 1 and the 5 columns of the 2x5 tile, found 6"),
        ("  y = take(x, iota(2, 1, 5))\n", "'take' reads column 5.0 of row 0, which is not a column of the 2x5 tile"),
        ("  y = take(x, iota(3, 1, 0))\n", "'take' needs 2 rows of indices (or one for every row), found 3x1"),
        ("  y = hcat(x, iota(3, 1, 0))\n", "'hcat' joins tiles of equal rows, found 2x5 and 3x1"),
        ("  y = mask_after(x, 0, iota(1, 4, 0))\n", "'mask_after' takes a number, 1x5 (one per column) or 2x5 here, found 1x4"),
    ])
    func badCallsAreErrors(_ body: String, _ message: String) throws {
        do {
            _ = try run(body + "  store Y[:, :] = x\n", x: Self.x)
            Issue.record("expected an error for \(body)")
        } catch let error as Diagnostic {
            #expect(error.message == message)
        }
    }

    /// An i32 tensor takes a tile of indices; a value that is not an integer of at most
    /// 2^24 is an error at the store. Loads still read one element at a time.
    @Test func integerTensorsTakeTilesOfIndices() throws {
        let text = "input X[2, 3]\ntemp I[2, 3] i32\nkernel k grid(i: 1):\n  x = load X[:, :]\n  store I[:, :] = x\n"
        let bound = try S.bindSource(text, S.shape(heads: 1, n: 2, d: 3))
        let ok = try Simulator.run(bound, options: RunOptions(mode: .numeric, inputs: ["X": tensor([2, 3], [0, 1, 2, 16_777_216, -3, 5])]))
        #expect(try #require(ok.tensors["I"]).values == [0, 1, 2, 16_777_216, -3, 5])
        do {
            _ = try Simulator.run(bound, options: RunOptions(mode: .numeric, inputs: ["X": tensor([2, 3], [0, 1.5, 2, 3, 4, 5])]))
            Issue.record("expected an error")
        } catch {
            #expect(error.message == "'I' is an i32 tensor: its values are integers of at most 2^24 in magnitude (indices), found 1.5")
            #expect(error.location.line == 5)
        }
    }

    /// pool: block c reduces rows c s ..< c s + l before n. K [1, 6, 2] (rows 0 ... 5 of
    /// (r, 10 r)), l = 3, s = 2, n = 5: blocks rows {0,1,2}, {2,3,4}, {4}: means 1 and 3
    /// and 4, minima 0, 2, 4, maxima 2, 4, 4 (times 1 and 10); a fourth block is empty: 0.
    @Test(arguments: [("mean", [Float](arrayLiteral: 1, 10, 3, 30, 4, 40, 0, 0)), ("min", [0, 0, 2, 20, 4, 40, 0, 0]), ("max", [2, 20, 4, 40, 4, 40, 0, 0])])
    func poolReducesBlocks(_ statistic: String, _ expected: [Float]) throws {
        let text = "input K[1, 6, 2]\ninput P[1, 4, 2] pool(K, \(statistic), 3, 2, 5)\noutput O[1, 4, 2]\nkernel k grid(i: 1):\n  p = load P[0, :, :]\n  store O[0, :, :] = p\n"
        let bound = try S.bindSource(text, S.shape(heads: 1, n: 1, d: 2))
        let k = tensor([1, 6, 2], (0..<6).flatMap { [Float($0), Float(10 * $0)] })
        let result = try Simulator.run(bound, options: RunOptions(mode: .numeric, inputs: ["K": k]))
        #expect(try #require(result.tensors["P"]).values == expected)
        // A blocked source [1, 2, 3, 2] holds the same rows in the same order.
        let blocked = "input K[1, 2, 3, 2]\ninput P[1, 4, 2] pool(K, \(statistic), 3, 2, 5)\noutput O[1, 4, 2]\nkernel k grid(i: 1):\n  p = load P[0, :, :]\n  store O[0, :, :] = p\n"
        let again = try Simulator.run(try S.bindSource(blocked, S.shape(heads: 1, n: 1, d: 2)), options: RunOptions(mode: .numeric, inputs: ["K": tensor([1, 2, 3, 2], k.values)]))
        #expect(try #require(again.tensors["P"]).values == expected)
    }

    @Test(arguments: [
        ("input P[1, 4, 2] pool(K, median, 3, 2, 5)", "the statistic of 'pool' is mean, min or max, found 'median'"),
        ("input P[1, 4, 2] pool(Z, mean, 3, 2, 5)", "'pool' names 'Z', which must be a float input declared before 'P'"),
        ("input P[1, 4, 2] pool(K, mean, 3.5, 2, 5)", "the sizes of 'pool' must be integers"),
        ("temp P[1, 4, 2] pool(K, mean, 3, 2, 5)", "only input tensors have an initializer"),
    ])
    func badPoolsAreErrors(_ declaration: String, _ message: String) throws {
        let text = "input K[1, 6, 2]\n\(declaration)\noutput O[1, 4, 2]\nkernel k grid(i: 1):\n  p = load P[0, :, :]\n  store O[0, :, :] = p\n"
        do {
            _ = try Checker.check(SourceFile(name: "p.tile", text: text))
            Issue.record("expected an error for \(declaration)")
        } catch {
            #expect(error.message == message)
            #expect(error.location.line == 2)
        }
    }

    /// The tie rule: a chosen candidate must reach, within its slack, every candidate left
    /// out. Scores [5, 4, 4.00001, 1] with slack 1e-4: {0, 1} and {0, 2} both agree (1 and
    /// 2 tie); {0, 3} does not (2 outranks 3 beyond both slacks); -inf candidates fill a
    /// selection only when the visible ones run out.
    @Test func tieRule() {
        let scores = [5, 4, 4.00001, 1], slack = [1e-4, 1e-4, 1e-4, 1e-4]
        #expect(TopKSelection.select(scores, k: 2) == [0, 2])
        #expect(TopKSelection.disagreement(chosen: [0, 2], scores: scores, slack: slack) == nil)
        #expect(TopKSelection.disagreement(chosen: [1, 0], scores: scores, slack: slack) == nil)
        #expect(TopKSelection.disagreement(chosen: [0, 3], scores: scores, slack: slack)
            == .outranked(chosen: 3, chosenScore: 1, chosenSlack: 1e-4, leftOut: 2, leftOutScore: 4.00001, leftOutSlack: 1e-4))
        #expect(TopKSelection.disagreement(chosen: [0, 0], scores: scores, slack: slack) == .repeated(index: 0))
        #expect(TopKSelection.disagreement(chosen: [0, 4], scores: scores, slack: slack) == .invalid(index: 4, candidates: 4))
        let hidden: [Double] = [2, -.infinity, -.infinity, 3], zero: [Double] = [0, 0, 0, 0]
        #expect(TopKSelection.disagreement(chosen: [3, 0, 2], scores: hidden, slack: zero) == nil)
        #expect(TopKSelection.disagreement(chosen: [3, 1], scores: hidden, slack: zero) != nil)
        // Equal scores, no slack: either is a top-1.
        #expect(TopKSelection.disagreement(chosen: [1], scores: [1, 1], slack: [0, 0]) == nil)
        #expect(TopKSelection.select([1, 1, Double.nan, -Double.infinity], k: 4) == [0, 1, 3, 2])
    }

    /// A reference's recorded selection is an i32 temp or output the program writes; an
    /// input or a float tensor there is an error at the check.
    @Test(arguments: [("temp IDX[2, 1, 1]", "'attention_quest' reads the selection the program recorded as argument 6: an i32 temp or output the program writes; 'IDX' is not one"),
                      ("input IDX[2, 1, 1] i32", "'attention_quest' reads the selection the program recorded as argument 6: an i32 temp or output the program writes; 'IDX' is not one")])
    func recordedSelectionsAreWrittenByThePrograms(_ declaration: String, _ message: String) throws {
        let text = """
            input Q[2, 1, 4]
            input K[1, 2, 2, 4]
            input V[1, 2, 2, 4]
            input KMIN[1, 2, 4]
            input KMAX[1, 2, 4]
            \(declaration)
            output O[2, 1, 4]
            check O = attention_quest(Q, K, V, KMIN, KMAX, IDX)
            kernel k grid(i: 1):
              q = load Q[0, :, :]
              store O[0, :, :] = q

            """
        do {
            _ = try Checker.check(SourceFile(name: "q.tile", text: text))
            Issue.record("expected an error")
        } catch {
            #expect(error.message == message)
            #expect(error.location.line == 8)
        }
    }
}
