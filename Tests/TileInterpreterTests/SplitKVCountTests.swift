import AttnNumerics
import Testing
import TileLanguage
@testable import TileInterpreter
import AttnTestSupport
import TileTestSupport

/// Count mode's split-KV grids: the S splits of a key range are counted as one block
/// whose loop runs over all of their key blocks, plus S - 1 blocks with no iteration
/// (`TiledSplit`, `CountCompressor.countTiled`). Compressed counts must equal the
/// exhaustive replay's.
@Suite struct SplitKVCountTests {
    typealias S = TestSupport

    /// The split kernel of flash-decoding is recognised (axis s, loop bounds jlo, jhi);
    /// the combine kernel and flash2 have no such loop.
    @Test func recognisesTheSplitLoop() throws {
        let bound = try S.bind("flash-decoding", S.shape(heads: 4, kvHeads: 2, n: 64, d: 16), params: ["splits": 4])
        let split = KernelPlan(bound.program.kernels[0]).tiledSplit
        #expect(split?.axis == 2)
        #expect(split.map { bound.program.kernels[0].slotNames[$0.lowSlot] } == "jlo")
        #expect(KernelPlan(bound.program.kernels[1]).tiledSplit == nil)
        let flash2 = try S.bind("flash2", S.shape(heads: 2, n: 64, d: 16))
        #expect(KernelPlan(flash2.program.kernels[0]).tiledSplit == nil)
    }

    /// A loop body that reads a value depending on the split (`t = 4 - s` decides an
    /// addition) must not be merged: the splits' iterations count differently.
    @Test func refusesABodyThatReadsTheSplit() throws {
        let source = """
            input  K[64, 16]
            output O[64, 16]
            kernel k grid(s: 4):
              per = 4
              jlo = s * per
              jhi = min(16, jlo + per)
              t = 4 - s
              acc = zeros(16, 16)
              for j in jlo ..< jhi:
                x = load K[rows(j, 16), :] -> sram
                if t > 2:
                  acc = acc + x
              store O[rows(s, 16), :] = acc
            """
        let bound = try S.bindSource(source, S.shape(heads: 1, n: 1, d: 16))
        #expect(KernelPlan(bound.program.kernels[0]).tiledSplit == nil)
    }

    /// Hand-derived: 4 splits of 10 key blocks of 16 keys with P = cdiv(10, 4) = 3 run
    /// 3, 3, 3 and 1 blocks, 10 in all: K is read once, 10 x 16 x 16 x 4 bytes, and each
    /// split stores its 16 x 16 fp32 tile once. Split 3 runs jlo = 9 to min(10, 12).
    @Test func handDerivedTiling() throws {
        let source = """
            input  K[160, 16]
            output O[64, 16]
            kernel k grid(s: 4):
              per = cdiv(10, 4)
              jlo = s * per
              jhi = min(10, jlo + per)
              acc = zeros(16, 16)
              for j in jlo ..< jhi:
                x = load K[rows(j, 16), :] -> sram
                acc = acc + x
              store O[rows(s, 16), :] = acc
            """
        let bound = try S.bindSource(source, S.shape(heads: 1, n: 1, d: 16))
        #expect(KernelPlan(bound.program.kernels[0]).tiledSplit != nil)
        let compressed = try S.count(bound)
        #expect(compressed == (try S.count(bound, compress: false)))
        #expect(compressed.total.hbmReadBytes == 10 * 16 * 16 * 4)
        #expect(compressed.total.hbmWriteBytes == 4 * 16 * 16 * 4)
    }

    /// Causal prefill, decoding, windows, ragged lengths and GQA groups, with split counts
    /// that leave splits empty (S > key blocks) and that do not divide the key blocks:
    /// compressed equals exhaustive for both kernels.
    @Test(arguments: [1, 2, 3, 8, 64])
    func splitGridsCountExactly(_ splits: Int) throws {
        let cases: [(ProblemShape, [String: Int])] = [
            (S.shape(heads: 4, kvHeads: 2, n: 200, d: 16), ["Br": 16, "Bc": 32, "causal": 1]),
            (S.shape(heads: 4, kvHeads: 1, n: 130, nkv: 300, d: 16), ["Br": 32, "Bc": 16, "causal": 1]),
            (S.shape(heads: 2, n: 1, nkv: 333, d: 16), ["Br": 16, "Bc": 32]),
            (S.shape(heads: 2, n: 150, nkv: 170, d: 16), ["Br": 16, "Bc": 16, "window": 40]),
            (S.shape(batch: 2, heads: 2, n: 96, d: 16), ["Br": 32, "Bc": 32]),
        ]
        for (shape, base) in cases {
            var params = base
            params["splits"] = splits
            let bound = try S.bind("flash-decoding", shape, params: params)
            #expect(try S.count(bound) == S.count(bound, compress: false), "splits \(splits) \(shape) \(base)")
        }
    }

    /// At 128K tokens, causal, 128 splits of 16-row query blocks (8,192 x 128 x 8 split
    /// blocks): counted within a budget of 200,000 statements, with K and V read once
    /// per (query block, visible key block) pair, as the unsplit kernel reads them.
    @Test func causalSplitsAtScale() throws {
        let shape = S.shape(heads: 32, kvHeads: 8, n: 131_072, d: 128)
        let split = try S.bind("flash2-gqa", shape, dtype: .fp16, params: ["causal": 1, "splits": 128])
        let stats = try Simulator.run(split, options: RunOptions(mode: .count, statementBudget: 200_000)).stats
        let single = try S.count(try S.bind("flash2-gqa", shape, dtype: .fp16, params: ["causal": 1, "splits": 1])).total
        let kIndex = try #require(split.program.tensors.firstIndex { $0.name == "K" })
        let vIndex = try #require(split.program.tensors.firstIndex { $0.name == "V" })
        #expect(stats.kernels[0].counters.tensors[kIndex] == single.tensors[kIndex])
        #expect(stats.kernels[0].counters.tensors[vIndex] == single.tensors[vIndex])
        #expect(stats.kernels[0].counters.flopsMatmul == single.flopsMatmul)
    }
}
