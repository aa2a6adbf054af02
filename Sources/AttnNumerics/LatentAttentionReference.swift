/// Multi-head latent attention (MLA) in float64, from the latent cache up (DeepSeek-V2,
/// arXiv 2405.04434, Section 2.1): per head h and cached token j,
///
///     k_j = [c_j W_UK,h ; k^R_j],   v_j = c_j W_UV,h,   q = [q^C ; q^R]
///     o = softmax(q . k_j / sqrt(d + d^R)) v
///
/// c_j [d_c] is the latent of token j, shared by every head, and k^R_j [d^R] its decoupled
/// RoPE key, also shared. The keys and values are decompressed explicitly, so the
/// reference is independent of how a program orders the products (naive decompression or
/// weights absorbed into the query and output). Every query sees every cached token.
public enum LatentAttentionReference {
    /// Tensors in row-major order (any shape with these elements will do):
    /// qNope [batch*heads, N, d], qRope [batch*heads, N, dR], latent [batch, Nkv, dc] and
    /// ropeKey [batch, Nkv, dR], wUK [heads, dc, d], wUV [heads, dc, dv]; d, dR, dc and dv
    /// are the last dimensions of wUK, ropeKey, latent and wUV. Returns O
    /// [batch*heads, N, dv], or nil when the element counts do not fit together.
    public static func output(
        qNope: HostTensor, qRope: HostTensor, latent: HostTensor, ropeKey: HostTensor, wUK: HostTensor, wUV: HostTensor,
        batch: Int, heads: Int
    ) -> [Double]? {
        guard batch > 0, heads > 0, let dc = latent.shape.last, let dr = ropeKey.shape.last, let d = wUK.shape.last,
            let dv = wUV.shape.last, dc > 0, dr > 0, d > 0, dv > 0,
            latent.count % (batch * dc) == 0, wUK.count == heads * dc * d, wUV.count == heads * dc * dv
        else { return nil }
        let nkv = latent.count / (batch * dc)
        guard nkv > 0, ropeKey.count == batch * nkv * dr, qNope.count % (batch * heads * d) == 0 else { return nil }
        let n = qNope.count / (batch * heads * d)
        guard qRope.count == batch * heads * n * dr else { return nil }
        let scale = 1 / Double(d + dr).squareRoot()
        var out = [Double](repeating: 0, count: batch * heads * n * dv)
        var keys = [Double](repeating: 0, count: nkv * d)
        var values = [Double](repeating: 0, count: nkv * dv)
        var scores = [Double](repeating: 0, count: nkv)
        for b in 0..<batch {
            for h in 0..<heads {
                // Decompress this head's keys and values from the latents.
                for j in 0..<nkv {
                    let c = (b * nkv + j) * dc
                    for col in 0..<d { keys[j * d + col] = 0 }
                    for col in 0..<dv { values[j * dv + col] = 0 }
                    for r in 0..<dc {
                        let x = Double(latent.values[c + r])
                        let uk = (h * dc + r) * d, uv = (h * dc + r) * dv
                        for col in 0..<d { keys[j * d + col] += x * Double(wUK.values[uk + col]) }
                        for col in 0..<dv { values[j * dv + col] += x * Double(wUV.values[uv + col]) }
                    }
                }
                for i in 0..<n {
                    let row = (b * heads + h) * n + i
                    var m = -Double.infinity
                    for j in 0..<nkv {
                        var s = 0.0
                        for col in 0..<d { s += Double(qNope.values[row * d + col]) * keys[j * d + col] }
                        for col in 0..<dr { s += Double(qRope.values[row * dr + col]) * Double(ropeKey.values[(b * nkv + j) * dr + col]) }
                        scores[j] = s * scale
                        m = max(m, scores[j])
                    }
                    var sum = 0.0
                    for j in 0..<nkv {
                        scores[j] = _exp(scores[j] - m)
                        sum += scores[j]
                    }
                    for j in 0..<nkv {
                        let p = scores[j] / sum
                        for col in 0..<dv { out[row * dv + col] += p * values[j * dv + col] }
                    }
                }
            }
        }
        return out
    }
}
