import Dispatch

/// Softmax attention in float64 under any mask given as a rule, directly: per query row
/// the scores scale q . k_j of the keys the rule shows, their softmax, and the weighted sum
/// of those keys' values (a row that sees no key gives zeros). The reference of attention
/// under a structured mask (a draft tree, a prefix-LM mask, shifted windows), where the
/// blocked `AttentionReference` knows only causal, window and block-sparse masks.
/// O(heads N Nkv d); rows run on all cores, each writing its own output row, so the result
/// does not depend on the schedule.
public enum VisibilityAttentionReference {
    /// Q [batch*heads, N, d], K and V [batch*kv_heads, Nkv, d] (any shapes with these
    /// elements in row-major order; query head h of batch b reads KV head
    /// b kv_heads + h / (heads / kv_heads)); `sees(i, j)`: query row i may see key j.
    /// Returns O [batch*heads, N, d].
    public static func output(
        _ problem: ProblemShape, q: HostTensor, k: HostTensor, v: HostTensor, sees: @escaping @Sendable (Int, Int) -> Bool
    ) -> [Double] {
        let n = problem.queryLength, nkv = problem.keyLength, d = problem.headDim
        let heads = problem.batch * problem.heads
        let scale = problem.effectiveScale
        var out = [Double](repeating: 0, count: heads * n * d)
        guard n > 0, heads > 0 else { return out }
        out.withUnsafeMutableBufferPointer { buffer in
            let target = SharedOutput(buffer: buffer)
            DispatchQueue.concurrentPerform(iterations: heads * n) { item in
                let bh = item / n, i = item % n
                let kvBase = problem.kvHead(forQueryHead: bh) * nkv * d, qBase = (bh * n + i) * d
                var keys: [Int] = [], scores: [Double] = []
                for j in 0..<nkv where sees(i, j) {
                    var dot = 0.0
                    for c in 0..<d { dot += Double(q.values[qBase + c]) * Double(k.values[kvBase + j * d + c]) }
                    keys.append(j)
                    scores.append(dot * scale)
                }
                guard let top = scores.max() else { return }
                var sum = 0.0, row = [Double](repeating: 0, count: d)
                for (j, s) in zip(keys, scores) {
                    let p = _exp(s - top)
                    sum += p
                    for c in 0..<d { row[c] += p * Double(v.values[kvBase + j * d + c]) }
                }
                for c in 0..<d { target.buffer[qBase + c] = row[c] / sum }
            }
        }
        return out
    }

    /// The output buffer the rows fill in parallel: each writes only its own row.
    private struct SharedOutput: @unchecked Sendable {
        let buffer: UnsafeMutableBufferPointer<Double>
    }
}
