import Testing
import AttnNumerics
@testable import TileInterpreter
import AttnTestSupport
import TileTestSupport

/// The Mamba selective scan: fused vs naive, against the float64 recurrence.
@Suite struct SelectiveScanTests {
    typealias S = TestSupport

    @Test(arguments: ["selective-scan", "selective-scan-naive"])
    func agreesWithSequentialRecurrence(_ algorithm: String) throws {
        for (batch, heads, d, length, dc) in [(2, 3, 50, 77, 64), (1, 1, 20, 200, 8), (3, 2, 16, 33, 32)] {
            let shape = S.shape(batch: batch, heads: heads, n: length, d: d)
            let fp32 = try S.numeric(try S.bind(algorithm, shape, dtype: .fp32, params: ["Dc": dc]))
            #expect(try #require(fp32.checks.first).error.maxRelativeError < 1e-5, "\(algorithm) B\(batch) D\(heads * d) L\(length)")
            // fp16 storage: inputs rounded for the reference too; Y rounded once (u).
            let bound = try S.bind(algorithm, shape, dtype: .fp16, params: ["Dc": dc])
            let fp16 = try S.numeric(bound)
            #expect(try #require(fp16.checks.first).error.maxRelativeError < DType.fp16.unitRoundoff + 1e-4)
            #expect(try S.count(bound) == fp16.stats)
            #expect(try S.count(bound, compress: false) == fp16.stats)
        }
    }

    /// Fused: X, Delta and Y move once; B_t and C_t once per channel block; A once per
    /// block. Naive: also exp(delta A), (delta x) B and h, each (B, L, D, S) fp32, written
    /// and read back. The naive scan moves about 2 x 4 x 3 S / (3 e) times the bytes.
    @Test(arguments: [(4096, 16, 128), (1000, 16, 100), (2048, 64, 128)])
    func closedForms(_ length: Int, _ state: Int, _ dc: Int) throws {
        let batch = 2, heads = 16, d = 128, e = 2
        let channels = heads * d, blocks = S.cdiv(channels, dc)
        let shape = S.shape(batch: batch, heads: heads, n: length, d: d)
        let fused = try S.count(try S.bind("selective-scan", shape, dtype: .fp16, params: ["state": state, "Dc": dc])).total
        let ld = batch * length * channels, ls = batch * length * state
        #expect(fused.hbmReadBytes == batch * channels * state * e + 2 * ld * e + 2 * ls * e * blocks)
        #expect(fused.hbmWriteBytes == ld * e)
        let naive = try S.count(try S.bind("selective-scan-naive", shape, dtype: .fp16, params: ["state": state, "Dc": dc])).total
        let expanded = ld * state * 4
        #expect(naive.hbmReadBytes == (ld * state * e + 2 * ld * e + ls * e * blocks) + 2 * expanded + (expanded + ls * e * blocks))
        #expect(naive.hbmWriteBytes == 2 * expanded + expanded + ld * e)
        let ratio = Double(naive.hbmReadBytes + naive.hbmWriteBytes) / Double(fused.hbmReadBytes + fused.hbmWriteBytes)
        #expect(ratio > Double(state) * 2 && ratio < Double(state) * 10, "naive / fused = \(ratio)")
    }

    /// Constant state per sequence: the fused scan's on-chip bytes do not grow with L,
    /// and its traffic grows linearly where attention's grows quadratically.
    @Test func linearInLengthWithConstantState() throws {
        func run(_ algorithm: String, _ length: Int) throws -> Counters {
            try S.count(try S.bind(algorithm, S.shape(heads: 32, n: length, d: 128), dtype: .fp16)).total
        }
        let short = try run("selective-scan", 4096), long = try run("selective-scan", 65_536)
        #expect(short.peakSramBytes == long.peakSramBytes)
        #expect(short.peakRegisterBytes == long.peakRegisterBytes)
        let scanGrowth = Double(long.hbmReadBytes + long.hbmWriteBytes) / Double(short.hbmReadBytes + short.hbmWriteBytes)
        // 16x the length: 16x the bytes, less the state matrix A read once whatever L.
        #expect(scanGrowth > 15.95 && scanGrowth < 16)
        let attention = Double(try run("flash2", 65_536).hbmReadBytes) / Double(try run("flash2", 4096).hbmReadBytes)
        #expect(attention > 200)
    }

    /// Regression: a grid axis used only inside a loop keeps its value every iteration.
    @Test func gridAxesLiveThroughLoops() throws {
        let text = """
            input  Q[batch * heads, N, d]
            output O[batch * heads, N, d]
            kernel copy grid(bh: batch * heads):
              for t in 0 ..< N:
                x = load Q[bh, rows(t, 1), :] -> reg
                store O[bh, rows(t, 1), :] = x
            """
        let bound = try S.bindSource(text, S.shape(heads: 2, n: 5, d: 4))
        let result = try S.numeric(bound)
        #expect(result.tensors["O"]?.values == result.tensors["Q"]?.values)
        #expect(try S.count(bound, compress: false) == result.stats)
    }
}
