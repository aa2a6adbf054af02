import Foundation
import Testing
@testable import AttnNumerics
import AttnTestSupport

/// The blocked float64 references (MLA, linear attention, Linformer, gradients) against
/// direct scalar implementations of their definitions, on ragged shapes.
///
/// Tolerance: every element within 1e-12 of the direct result's largest magnitude. Both
/// sides are float64 and compute the same sums of the same products, grouped or ordered
/// differently (absorbed or decompressed MLA products, a chunked recurrence, blocks of
/// rows); each such regrouping moves a sum of m terms by at most about m u max|term|
/// (u = 2^-53 = 1.1e-16), here below 1e-13 of the output's scale for m up to a few
/// hundred, while the errors the references judge are fp32's (6e-8) and fp16's (5e-4).
@Suite struct BlockedReferenceTests {
    static let tolerance = 1e-12

    static func expectClose(_ blocked: [Double]?, _ direct: [Double], _ label: String, sourceLocation: SourceLocation = #_sourceLocation) {
        guard let blocked else {
            Issue.record("\(label): no result", sourceLocation: sourceLocation)
            return
        }
        #expect(blocked.count == direct.count, "\(label)", sourceLocation: sourceLocation)
        let scale = direct.map(abs).max() ?? 0
        let worst = zip(blocked, direct).map { abs($0 - $1) }.max() ?? 0
        #expect(scale > 0 && worst <= tolerance * scale, "\(label): off by \(worst), scale \(scale)", sourceLocation: sourceLocation)
    }

    static func random(_ shape: [Int], _ generator: inout SeededGenerator) -> HostTensor {
        HostTensor(randomNormal: shape, dtype: .fp32, generator: &generator)
    }

    // MARK: Products

    /// Integer matrices (exact in float64), every size 1 to 9 around the 4 x 4 blocks:
    /// a_ip = i - 2p + 1 and b_pj = (p + 1)(j - 3) give sum_p (i - 2p + 1)(p + 1)(j - 3),
    /// written out as an integer sum; `accumulate` adds to what was there.
    @Test(arguments: [(1, 1, 1), (3, 5, 2), (4, 4, 4), (5, 9, 7), (9, 6, 1), (8, 3, 13)])
    func productIsExactOnIntegers(_ m: Int, _ n: Int, _ depth: Int) {
        let a = ReferenceProduct.Rows(count: m, depth: depth) { i, p in Double(i - 2 * p + 1) }
        let b = ReferenceProduct.Columns(count: n, depth: depth) { p, j in Double((p + 1) * (j - 3)) }
        let stride = b.paddedCount
        var out = [Double](repeating: 7, count: m * stride)
        out.withUnsafeMutableBufferPointer { ReferenceProduct.multiply(a, b, into: $0.baseAddress!, rowStride: stride) }
        var sums = out
        sums.withUnsafeMutableBufferPointer { ReferenceProduct.multiply(a, b, into: $0.baseAddress!, rowStride: stride, accumulate: true) }
        for i in 0..<m {
            for j in 0..<stride {
                let expected = j < n ? (0..<depth).reduce(0) { $0 + (i - 2 * $1 + 1) * ($1 + 1) * (j - 3) } : 0
                #expect(out[i * stride + j] == Double(expected), "(\(i), \(j))")
                #expect(sums[i * stride + j] == Double(2 * expected), "(\(i), \(j)) accumulated")
            }
        }
    }

