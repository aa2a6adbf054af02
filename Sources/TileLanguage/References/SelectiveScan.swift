import AttnNumerics

/// The Mamba selective scan (Gu and Dao 2023, Algorithm 2), sequentially in float64
/// (`SelectiveScanReference`).
extension ReferenceKind {
    static let selectiveScanFamily: [ReferenceKind] = [.selectiveScan]

    /// selective_scan(X, Delta, A, B, C) with X, Delta [batch, L, D], A [D, S], B, C
    /// [batch, L, S] gives Y [batch, L, D]. n = L + S (the recurrence over L steps, the
    /// sum over states).
    public static let selectiveScan = ReferenceKind(
        "selective_scan", arguments: ["X", "Delta", "A", "B", "C"],
        reductionLength: { shapes in
            let x = shapes.arguments.first ?? [], a = shapes.arguments.count > 2 ? shapes.arguments[2] : []
            return (x.count > 1 ? x[1] : 1) + (a.count > 1 ? a[1] : 1)
        },
        compute: { call throws(Diagnostic) in
            let x = call.inputs
            guard let reference = SelectiveScanReference.output(x: x[0], delta: x[1], a: x[2], b: x[3], c: x[4]), reference.count == call.outputCount else {
                throw call.error("selective_scan expects X, Delta [batch, L, D], A [D, S], B, C [batch, L, S] and an output like X")
            }
            return reference
        })
}
