import Dispatch
import Foundation

/// What long-context models do to attention scores besides the mask, for the float64
/// reference: rotary positions on Q and K, ALiBi biases, logit softcapping and attention
/// sinks. The identity transform is plain attention.
///
/// A score is computed as s = scale (R_i q_i) . (R_j k_j) (R the rotary embedding, when
/// present), then softcapped, s = c tanh(s / c) (Gemma 2), then biased,
/// s += m_h (j - pos_i) (ALiBi, m_h the head's slope), and masked. Sinks widen the mask:
/// the first `sinks` keys stay visible to every query at or after them even outside its
/// window (StreamingLLM).
public struct ScoreTransform: Sendable, Equatable, CustomStringConvertible {
    public var rotary: RotaryEmbedding?
    public var alibi: Bool
    /// The softcap c (nil: none).
    public var softcap: Double?
    /// Keys 0 ..< sinks are always visible (causally).
    public var sinks: Int

    public init(rotary: RotaryEmbedding? = nil, alibi: Bool = false, softcap: Double? = nil, sinks: Int = 0) {
        self.rotary = rotary
        self.alibi = alibi
        self.softcap = softcap
        self.sinks = sinks
    }

    public static let identity = ScoreTransform()

    public var isIdentity: Bool { self == .identity }

    public var description: String {
        "\(rotary.map(\.description) ?? "-")|alibi \(alibi)|softcap \(softcap.map { "\($0)" } ?? "-")|sinks \(sinks)"
    }
}

/// ALiBi's per-head slopes (Press et al., "Train Short, Test Long: Attention with Linear
/// Biases Enables Input Length Extrapolation", 2022, and its reference code).
public enum ALiBi {
    /// The slope of head h of H: for H a power of two, 2^(-8 (h + 1) / H); otherwise the
    /// slopes of the largest power of two P below H, followed by every other slope of 2P
    /// (the first H - P of them).
    public static func slope(head h: Int, heads: Int) -> Double? {
        guard heads > 0, h >= 0, h < heads else { return nil }
        func powerOfTwoSlope(_ i: Int, _ n: Int) -> Double { Foundation.pow(2, -8 * Double(i + 1) / Double(n)) }
        var p = 1
        while p * 2 <= heads { p *= 2 }
        if h < p { return powerOfTwoSlope(h, p) }
        return powerOfTwoSlope(2 * (h - p), 2 * p)
    }
}

/// Float64 attention with a `ScoreTransform`: the reference of the zoo's programs.
public enum ScoredAttentionReference {
    /// O [batch*heads, N, d] and LSE [batch*heads, N] of softmax(transformed scores) V.
    /// A row that sees no key has O = 0 and LSE = -inf.
    public static func outputAndLogSumExp(
        _ problem: ProblemShape, q: HostTensor, k: HostTensor, v: HostTensor?, mask: AttentionReference.Mask, transform: ScoreTransform
    ) -> (output: [Double], logSumExp: [Double]) {
        let n = problem.queryLength, d = problem.headDim
        let heads = problem.batch * problem.heads
        let frequencies = transform.rotary?.frequencies(headDim: d) ?? []
        let keys = rotatedKeys(problem, k: k, transform: transform, frequencies: frequencies)
        var out = [Double](repeating: 0, count: heads * n * d)
        var lse = [Double](repeating: 0, count: heads * n)
        // Heads are independent: they run on all cores, each writing only its own rows.
        out.withUnsafeMutableBufferPointer { outBuffer in
            lse.withUnsafeMutableBufferPointer { lseBuffer in
                let target = HeadRows(out: outBuffer, lse: lseBuffer)
                DispatchQueue.concurrentPerform(iterations: heads) { bh in
                    headRows(problem, bh: bh, q: q, keys: keys, v: v, mask: mask, transform: transform, frequencies: frequencies, into: target)
                }
            }
        }
        return (out, lse)
    }

    /// K in float64, rotated once per key/value head (key j at position j).
    private static func rotatedKeys(_ problem: ProblemShape, k: HostTensor, transform: ScoreTransform, frequencies: [Double]) -> [Double] {
        let nkv = problem.keyLength, d = problem.headDim
        let kvHeads = problem.batch * problem.kvHeads
        var keys = [Double](repeating: 0, count: kvHeads * nkv * d)
        var row = [Double](repeating: 0, count: d)
        for h in 0..<kvHeads {
            for j in 0..<nkv {
                let base = (h * nkv + j) * d
                for c in 0..<d { row[c] = Double(k.values[base + c]) }
                transform.rotary?.rotate(&row, position: j, frequencies: frequencies)
                for c in 0..<d { keys[base + c] = row[c] }
            }
        }
        return keys
    }

    /// The rows of one head's output and log-sum-exp.
    private static func headRows(
        _ problem: ProblemShape, bh: Int, q: HostTensor, keys: [Double], v: HostTensor?, mask: AttentionReference.Mask,
        transform: ScoreTransform, frequencies: [Double], into target: HeadRows
    ) {
        let n = problem.queryLength, nkv = problem.keyLength, d = problem.headDim
        let scale = problem.effectiveScale
        let kvh = problem.kvHead(forQueryHead: bh)
        let slope = transform.alibi ? ALiBi.slope(head: bh % problem.heads, heads: problem.heads) ?? 0 : 0
        var scores = [Double](repeating: 0, count: nkv)
        var row = [Double](repeating: 0, count: d)
        for i in 0..<n {
            let position = i + nkv - n
            let qBase = (bh * n + i) * d
            for c in 0..<d { row[c] = Double(q.values[qBase + c]) }
            transform.rotary?.rotate(&row, position: position, frequencies: frequencies)
            var rowMax = -Double.infinity
            for j in 0..<nkv {
                let visible = mask.allows(query: i, key: j, queryLength: n, keyLength: nkv) || (j < transform.sinks && j <= position)
                guard visible else {
                    scores[j] = -.infinity
                    continue
                }
                let kBase = (kvh * nkv + j) * d
                var s = 0.0
                for c in 0..<d { s += row[c] * keys[kBase + c] }
                s *= scale
                if let cap = transform.softcap { s = cap * Foundation.tanh(s / cap) }
                s += slope * Double(j - position)
                scores[j] = s
                rowMax = Swift.max(rowMax, s)
            }
            guard rowMax > -.infinity else {
                target.lse[bh * n + i] = -.infinity
                continue
            }
            var sum = 0.0
            for j in 0..<nkv where scores[j] > -.infinity {
                scores[j] = Foundation.exp(scores[j] - rowMax)
                sum += scores[j]
            }
            target.lse[bh * n + i] = rowMax + Foundation.log(sum)
            guard let v else { continue }
            let oBase = (bh * n + i) * d
            for j in 0..<nkv where scores[j] > -.infinity {
                let weight = scores[j] / sum
                let vBase = (kvh * nkv + j) * d
                for c in 0..<d { target.out[oBase + c] += weight * Double(v.values[vBase + c]) }
            }
        }
    }

    /// The output buffers the heads fill in parallel: each head writes only its own rows.
    private struct HeadRows: @unchecked Sendable {
        let out: UnsafeMutableBufferPointer<Double>
        let lse: UnsafeMutableBufferPointer<Double>
    }
}
