/// The gated delta rule in float64, step by step (Yang, Kautz and Hatamizadeh, "Gated Delta
/// Networks: Improving Mamba2 with Delta Rule", ICLR 2025, equation (10); the delta rule
/// of Yang et al., "Parallelizing Linear Transformers with the Delta Rule over Sequence
/// Length", NeurIPS 2024, with Mamba-2's gate):
///
///     S_t = alpha_t (I - beta_t k_t k_t^T) S_{t-1} + beta_t k_t v_t^T     (S: d_k x d_v)
///     o_t = S_t^T q_t
///
/// alpha_t = exp(g_t) the decay gate (g_t <= 0, given in log space as the kernels take
/// it), beta_t in (0, 1) the writing strength. q and k are L2-normalized first, x / sqrt(|x|^2
/// + eps) with eps = 1e-6, and q scaled by `scale` (1/sqrt(d_k)): what Flash Linear
/// Attention's `chunk_gated_delta_rule(..., use_qk_l2norm_in_kernel=True)` computes, the
/// layer of Gated DeltaNet and Qwen3-Next. With unit keys and beta <= 1 each step's
/// transition alpha (I - beta k k^T) has eigenvalues in [0, 1], so the recurrence is stable.
/// It runs token by token, no chunks: the definition the chunked program is checked against.
public enum GatedDeltaRuleReference {
    /// The normalization's epsilon (FLA's `l2norm_fwd` default).
    public static let epsilon = 1e-6

    /// q, k [heads, L, d_k]; v [heads, L, d_v]; g, beta [heads, L] (heads: batch x heads, any
    /// shapes with these elements in row-major order). Returns o [heads, L, d_v], or nil
    /// when the shapes do not fit together.
    public static func output(q: HostTensor, k: HostTensor, v: HostTensor, g: HostTensor, beta: HostTensor, heads: Int, scale: Double) -> [Double]? {
        guard heads > 0, q.count == k.count, g.count == beta.count, g.count % heads == 0 else { return nil }
        let length = g.count / heads
        guard length > 0, q.count % (heads * length) == 0, v.count % (heads * length) == 0 else { return nil }
        let dk = q.count / (heads * length), dv = v.count / (heads * length)
        var out = [Double](repeating: 0, count: v.count)
        var state = [Double](repeating: 0, count: dk * dv)
        var qn = [Double](repeating: 0, count: dk), kn = qn, keyTimesState = [Double](repeating: 0, count: dv)
        for head in 0..<heads {
            for i in state.indices { state[i] = 0 }
            for t in 0..<length {
                let row = head * length + t
                normalize(q.values, from: row * dk, into: &qn, scale: scale)
                normalize(k.values, from: row * dk, into: &kn, scale: 1)
                let alpha = _exp(Double(g.values[row])), strength = Double(beta.values[row])
                // S' = alpha S; then S = S' + beta k (v - S'^T k)^T.
                for i in state.indices { state[i] *= alpha }
                for j in 0..<dv {
                    var sum = 0.0
                    for i in 0..<dk { sum += kn[i] * state[i * dv + j] }
                    keyTimesState[j] = strength * (Double(v.values[row * dv + j]) - sum)
                }
                for i in 0..<dk {
                    for j in 0..<dv { state[i * dv + j] += kn[i] * keyTimesState[j] }
                }
                for j in 0..<dv {
                    var sum = 0.0
                    for i in 0..<dk { sum += qn[i] * state[i * dv + j] }
                    out[row * dv + j] = sum
                }
            }
        }
        return out
    }

    /// x / sqrt(|x|^2 + eps) times `scale`, for the d elements of `values` from `start`.
    private static func normalize(_ values: [Float], from start: Int, into target: inout [Double], scale: Double) {
        var squares = 0.0
        for i in target.indices { squares += Double(values[start + i]) * Double(values[start + i]) }
        let factor = scale / (squares + epsilon).squareRoot()
        for i in target.indices { target[i] = Double(values[start + i]) * factor }
    }
}
