import Testing
import AttnNumerics
@testable import TileInterpreter
import AttnTestSupport
import TileTestSupport

/// Count-only mode gives exactly the counters of a numeric replay, and its compression
/// (one representative per provably uniform box) gives exactly the exhaustive replay's.
@Suite struct CountModeTests {
    typealias S = TestSupport

    /// A causal FlashAttention-2 written for this test: blocks above the diagonal are
    /// skipped by an `if` and the loop bound depends on the query block, so counts vary
    /// per thread block and per iteration (the hard case for compression).
    static let causalProgram = """
        param Br = 16
        param Bc = 24
        input  Q[batch * heads, N, d]
        input  K[batch * kv_heads, Nkv, d]
        input  V[batch * kv_heads, Nkv, d]
        output O[batch * heads, N, d]
        check O = attention(Q, K, V, causal: 1)
        kernel fwd grid(bh: batch * heads, i: cdiv(N, Br)):
          q = load Q[bh, rows(i, Br), :] -> sram
          rn = min(Br, N - i * Br)
          o = zeros(rn, d)
          m = full(rn, -inf)
          l = zeros(rn)
          for j in 0 ..< min(cdiv(Nkv, Bc), cdiv((i + 1) * Br, Bc) + 1):
            if j * Bc <= i * Br + rn - 1:
              k = load K[bh, rows(j, Bc), :] -> sram
              v = load V[bh, rows(j, Bc), :] -> sram
              s = (q @ k^T) * scale
              if (j + 1) * Bc - 1 > i * Br:
                s = mask_causal(s, i * Br, j * Bc)
              m2 = max(m, rowmax(s))
              p = exp(s - m2)
              a = exp(m - m2)
              l = a * l + rowsum(p)
              o = a * o + p @ v
              m = m2
          store O[bh, rows(i, Br), :] = o / l
        """

    @Test(arguments: ["standard", "flash1", "flash2"])
    func countEqualsNumeric(_ algorithm: String) throws {
        for (n, nkv, d) in [(100, 100, 16), (77, 130, 32), (1, 300, 64)] {
            let bound = try S.bind(algorithm, S.shape(heads: 3, n: n, nkv: nkv, d: d), dtype: .fp16, params: NumericTests.blockParams[algorithm] ?? [:])
            let numeric = try S.numeric(bound).stats
            #expect(try S.count(bound) == numeric, "\(algorithm) N\(n) Nkv\(nkv) d\(d)")
        }
    }

    @Test(arguments: ["standard", "flash1", "flash2"])
    func compressionIsExact(_ algorithm: String) throws {
        for (n, nkv) in [(1000, 1000), (1000, 999), (513, 2049)] {
            let bound = try S.bind(algorithm, S.shape(batch: 2, heads: 3, n: n, nkv: nkv, d: 64), dtype: .bf16, params: ["flash1": ["M": 2048]][algorithm] ?? [:])
            #expect(try S.count(bound, compress: true) == S.count(bound, compress: false), "\(algorithm) N\(n) Nkv\(nkv)")
        }
    }

    @Test func compressionIsExactOnCausalSkipping() throws {
        for (n, nkv) in [(100, 100), (97, 131), (64, 48)] {
            let bound = try S.bindSource(Self.causalProgram, S.shape(heads: 2, n: n, nkv: nkv, d: 16))
            let compressed = try S.count(bound)
            #expect(compressed == (try S.count(bound, compress: false)))
            // Counts only: this program's mask ignores the query offset Nkv - N, so its
            // values fail the reference's check when N != Nkv (the verdict is not asserted).
            #expect(compressed == (try Simulator.run(bound, options: RunOptions(mode: .numeric, seed: 7)).stats))
        }
    }

