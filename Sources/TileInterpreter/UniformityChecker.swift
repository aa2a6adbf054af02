import AttnNumerics
import TileLanguage

/// Decides whether a statement list counts the same at every point of a box of integer
/// values (grid positions, loop iterations), by interval arithmetic over its "sites":
/// slice extents and bounds, loop bounds, `if` conditions and tile sizes.
///
/// Counters depend on integer values only through those sites (data never changes a
/// count), so if every site is provably constant over the box, every point in it moves
/// the same bytes and does the same FLOPs. This is what lets count-only mode run one
/// representative block or iteration for a whole box and multiply, and stay exact.
/// A box it cannot prove uniform is split until it can, down to single points.
struct UniformityChecker {
    let parameters: [ScalarValue]
    let tensorShapes: [[Int]]
    /// Slots holding data read from tensors: they only index tensors, so an index made of
    /// them never changes a count (numeric runs check its bounds).
    let dataSlots: Set<Int>
    /// Abstract values of the kernel's slots: an interval for integers, nil otherwise.
    var env: [IntInterval?]

    /// True when every site of `block` is constant over the current `env`.
    mutating func isUniform(_ block: PlannedBlock) -> Bool {
        for statement in block.statements {
            guard isUniform(statement) else { return false }
        }
        return true
    }

    private mutating func isUniform(_ statement: PlannedStmt) -> Bool {
        switch statement.kind {
        case .assign(let slot, let value):
            guard sitesAreUniform(value) else { return false }
            env[slot] = integer(value)
            return true
        case .store(let access, let value):
            return accessIsUniform(access) && sitesAreUniform(value)
        case .conditional(let condition, let then, let otherwise):
            guard let truth = integer(condition), truth.isPoint else { return false }
            return isUniform(truth.lo != 0 ? then : otherwise)
        case .loop(let slot, let lower, let upper, let body, let carried):
            guard let lo = integer(lower), lo.isPoint, let hi = integer(upper), hi.isPoint else { return false }
            if carried.hasIntegers {
                // Values that evolve across iterations are unknown to the analysis.
                for s in carried.integerSlots { env[s] = nil }
            }
            let saved = env
            let result = lo.lo >= hi.lo || rangeIsUniform(body, slot: slot, lo.lo, hi.lo)
            env = saved
            env[slot] = nil
            return result
        }
    }

    /// The loop body must be uniform over the box for every iteration; iterations may
    /// differ from one another, so the range is split where needed.
    private mutating func rangeIsUniform(_ body: PlannedBlock, slot: Int, _ lo: Int, _ hi: Int) -> Bool {
        let saved = env
        env[slot] = IntInterval(lo, hi - 1)
        let whole = isUniform(body)
        env = saved
        if whole { return true }
        if hi - lo == 1 { return false }
        let mid = lo + (hi - lo) / 2
        return rangeIsUniform(body, slot: slot, lo, mid) && rangeIsUniform(body, slot: slot, mid, hi)
    }

    private func accessIsUniform(_ access: TensorAccess) -> Bool {
        let shape = tensorShapes[access.tensor]
        for (axis, index) in access.indices.enumerated() {
            let extent = shape[axis]
            switch index {
            case .all:
                continue
            case .scalar(let e):
                if !dataSlots.isEmpty && DataDependence.isData(e, dataSlots) { continue }
                guard let i = integer(e), i.lo >= 0, i.hi < extent else { return false }
            case .block(let b, let size, _):
                guard let block = integer(b), let s = integer(size), s.isPoint, s.lo > 0,
                    let start = IntInterval.multiply(block, s), start.lo >= 0, start.hi < extent
                else { return false }
                // Length min(B, extent - start) is constant when every block is full, or
                // when there is only one block.
                if !(start.isPoint || extent - start.hi >= s.lo) { return false }
            case .range(let a, let b, _):
                guard let lo = integer(a), let hi = integer(b), let length = IntInterval.subtract(hi, lo),
                    length.isPoint, length.lo > 0, lo.lo >= 0, hi.hi <= extent
                else { return false }
            }
        }
        return true
    }

    /// Sites inside an expression: tile sizes and loads.
    private func sitesAreUniform(_ e: Expr) -> Bool {
        switch e.kind {
        case .call(let builtin, let arguments):
            if builtin == .zeros || builtin == .full {
                let sizes = builtin == .full ? arguments.dropLast() : arguments[...]
                for size in sizes {
                    guard let v = integer(size), v.isPoint else { return false }
                }
            }
            if builtin == .maskCausal || builtin == .maskWindow {
                // What a mask hides depends on the query-key offset (and the window).
                guard let q0 = integer(arguments[1]), let k0 = integer(arguments[2]),
                    let offset = IntInterval.subtract(q0, k0), offset.isPoint
                else { return false }
                for extra in arguments.dropFirst(3) {
                    guard let v = integer(extra), v.isPoint else { return false }
                }
            }
            return arguments.allSatisfy { sitesAreUniform($0) }
        case .unary(_, let operand), .transpose(let operand):
            return sitesAreUniform(operand)
        case .binary(_, let l, let r):
            return sitesAreUniform(l) && sitesAreUniform(r)
        case .load(let access, _):
            return accessIsUniform(access)
        default:
            return true
        }
    }