    /// Softmax attention by hand: q_0 = [0, 1], q_1 = [1, 2] against keys k_j = [j, j + 1]
    /// (j = 0, 1, 2) at scale 1/2 give the scores [0.5, 1, 1.5] and [1, 2.5, 4]; values
    /// v_j = [10 j, 10 j + 1]; o_i = sum_j e^(s_ij) v_j / sum_j e^(s_ij) (libm's exp).
    @Test func softmaxAttentionByHand() {
        let keys = ReferenceProduct.Columns(count: 3, depth: 2) { p, j in Double(j + p) }
        let values = ReferenceProduct.Columns(count: 2, depth: 3) { j, c in Double(10 * j + c) }
        let queries = ReferenceProduct.Rows(count: 2, depth: 2) { i, p in Double(i + p) }
        var out = [Double](repeating: 9, count: 4)
        out.withUnsafeMutableBufferPointer { buffer in
            ReferenceProduct.softmaxAttention(queries: queries, keys: keys, values: values, scale: 0.5, into: buffer.baseAddress!, rowStride: 2)
        }
        var direct: [Double] = []
        for scores in [[0.5, 1, 1.5], [1, 2.5, 4]] {
            let weights = scores.map { exp($0) }, sum = weights.reduce(0, +)
            direct += (0..<2).map { c in (0..<3).reduce(0.0) { $0 + weights[$1] * Double(10 * $1 + c) } / sum }
        }
        Self.expectClose(out, direct, "by hand")
    }

    // MARK: MLA

    /// MLA by its definition, one scalar sum at a time: each head's keys and values
    /// decompressed, then softmax attention (libm's exp).
    static func directMLA(
        qNope: HostTensor, qRope: HostTensor, latent: HostTensor, ropeKey: HostTensor, wUK: HostTensor, wUV: HostTensor, batch: Int, heads: Int
    ) -> [Double] {
        let dc = latent.shape[2], dr = ropeKey.shape[2], d = wUK.shape[2], dv = wUV.shape[2]
        let nkv = latent.shape[1], n = qNope.count / (batch * heads * d)
        let scale = 1 / Double(d + dr).squareRoot()
        var out = [Double](repeating: 0, count: batch * heads * n * dv)
        for b in 0..<batch {
            for h in 0..<heads {
                var keys = [Double](repeating: 0, count: nkv * d), values = [Double](repeating: 0, count: nkv * dv)
                for j in 0..<nkv {
                    for r in 0..<dc {
                        let x = Double(latent.values[(b * nkv + j) * dc + r])
                        for c in 0..<d { keys[j * d + c] += x * Double(wUK.values[(h * dc + r) * d + c]) }
                        for c in 0..<dv { values[j * dv + c] += x * Double(wUV.values[(h * dc + r) * dv + c]) }
                    }
                }
                for i in 0..<n {
                    let row = (b * heads + h) * n + i
                    let scores = (0..<nkv).map { j in
                        var s = 0.0
                        for c in 0..<d { s += Double(qNope.values[row * d + c]) * keys[j * d + c] }
                        for c in 0..<dr { s += Double(qRope.values[row * dr + c]) * Double(ropeKey.values[(b * nkv + j) * dr + c]) }
                        return s * scale
                    }
                    let top = scores.max() ?? 0
                    let weights = scores.map { exp($0 - top) }
                    let sum = weights.reduce(0, +)
                    for j in 0..<nkv {
                        for c in 0..<dv { out[row * dv + c] += weights[j] / sum * values[j * dv + c] }
                    }
                }
            }
        }
        return out
    }

    struct MLACase: CustomStringConvertible, Sendable {
        var batch: Int, heads: Int, n: Int, nkv: Int, d: Int, dr: Int, dc: Int, dv: Int
        /// The cheaper order (in multiply-adds; see the test).
        var cheaper: LatentAttentionReference.Order
        var description: String { "B\(batch) H\(heads) N\(n) Nkv\(nkv) d\(d) dR\(dr) dc\(dc) dv\(dv)" }
    }

