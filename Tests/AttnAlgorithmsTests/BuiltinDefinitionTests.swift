import Foundation
import Testing
import AttnAlgorithms
import AttnNumerics
import TileInterpreter
@testable import TileLanguage
import AttnTestSupport
import TileTestSupport

/// Built-ins as values: each definition is whole (its kind of meaning matches its result
/// type), and a call counts exactly what its count rule says, in count and numeric mode.
@Suite struct BuiltinDefinitionTests {
    typealias S = TestSupport

    /// Every built-in that gives integers has an integer form for count mode, and the
    /// kind of its meaning matches the type the checker gives its result.
    @Test func meaningsMatchResultTypes() {
        for builtin in Builtin.allCases {
            switch (builtin.spec.result, builtin.meaning) {
            case (.integer, .integer), (.broadcast, .elementwise), (.floatOrFirst, .elementwise), (.floatOrFirst, .scalar):
                break
            case (.firstArgument, .tile), (.widenedFirstArgument, .tile), (.tile1D, .tile), (.tileOfSizes, .tile):
                break
            default:
                Issue.record("\(builtin): result \(builtin.spec.result) with a meaning of another kind")
            }
            if builtin.spec.result == .integer || builtin.spec.result == .broadcast {
                #expect(builtin.integerForm != nil, "\(builtin) gives integers but has no form for count mode")
            }
        }
    }

    /// Every built-in the parser knows has its row in the docs' built-in table, and every
    /// function the table names is one (a definition left out of its family's list would
    /// be missing here).
    @Test func everyBuiltinIsDocumented() throws {
        let text = try String(contentsOf: repositoryRoot.appendingPathComponent("docs/tile-language.md"), encoding: .utf8)
        // The table's rows: from `cdiv`'s to the first line that is not a row.
        let table = text.split(separator: "\n", omittingEmptySubsequences: false)
            .drop { !$0.hasPrefix("| `cdiv(") }.prefix { $0.hasPrefix("| `") }
        let documented = Set(table.flatMap { row in
            row.split(separator: "|")[0].split(separator: "`").enumerated().compactMap { index, piece in
                index % 2 == 1 ? piece.split(separator: "(").first.map(String.init) : nil
            }
        })
        #expect(documented == Set(Builtin.allCases.map(\.name)))
    }

    /// Hand-derived from the count rules on a 4 x 6 tile x (24 elements): "other" FLOPs,
    /// exponentials, logarithms and masked elements of one call.
    @Test(arguments: [
        ("exp(x)", 0, 24, 0, 0),
        ("exp2(x)", 0, 24, 0, 0),
        ("log(x)", 0, 0, 24, 0),
        ("sqrt(x)", 24, 0, 0, 0),
        ("min(x, 0.5)", 24, 0, 0, 0),
        ("max(x, x)", 24, 0, 0, 0),
        // A row of 6 reduces with 5 pairwise operations: 4 x 5.
        ("rowmax(x)", 20, 0, 0, 0),
        ("rowsum(x)", 20, 0, 0, 0),
        // Row r is query 2 + r over keys 0 ... 5: 3, 2, 1 and 0 keys after it are hidden.
        ("mask_causal(x, 2, 0)", 24, 0, 0, 6),
        // Window 2: each row sees its query position and the one before: 4 hidden a row.
        ("mask_window(x, 2, 0, 2)", 24, 0, 0, 16),
        ("cast(x, fp16)", 0, 0, 0, 0),
        ("softcap(x, 30.0)", 48, 24, 0, 0),
        ("elu1(x)", 24, 24, 0, 0),
        ("alibi(x, 0, 0, 0.5)", 48, 0, 0, 0),
        ("zeros(4, 6)", 0, 0, 0, 0),
        ("full(4, 6, 2.0)", 0, 0, 0, 0),
        // 4 x 3 cosines: the angle and the cosine per element.
        ("rope_cos(0, 4, 3, 10000.0, 0, 1.0, 4096)", 12, 12, 0, 0),
        // The rotation's 3 FLOPs on 24 elements, and both 4 x 3 tables.
        ("rope(x, rope_cos(0, 4, 3, 10000.0, 0, 1.0, 4096), rope_sin(0, 4, 3, 10000.0, 0, 1.0, 4096))", 72 + 24, 24, 0, 0),
        // A selection: 4 rows of 6 candidates, each through a heap of k: ceil(log2 k)
        // comparisons (at least 1): k = 1, 2 -> 24; k = 3, 4 -> 48; k = 6 -> 72.
        ("topk(x, 1)", 24, 0, 0, 0),
        ("topk(x, 2)", 24, 0, 0, 0),
        ("topk(x, 3)", 48, 0, 0, 0),
        ("topk(x, 4)", 48, 0, 0, 0),
        ("topk(x, 6)", 72, 0, 0, 0),
        // take, hcat and iota move values only; the topk inside counts 48.
        ("take(x, topk(x, 3))", 48, 0, 0, 0),
        ("hcat(x, x)", 0, 0, 0, 0),
        ("iota(4, 6, 2.0)", 0, 0, 0, 0),
        // Masks by values: a compare and select per element, whatever they hide (nothing
        // counted as masked: what they hide depends on data).
        ("mask_after(x, 2, iota(1, 6, 0))", 24, 0, 0, 0),
        ("mask_apart(x, 1, 2)", 24, 0, 0, 0),
        ("mask_self(x, 2, iota(4, 6, 0), -1.0)", 24, 0, 0, 0),
        // Prefix sums along each row of 6: 5 additions, 4 x 5.
        ("cumsum(x)", 20, 0, 0, 0),
        // Draft nodes 2 ... 5 over nodes 0 ... 5 of the binary tree (parent (n - 1) / 2): node
        // 2 sees {0, 2}, 3 {0, 1, 3}, 4 {0, 1, 4}, 5 {0, 2, 5}: 4 + 3 + 3 + 3 hidden.
        ("mask_tree(x, 2, 0, 2)", 24, 0, 0, 13),
        // Queries 1 ... 4, keys 0 ... 5, prefix 3: hidden the keys after the query from 3 on:
        // 3 (keys 3 to 5), 3, 2, 1.
        ("mask_prefix(x, 1, 0, 3)", 24, 0, 0, 9),
    ])
    func callsCountByTheirRule(_ call: String, _ other: Int, _ exps: Int, _ logs: Int, _ masked: Int) throws {
        let text = """
            input  X[4, 6]
            kernel k grid(i: 1):
              x = load X[:, :]
              t = \(call)

            """
        let bound = try S.bindSource(text, S.shape(heads: 1, n: 4, d: 6))
        for stats in [try S.count(bound), try S.count(bound, compress: false), try S.numeric(bound).stats] {
            let total = stats.total
            #expect(total.flopsOther == other, "\(call)")
            #expect(total.exps == exps, "\(call)")
            #expect(total.logs == logs, "\(call)")
            #expect(total.maskedElements == masked, "\(call)")
            #expect(total.flopsMatmul == 0)
        }
    }

