import Foundation
import Testing
import AttnAlgorithms
import AttnNumerics
@testable import TileInterpreter
import AttnTestSupport
import TileTestSupport

/// Vision and multimodal attention: ViT's global attention over patch tokens, Swin's
/// (shifted) windows, image tokens as a bidirectional prefix before causal text, and
/// Whisper's cross-attention; numerics against float64 definitions, counts in closed form.
@Suite struct VisionAttentionTests {
    typealias S = TestSupport

    /// The shifted partition by hand on a 4 x 4 grid, M = 2, s = 1: the shifted layout's
    /// token (y, x) is the image's patch ((y + 1) mod 4, (x + 1) mod 4); windows of the
    /// image start at rows and columns 1 and 3, the rows and columns before 1 a window of
    /// their own (-1).
    @Test func shiftedPartitionByHand() throws {
        let windows = try #require(ShiftedWindows(gridHeight: 4, gridWidth: 4, window: 2, shift: 1))
        func token(_ y: Int, _ x: Int) -> Int { y * 4 + x }
        #expect(windows.windowOf(token: token(0, 0)) == (0, 0))    // patch (1, 1)
        #expect(windows.windowOf(token: token(1, 1)) == (0, 0))    // patch (2, 2)
        #expect(windows.windowOf(token: token(1, 2)) == (0, 1))    // patch (2, 3)
        #expect(windows.windowOf(token: token(2, 0)) == (1, 0))    // patch (3, 1)
        #expect(windows.windowOf(token: token(3, 3)) == (-1, -1))  // patch (0, 0), wrapped
        #expect(windows.windowOf(token: token(3, 0)) == (-1, 0))   // patch (0, 1)
        // The last window of the shifted layout (rows and columns 2 and 3) holds four regions.
        #expect(!windows.sameWindow(token(2, 2), token(3, 3)) && !windows.sameWindow(token(2, 2), token(2, 3)))
        #expect(windows.sameWindow(token(0, 0), token(1, 1)))
        #expect(ShiftedWindows(gridHeight: 4, gridWidth: 6, window: 4, shift: 0) == nil)
        #expect(ShiftedWindows(gridHeight: 4, gridWidth: 4, window: 2, shift: 2) == nil)
    }

    /// Swin's window attention, plain and shifted, against attention within the windows of
    /// the shifted partition (`attention_swin`: no cyclic shift, no mask): the program's
    /// cyclic-shift masks give the same output. fp32 and fp16; counts equal in count mode.
    @Test(arguments: [
        (1, 2, 2, 16, 8, 4, 0), (1, 2, 2, 16, 8, 4, 2), (2, 4, 2, 12, 6, 3, 1), (1, 2, 1, 8, 8, 4, 3),
    ])
    func swinAgreesWithThePartition(_ batch: Int, _ heads: Int, _ kvHeads: Int, _ rows: Int, _ columns: Int, _ window: Int, _ shift: Int) throws {
        let shape = S.shape(batch: batch, heads: heads, kvHeads: kvHeads, n: rows * columns, d: 16)
        for dtype in [DType.fp32, .fp16] {
            let bound = try S.bind("swin-window", shape, dtype: dtype, params: ["grid_w": columns, "M": window, "shift": shift])
            let result = try S.numeric(bound)
            #expect(try S.count(bound) == result.stats)
            #expect(try S.count(bound, compress: false) == result.stats)
        }
        // Without the mask, a shifted run attends across the wrap and fails.
        if shift > 0 {
            let source = try AlgorithmLibrary.builtInSource("swin-window").text
            let text = source.replacingOccurrences(of: "if shift > 0:", with: "if shift < 0:")
            #expect(text != source)
            let bound = try S.bindSource(text, shape, params: ["grid_w": columns, "M": window, "shift": shift])
            let result = try Simulator.run(bound, options: RunOptions(mode: .numeric, seed: 4))
            #expect(!(try #require(result.checks.first).passed))
        }
    }

    /// Swin per head: Q, K, V read once and O written once; 4 N M^2 d matmul FLOPs; with a
    /// shift s, every window adds its mask and the last row and column of windows hide
    /// the scores between regions: 2 (M - s) M s M in each edge window, M^4 - ((M - s)^4
    /// + 2 (M - s)^2 s^2 + s^4) in the corner. At 1024 x 1024 with 16-pixel patches (64 x
    /// 64 tokens, M = 8) the windows do 1/64 of ViT's global FLOPs over the same tokens.
    @Test(arguments: [(64, 64, 8, 0), (64, 64, 8, 4), (56, 56, 7, 3), (16, 32, 8, 4)])
    func swinClosedForm(_ rows: Int, _ columns: Int, _ window: Int, _ shift: Int) throws {
        let batch = 2, heads = 4, d = 32, e = 2, n = rows * columns, bh = batch * heads
        let shape = S.shape(batch: batch, heads: heads, n: n, d: d)
        let total = try S.count(try S.bind("swin-window", shape, dtype: .fp16, params: ["grid_w": columns, "M": window, "shift": shift])).total
        let m2 = window * window
        #expect(total.hbmReadBytes == 3 * bh * n * d * e)
        #expect(total.hbmWriteBytes == bh * n * d * e)
        #expect(total.flopsMatmul == 4 * bh * n * m2 * d)
        #expect(total.exps == bh * n * m2)
        let (s, r) = (shift, window - shift)
        let edge = 2 * r * window * s * window
        let corner = m2 * m2 - (r * r * r * r + 2 * r * r * s * s + s * s * s * s)
        let (across, down) = (columns / window, rows / window)
        #expect(total.maskedElements == (shift == 0 ? 0 : bh * ((across - 1 + down - 1) * edge + corner)))
        // Per score: the scale, s - max, and with a shift the mask; per row two reductions of
        // M^2 - 1 and the division of d outputs.
        #expect(total.flopsOther == bh * n * ((shift > 0 ? 3 : 2) * m2 + 2 * (m2 - 1) + d))
        if rows == 64 && columns == 64 {
            let vit = try S.count(try S.bind("vit-global", shape, dtype: .fp16)).total
            #expect(vit.flopsMatmul == 64 * total.flopsMatmul)
        }
    }

