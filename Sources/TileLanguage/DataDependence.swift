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
        for statement in block {
            switch statement.kind {
            case .assign(_, let slot, let value):
                if !data.contains(slot) && isData(value, data) {
                    data.insert(slot)
                    changed = true
                }
            case .loop(_, _, _, _, let body):
                mark(body, &data, &changed)
            case .conditional(_, let then, let otherwise):
                mark(then, &data, &changed)
                mark(otherwise, &data, &changed)
            case .store:
                break
            }
        }
    }

    /// Whether an integer expression reads data (a scalar load or a data slot).
    public static func isData(_ e: Expr, _ data: Set<Int>) -> Bool {
        switch e.kind {
        case .load(let access, _): return access.keptDimensions == 0
        case .local(let slot): return data.contains(slot)
        case .unary(_, let operand), .transpose(let operand): return isData(operand, data)
        case .binary(_, let l, let r): return isData(l, data) || isData(r, data)
        case .call(_, let arguments): return arguments.contains { isData($0, data) }
        default: return false
        }
    }

    private static func verify(_ block: [Stmt], data: Set<Int>, source: SourceFile) throws(Diagnostic) {
        func reject(_ e: Expr, _ what: String) throws(Diagnostic) {
            if isData(e, data) {
                throw Diagnostic(.type, source, e.location, "a value read from a tensor cannot decide \(what): it may only index a tensor, so that counts do not depend on data")
            }
        }
        func sites(_ e: Expr) throws(Diagnostic) {
            switch e.kind {
            case .call(let builtin, let arguments):
                if builtin == .zeros || builtin == .full || builtin == .maskCausal || builtin == .maskWindow || builtin == .col {
                    for argument in arguments.dropFirst(builtin == .zeros || builtin == .full ? 0 : 1) {
                        if case .float = argument.kind { continue }
                        try reject(argument, "a tile size, a column or a mask")
                    }
                }
                for argument in arguments { try sites(argument) }
            case .unary(_, let operand), .transpose(let operand): try sites(operand)
            case .binary(_, let l, let r):
                try sites(l)
                try sites(r)
            case .load(let access, _): try sites(access)
            default: break
            }
        }
        func sites(_ access: TensorAccess) throws(Diagnostic) {
            for index in access.indices {
                switch index {
                case .block(let a, let b, _), .range(let a, let b, _):
                    try reject(a, "a slice's extent")
                    try reject(b, "a slice's extent")
                default: break
                }
            }
        }
        for statement in block {
            switch statement.kind {
            case .assign(_, _, let value): try sites(value)
            case .store(let access, let value):
                try sites(access)
                try sites(value)
            case .loop(_, _, let lower, let upper, let body):
                try reject(lower, "a loop bound")
                try reject(upper, "a loop bound")
                try verify(body, data: data, source: source)
            case .conditional(let condition, let then, let otherwise):
                try reject(condition, "a condition")
                try verify(then, data: data, source: source)
                try verify(otherwise, data: data, source: source)
            }
        }
    }
}
