import Dispatch
import Foundation

/// Float64 references of two efficient-attention contrasts from the survey of Tay et al.,
/// "Efficient Transformers: A Survey" (2022): kernelized (linear) attention and low-rank
/// (Linformer) attention. Layouts as `AttentionReference`: Q [batch*heads, N, d], K and V
/// [batch*kv_heads, Nkv, d], query head bh reading key/value head `kvHead(forQueryHead:)`.
public enum LinearAttentionReference {
    /// The feature map elu(x) + 1 of Katharopoulos et al.: x + 1 for x > 0, else e^x.
    @inlinable
    public static func feature(_ x: Double) -> Double { x > 0 ? x + 1 : Foundation.exp(x) }

    /// Causal linear attention (Katharopoulos et al., "Transformers are RNNs: Fast
    /// Autoregressive Transformers with Linear Attention", 2020, Eq. 9), by its
    /// definition rather than by a recurrence:
    ///
    ///     o_i = sum_{j <= p_i} (phi(q_i) . phi(k_j)) v_j / sum_{j <= p_i} phi(q_i) . phi(k_j)
    ///
    /// with p_i = i + Nkv - N the query's key position. No softmax and no scale.
    /// Returns [batch*heads, N, d].
    public static func causalLinear(_ problem: ProblemShape, q: HostTensor, k: HostTensor, v: HostTensor) -> [Double] {
        let n = problem.queryLength, nkv = problem.keyLength, d = problem.headDim
        let heads = problem.batch * problem.heads
        var out = [Double](repeating: 0, count: heads * n * d)
        let phiK = k.values.map { feature(Double($0)) }
        // Heads are independent: they run on all cores, each writing only its own rows.
        out.withUnsafeMutableBufferPointer { buffer in
            let target = Rows(out: buffer)
            DispatchQueue.concurrentPerform(iterations: heads) { bh in
                let kvh = problem.kvHead(forQueryHead: bh)
                var phiQ = [Double](repeating: 0, count: d)
                for i in 0..<n {
                    let base = (bh * n + i) * d
                    for c in 0..<d { phiQ[c] = feature(Double(q.values[base + c])) }
                    var denominator = 0.0
                    let last = Swift.min(nkv - 1, i + nkv - n)
                    guard last >= 0 else { continue }
                    for j in 0...last {
                        let kBase = (kvh * nkv + j) * d
                        var weight = 0.0
                        for c in 0..<d { weight += phiQ[c] * phiK[kBase + c] }
                        denominator += weight
                        for c in 0..<d { target.out[base + c] += weight * Double(v.values[kBase + c]) }
                    }
                    for c in 0..<d { target.out[base + c] /= denominator }
                }
            }
        }
        return out
    }

    /// Linformer (Wang et al., "Linformer: Self-Attention with Linear Complexity", 2020,
    /// Eq. 7): keys and values projected along the sequence to k rows, K' = E K and
    /// V' = F V with E, F [k, Nkv] shared by all heads, then
    /// O = softmax(scale Q K'^T) V'. Returns [batch*heads, N, d], or nil when E or F is
    /// not [k, Nkv] with the same k.
    public static func linformer(_ problem: ProblemShape, q: HostTensor, k: HostTensor, v: HostTensor, e: HostTensor, f: HostTensor) -> [Double]? {
        let n = problem.queryLength, nkv = problem.keyLength, d = problem.headDim
        guard e.shape.count == 2, e.shape[1] == nkv, f.shape == e.shape else { return nil }
        let rank = e.shape[0]
        let kvHeads = problem.batch * problem.kvHeads
        func project(_ p: HostTensor, _ x: HostTensor) -> [Double] {
            var y = [Double](repeating: 0, count: kvHeads * rank * d)
            for h in 0..<kvHeads {
                for r in 0..<rank {
                    for j in 0..<nkv {
                        let w = Double(p.values[r * nkv + j])
                        let xBase = (h * nkv + j) * d, yBase = (h * rank + r) * d
                        for c in 0..<d { y[yBase + c] += w * Double(x.values[xBase + c]) }
                    }
                }
            }
            return y
        }
        let keys = project(e, k), values = project(f, v)
        let heads = problem.batch * problem.heads
        let scale = problem.effectiveScale
        var out = [Double](repeating: 0, count: heads * n * d)
        var scores = [Double](repeating: 0, count: rank)
        for bh in 0..<heads {
            let kvh = problem.kvHead(forQueryHead: bh)
            for i in 0..<n {
                let base = (bh * n + i) * d
                var rowMax = -Double.infinity
                for r in 0..<rank {
                    var s = 0.0
                    for c in 0..<d { s += Double(q.values[base + c]) * keys[(kvh * rank + r) * d + c] }
                    scores[r] = s * scale
                    rowMax = Swift.max(rowMax, scores[r])
                }
                var sum = 0.0
                for r in 0..<rank {
                    scores[r] = Foundation.exp(scores[r] - rowMax)
                    sum += scores[r]
                }
                for r in 0..<rank {
                    let weight = scores[r] / sum
                    for c in 0..<d { out[base + c] += weight * values[(kvh * rank + r) * d + c] }
                }
            }
        }
        return out
    }

    /// The output the heads fill in parallel: each head writes only its own rows.
    private struct Rows: @unchecked Sendable {
        let out: UnsafeMutableBufferPointer<Double>
    }
}
