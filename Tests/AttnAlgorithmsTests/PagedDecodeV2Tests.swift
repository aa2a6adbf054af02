import AttnAlgorithms
import AttnNumerics
import Testing
import TileLanguage
@testable import TileInterpreter
import AttnTestSupport
import TileTestSupport

/// vLLM's partitioned PagedAttention (v2) decode, `paged-decode-v2`: numerics
/// against the paged float64 reference, bit equality with `paged-decode` for one
/// partition, the split counts (vLLM's partitions, FlashAttention-2's heuristic, an
/// override) and the IO law of docs/io-laws.md, per head and grouped.
@Suite struct PagedDecodeV2Tests {
    typealias S = TestSupport

    static func bind(_ shape: ProblemShape, _ params: [String: Int], dtype: DType = .fp16) throws -> BoundProgram {
        try S.bind("paged-decode-v2", shape, dtype: dtype, params: params)
    }

    static func splits(_ bound: BoundProgram) -> Int {
        if case .int(let s) = bound.parameter("S") { return s }
        return -1
    }

    /// Ragged contexts (not a multiple of the page or the partition), GQA groups of 3 and
    /// 1, one query and four (speculative, causal): within the derived tolerance
    /// (`TestSupport.numeric` asserts it; n = d + Nkv as for `attention_paged`, the
    /// partial outputs' stores at the storage dtype counted by R).
    @Test(arguments: [0, 1], [["splits": 0], ["splits": 5], ["heuristic": 1]])
    func matchesThePagedReference(grouped: Int, split: [String: Int]) throws {
        let shapes = [
            S.shape(batch: 2, heads: 6, kvHeads: 2, n: 1, nkv: 1100, d: 32),
            S.shape(batch: 1, heads: 2, kvHeads: 2, n: 4, nkv: 1301, d: 16),
        ]
        for (index, shape) in shapes.enumerated() {
            var params = split.merging(["grouped": grouped, "partition": 256]) { a, _ in a }
            if index == 1 { params["causal"] = 1 }
            let bound = try Self.bind(shape, params)
            #expect(Self.splits(bound) > 1)
            let result = try S.numeric(bound)
            #expect(result.checks.count == 1)
        }
    }

    /// One partition, grouped: the same pages in the same order as `paged-decode`, and O
    /// written directly, so the outputs are equal to the bit.
    @Test func onePartitionEqualsPagedDecode() throws {
        let shape = S.shape(batch: 2, heads: 6, kvHeads: 2, n: 1, nkv: 333, d: 32)
        let v2 = try Simulator.run(try Self.bind(shape, ["splits": 1, "grouped": 1]), options: RunOptions(mode: .numeric, seed: 3))
        let v1 = try Simulator.run(try S.bind("paged-decode", shape, dtype: .fp16), options: RunOptions(mode: .numeric, seed: 3))
        #expect(try #require(v2.tensors["O"]).values == (try #require(v1.tensors["O"]).values))
        #expect(v2.stats.kernels.map(\.blocks) == [2 * 2, 0])
    }

    /// vLLM's partitions: cdiv(Nkv, 512); FlashAttention-2's heuristic over the split
    /// kernel's blocks without splits (per head batch x heads, grouped batch x kv_heads),
    /// 2 x 132 slots and cdiv(Nkv, 16) pages.
    @Test func splitCounts() throws {
        let shape = S.shape(batch: 1, heads: 32, kvHeads: 8, n: 1, nkv: 32_768 + 5, d: 128)
        #expect(Self.splits(try Self.bind(shape, [:])) == 65)
        #expect(Self.splits(try Self.bind(shape, ["splits": 7])) == 7)
        let perHead = SplitHeuristic.numSplits(batchHeadsMBlocks: 32, numSMs: 264, numNBlocks: 2049, maxSplits: 128)
        let grouped = SplitHeuristic.numSplits(batchHeadsMBlocks: 8, numSMs: 264, numNBlocks: 2049, maxSplits: 128)
        #expect(Self.splits(try Self.bind(shape, ["heuristic": 1])) == perHead)
        #expect(Self.splits(try Self.bind(shape, ["heuristic": 1, "grouped": 1])) == grouped)
        #expect(perHead > 1 && grouped > perHead)
    }

    /// IO law, T = cdiv(Nkv, P) pages, gh = group (grouped) or 1, e bytes per element:
    ///   reads  = S BH d e + B Hkv (g / gh) T (4 + 2 P d e) + [S > 1] BH S (d e + 8),
    ///   writes = BH d e + [S > 1] BH S (d e + 8).
    @Test(arguments: [0, 1], [["splits": 0], ["splits": 1], ["heuristic": 1], ["splits": 100]])
    func ioLaw(grouped: Int, split: [String: Int]) throws {
        let (b, h, hkv, nkv, d, e) = (4, 32, 8, 131_072 + 99, 128, 2)
        let shape = S.shape(batch: b, heads: h, kvHeads: hkv, n: 1, nkv: nkv, d: d)
        let bound = try Self.bind(shape, split.merging(["grouped": grouped]) { a, _ in a })
        let s = Self.splits(bound)
        let t = S.cdiv(nkv, 16), g = h / hkv, gh = grouped == 1 ? g : 1
        let partials = s > 1 ? b * h * s * (d * e + 8) : 0
        let total = try S.count(bound).total
        #expect(total.hbmReadBytes == s * b * h * d * e + b * hkv * (g / gh) * t * (4 + 2 * 16 * d * e) + partials)
        #expect(total.hbmWriteBytes == b * h * d * e + partials)
        #expect(total.flopsMatmul == 4 * b * h * t * 16 * d)
    }

    /// Compressed counts equal exhaustive ones (ragged, causal, several queries).
    @Test(arguments: [0, 1])
    func compressedEqualsExhaustive(grouped: Int) throws {
        let bound = try Self.bind(S.shape(batch: 2, heads: 6, kvHeads: 2, n: 3, nkv: 1234, d: 32), ["grouped": grouped, "causal": 1, "partition": 128])
        #expect(try S.count(bound).total == S.count(bound, compress: false).total)
    }
}
