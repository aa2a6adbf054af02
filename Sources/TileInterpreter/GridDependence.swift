import TileLanguage

/// Which grid axes decide the data a kernel's accesses touch.
///
/// For each tensor, the axes whose program ids reach (through integer assignments) the
/// indices of its loads. Thread blocks that differ only along the other axes read the
/// same data: the L2 model uses this to tell which re-reads can be shared.
public enum GridDependence {
    /// Tensor index -> axis indices its loads depend on, for each tensor the kernel loads.
    /// Branches whose condition depends only on parameters are resolved with `bound`'s
    /// values (a `window > 0` branch is not taken without a window).
    public static func loadedTensorAxes(_ kernel: KernelDecl, in bound: BoundProgram) -> [Int: Set<Int>] {
        let taken = Branches(parameters: bound.parameterValues, source: bound.program.source)
        // Which axes each slot depends on, through assignments (a fixpoint).
        var slotAxes: [Int: Set<Int>] = [:]
        for (index, axis) in kernel.axes.enumerated() { slotAxes[axis.slot] = [index] }
        // A loop variable names data by its value: block j of K is the same data whichever
        // query block's loop reaches it. An upper bound that depends on an axis (a causal
        // prefix) keeps the data shared; a lower bound that does (the key range of one
        // split) moves each block onto other data.
        var assignments: [(Int, Set<Int>)] = []
        var loads: [TensorAccess] = []
        Stmt.forEach(in: kernel.body, branches: taken.branches) { statement in
            switch statement.kind {
            case .assign(_, let slot, let value):
                assignments.append((slot, value.slots))
                if case .load(let access, _) = value.kind { loads.append(access) }
            case .loop(_, let slot, let lower, _, _):
                assignments.append((slot, lower.slots))
            case .conditional, .store:
                break
            }
        }
        var changed = true
        while changed {
            changed = false
            for (slot, sources) in assignments {
                let axes = sources.reduce(into: Set<Int>()) { $0.formUnion(slotAxes[$1] ?? []) }
                if !axes.isSubset(of: slotAxes[slot] ?? []) {
                    slotAxes[slot, default: []].formUnion(axes)
                    changed = true
                }
            }
        }
        var result: [Int: Set<Int>] = [:]
        for access in loads {
            let axes = access.slots.reduce(into: Set<Int>()) { $0.formUnion(slotAxes[$1] ?? []) }
            result[access.tensor, default: []].formUnion(axes)
        }
        return result
    }
}

/// The branches of an `if` that can run: one when the condition depends only on
/// parameters, both otherwise.
struct Branches {
    let parameters: [ScalarValue]
    let source: SourceFile

    func branches(_ condition: Expr, _ then: [Stmt], _ otherwise: [Stmt]) -> [[Stmt]] {
        guard case .int(let value)? = try? ScalarEvaluator.evaluate(condition, parameters: parameters, source: source) else {
            return [then, otherwise]
        }
        return [value != 0 ? then : otherwise]
    }
}