    /// Ragged against the 4 x 4 blocks and the 32-row query blocks (heads x N = 45 rows
    /// span two blocks and split a head); one query (decoding) and many (prefill).
    static let mlaCases = [
        // 1 (96 + 37 x 28 + 72) = 1,204 against 37 x 12 x 14 + 37 x 18 = 6,882.
        MLACase(batch: 2, heads: 3, n: 1, nkv: 37, d: 8, dr: 4, dc: 12, dv: 6, cheaper: .absorbed),
        // 5 (85 + 23 x 37 + 119) = 5,275 against 23 x 17 x 12 + 5 x 23 x 15 = 6,417.
        MLACase(batch: 1, heads: 9, n: 5, nkv: 23, d: 5, dr: 3, dc: 17, dv: 7, cheaper: .absorbed),
        // 70 (96 + 41 x 28 + 96) = 93,800 against 41 x 12 x 16 + 70 x 41 x 20 = 65,272.
        MLACase(batch: 2, heads: 2, n: 70, nkv: 41, d: 8, dr: 4, dc: 12, dv: 8, cheaper: .decompressed),
    ]

    /// Both associations of the products agree with the direct definition; the one the
    /// reference picks is the cheaper: absorbed for few queries, decompressed for many.
    @Test(arguments: mlaCases)
    func latentAttentionMatchesDirect(_ c: MLACase) throws {
        var generator = SeededGenerator(seed: 11)
        let qNope = Self.random([c.batch * c.heads, c.n, c.d], &generator)
        let qRope = Self.random([c.batch * c.heads, c.n, c.dr], &generator)
        let latent = Self.random([c.batch, c.nkv, c.dc], &generator)
        let ropeKey = Self.random([c.batch, c.nkv, c.dr], &generator)
        let wUK = Self.random([c.heads, c.dc, c.d], &generator)
        let wUV = Self.random([c.heads, c.dc, c.dv], &generator)
        let direct = Self.directMLA(qNope: qNope, qRope: qRope, latent: latent, ropeKey: ropeKey, wUK: wUK, wUV: wUV, batch: c.batch, heads: c.heads)
        func reference(_ order: LatentAttentionReference.Order?) -> [Double]? {
            LatentAttentionReference.output(
                qNope: qNope, qRope: qRope, latent: latent, ropeKey: ropeKey, wUK: wUK, wUV: wUV, batch: c.batch, heads: c.heads, order: order)
        }
        let absorbed = reference(.absorbed), decompressed = reference(.decompressed)
        Self.expectClose(absorbed, direct, "\(c) absorbed")
        Self.expectClose(decompressed, direct, "\(c) decompressed")
        // Multiply-adds per head, absorbed: N (dc d + Nkv (2 dc + dR) + dc dv); decompressed:
        // Nkv dc (d + dv) + N Nkv (d + dR + dv) (the case's comment works them out).
        #expect(reference(nil) == (c.cheaper == .absorbed ? absorbed : decompressed))
        #expect(absorbed != decompressed)
    }

    // MARK: Linear attention and Linformer

    /// Causal linear attention by its definition: o_i = sum_{j <= p_i} w_ij v_j / sum w_ij
    /// with w_ij = phi(q_i) . phi(k_j), p_i = i + Nkv - N, O(N^2) (zeros for p_i < 0).
    static func directCausalLinear(_ problem: ProblemShape, q: HostTensor, k: HostTensor, v: HostTensor) -> [Double] {
        let n = problem.queryLength, nkv = problem.keyLength, d = problem.headDim
        var out = [Double](repeating: 0, count: problem.batch * problem.heads * n * d)
        for bh in 0..<(problem.batch * problem.heads) {
            let kvBase = problem.kvHead(forQueryHead: bh) * nkv * d
            for i in 0..<n where i + nkv - n >= 0 {
                let base = (bh * n + i) * d
                var denominator = 0.0
                for j in 0...min(nkv - 1, i + nkv - n) {
                    var weight = 0.0
                    for c in 0..<d {
                        weight += LinearAttentionReference.feature(Double(q.values[base + c]))
                            * LinearAttentionReference.feature(Double(k.values[kvBase + j * d + c]))
                    }
                    denominator += weight
                    for c in 0..<d { out[base + c] += weight * Double(v.values[kvBase + j * d + c]) }
                }
                for c in 0..<d { out[base + c] /= denominator }
            }
        }
        return out
    }