    /// ViT-B/16 (12 heads of 64) at 224 x 224: 14 x 14 patches and the class token,
    /// N = 197, two query blocks of 128 rows; flash2's law per head (docs/io-laws.md):
    /// reads N d e + 2 cdiv(N, 128) N d e, writes N d e + 4 N. At 1024 x 1024, N = 4097.
    @Test(arguments: [(224, 16), (384, 16), (1024, 16)])
    func vitPatchTokens(_ image: Int, _ patch: Int) throws {
        let heads = 12, d = 64, e = 2
        let n = (image / patch) * (image / patch) + 1
        let total = try S.count(try S.bind("vit-global", S.shape(heads: heads, n: n, d: d), dtype: .fp16)).total
        #expect(total.hbmReadBytes == heads * (n * d * e + 2 * S.cdiv(n, 128) * n * d * e))
        #expect(total.hbmWriteBytes == heads * (n * d * e + 4 * n))
        #expect(total.flopsMatmul == 4 * heads * n * n * d)
        #expect(total.maskedElements == 0)
    }

    /// Image tokens as a bidirectional prefix: against float64 attention under the
    /// prefix-LM mask, prefill and the last queries of a sequence, the prefix inside a block
    /// or on a boundary, fp32 and fp16; with no prefix it is causal attention exactly.
    @Test(arguments: [(300, 300, 70, 32, 32), (300, 100, 250, 32, 64), (256, 256, 128, 64, 64), (129, 129, 0, 32, 32)])
    func prefixLMAgreesWithTheMask(_ nkv: Int, _ n: Int, _ prefix: Int, _ br: Int, _ bc: Int) throws {
        let shape = S.shape(heads: 4, kvHeads: 2, n: n, nkv: nkv, d: 32)
        for dtype in [DType.fp32, .fp16] {
            let bound = try S.bind("flash2-prefix-lm", shape, dtype: dtype, params: ["prefix": prefix, "Br": br, "Bc": bc])
            let result = try S.numeric(bound)
            #expect(try S.count(bound) == result.stats)
            #expect(try S.count(bound, compress: false) == result.stats)
            if prefix == 0 {
                let causal = try S.numeric(try S.bind("flash2", shape, dtype: dtype, params: ["causal": 1, "Br": br, "Bc": bc]))
                #expect(result.tensors["O"] == causal.tensors["O"])
            }
        }
    }

    /// Per head, N = Nkv, Br = Bc = B dividing the prefix I (t0 = I / B blocks): query block
    /// i reads max(i + 1, t0) key blocks and masks only its diagonal block once past the
    /// prefix (docs/io-laws.md): a PaliGemma-like 256 image tokens before the text.
    @Test(arguments: [(4096, 256, 128), (8192, 1024, 128), (2048, 2048, 64), (1024, 0, 128)])
    func prefixLMClosedForm(_ n: Int, _ prefix: Int, _ b: Int) throws {
        let heads = 8, d = 128, e = 2
        let total = try S.count(try S.bind("flash2-prefix-lm", S.shape(heads: heads, n: n, d: d), dtype: .fp16, params: ["prefix": prefix, "Br": b, "Bc": b])).total
        let t = n / b, t0 = prefix / b
        let blocks = t * (t + 1) / 2 + t0 * max(0, t0 - 1) / 2
        #expect(total.hbmReadBytes == heads * (n * d * e + 2 * b * d * e * blocks))
        #expect(total.hbmWriteBytes == heads * n * d * e)
        #expect(total.flopsMatmul == heads * 4 * b * b * d * blocks)
        #expect(total.maskedElements == heads * (t - t0) * b * (b - 1) / 2)
    }

    /// One Whisper large-v3 decode step (20 heads of 64; Radford et al. 2023) attends over
    /// the 1,500 encoder states with no mask: with one split, K and V once, the query and
    /// the output once (flash-decoding's law, docs/io-laws.md).
    @Test func whisperCrossAttentionStep() throws {
        let heads = 20, d = 64, e = 2, states = 1500, batch = 4
        let shape = S.shape(batch: batch, heads: heads, n: 1, nkv: states, d: d)
        let total = try S.count(try S.bind("cross-attention", shape, dtype: .fp16, params: ["splits": 1])).total
        #expect(total.hbmReadBytes == batch * heads * (d * e + 2 * states * d * e))
        #expect(total.hbmWriteBytes == batch * heads * (d * e + 4))
        #expect(total.maskedElements == 0)
        let result = try S.numeric(try S.bind("cross-attention", S.shape(batch: 2, heads: 4, n: 3, nkv: 150, d: 16), dtype: .fp16))
        #expect(result.checks.count == 2)
    }
}
