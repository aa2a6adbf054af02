import AttnNumerics

/// Multi-head latent attention (DeepSeek-V2) from the latent cache
/// (`LatentAttentionReference`).
extension ReferenceKind {
    static let latentAttention: [ReferenceKind] = [.attentionMLA]

    /// attention_mla(QN, QR, C, KR, WUK, WUV) with QN [batch*heads, N, d], QR
    /// [batch*heads, N, dR], C [batch, Nkv, dc], KR [batch, Nkv, dR], WUK [heads, dc, d],
    /// WUV [heads, dc, dv] gives O [batch*heads, N, dv]; scale 1/sqrt(d + dR).
    /// n = 2 dc + d + dR + Nkv: the decompression (dc terms), the score (d + dR), the sum
    /// over keys and the value's decompression (dc).
    public static let attentionMLA = ReferenceKind(
        "attention_mla", arguments: ["QN", "QR", "C", "KR", "WUK", "WUV"],
        reductionLength: { 2 * $0.lastDimension(2) + $0.lastDimension(4) + $0.lastDimension(3) + $0.shape.keyLength },
        compute: { call throws(Diagnostic) in
            let x = call.inputs
            guard let reference = LatentAttentionReference.output(
                qNope: x[0], qRope: x[1], latent: x[2], ropeKey: x[3], wUK: x[4], wUV: x[5],
                batch: call.shape.batch, heads: call.shape.heads),
                reference.count == call.outputCount
            else {
                throw call.error("attention_mla expects QN [batch*heads, N, d], QR [batch*heads, N, dR], C [batch, Nkv, dc], KR [batch, Nkv, dR], WUK [heads, dc, d], WUV [heads, dc, dv] and an output of batch*heads*N*dv elements")
            }
            return reference
        })
}