    /// Shapes around the 64-key chunks: N = Nkv over two full chunks and a ragged one, a
    /// query chunk that starts inside a chunk (N < Nkv), one query, more queries than
    /// keys (the first ones see none), GQA over two batches.
    static let linearShapes = [
        ProblemShape(batch: 1, heads: 2, kvHeads: 2, queryLength: 150, keyLength: 150, headDim: 8),
        ProblemShape(batch: 2, heads: 4, kvHeads: 2, queryLength: 70, keyLength: 200, headDim: 6),
        ProblemShape(batch: 1, heads: 2, kvHeads: 1, queryLength: 1, keyLength: 130, headDim: 5),
        ProblemShape(batch: 1, heads: 1, kvHeads: 1, queryLength: 40, keyLength: 30, headDim: 3),
        ProblemShape(batch: 1, heads: 1, kvHeads: 1, queryLength: 64, keyLength: 64, headDim: 16),
    ]

    @Test(arguments: linearShapes)
    func causalLinearMatchesDirect(_ problem: ProblemShape) {
        var generator = SeededGenerator(seed: 5)
        let (q, k, v) = TestSupport.randomQKV(problem, generator: &generator)
        let direct = Self.directCausalLinear(problem, q: q, k: k, v: v)
        Self.expectClose(LinearAttentionReference.causalLinear(problem, q: q, k: k, v: v), direct, "\(problem)")
        if problem.queryLength > problem.keyLength {
            // Queries before the first key see nothing.
            let zeros = (problem.queryLength - problem.keyLength) * problem.headDim
            #expect(LinearAttentionReference.causalLinear(problem, q: q, k: k, v: v).prefix(zeros).allSatisfy { $0 == 0 })
        }
    }

    /// Linformer by its definition: K' = E K, V' = F V, then softmax(scale Q K'^T) V' row
    /// by row (libm's exp).
    static func directLinformer(_ problem: ProblemShape, q: HostTensor, k: HostTensor, v: HostTensor, e: HostTensor, f: HostTensor) -> [Double] {
        let n = problem.queryLength, nkv = problem.keyLength, d = problem.headDim, rank = e.shape[0]
        func project(_ p: HostTensor, _ x: HostTensor, head: Int) -> [Double] {
            var y = [Double](repeating: 0, count: rank * d)
            for r in 0..<rank {
                for j in 0..<nkv {
                    for c in 0..<d { y[r * d + c] += Double(p.values[r * nkv + j]) * Double(x.values[(head * nkv + j) * d + c]) }
                }
            }
            return y
        }
        var out: [Double] = []
        for bh in 0..<(problem.batch * problem.heads) {
            let kvh = problem.kvHead(forQueryHead: bh)
            let keys = project(e, k, head: kvh), values = project(f, v, head: kvh)
            for i in 0..<n {
                let scores = (0..<rank).map { r in
                    (0..<d).reduce(0.0) { $0 + Double(q.values[(bh * n + i) * d + $1]) * keys[r * d + $1] } * problem.effectiveScale
                }
                let top = scores.max() ?? 0
                let weights = scores.map { exp($0 - top) }
                let sum = weights.reduce(0, +)
                out += (0..<d).map { c in (0..<rank).reduce(0.0) { $0 + weights[$1] / sum * values[$1 * d + c] } }
            }
        }
        return out
    }

    @Test(arguments: [(linearShapes[1], 9), (linearShapes[0], 70), (linearShapes[2], 1)])
    func linformerMatchesDirect(_ problem: ProblemShape, _ rank: Int) {
        var generator = SeededGenerator(seed: 9)
        let (q, k, v) = TestSupport.randomQKV(problem, generator: &generator)
        let e = Self.random([rank, problem.keyLength], &generator), f = Self.random([rank, problem.keyLength], &generator)
        let direct = Self.directLinformer(problem, q: q, k: k, v: v, e: e, f: f)
        Self.expectClose(LinearAttentionReference.linformer(problem, q: q, k: k, v: v, e: e, f: f), direct, "\(problem) k \(rank)")
    }

    // MARK: Attention

