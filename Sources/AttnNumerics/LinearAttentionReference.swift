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
    /// Autoregressive Transformers with Linear Attention", 2020, Eq. 9):
    ///
    ///     o_i = sum_{j <= p_i} (phi(q_i) . phi(k_j)) v_j / sum_{j <= p_i} phi(q_i) . phi(k_j)
    ///
    /// with p_i = i + Nkv - N the query's key position (a query before the first key gets
    /// o = 0). No softmax and no scale. Returns [batch*heads, N, d].
    ///
    /// Computed in O(N) by the chunked form of the recurrence (Eqs. 16-18: with
    /// S = sum_j phi(k_j) v_j^T and z = sum_j phi(k_j) over the keys of earlier chunks,
    /// the numerator is phi(q_i)^T S + sum over the chunk's own keys, the denominator
    /// phi(q_i) . z + the same), in chunks of `chunkRows` keys, as one float64 product
    /// per chunk: [phi(Q_c) | A] [S z ; V_c 1] with A the chunk's masked scores. The sums
    /// are the definition's, regrouped, so the result agrees with it to float64 rounding
    /// (tested to 1e-12 of the output's largest magnitude against the direct O(N^2)
    /// sums); heads run on all cores.
    public static func causalLinear(_ problem: ProblemShape, q: HostTensor, k: HostTensor, v: HostTensor) -> [Double] {
        let n = problem.queryLength, nkv = problem.keyLength, d = problem.headDim
        let heads = problem.batch * problem.heads
        var out = [Double](repeating: 0, count: heads * n * d)
        guard d > 0, nkv > 0 else { return out }
        out.withUnsafeMutableBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return }
            let target = SharedDoubles(base: base)
            ReferenceProduct.parallel(heads) { bh in
                causalLinearHead(problem, q: q, k: k, v: v, bh: bh, into: target)
            }
        }
        return out
    }

    /// Keys per chunk of `causalLinear`.
    static let chunkRows = 64

    /// One query head of `causalLinear`.
    private static func causalLinearHead(_ problem: ProblemShape, q: HostTensor, k: HostTensor, v: HostTensor, bh: Int, into target: SharedDoubles) {
        let n = problem.queryLength, nkv = problem.keyLength, d = problem.headDim
        let kvBase = problem.kvHead(forQueryHead: bh) * nkv * d
        let offset = nkv - n  // the key position of query 0
        // [S z]: d rows of d + 1 (S's row p, then z_p), padded to whole panels.
        let stateStride = (d + 1 + 3) / 4 * 4
        var state = [Double](repeating: 0, count: d * stateStride)
        var phiK = [Double](repeating: 0, count: chunkRows * d)
        var phiQ = [Double](repeating: 0, count: chunkRows * d)
        var scores = [Double](repeating: 0, count: chunkRows * chunkRows)
        var result = [Double](repeating: 0, count: chunkRows * stateStride)
        var first = 0
        while first < nkv {
            let keys = min(chunkRows, nkv - first)
            for j in 0..<keys {
                for c in 0..<d { phiK[j * d + c] = feature(Double(k.values[kvBase + (first + j) * d + c])) }
            }
            // The queries whose positions fall in this chunk: rows lo ..< hi.
            let lo = max(0, first - offset), hi = min(n, first + keys - offset)
            if lo < hi {
                let rows = hi - lo
                for r in 0..<rows {
                    for c in 0..<d { phiQ[r * d + c] = feature(Double(q.values[(bh * n + lo + r) * d + c])) }
                }
                let features = ReferenceProduct.Rows(count: rows, depth: d) { r, c in phiQ[r * d + c] }
                let chunkKeys = ReferenceProduct.Columns(count: keys, depth: d) { c, j in phiK[j * d + c] }
                let width = chunkKeys.paddedCount
                scores.withUnsafeMutableBufferPointer { buffer in
                    guard let s = buffer.baseAddress else { return }
                    ReferenceProduct.multiply(features, chunkKeys, into: s, rowStride: width)
                }
                // Row r (position lo + r + offset) sees the chunk's keys up to its own.
                let combined = ReferenceProduct.Rows(count: rows, depth: d + keys) { r, p in
                    if p < d { return phiQ[r * d + p] }
                    return first + p - d <= lo + r + offset ? scores[r * width + p - d] : 0
                }
                let right = ReferenceProduct.Columns(count: d + 1, depth: d + keys) { p, c in
                    if p < d { return state[p * stateStride + c] }
                    return c < d ? Double(v.values[kvBase + (first + p - d) * d + c]) : 1
                }
                result.withUnsafeMutableBufferPointer { buffer in
                    guard let o = buffer.baseAddress else { return }
                    ReferenceProduct.multiply(combined, right, into: o, rowStride: stateStride)
                    for r in 0..<rows {
                        let row = (bh * n + lo + r) * d
                        for c in 0..<d { target.base[row + c] = o[r * stateStride + c] / o[r * stateStride + d] }
                    }
                }
            }
            first += keys
            guard first < nkv else { break }
            // [S z] += phi(K_c)^T [V_c 1].
            let transposed = ReferenceProduct.Rows(count: d, depth: keys) { c, j in phiK[j * d + c] }
            let update = ReferenceProduct.Columns(count: d + 1, depth: keys) { j, c in
                c < d ? Double(v.values[kvBase + (first - keys + j) * d + c]) : 1
            }
            state.withUnsafeMutableBufferPointer { buffer in
                guard let s = buffer.baseAddress else { return }
                ReferenceProduct.multiply(transposed, update, into: s, rowStride: stateStride, accumulate: true)
            }
        }
    }

    /// Linformer (Wang et al., "Linformer: Self-Attention with Linear Complexity", 2020,
    /// Eq. 7): keys and values projected along the sequence to k rows, K' = E K and
    /// V' = F V with E, F [k, Nkv] shared by all heads, then
    /// O = softmax(scale Q K'^T) V'. Returns [batch*heads, N, d], or nil when E or F is
    /// not [k, Nkv] with the same k. Float64 products (`ReferenceProduct`) on all cores.
    public static func linformer(_ problem: ProblemShape, q: HostTensor, k: HostTensor, v: HostTensor, e: HostTensor, f: HostTensor) -> [Double]? {
        let n = problem.queryLength, nkv = problem.keyLength, d = problem.headDim
        guard e.shape.count == 2, e.shape[1] == nkv, f.shape == e.shape else { return nil }
        let rank = e.shape[0]
        let kvHeads = problem.batch * problem.kvHeads
        let heads = problem.batch * problem.heads
        var out = [Double](repeating: 0, count: heads * n * d)
        guard rank > 0, d > 0, n > 0 else { return out }
        let eRows = ReferenceProduct.Rows(count: rank, depth: nkv) { r, j in Double(e.values[r * nkv + j]) }
        let fRows = ReferenceProduct.Rows(count: rank, depth: nkv) { r, j in Double(f.values[r * nkv + j]) }
        // K' and V' per key/value head: rank x d each (row stride: d padded to a panel).
        let stride = (d + 3) / 4 * 4
        var projected = [Double](repeating: 0, count: kvHeads * 2 * rank * stride)
        projected.withUnsafeMutableBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return }
            let target = SharedDoubles(base: base)
            ReferenceProduct.parallel(2 * kvHeads) { task in
                let h = task / 2, x = task % 2 == 0 ? k : v
                let columns = ReferenceProduct.Columns(count: d, depth: nkv) { j, c in Double(x.values[(h * nkv + j) * d + c]) }
                ReferenceProduct.multiply(task % 2 == 0 ? eRows : fRows, columns, into: target.base + task * rank * stride, rowStride: stride)
            }
        }
        let projection = projected
        let blockRows = 64
        let blocks = (n + blockRows - 1) / blockRows
        let scale = problem.effectiveScale
        out.withUnsafeMutableBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return }
            let target = SharedDoubles(base: base)
            ReferenceProduct.parallel(heads * blocks) { task in
                let bh = task / blocks, first = task % blocks * blockRows
                let count = min(blockRows, n - first)
                let kv = problem.kvHead(forQueryHead: bh) * 2 * rank * stride
                let keys = ReferenceProduct.Columns(count: rank, depth: d) { c, r in projection[kv + r * stride + c] }
                let values = ReferenceProduct.Columns(count: d, depth: rank) { r, c in projection[kv + (rank + r) * stride + c] }
                let queries = ReferenceProduct.Rows(count: count, depth: d) { r, c in Double(q.values[(bh * n + first + r) * d + c]) }
                ReferenceProduct.softmaxAttention(
                    queries: queries, keys: keys, values: values, scale: scale, into: target.base + (bh * n + first) * d, rowStride: d)
            }
        }
        return out
    }
}
