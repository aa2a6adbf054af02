import AttnNumerics

/// The gated delta rule of Gated DeltaNet (Yang, Kautz and Hatamizadeh 2025), token by
/// token in float64 (`GatedDeltaRuleReference`).
extension ReferenceKind {
    static let gatedDeltaRule: [ReferenceKind] = [.gatedDelta]

    /// gated_delta_rule(Q, K, V, G, Beta) with Q, K, V [batch*heads, L, d] and the log
    /// gates G and strengths Beta [batch*heads, L] gives O like V; q and k L2-normalized,
    /// q scaled by the run's scale. n = L + 2 d: the recurrence over L steps and, per step,
    /// the sums over d of k^T S and S^T q (the chunked program's sums, over a chunk's rows
    /// and over d, are no longer).
    public static let gatedDelta = ReferenceKind(
        "gated_delta_rule", arguments: ["Q", "K", "V", "G", "Beta"],
        reductionLength: { shapes in
            let g = shapes.arguments.count > 3 ? shapes.arguments[3].reduce(1, *) : 0
            let heads = shapes.shape.batch * shapes.shape.heads
            return (heads > 0 ? g / heads : 0) + 2 * shapes.shape.headDim
        },
        compute: { call throws(Diagnostic) in
            let x = call.inputs, problem = call.shape
            guard let reference = GatedDeltaRuleReference.output(
                q: x[0], k: x[1], v: x[2], g: x[3], beta: x[4], heads: problem.batch * problem.heads, scale: problem.effectiveScale),
                reference.count == call.outputCount
            else {
                throw call.error("'gated_delta_rule' expects Q, K, V [batch*heads, L, d], G and Beta [batch*heads, L] and an output like V")
            }
            return reference
        })
}