    /// The interval of an integer expression; nil for non-integers or when unknown.
    func integer(_ e: Expr) -> IntInterval? {
        switch e.kind {
        case .integer(let i): return IntInterval(point: i)
        case .parameter(let index):
            if case .int(let i) = parameters[index] { return IntInterval(point: i) }
            return nil
        case .local(let slot): return env[slot]
        case .unary(.negate, let operand):
            guard let v = integer(operand) else { return nil }
            return IntervalSafe.negate(v)
        case .unary(.not, let operand):
            guard let v = integer(operand) else { return nil }
            if v.isPoint { return IntInterval(point: v.lo == 0 ? 1 : 0) }
            if v.lo > 0 || v.hi < 0 { return IntInterval(point: 0) }
            return .boolean
        case .binary(let op, let l, let r):
            guard let a = integer(l), let b = integer(r) else { return nil }
            switch op {
            case .add: return IntInterval.add(a, b)
            case .subtract: return IntInterval.subtract(a, b)
            case .multiply: return IntInterval.multiply(a, b)
            case .divide: return IntInterval.divide(a, b)
            case .remainder: return IntInterval.remainder(a, b)
            case .less: return IntInterval.compare(<, a, b)
            case .lessEqual: return IntInterval.compare(<=, a, b)
            case .greater: return IntInterval.compare(>, a, b)
            case .greaterEqual: return IntInterval.compare(>=, a, b)
            case .equal:
                if a.isPoint && b.isPoint { return IntInterval(point: a.lo == b.lo ? 1 : 0) }
                if a.hi < b.lo || b.hi < a.lo { return IntInterval(point: 0) }
                return .boolean
            case .notEqual:
                if a.isPoint && b.isPoint { return IntInterval(point: a.lo != b.lo ? 1 : 0) }
                if a.hi < b.lo || b.hi < a.lo { return IntInterval(point: 1) }
                return .boolean
            case .and:
                let x = truth(a), y = truth(b)
                if x == false || y == false { return IntInterval(point: 0) }
                if x == true && y == true { return IntInterval(point: 1) }
                return .boolean
            case .or:
                let x = truth(a), y = truth(b)
                if x == true || y == true { return IntInterval(point: 1) }
                if x == false && y == false { return IntInterval(point: 0) }
                return .boolean
            case .matmul: return nil
            }
        case .call(let builtin, let arguments):
            switch builtin {
            case .cdiv:
                guard let a = integer(arguments[0]), let b = integer(arguments[1]) else { return nil }
                return IntInterval.ceilDivide(a, b)
            case .min, .max:
                guard let a = integer(arguments[0]), let b = integer(arguments[1]) else { return nil }
                return builtin == .min
                    ? IntInterval(Swift.min(a.lo, b.lo), Swift.min(a.hi, b.hi))
                    : IntInterval(Swift.max(a.lo, b.lo), Swift.max(a.hi, b.hi))
            case .blockMask:
                return blockMaskInterval(arguments)
            case .fa2NumSplits:
                var values: [Int] = []
                for argument in arguments {
                    guard let v = integer(argument), v.isPoint else { return nil }
                    values.append(v.lo)
                }
                guard values[1] > 0 else { return nil }
                return IntInterval(point: SplitHeuristic.numSplits(batchHeadsMBlocks: values[0], numSMs: values[1], numNBlocks: values[2], maxSplits: values[3]))
            default: return nil
            }
        default:
            return nil
        }
    }

    /// `block_mask` over intervals of block indices: decided without enumerating when
    /// the pattern is dense, or local + strided with every pair on one side of the band
    /// and no strided column in range; a single pair is evaluated directly.
    private func blockMaskInterval(_ arguments: [Expr]) -> IntInterval? {
        var values: [IntInterval] = []
        for argument in arguments {
            guard let v = integer(argument) else { return nil }
            values.append(v)
        }
        guard values[2...].allSatisfy(\.isPoint) else { return nil }
        let (i, j) = (values[0], values[1])
        guard let pattern = BlockPattern(code: values[2].lo, local: values[3].lo, stride: values[4].lo,
                                         densityPermille: values[5].lo, seed: values[6].lo) else { return nil }
        if i.isPoint && j.isPoint { return IntInterval(point: pattern.allows(i.lo, j.lo) ? 1 : 0) }
        switch pattern {
        case .dense:
            return IntInterval(point: 1)
        case .localStrided(let local, let stride):
            // Distance |i - j| over the box.
            let minDistance = max(0, max(i.lo - j.hi, j.lo - i.hi))
            let maxDistance = max(i.hi - j.lo, j.hi - i.lo)
            if maxDistance < local { return IntInterval(point: 1) }
            // Does [j.lo, j.hi] hold a column with j % stride == stride - 1? Yes if it spans a
            // whole period, wraps past a multiple of stride, or ends on such a column.
            let loResidue = IntegerArithmetic.floorRemainder(j.lo, max(stride, 1))
            let hiResidue = IntegerArithmetic.floorRemainder(j.hi, max(stride, 1))
            let stridedInRange = stride > 0 && (j.hi - j.lo + 1 >= stride || loResidue > hiResidue || hiResidue == stride - 1)
            if minDistance >= local && !stridedInRange { return IntInterval(point: 0) }
            return .boolean
        case .random:
            return .boolean
        }
    }

    private func truth(_ v: IntInterval) -> Bool? {
        if v.isPoint { return v.lo != 0 }
        if v.lo > 0 || v.hi < 0 { return true }
        return nil
    }
}

private enum IntervalSafe {
    static func negate(_ v: IntInterval) -> IntInterval? {
        guard v.lo != Int.min else { return nil }
        return IntInterval(-v.hi, -v.lo)
    }
}
