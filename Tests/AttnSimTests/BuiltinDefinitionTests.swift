import Foundation
import Testing
import AttnNumerics
import TileInterpreter
@testable import TileLanguage

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
}
