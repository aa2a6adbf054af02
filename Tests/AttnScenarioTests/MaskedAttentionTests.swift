import Testing
import AttnNumerics
@testable import TileInterpreter
import AttnTestSupport
import TileTestSupport

/// Causal and sliding-window FlashAttention-2: block skipping, masked elements, numerics.
@Suite struct MaskedAttentionTests {
    typealias S = TestSupport

    /// Causal with N = Nkv and square blocks B dividing N, T = N / B: per head the
    /// T(T+1)/2 blocks on and below the diagonal are computed, K and V are read once per
    /// computed block, and the upper triangles of the T diagonal blocks are masked,
    /// B(B-1)/2 elements each (work wasted: 4 d FLOPs per masked element).
    @Test(arguments: [(1024, 64, 128), (4096, 128, 128), (2048, 64, 64)])
    func causalClosedForm(_ n: Int, _ d: Int, _ b: Int) throws {
        let heads = 4
        let bound = try S.bind("flash2", S.shape(batch: 2, heads: heads, n: n, d: d), dtype: .fp16, params: ["Br": b, "Bc": b, "causal": 1])
        let t = try S.count(bound).total
        let bh = 2 * heads, e = 2, blocks = n / b
        let computed = blocks * (blocks + 1) / 2
        #expect(t.hbmReadBytes == bh * (n * d * e + 2 * computed * b * d * e))
        #expect(t.hbmWriteBytes == bh * (n * d * e + 4 * n))
        #expect(t.flopsMatmul == bh * 4 * computed * b * b * d)
        #expect(t.maskedElements == bh * blocks * b * (b - 1) / 2)
        // The dense algorithm computes every block: causal skipping saves (T-1)/(2T) of the matmuls.
        let dense = try S.count(try S.bind("flash2", S.shape(batch: 2, heads: heads, n: n, d: d), dtype: .fp16, params: ["Br": b, "Bc": b])).total
        #expect(dense.flopsMatmul * computed == t.flopsMatmul * blocks * blocks)
    }

    /// Sliding window W (a multiple of B), N = Nkv: query block i reads key blocks
    /// max(0, i - W/B) ... i, so traffic grows as N W instead of N^2. Masked: the diagonal
    /// block's upper triangle, and the window's oldest block's lower triangle with the
    /// diagonal, B(B+1)/2, once the window has slid past the start.
    @Test(arguments: [(4096, 512, 64), (8192, 1024, 128), (1024, 1024, 128)])
    func windowClosedForm(_ n: Int, _ w: Int, _ b: Int) throws {
        let d = 64
        let bound = try S.bind("flash2", S.shape(heads: 2, n: n, d: d), dtype: .fp16, params: ["Br": b, "Bc": b, "window": w])
        let t = try S.count(bound).total
        let blocks = n / b, reach = w / b
        let computed = (0..<blocks).reduce(0) { $0 + min($1, reach) + 1 }
        #expect(t.hbmReadBytes == 2 * (n * d * 2 + 2 * computed * b * d * 2))
        #expect(t.flopsMatmul == 2 * 4 * computed * b * b * d)
        #expect(t.maskedElements == 2 * (blocks * b * (b - 1) / 2 + max(0, blocks - reach) * b * (b + 1) / 2))
    }

    /// Window traffic is linear in N: doubling N (W fixed) doubles the bytes, up to the
    /// first W/B query blocks whose windows are still filling (3% here), while causal
    /// traffic quadruples.
    @Test func windowTrafficIsLinear() throws {
        func bytes(_ n: Int, _ params: [String: Int]) throws -> Int {
            let t = try S.count(try S.bind("flash2", S.shape(heads: 8, n: n, d: 128), dtype: .fp16, params: params)).total
            return t.hbmReadBytes + t.hbmWriteBytes
        }
        let window = ["window": 4096]
        let ratio = Double(try bytes(131_072, window)) / Double(try bytes(65_536, window))
        #expect(ratio > 2 && ratio < 2.04)
        let causal = Double(try bytes(65_536, ["causal": 1])) / Double(try bytes(32_768, ["causal": 1]))
        #expect(abs(causal - 4) < 0.05)
    }

    @Test(arguments: [
        ["causal": 1, "Br": 32, "Bc": 16], ["causal": 1, "Br": 16, "Bc": 48], ["window": 20, "Br": 16, "Bc": 32], ["window": 7, "Br": 32, "Bc": 8],
    ])
    func numericAgreesWithMaskedReference(_ params: [String: Int]) throws {
        for (n, nkv, heads, kvHeads) in [(100, 100, 2, 2), (37, 100, 4, 2), (1, 65, 2, 1), (129, 129, 2, 1)] {
            let bound = try S.bind("flash2", S.shape(heads: heads, kvHeads: kvHeads, n: n, nkv: nkv, d: 32), dtype: .fp32, params: params)
            let result = try S.numeric(bound)
            for check in result.checks {
                #expect(check.error.maxRelativeError < 1e-5, "\(params) N\(n) Nkv\(nkv) \(check.tensor): \(check.error)")
            }
            #expect(try S.count(bound) == result.stats)
            #expect(try S.count(bound, compress: false) == result.stats)
        }
    }

