import AttnNumerics
import TileLanguage

extension NumericTolerance {
    /// The register roundings on a check's path: for each `cast(x, dtype)` whose result
    /// reaches the checked output, the square of that dtype's unit roundoff; for each
    /// `quantize_fp4(x, format)`, E2M1's (2^-2).
    ///
    /// A cast rounds every element of a tile in registers, as a store rounds a temp: FA3's
    /// FP8 path rounds P to e4m3 (u = 2^-4) before P V, flash2-triton rounds P to fp16. Each
    /// element of the output is a sum over such rounded elements, each rounded once by a
    /// cast site (a site in a loop rounds other elements on each iteration: P of each key
    /// block), so a site counts once, like a temp stored once, and independent sites add in
    /// quadrature (Higham and Mary 2019). The row sum l that FA3 takes from the fp32 P, and
    /// the log-sum-exp made from it, see no cast and gain nothing.
    ///
    /// Which casts reach the output is a flow over the program: a slot holds the casts its
    /// value was computed from (loops iterate to a fixed point), a stored tensor those of
    /// the value stored, a load those of its tensor; the kernels up to `lastKernel` are
    /// followed in order. An `if` whose condition reads only parameters takes its branch
    /// (flash2-triton's fp32 loop keeps P in fp32 and casts nothing); any other takes both.
    static func roundingSquares(_ check: CheckDecl, bound: BoundProgram, lastKernel: Int) -> Double {
        let branches = Branches(parameters: bound.parameterValues, source: bound.program.source)
        var tensorCasts: [Int: Set<CastSite>] = [:]
        for kernel in bound.program.kernels.prefix(lastKernel + 1) {
            var slotCasts: [Int: Set<CastSite>] = [:]
            func casts(_ e: Expr) -> Set<CastSite> {
                var found: Set<CastSite> = []
                _ = e.contains { node in
                    switch node.kind {
                    case .call(let builtin, let arguments) where builtin == .cast:
                        if arguments.count == 2, case .dtype(let dtype) = arguments[1].kind {
                            found.insert(CastSite(location: node.location, kernel: kernel.name, unitRoundoff: dtype.unitRoundoff))
                        }
                    case .call(let builtin, _) where builtin == .quantizeFP4:
                        // Block-scaled FP4 in registers (SageAttention3's P): each element
                        // rounded to E2M1 once, u = 2^-2 (a 1-bit mantissa).
                        found.insert(CastSite(location: node.location, kernel: kernel.name, unitRoundoff: DType.fp4e2m1.unitRoundoff))
                    case .local(let slot):
                        found.formUnion(slotCasts[slot] ?? [])
                    case .load(let access, _):
                        found.formUnion(tensorCasts[access.tensor] ?? [])
                    default:
                        break
                    }
                    return false
                }
                return found
            }
            var changed = true
            while changed {
                changed = false
                Stmt.forEach(in: kernel.body, branches: branches.branches) { statement in
                    switch statement.kind {
                    case .assign(_, let slot, let value):
                        let found = casts(value)
                        if !found.isSubset(of: slotCasts[slot] ?? []) {
                            slotCasts[slot, default: []].formUnion(found)
                            changed = true
                        }
                    case .store(let access, let value):
                        let found = casts(value)
                        if !found.isSubset(of: tensorCasts[access.tensor] ?? []) {
                            tensorCasts[access.tensor, default: []].formUnion(found)
                            changed = true
                        }
                    case .loop, .conditional:
                        break
                    }
                }
            }
        }
        return (tensorCasts[check.tensor] ?? []).reduce(0) { $0 + $1.unitRoundoff * $1.unitRoundoff }
    }
}

/// One `cast` in a program: where it is and the unit roundoff of its dtype.
private struct CastSite: Hashable {
    var location: SourceLocation
    var kernel: String
    var unitRoundoff: Double
}