    /// `exp2` (the built-in added by following docs/ARCHITECTURE.md, "Adding a built-in"):
    /// powers of two are exact at integers, 2^0.5 is sqrt 2 to within one unit in the last
    /// place of fp32, in kernels and in parameter expressions alike.
    @Test func exp2Values() throws {
        let text = """
            param p = exp2(3)
            input  X[2, 3]
            output Y[2, 3] fp32
            kernel k grid(i: 1):
              x = load X[:, :]
              store Y[:, :] = exp2(x)

            """
        let bound = try S.bindSource(text, S.shape(heads: 1, n: 2, d: 3))
        #expect(bound.parameter("p") == .float(8))
        var x = HostTensor(shape: [2, 3], dtype: .fp32)
        x.values = [-2, -1, 0, 1, 10, 0.5]
        let result = try Simulator.run(bound, options: RunOptions(mode: .numeric, inputs: ["X": x]))
        let y = try #require(result.tensors["Y"]).values
        #expect(Array(y.prefix(5)) == [0.25, 0.5, 1, 2, 1024])
        #expect(abs(Double(y[5]) - 2.0.squareRoot()) <= Double(Float(1.5).ulp))
    }

    /// What `exp2` is for: FlashAttention-2 written as its kernel runs, base 2 (log2 e
    /// folded into the scale, m the row maximum in base-2 units, LSE = m ln 2 + ln l). It
    /// passes the natural-base float64 references at their derived tolerances, and counts
    /// as flash2 does but for the LSE's one multiply per row: one exponential per score
    /// and rescale either way.
    @Test(arguments: [0, 1])
    func base2OnlineSoftmaxMatchesTheReference(_ causal: Int) throws {
        let source = try AlgorithmLibrary.builtInSource("flash2").text
        var text = source
        for (from, to) in [
            ("s = (q @ k^T) * scale", "s = (q @ k^T) * (scale * 1.4426950408889634)"),
            ("p = exp(s - m2)", "p = exp2(s - m2)"), ("a = exp(m - m2)", "a = exp2(m - m2)"),
            ("= m + log(l)", "= m * 0.6931471805599453 + log(l)"),
        ] {
            #expect(text.contains(from))
            text = text.replacingOccurrences(of: from, with: to)
        }
        let shape = S.shape(heads: 2, n: 100, d: 16)
        let params = ["Br": 32, "Bc": 16, "causal": causal]
        let base2 = try S.bindSource(text, shape, dtype: .fp16, params: params)
        let result = try S.numeric(base2)
        #expect(result.checks.count == 2)
        let flash2 = try S.count(S.bind("flash2", shape, dtype: .fp16, params: params)).total
        let counted = try S.count(base2).total
        #expect(counted.exps == flash2.exps)
        #expect(counted.flopsOther == flash2.flopsOther + 2 * 100)
        #expect(counted.hbmReadBytes == flash2.hbmReadBytes)
    }
}