    @Test func causalNeedsEnoughKeys() throws {
        #expect(throws: BindingError.self) {
            try S.bind("flash2", S.shape(heads: 1, n: 100, nkv: 50, d: 16), params: ["causal": 1])
        }
    }
}

/// Block-sparse FlashAttention-2.
@Suite struct BlockSparseTests {
    typealias S = TestSupport

    /// FlashAttention paper, Proposition 4: block-sparse traffic is the dense K/V traffic
    /// scaled by the fraction of blocks kept, plus the Theta(N d) floor of Q and O. Here
    /// exactly: Q and O once, K and V once per kept (query block, key block) pair.
    @Test(arguments: [BlockPattern.localStrided(local: 2, stride: 4), .localStrided(local: 1, stride: 0), .random(densityPermille: 300, seed: 7)])
    func trafficScalesWithKeptBlocks(_ pattern: BlockPattern) throws {
        let n = 4096, d = 64, b = 128, e = 2, heads = 4
        var params = ["Br": b, "Bc": b]
        switch pattern {
        case .localStrided(let local, let stride):
            params.merge(["block_pattern": 1, "block_local": local, "block_stride": stride]) { $1 }
        case .random(let density, let seed):
            params.merge(["block_pattern": 2, "block_density": density, "block_seed": seed]) { $1 }
        case .dense: break
        }
        let t = try S.count(try S.bind("flash2", S.shape(heads: heads, n: n, d: d), dtype: .fp16, params: params)).total
        let blocks = n / b
        var kept = 0
        for i in 0..<blocks { for j in 0..<blocks where pattern.allows(i, j) { kept += 1 } }
        #expect(t.hbmReadBytes == heads * (n * d * e + 2 * kept * b * d * e))
        #expect(t.flopsMatmul == heads * kept * 4 * b * b * d)
        let dense = try S.count(try S.bind("flash2", S.shape(heads: heads, n: n, d: d), dtype: .fp16, params: ["Br": b, "Bc": b])).total
        let floor = heads * n * d * e
        #expect((t.hbmReadBytes - floor) * blocks * blocks == (dense.hbmReadBytes - floor) * kept)
    }

    @Test func randomPatternKeepsItsDensity() {
        let pattern = BlockPattern.random(densityPermille: 250, seed: 3)
        var kept = 0
        for i in 0..<300 { for j in 0..<300 where i != j && pattern.allows(i, j) { kept += 1 } }
        #expect(abs(Double(kept) / Double(300 * 299) - 0.25) < 0.01)
        #expect((0..<300).allSatisfy { pattern.allows($0, $0) })
    }

    @Test(arguments: ["local:2,stride:4", "random:0.4,seed:2", "local:3"])
    func numericAndCompressionAgree(_ spec: String) throws {
        guard let mask = BlockMaskOption.parameters(spec) else { throw TestFailure("bad spec") }
        var params = mask.mapValues { value -> Int in if case .int(let i) = value { return i } else { return 0 } }
        params["Br"] = 16
        params["Bc"] = 16
        for (n, nkv, causal) in [(100, 100, 0), (90, 130, 0), (130, 130, 1)] {
            params["causal"] = causal
            let bound = try S.bind("flash2", S.shape(heads: 2, n: n, nkv: nkv, d: 16), dtype: .fp32, params: params)
            let result = try S.numeric(bound)
            for check in result.checks {
                #expect(check.error.maxRelativeError < 1e-5, "\(spec) N\(n) Nkv\(nkv) \(check.tensor): \(check.error)")
            }
            #expect(try S.count(bound) == result.stats)
            #expect(try S.count(bound, compress: false) == result.stats)
        }
    }

    @Test func maskOptionSpelling() {
        #expect(BlockMaskOption.parameters("local:2,stride:8") == ["block_pattern": .int(1), "block_local": .int(2), "block_stride": .int(8)])
        #expect(BlockMaskOption.parameters("random:0.25") == ["block_pattern": .int(2), "block_density": .int(250), "block_seed": .int(1)])
        for bad in ["local:0", "random:1.5", "stride:3", "local:2,seed:3", "local:2,local:3", "banded"] {
            #expect(BlockMaskOption.parameters(bad) == nil, "\(bad)")
        }
    }
}

import AttnScenario
