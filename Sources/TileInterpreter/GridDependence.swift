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
        var assignments: [(Int, Set<Int>)] = []
        collectAssignments(kernel.body, taken, into: &assignments)
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
        collectLoads(kernel.body, taken) { access in
            var slots: Set<Int> = []
            SlotReferences.collect(access, into: &slots)
            let axes = slots.reduce(into: Set<Int>()) { $0.formUnion(slotAxes[$1] ?? []) }
            result[access.tensor, default: []].formUnion(axes)
        }
        return result
    }

    private static func collectAssignments(_ block: [Stmt], _ taken: Branches, into list: inout [(Int, Set<Int>)]) {
        for statement in block {
            switch statement.kind {
            case .assign(_, let slot, let value):
                var sources: Set<Int> = []
                SlotReferences.collect(value, into: &sources)
                list.append((slot, sources))
            case .loop(_, let slot, let lower, _, let body):
                // A loop variable names data by its value: block j of K is the same data
                // whichever query block's loop reaches it. An upper bound that depends on an
                // axis (a causal prefix) keeps the data shared; a lower bound that does (the
                // key range of one split) moves each block onto other data.
                var sources: Set<Int> = []
                SlotReferences.collect(lower, into: &sources)
                list.append((slot, sources))
                collectAssignments(body, taken, into: &list)
            case .conditional(let condition, let then, let otherwise):
                for branch in taken.branches(condition, then, otherwise) { collectAssignments(branch, taken, into: &list) }
            case .store:
                break
            }
        }
    }

    private static func collectLoads(_ block: [Stmt], _ taken: Branches, _ visit: (TensorAccess) -> Void) {
        for statement in block {
            switch statement.kind {
            case .assign(_, _, let value):
                if case .load(let access, _) = value.kind { visit(access) }
            case .loop(_, _, _, _, let body):
                collectLoads(body, taken, visit)
            case .conditional(let condition, let then, let otherwise):
                for branch in taken.branches(condition, then, otherwise) { collectLoads(branch, taken, visit) }
            case .store:
                break
            }
        }
    }
}

/// The branches of an `if` that can run: one when the condition depends only on
/// parameters, both otherwise.
private struct Branches {
    let parameters: [ScalarValue]
    let source: SourceFile

    func branches(_ condition: Expr, _ then: [Stmt], _ otherwise: [Stmt]) -> [[Stmt]] {
        guard case .int(let value)? = try? ScalarEvaluator.evaluate(condition, parameters: parameters, source: source) else {
            return [then, otherwise]
        }
        return [value != 0 ? then : otherwise]
    }
}
