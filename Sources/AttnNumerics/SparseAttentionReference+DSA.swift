extension SparseAttentionReference {
    /// DeepSeek Sparse Attention (DeepSeek-AI 2025, DeepSeek-V3.2-Exp, Section 2.1): the
    /// lightning indexer's logits I(t, s) = sum_j w(t, j) ReLU(q(t, j) . k(s)) choose the top
    /// k tokens of query t (those at or before it when `causal`), and multi-head latent
    /// attention runs over them: per head h, scores (q^C W_UK,h^T . c_s + q^R . k^R_s) /
    /// sqrt(d + dR), output (sum_s p_s c_s) W_UV,h.
    ///
    /// qNope [batch*heads, N, d], qRope [batch, N, heads, dR], latent [batch, Nkv, ..., dc],
    /// ropeKey [batch, Nkv, ..., dR], wUK [heads, dc, d], wUV [heads, dc, dv], indexQuery
    /// [batch, H_I, N, d_I], indexKey [batch, Nkv, d_I], indexWeight [batch, H_I, N, 1],
    /// selection [batch, N, kk]. Returns O [batch*heads, N, dv].
    ///
    /// The kernel's logit is a sum of d_I products per indexer head (fp8 values: exact
    /// products in fp32), a ReLU, a product with w and a sum over the heads: its error is
    /// within `TopKSelection.dotSlack` of d_I + H_I + 1 terms of sum_j |w_j| sum_c |q_jc k_c|.
    public static func dsa(
        qNope: HostTensor, qRope: HostTensor, latent: HostTensor, ropeKey: HostTensor, wUK: HostTensor, wUV: HostTensor,
        indexQuery: HostTensor, indexKey: HostTensor, indexWeight: HostTensor, selection: HostTensor, shape: ProblemShape, causal: Bool
    ) throws(SparseReferenceFailure) -> [Double] {
        let (batch, heads, n, nkv) = (shape.batch, shape.heads, shape.queryLength, shape.keyLength)
        guard let dc = latent.shape.last, let dr = ropeKey.shape.last, let d = wUK.shape.last, let dv = wUV.shape.last,
            let di = indexKey.shape.last, indexQuery.shape.count == 4, let kk = selection.shape.last, kk > 0,
            qNope.count == batch * heads * n * d, qRope.count == batch * n * heads * dr, latent.count == batch * nkv * dc,
            ropeKey.count == batch * nkv * dr, wUK.count == heads * dc * d, wUV.count == heads * dc * dv,
            indexKey.count == batch * nkv * di, indexQuery.shape[0] == batch, indexQuery.shape[2] == n, indexQuery.shape[3] == di,
            indexWeight.count == batch * indexQuery.shape[1] * n, selection.count == batch * n * kk
        else {
            throw .layout("attention_dsa expects QN [batch*heads, N, d], QR [batch, N, heads, dR], C [batch, Nkv, 1, dc], KR [batch, Nkv, 1, dR], WUK [heads, dc, d], WUV [heads, dc, dv], QI [batch, H_I, N, d_I], KI [batch, Nkv, d_I], WI [batch, H_I, N, 1] and IDX [batch, N, k]")
        }
        let indexHeads = indexQuery.shape[1]
        let sm = 1 / Double(d + dr).squareRoot()
        var out = [Double](repeating: 0, count: batch * heads * n * dv)
        for b in 0..<batch {
            for t in 0..<n {
                let position = t + nkv - n
                // The indexer's logits over the tokens the query may see.
                let last = causal ? position : nkv - 1
                var scores = [Double](repeating: -.infinity, count: nkv), slack = scores
                let weights = (0..<indexHeads).map { Double(indexWeight.values[(b * indexHeads + $0) * n + t]) }
                let queries = (0..<indexHeads).map { row(indexQuery, ((b * indexHeads + $0) * n + t) * di, di) }
                for s in 0...last {
                    let key = row(indexKey, (b * nkv + s) * di, di)
                    var logit = 0.0, magnitude = 0.0
                    for j in 0..<indexHeads {
                        logit += weights[j] * Swift.max(0, dot(queries[j], key))
                        magnitude += abs(weights[j]) * absoluteDot(queries[j], key)
                    }
                    scores[s] = logit
                    slack[s] = TopKSelection.dotSlack(terms: di + indexHeads + 1, magnitude: magnitude)
                }
                let chosen = try recorded(selection, row: b * n + t, k: kk, scores: scores, slack: slack, what: "sequence \(b), query \(t)")
                let visible = chosen.filter { $0 <= position || !causal }
                let latents = visible.map { row(latent, (b * nkv + $0) * dc, dc) }
                let ropeKeys = visible.map { row(ropeKey, (b * nkv + $0) * dr, dr) }
                for h in 0..<heads {
                    let qn = row(qNope, ((b * heads + h) * n + t) * d, d)
                    let qr = row(qRope, ((b * n + t) * heads + h) * dr, dr)
                    // q_lat = q^C W_UK,h^T (absorbed).
                    let qLatent = (0..<dc).map { r in dot(qn, row(wUK, (h * dc + r) * d, d)) }
                    let scoresH = visible.indices.map { (dot(qLatent, latents[$0]) + dot(qr, ropeKeys[$0])) * sm }
                    let oLatent = softmax(scoresH, columns: dc) { key, c in latents[key][c] }
                    let base = ((b * heads + h) * n + t) * dv
                    for r in 0..<dc where oLatent[r] != 0 {
                        for c in 0..<dv { out[base + c] += oLatent[r] * Double(wUV.values[(h * dc + r) * dv + c]) }
                    }
                }
            }
        }
        return out
    }
}