    /// The attention reference's shortcuts against a direct softmax per row (libm's exp),
    /// within 1e-12 of the output's largest magnitude (and of 1 for the LSE): block
    /// patterns on blocks that hold whole 4 x 4 groups of scores (one pattern test per
    /// group), with and without a causal mask and sinks; masks whose rows see a band of
    /// the keys (the P V sum walks only the band); 300 keys (three tiles of the P V sum);
    /// two query heads per key/value head (packed once for both).
    @Test(arguments: [
        ("random 4 x 8", AttentionReference.Mask(blocks: .random(densityPermille: 400, seed: 3), blockRows: 4, blockColumns: 8), ScoreTransform.identity),
        ("random 8 x 4 causal, sinks", AttentionReference.Mask(causal: true, blocks: .random(densityPermille: 300, seed: 5), blockRows: 8, blockColumns: 4),
         ScoreTransform(sinks: 6)),
        ("local + strided 12 x 16, softcap", AttentionReference.Mask(blocks: .localStrided(local: 2, stride: 3), blockRows: 12, blockColumns: 16),
         ScoreTransform(softcap: 2)),
        ("causal", AttentionReference.Mask(causal: true), ScoreTransform.identity),
        ("window 50", AttentionReference.Mask(causal: true, window: 50), ScoreTransform.identity),
        ("none", AttentionReference.Mask.none, ScoreTransform.identity),
    ])
    func attentionShortcutsMatchDirect(_ name: String, _ mask: AttentionReference.Mask, _ transform: ScoreTransform) {
        let problem = ProblemShape(batch: 1, heads: 2, kvHeads: 1, queryLength: 37, keyLength: 300, headDim: 5)
        var generator = SeededGenerator(seed: 13)
        let (q, k, v) = TestSupport.randomQKV(problem, generator: &generator)
        let both = AttentionReference.outputAndLogSumExp(problem, q: q, k: k, v: v, mask: mask, transform: transform)
        var direct: [Double] = [], lse: [Double] = []
        let n = problem.queryLength, nkv = problem.keyLength, d = problem.headDim
        for h in 0..<problem.heads {
            for i in 0..<n {
                var scores: [(key: Int, score: Double)] = []
                for j in 0..<nkv where mask.allows(query: i, key: j, queryLength: n, keyLength: nkv) || (j < transform.sinks && j <= i + nkv - n) {
                    var s = 0.0
                    for c in 0..<d { s += Double(q.values[(h * n + i) * d + c]) * Double(k.values[j * d + c]) }
                    s *= problem.effectiveScale
                    if let cap = transform.softcap { s = cap * tanh(s / cap) }
                    scores.append((j, s))
                }
                let row = TestSupport.directSoftmaxRow(scores, columns: d) { j, c in Double(v.values[j * d + c]) }
                direct += row?.output ?? [Double](repeating: 0, count: d)
                lse.append(row?.logSumExp ?? -.infinity)
            }
        }
        Self.expectClose(both.output, direct, name)
        #expect(zip(both.logSumExp, lse).allSatisfy { $0 == $1 || abs($0 - $1) <= Self.tolerance }, "\(name) LSE")
    }

    // MARK: Gradients

