import Testing
import AttnNumerics
import TileLanguage
@testable import TileInterpreter
import AttnTestSupport
import TileTestSupport

/// PagedAttention decoding: exact equality with the contiguous kernel, counts with the
/// block table and the unused slots of the last page, and data-independent counting.
@Suite struct PagedDecodeTests {
    typealias S = TestSupport

    /// Same math, same order: with the contiguous flash-decoding kernel reading Bc = P
    /// keys per step, the paged kernel's output is identical to the bit, for K and V
    /// gathered from the same pages.
    @Test(arguments: [(100, 16, 1, 0), (64, 8, 1, 0), (77, 32, 3, 1), (200, 16, 2, 0)])
    func equalsContiguousAttentionExactly(_ nkv: Int, _ page: Int, _ n: Int, _ causal: Int) throws {
        let shape = S.shape(batch: 2, heads: 8, kvHeads: 2, n: n, nkv: nkv, d: 32)
        let paged = try S.bind("paged-decode", shape, dtype: .fp16, params: ["P": page, "causal": causal])
        let pagedResult = try S.numeric(paged)
        #expect(try #require(pagedResult.checks.first).error.maxRelativeError < DType.fp16.unitRoundoff + 1e-5)
        let table = try #require(pagedResult.tensors["BT"])
        let source = SourceFile(name: "test", text: "")
        let location = SourceLocation(line: 1, column: 1)
        let k = try PagedLayout.gather(try #require(pagedResult.tensors["Kp"]), table: table, problem: shape, pageSize: page, source: source, at: location)
        let v = try PagedLayout.gather(try #require(pagedResult.tensors["Vp"]), table: table, problem: shape, pageSize: page, source: source, at: location)
        let contiguous = try S.bind("flash-decoding", shape, dtype: .fp16, params: ["splits": 1, "Bc": page, "causal": causal])
        let contiguousResult = try Simulator.run(contiguous, options: RunOptions(
            mode: .numeric, inputs: ["Q": try #require(pagedResult.tensors["Q"]), "K": k, "V": v]))
        let a = try #require(pagedResult.tensors["O"]).values, b = try #require(contiguousResult.tensors["O"]).values
        #expect(a.map(\.bitPattern) == b.map(\.bitPattern))
    }

    /// Per (sequence, KV head): 4 bytes of block table and P keys and values per page,
    /// the last page read whole; the query group once; the output once.
    @Test(arguments: [(4096, 16), (1000, 16), (1000, 32), (999, 8)])
    func countsIncludeTableAndUnusedSlots(_ nkv: Int, _ page: Int) throws {
        let batch = 2, heads = 32, kvHeads = 8, d = 128, e = 2
        let stats = try S.count(try S.bind("paged-decode", S.shape(batch: batch, heads: heads, kvHeads: kvHeads, n: 1, nkv: nkv, d: d), dtype: .fp16, params: ["P": page]))
        let pages = S.cdiv(nkv, page), sequences = batch * kvHeads
        let t = stats.total
        let names = stats.tensorNames
        func reads(_ name: String) throws -> Int { t.tensors[try #require(names.firstIndex(of: name))].readBytes }
        #expect(try reads("BT") == sequences * pages * 4)
        #expect(try reads("Kp") == sequences * pages * page * d * e)
        #expect(try reads("Vp") == sequences * pages * page * d * e)
        #expect(try reads("Q") == batch * heads * d * e)
        #expect(t.hbmWriteBytes == batch * heads * d * e)
        // The unused slots of the last page: read, then masked for every query head.
        let unused = pages * page - nkv
        #expect(t.maskedElements == batch * heads * unused)
    }

    /// A value read from a tensor may only index tensors.
    @Test(arguments: [
        ("  for j in 0 ..< page:\n    x = 1\n", "a loop bound"),
        ("  if page > 3:\n    x = 1\n", "a condition"),
        ("  t = zeros(page, 4)\n", "a size of 'zeros'"),
        ("  t = zeros(4, 4)\n  c = col(t, page)\n", "the column of 'col'"),
        ("  x = load Kp[0, 0, rows(page, 4), :]\n", "a slice's extent"),
    ])
    func dataMayOnlyIndexTensors(_ body: String, _ what: String) throws {
        let text = """
            input  Kp[8, 1, 4, 16]
            input  BT[8] i32 permutation
            kernel k grid(i: 1):
              first = load BT[i]
              page = first + 1

            """ + body
        do {
            _ = try Checker.check(SourceFile(name: "p.tile", text: text))
            Issue.record("expected an error for \(body)")
        } catch {
            #expect(error.message == "a value read from a tensor cannot decide \(what): it may only index a tensor, so that counts do not depend on data")
            #expect(error.location.line == 6 || error.location.line == 7)
        }
    }

    @Test func integerTensorsAreReadElementByElement() {
        let text = "input BT[8] i32 permutation\noutput O[8, 4]\nkernel k grid(i: 1):\n  x = load BT[rows(0, 4)]\n"
        do {
            _ = try Checker.check(SourceFile(name: "p.tile", text: text))
            Issue.record("expected an error")
        } catch {
            #expect(error.message == "'BT' is an i32 tensor; read its elements one at a time (every index a single position)")
        }
    }

    @Test func permutationFillsDistinctPages() throws {
        let result = try S.numeric(try S.bind("paged-decode", S.shape(batch: 3, heads: 2, n: 1, nkv: 50, d: 8), dtype: .fp32, params: ["P": 8]))
        let table = try #require(result.tensors["BT"]).values.map(Int.init)
        #expect(table.sorted() == Array(0..<(3 * 7)))
    }
}
