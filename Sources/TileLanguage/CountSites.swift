/// A place in a program where an integer can change what a block counts.
///
/// Counters depend on integers only through sites: the indices of loads and stores
/// (which slice moves, and whether it lies inside its tensor), the count-relevant
/// arguments of built-ins (`ArgumentRole`), loop bounds and `if` conditions. Data never
/// reaches a site except a scalar index (a page id picks *which* page moves, never how
/// many bytes). Every analysis that reasons about counts — the data-dependence rule,
/// which grid axes are sensitive, whether a box of blocks counts alike — walks the sites
/// with `CountSites`, so they cannot disagree about what a site is.
public enum CountSite {
    /// Index `axis` of a tensor access.
    case index(TensorAccess, axis: Int)
    /// A built-in call with count-relevant arguments (see its `BuiltinSpec`).
    case call(Builtin, [Expr])
    /// A loop's bounds.
    case loopBounds(lower: Expr, upper: Expr)
    /// An `if` or `elif` condition.
    case condition(Expr)

    /// The integer expressions of the site that must be known without data: the index's
    /// expressions, the count-relevant arguments, the bounds, the condition.
    public var expressions: [Expr] {
        switch self {
        case .index(let access, let axis):
            switch access.indices[axis] {
            case .scalar(let e): return [e]
            case .block(let a, let b, _), .range(let a, let b, _): return [a, b]
            case .all: return []
            }
        case .call(let builtin, let arguments):
            return zip(arguments, builtin.spec.arguments(count: arguments.count)).compactMap { $1.role.isCountRelevant ? $0 : nil }
        case .loopBounds(let lower, let upper):
            return [lower, upper]
        case .condition(let e):
            return [e]
        }
    }

    /// Whether a value read from a tensor may reach the site: only a single-position
    /// index, which selects data without changing how much moves.
    public var admitsData: Bool {
        if case .index(let access, let axis) = self, case .scalar = access.indices[axis] { return true }
        return false
    }

    /// What the site's `expressions[position]` decides, for diagnostics: "a loop bound",
    /// "the window of 'mask_window'".
    public func describe(_ position: Int) -> String {
        switch self {
        case .index: return "a slice's extent"
        case .call(let builtin, let arguments):
            let relevant = builtin.spec.arguments(count: arguments.count).filter { $0.role.isCountRelevant }
            return position < relevant.count ? "\(relevant[position].name) of '\(builtin.name)'" : "an argument of '\(builtin.name)'"
        case .loopBounds: return "a loop bound"
        case .condition: return "a condition"
        }
    }
}

/// The one traversal of count-relevant sites.
public enum CountSites {
    /// Visits the sites inside an expression: the indices of loads, the count-relevant
    /// arguments of calls (outer calls before the sites inside their arguments).
    public static func forEach(in e: Expr, _ visit: (CountSite) -> Void) {
        switch e.kind {
        case .call(let builtin, let arguments):
            if builtin.spec.hasCountRelevantArguments {
                visit(.call(builtin, arguments))
            }
            for argument in arguments { forEach(in: argument, visit) }
        case .unary(_, let operand), .transpose(let operand):
            forEach(in: operand, visit)
        case .binary(_, let l, let r):
            forEach(in: l, visit)
            forEach(in: r, visit)
        case .load(let access, _):
            forEach(in: access, visit)
        case .integer, .float, .name, .local, .parameter, .dtype:
            break
        }
    }

    /// Visits each index of a tensor access, and the sites inside the index expressions.
    public static func forEach(in access: TensorAccess, _ visit: (CountSite) -> Void) {
        for axis in access.indices.indices {
            let site = CountSite.index(access, axis: axis)
            visit(site)
            for e in site.expressions { forEach(in: e, visit) }
        }
    }

    /// Visits the sites of one statement itself: its expressions, a store's access, a
    /// loop's bounds, a condition — not the statements nested in it.
    public static func forEach(in statement: Stmt, _ visit: (CountSite) -> Void) {
        switch statement.kind {
        case .assign(_, _, let value):
            forEach(in: value, visit)
        case .store(let access, let value):
            forEach(in: access, visit)
            forEach(in: value, visit)
        case .loop(_, _, let lower, let upper, _):
            visit(.loopBounds(lower: lower, upper: upper))
            forEach(in: lower, visit)
            forEach(in: upper, visit)
        case .conditional(let condition, _, _):
            visit(.condition(condition))
            forEach(in: condition, visit)
        }
    }

    /// Visits every site of a statement list, nested statements included.
    public static func forEach(in block: [Stmt], _ visit: (CountSite) -> Void) {
        Stmt.forEach(in: block) { forEach(in: $0, visit) }
    }
}

extension Stmt {
    /// Visits every statement of a list, depth first: each statement before the ones
    /// nested in it. `branches` picks which arms of an `if` to enter (both by default; an
    /// analysis that knows the parameters may enter only the arm that runs).
    public static func forEach(
        in block: [Stmt], branches: (_ condition: Expr, _ then: [Stmt], _ otherwise: [Stmt]) -> [[Stmt]] = { [$1, $2] },
        _ visit: (Stmt) -> Void
    ) {
        for statement in block {
            visit(statement)
            switch statement.kind {
            case .loop(_, _, _, _, let body):
                forEach(in: body, branches: branches, visit)
            case .conditional(let condition, let then, let otherwise):
                for arm in branches(condition, then, otherwise) { forEach(in: arm, branches: branches, visit) }
            case .assign, .store:
                break
            }
        }
    }
}

extension Expr {
    /// Whether this expression or any expression in it satisfies `predicate`; with
    /// `intoLoads` false, the indices of loads are not searched.
    public func contains(intoLoads: Bool = true, where predicate: (Expr) -> Bool) -> Bool {
        if predicate(self) { return true }
        switch kind {
        case .unary(_, let operand), .transpose(let operand):
            return operand.contains(intoLoads: intoLoads, where: predicate)
        case .binary(_, let l, let r):
            return l.contains(intoLoads: intoLoads, where: predicate) || r.contains(intoLoads: intoLoads, where: predicate)
        case .call(_, let arguments):
            return arguments.contains { $0.contains(intoLoads: intoLoads, where: predicate) }
        case .load(let access, _):
            return intoLoads && access.indexExpressions.contains { $0.contains(intoLoads: intoLoads, where: predicate) }
        case .integer, .float, .name, .local, .parameter, .dtype:
            return false
        }
    }

    /// Adds the kernel-local slots this expression reads (loads' indices included).
    public func collectSlots(into slots: inout Set<Int>) {
        _ = contains { node in
            if case .local(let slot) = node.kind { slots.insert(slot) }
            return false
        }
    }

    /// The kernel-local slots this expression reads.
    public var slots: Set<Int> {
        var result: Set<Int> = []
        collectSlots(into: &result)
        return result
    }
}

extension TensorAccess {
    /// The integer expressions of the indices, in order.
    public var indexExpressions: [Expr] {
        indices.flatMap { index -> [Expr] in
            switch index {
            case .scalar(let e): return [e]
            case .block(let a, let b, _), .range(let a, let b, _): return [a, b]
            case .all: return []
            }
        }
    }

    /// The kernel-local slots the indices read.
    public var slots: Set<Int> {
        var result: Set<Int> = []
        for e in indexExpressions { e.collectSlots(into: &result) }
        return result
    }
}
