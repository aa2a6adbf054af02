import AttnNumerics

/// Mamba-2's state space model (Dao and Gu 2024, state space duality), token by token in
/// float64 (`StateSpaceDualityReference`).
extension ReferenceKind {
    static let stateSpaceDuality: [ReferenceKind] = [.ssd]

    /// ssd(X, Dt, A, B, C) with X [batch, L, heads, P], Dt [batch, heads, L], A [heads], B, C
    /// [batch, L, groups, N] gives Y like X. n = L + N: the recurrence over L steps (each
    /// step adds one term to a decayed state) and the sum over the N states of y_t = h_t^T C_t.
    /// The chunked program adds its terms in another order (within a chunk by a Q x Q
    /// product, across chunks through the passed states), with no longer sums.
    public static let ssd = ReferenceKind(
        "ssd", arguments: ["X", "Dt", "A", "B", "C"],
        reductionLength: { shapes in
            let x = shapes.arguments.first ?? []
            return (x.count > 1 ? x[1] : 1) + shapes.lastDimension(3)
        },
        compute: { call throws(Diagnostic) in
            let x = call.inputs
            guard let reference = StateSpaceDualityReference.output(x: x[0], dt: x[1], a: x[2], b: x[3], c: x[4]), reference.count == call.outputCount else {
                throw call.error("'ssd' expects X [batch, L, heads, P], Dt [batch, heads, L], A [heads], B, C [batch, L, groups, N] (heads a multiple of groups) and an output like X")
            }
            return reference
        })
}