    /// The gradients row by row from their formulas (Dao 2023, Section 2.2): p_j over the
    /// visible keys, D = dO . o, ds_j = scale p_j (dO . v_j - D), dQ += ds_j k_j,
    /// dK_j += ds_j q, dV_j += p_j dO.
    static func directGradients(
        _ problem: ProblemShape, q: HostTensor, k: HostTensor, v: HostTensor, dO: HostTensor, mask: AttentionReference.Mask
    ) -> (dQ: [Double], dK: [Double], dV: [Double]) {
        let n = problem.queryLength, nkv = problem.keyLength, d = problem.headDim, scale = problem.effectiveScale
        var dQ = [Double](repeating: 0, count: problem.batch * problem.heads * n * d)
        var dK = [Double](repeating: 0, count: problem.batch * problem.kvHeads * nkv * d)
        var dV = dK
        func dot(_ x: HostTensor, _ i: Int, _ y: HostTensor, _ j: Int) -> Double {
            (0..<d).reduce(0.0) { $0 + Double(x.values[i + $1]) * Double(y.values[j + $1]) }
        }
        for bh in 0..<(problem.batch * problem.heads) {
            let kvBase = problem.kvHead(forQueryHead: bh) * nkv * d
            for i in 0..<n {
                let row = (bh * n + i) * d
                let visible = (0..<nkv).filter { mask.allows(query: i, key: $0, queryLength: n, keyLength: nkv) }
                guard let top = visible.map({ scale * dot(q, row, k, kvBase + $0 * d) }).max() else { continue }
                let weights = visible.map { exp(scale * dot(q, row, k, kvBase + $0 * d) - top) }
                let sum = weights.reduce(0, +)
                let p = weights.map { $0 / sum }
                let o = (0..<d).map { c in zip(visible, p).reduce(0.0) { $0 + $1.1 * Double(v.values[kvBase + $1.0 * d + c]) } }
                let dSum = (0..<d).reduce(0.0) { $0 + Double(dO.values[row + $1]) * o[$1] }
                for (j, pj) in zip(visible, p) {
                    let ds = pj * (dot(dO, row, v, kvBase + j * d) - dSum) * scale
                    for c in 0..<d {
                        dQ[row + c] += ds * Double(k.values[kvBase + j * d + c])
                        dK[kvBase + j * d + c] += ds * Double(q.values[row + c])
                        dV[kvBase + j * d + c] += pj * Double(dO.values[row + c])
                    }
                }
            }
        }
        return (dQ, dK, dV)
    }

    /// MHA and GQA, N = Nkv across two 64-row blocks, a query chunk at the end of a longer
    /// cache, more queries than keys; no mask, causal, a window (the blocks skip the keys
    /// no row sees) and a block-sparse pattern.
    static let gradientCases: [(ProblemShape, AttentionReference.Mask)] = [
        (ProblemShape(batch: 1, heads: 2, kvHeads: 2, queryLength: 77, keyLength: 77, headDim: 16), .none),
        (ProblemShape(batch: 2, heads: 4, kvHeads: 2, queryLength: 50, keyLength: 130, headDim: 8), AttentionReference.Mask(causal: true)),
        (ProblemShape(batch: 1, heads: 3, kvHeads: 1, queryLength: 129, keyLength: 129, headDim: 5), AttentionReference.Mask(causal: true, window: 20)),
        (ProblemShape(batch: 1, heads: 2, kvHeads: 2, queryLength: 90, keyLength: 60, headDim: 4), AttentionReference.Mask(causal: true)),
        (ProblemShape(batch: 1, heads: 2, kvHeads: 1, queryLength: 70, keyLength: 70, headDim: 8),
         AttentionReference.Mask(blocks: BlockPattern(code: 2, local: 1, stride: 0, densityPermille: 400, seed: 3) ?? .dense, blockRows: 16, blockColumns: 8)),
    ]

    @Test(arguments: 0..<gradientCases.count)
    func gradientsMatchDirect(_ index: Int) {
        let (problem, mask) = Self.gradientCases[index]
        var generator = SeededGenerator(seed: 3)
        let (q, k, v) = TestSupport.randomQKV(problem, generator: &generator)
        let dO = Self.random([problem.batch * problem.heads, problem.queryLength, problem.headDim], &generator)
        let direct = Self.directGradients(problem, q: q, k: k, v: v, dO: dO, mask: mask)
        let blocked = AttentionReference.gradients(problem, q: q, k: k, v: v, dO: dO, mask: mask)
        Self.expectClose(blocked.dQ, direct.dQ, "\(problem) \(mask) dQ")
        Self.expectClose(blocked.dK, direct.dK, "\(problem) \(mask) dK")
        Self.expectClose(blocked.dV, direct.dV, "\(problem) \(mask) dV")
    }
}
