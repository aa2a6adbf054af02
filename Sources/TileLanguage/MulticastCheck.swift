/// Checks that every CTA of a cluster receives the one tile a multicast load sends.
///
/// `load T[...] -> sram multicast(c)` in a kernel with `cluster(c: n)` is one TMA read of
/// a tile from the L2, written into the shared memory of all n CTAs of the cluster
/// (`cp.async.bulk.tensor ... .multicast::cluster`, PTX ISA 8.0). That is the program's
/// meaning only when the n CTAs ask for the same tile and all of them ask: the load's
/// indices must not depend on the cluster's grid axis `c` (directly, or through a variable
/// computed from it), and no enclosing `if` condition or loop bound may depend on it (a
/// CTA that skips the load would leave its partners' share unread). The counters then
/// count its SM->L2 bytes once per cluster (`TensorTraffic.multicastToSram`).
enum MulticastCheck {
    /// Throws at the first multicast load of `kernel` (checked, slots resolved) that the
    /// CTAs of its cluster would not all run with one tile; nothing without `cluster(c: n)`.
    static func check(_ kernel: KernelDecl, source: SourceFile) throws(Diagnostic) {
        guard let axis = kernel.clusterAxis else { return }
        // The slots that may differ between the CTAs of one cluster (a fixpoint: the axis,
        // what is computed from it, and what is assigned under a condition or loop that is).
        var varying: Set<Int> = [axis.slot]
        var changed = true
        while changed {
            changed = false
            mark(kernel.body, under: false, &varying, &changed)
        }
        if let failure = verify(kernel.body, guardedBy: nil, varying: varying, axis: axis.name, source: source) { throw failure }
    }

    /// One pass of the fixpoint: adds to `varying` every slot `block` assigns from a varying
    /// value or under varying control (`varyingControl`), setting `changed` when it grows.
    private static func mark(_ block: [Stmt], under varyingControl: Bool, _ varying: inout Set<Int>, _ changed: inout Bool) {
        func insert(_ slot: Int) {
            if !varying.contains(slot) {
                varying.insert(slot)
                changed = true
            }
        }
        for statement in block {
            switch statement.kind {
            case .assign(_, let slot, let value):
                if varyingControl || !value.slots.isDisjoint(with: varying) { insert(slot) }
            case .store:
                break
            case .loop(_, let slot, let lower, let upper, let body):
                let bounds = !lower.slots.isDisjoint(with: varying) || !upper.slots.isDisjoint(with: varying)
                if varyingControl || bounds { insert(slot) }
                mark(body, under: varyingControl || bounds, &varying, &changed)
            case .conditional(let condition, let then, let otherwise):
                let branch = varyingControl || !condition.slots.isDisjoint(with: varying)
                mark(then, under: branch, &varying, &changed)
                mark(otherwise, under: branch, &varying, &changed)
            }
        }
    }

    /// The first multicast load whose CTAs would not all receive one tile, as an error.
    private static func verify(_ block: [Stmt], guardedBy control: Expr?, varying: Set<Int>, axis: String, source: SourceFile) -> Diagnostic? {
        for statement in block {
            switch statement.kind {
            case .assign(_, _, let value):
                guard case .load(let access, _) = value.kind, let multicast = access.multicast else { continue }
                if let control {
                    return Diagnostic(
                        .type, source, multicast.location,
                        "the CTAs of a cluster along '\(axis)' may not all run this multicast load of '\(access.tensorName)': the condition or loop bound at line \(control.location.line) depends on '\(axis)'",
                        notes: ["a multicast load is one read the cluster's CTAs share; every CTA of the cluster must run it (move it out of the branch, or load without multicast)"])
                }
                if let index = access.indexExpressions.first(where: { !$0.slots.isDisjoint(with: varying) }) {
                    return Diagnostic(
                        .type, source, index.location,
                        "the CTAs of a cluster along '\(axis)' load different tiles of '\(access.tensorName)' here: this index depends on '\(axis)', so one multicast cannot serve them",
                        notes: ["a multicast load's indices must be the same in every CTA of its cluster: they may not depend on the cluster's grid axis '\(axis)'"])
                }
            case .store:
                continue
            case .loop(_, _, let lower, let upper, let body):
                let bound = [lower, upper].first { !$0.slots.isDisjoint(with: varying) }
                if let failure = verify(body, guardedBy: control ?? bound, varying: varying, axis: axis, source: source) { return failure }
            case .conditional(let condition, let then, let otherwise):
                let guarding = control ?? (condition.slots.isDisjoint(with: varying) ? nil : condition)
                if let failure = verify(then, guardedBy: guarding, varying: varying, axis: axis, source: source) { return failure }
                if let failure = verify(otherwise, guardedBy: guarding, varying: varying, axis: axis, source: source) { return failure }
            }
        }
        return nil
    }
}
