/// Keeps counts independent of data: integers read from tensors (and whatever is
/// computed from them) may index tensors and nothing else.
///
/// A page id read from a block table decides *which* page a load reads, never how many
/// bytes move, how often a loop runs or which branch runs. That is what lets count-only
/// mode, which has no data, give exactly the counters of a numeric run.
public enum DataDependence {
    /// The data-dependent slots of a checked kernel; an error where one reaches a loop
    /// bound, a condition, a slice extent, a tile size or a mask.
    static func check(_ kernel: KernelDecl, source: SourceFile) throws(Diagnostic) -> Set<Int> {
        var data: Set<Int> = []
        var changed = true
        while changed {
            changed = false
            mark(kernel.body, &data, &changed)
        }
        if data.isEmpty { return data }
        try verify(kernel.body, data: data, source: source)
        return data
    }

    private static func mark(_ block: [Stmt], _ data: inout Set<Int>, _ changed: inout Bool) {
        Stmt.forEach(in: block) { statement in
            if case .assign(_, let slot, let value) = statement.kind, !data.contains(slot), isData(value, data) {
                data.insert(slot)
                changed = true
            }
        }
    }

    /// Whether an integer expression reads data (a scalar load or a data slot).
    public static func isData(_ e: Expr, _ data: Set<Int>) -> Bool {
        e.contains(intoLoads: false) { node in
            switch node.kind {
            case .load(let access, _): return access.keptDimensions == 0
            case .local(let slot): return data.contains(slot)
            default: return false
            }
        }
    }

    /// Rejects data in every site but a single-position index (`CountSites`).
    private static func verify(_ block: [Stmt], data: Set<Int>, source: SourceFile) throws(Diagnostic) {
        var failure: Diagnostic?
        CountSites.forEach(in: block) { site in
            guard failure == nil, !site.admitsData else { return }
            for (position, e) in site.expressions.enumerated() where isData(e, data) {
                failure = Diagnostic(.type, source, e.location, "a value read from a tensor cannot decide \(site.describe(position)): it may only index a tensor, so that counts do not depend on data")
                return
            }
        }
        if let failure { throw failure }
    }
}