    /// The causal program skips blocks: its matmul FLOPs equal the sum over computed
    /// (i, j) blocks, and the masked elements are exactly the hidden part of the blocks
    /// that straddle the diagonal.
    @Test func causalSkippingCountsComputedBlocks() throws {
        let n = 96, br = 16, bc = 24, d = 16
        let bound = try S.bindSource(Self.causalProgram, S.shape(heads: 1, n: n, d: d))
        let stats = try S.count(bound)
        var matmul = 0, masked = 0
        for i in 0..<S.cdiv(n, br) {
            for j in 0..<S.cdiv(n, bc) where j * bc <= i * br + br - 1 {
                matmul += 4 * br * bc * d
                guard (j + 1) * bc - 1 > i * br else { continue }
                for r in 0..<br {
                    for c in 0..<bc where j * bc + c > i * br + r { masked += 1 }
                }
            }
        }
        #expect(stats.total.flopsMatmul == matmul)
        #expect(matmul < 4 * n * n * d)
        #expect(stats.total.maskedElements == masked)
        // And the output is causal attention.
        let result = try S.numeric(bound)
        #expect(try #require(result.checks.first).error.maxRelativeError < 1e-5)
    }

    /// mask_window keeps w keys per query (its own included); the reference agrees.
    @Test func slidingWindowMask() throws {
        let program = """
            param B = 16
            param W = 20
            input  Q[batch * heads, N, d]
            input  K[batch * kv_heads, Nkv, d]
            input  V[batch * kv_heads, Nkv, d]
            output O[batch * heads, N, d]
            check O = attention(Q, K, V, window: W)
            kernel fwd grid(bh: batch * heads, i: cdiv(N, B)):
              q = load Q[bh, rows(i, B), :] -> sram
              k = load K[bh, :, :] -> sram
              v = load V[bh, :, :] -> sram
              s = mask_window((q @ k^T) * scale, i * B, 0, W)
              p = exp(s - rowmax(s))
              store O[bh, rows(i, B), :] = (p @ v) / rowsum(p)
            """
        let n = 50, w = 20
        let bound = try S.bindSource(program, S.shape(heads: 2, n: n, d: 8))
        let result = try S.numeric(bound)
        #expect(try #require(result.checks.first).error.maxRelativeError < 1e-5)
        // Row q sees min(q + 1, w) keys of n.
        let visible = (0..<n).reduce(0) { $0 + min($1 + 1, w) }
        #expect(result.stats.total.maskedElements == 2 * (n * n - visible))
        #expect(try S.count(bound) == result.stats)
    }

    /// The trace has one event per load, store and operation, and its bytes add up to
    /// the counters.
    @Test func traceAddsUpToCounters() throws {
        let bound = try S.bind("flash2", S.shape(heads: 2, n: 50, d: 16), dtype: .fp16, params: ["Br": 16, "Bc": 32])
        let recorder = TraceRecorder()
        let result = try Simulator.run(bound, options: RunOptions(mode: .count), trace: recorder)
        let loads = recorder.events.filter { $0.operation == "load" }.reduce(0) { $0 + $1.bytes }
        let stores = recorder.events.filter { $0.operation == "store" }.reduce(0) { $0 + $1.bytes }
        let sramReads = recorder.events.filter { $0.operation == "sram_read" }.reduce(0) { $0 + $1.bytes }
        let matmul = recorder.events.filter { $0.operation == "matmul" }.reduce(0) { $0 + $1.flops }
        #expect(loads == result.stats.total.hbmReadBytes)
        #expect(stores == result.stats.total.hbmWriteBytes)
        #expect(sramReads == result.stats.total.sramToRegisters)
        #expect(matmul == result.stats.total.flopsMatmul)
        #expect(recorder.events.map(\.sequence) == Array(0..<recorder.events.count))
        let first = try #require(recorder.events.first)
        #expect(first.jsonLine.hasPrefix("{\"seq\":0,\"kernel\":\"fwd\",\"block\":[0,0],\"loops\":{},\"op\":\"load\",\"edge\":\"hbm->sram\",\"tensor\":\"Q\""))
        let inLoop = try #require(recorder.events.first { $0.tensor == "K" })
        #expect(inLoop.loops.map(\.name) == ["j"])
    }
}
