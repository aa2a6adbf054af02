import AttnNumerics

/// Attention over a shared prefix and per-request suffixes (cascade inference,
/// FlashInfer): each request attends to its prefix followed by its suffix, as plain
/// softmax attention. Both read Q [batch*heads, N, d], the shared Kp, Vp [kv_heads, P, d]
/// and the requests' Ks, Vs [batch*kv_heads, Nkv - P, d]; option `causal`.
extension ReferenceKind {
    static let cascadeAttention: [ReferenceKind] = [.attentionCascade, .attentionCascadeLSE]

    /// attention_cascade(Q, Kp, Vp, Ks, Vs). n = d + Nkv.
    public static let attentionCascade = ReferenceKind(
        "attention_cascade", arguments: ["Q", "Kp", "Vp", "Ks", "Vs"], options: [ReferenceOption("causal")], reductionLength: headAndKeys,
        compute: { call throws(Diagnostic) in try cascade(call, part: "output") })

    /// The row log-sum-exp of the same scores: attention_cascade_lse(Q, Kp, Vp, Ks, Vs)
    /// (values unused), a [batch*heads, N] tensor in any shape of that order. n = d + Nkv.
    public static let attentionCascadeLSE = ReferenceKind(
        "attention_cascade_lse", arguments: ["Q", "Kp", "Vp", "Ks", "Vs"], options: [ReferenceOption("causal")], reductionLength: headAndKeys,
        compute: { call throws(Diagnostic) in try cascade(call, part: "lse") })

    /// One part ("output" or "lse") of plain float64 attention over K and V gathered from
    /// the prefix and each request's suffix. One pass gives both parts; the other is kept
    /// for a check of the same tensors and mask in the same run.
    private static func cascade(_ call: ReferenceCall, part: String) throws(Diagnostic) -> [Double] {
        var mask = AttentionReference.Mask()
        for option in call.options where option.name == "causal" { mask.causal = try call.integer(option) != 0 }
        let key = "cascade|" + call.check.argumentNames.joined(separator: ",") + "|\(mask)|"
        if let cached = call.cache.values[key + part] { return cached }
        let both = try cascade(call, mask: mask)
        call.cache.values[key + "output"] = both.output
        call.cache.values[key + "lse"] = both.logSumExp
        return part == "output" ? both.output : both.logSumExp
    }

    /// Plain float64 attention over K and V gathered from the prefix and each request's
    /// suffix: its output and row log-sum-exp.
    private static func cascade(_ call: ReferenceCall, mask: AttentionReference.Mask) throws(Diagnostic) -> (output: [Double], logSumExp: [Double]) {
        let problem = call.shape
        let q = call.inputs[0]
        let (kp, vp, ks, vs) = (call.inputs[1], call.inputs[2], call.inputs[3], call.inputs[4])
        let d = problem.headDim, nkv = problem.keyLength, kvHeads = problem.kvHeads
        let prefix = kp.count / max(1, kvHeads * d)
        let suffix = nkv - prefix
        guard q.count == problem.batch * problem.heads * problem.queryLength * d, problem.heads % kvHeads == 0,
            vp.count == kp.count, kp.count == kvHeads * prefix * d, kp.shape.last == d, suffix >= 0,
            ks.count == problem.batch * kvHeads * suffix * d, vs.count == ks.count
        else {
            throw call.error("'attention_cascade' expects Q as [batch*heads, N, d], Kp, Vp as [kv_heads, P, d] and Ks, Vs as [batch*kv_heads, Nkv - P, d]")
        }
        var k = HostTensor(shape: [problem.batch * kvHeads, nkv, d], dtype: ks.dtype)
        var v = k
        for b in 0..<problem.batch {
            for h in 0..<kvHeads {
                let to = (b * kvHeads + h) * nkv * d
                for i in 0..<(prefix * d) {
                    k.values[to + i] = kp.values[h * prefix * d + i]
                    v.values[to + i] = vp.values[h * prefix * d + i]
                }
                let from = (b * kvHeads + h) * suffix * d
                for i in 0..<(suffix * d) {
                    k.values[to + prefix * d + i] = ks.values[from + i]
                    v.values[to + prefix * d + i] = vs.values[from + i]
                }
            }
        }
        return AttentionReference.outputAndLogSumExp(problem, q: q, k: k, v: v, mask: mask)
    }
}
