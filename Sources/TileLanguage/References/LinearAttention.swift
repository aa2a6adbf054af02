import AttnNumerics

/// Attention without the softmax over all keys: causal linear attention with the elu + 1
/// feature map (Katharopoulos et al. 2020) and Linformer's low-rank projection of keys
/// and values (Wang et al. 2020), by their definitions (`LinearAttentionReference`). Both
/// read Q [batch*heads, N, d] and K, V [batch*kv_heads, Nkv, d].
extension ReferenceKind {
    static let linearAttentionFamily: [ReferenceKind] = [.linearAttention, .linformer]

    /// linear_attention(Q, K, V). n = d + Nkv (a feature dot product, a sum over keys).
    public static let linearAttention = ReferenceKind(
        "linear_attention", arguments: ["Q", "K", "V"], reductionLength: headAndKeys,
        compute: { call throws(Diagnostic) in
            try checkLayout(call)
            return LinearAttentionReference.causalLinear(call.shape, q: call.inputs[0], k: call.inputs[1], v: call.inputs[2])
        })

    /// linformer(Q, K, V, E, F) with the projections E, F [k, Nkv]. n = d + Nkv + k (the
    /// projection's sum over Nkv, then attention over k rows).
    public static let linformer = ReferenceKind(
        "linformer", arguments: ["Q", "K", "V", "E", "F"],
        reductionLength: { shapes in headAndKeys(shapes) + (shapes.arguments.count > 3 ? shapes.arguments[3].first ?? 0 : 0) },
        compute: { call throws(Diagnostic) in
            try checkLayout(call)
            let x = call.inputs
            guard let reference = LinearAttentionReference.linformer(call.shape, q: x[0], k: x[1], v: x[2], e: x[3], f: x[4]) else {
                throw call.error("'linformer' expects the projections E and F as [k, Nkv], both the same shape")
            }
            return reference
        })

    /// Q, K and V hold the elements of the reference's layout.
    private static func checkLayout(_ call: ReferenceCall) throws(Diagnostic) {
        let problem = call.shape
        let (q, k, v) = (call.inputs[0], call.inputs[1], call.inputs[2])
        let expectedQ = problem.batch * problem.heads * problem.queryLength * problem.headDim
        let expectedKV = problem.batch * problem.kvHeads * problem.keyLength * problem.headDim
        guard q.count == expectedQ, k.count == expectedKV, v.count == expectedKV, problem.heads % problem.kvHeads == 0 else {
            throw call.error("'\(call.check.reference.rawValue)' expects Q as [batch*heads, N, d] and K, V as [batch*kv_heads, Nkv, d]")
        }
    }
}
