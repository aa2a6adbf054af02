import AttnNumerics
import TileLanguage

/// Tile sizes affine in the box (`countsAreAffine`): a slice or a built tile whose length
/// grows with the block's position (the last chunk of a causal selection, `L[b, i, c0 ..<
/// c1]` with c1 = min(qpos + 1, c0 + Bt), one more logit for every query) counts an affine
/// function of the box's coordinates, provided every count it reaches is linear in it.
///
/// What a tile counts is a product of its sizes (elements, bytes) or, for a matmul, of
/// M, K and N. So each tile may have at most one size that varies (an affine form in the
/// box's axes and loop counters, never a division's or range's fresh variable), a matmul
/// at most one of M, K and N, and every operation on a varying tile must count by a rule
/// linear in its elements: no mask (what it hides is not linear in the tile), no triangular
/// inverse, a `topk` whose k is fixed. Shapes that must agree (a matmul's inner sizes,
/// `hcat`'s and `take`'s rows) must be equal as forms, so they agree everywhere or
/// nowhere. A varying tile may not be carried by a loop, nor read after the loop that made
/// it, nor appear in the middle of an affine loop (whose count multiplies it by a trip
/// count: not affine). What else a size reaches is convex in the point: the peaks of
/// shared memory, registers and matmul rows (maxima of affine functions), the capacity
/// and register limits: `CountCompressor` takes those from every corner of the box.
extension UniformityChecker {
    /// Whether a size form may vary over the box: affine in the box's axes and loop
    /// counters alone, where varying sizes are allowed.
    func sizeMayVary(_ form: AffineForm) -> Bool {
        allowsAffineShapes && form.terms.keys.allSatisfy { $0 < axisVariables || counterVariables.contains($0) }
    }

    /// Whether a size varies over the box (true), is the same everywhere (false), or is
    /// unknown or may not vary here (nil).
    func sizeVaries(_ form: AffineForm?) -> Bool? {
        guard let form, let span = interval(form) else { return nil }
        if span.isPoint { return false }
        return sizeMayVary(form) ? true : nil
    }

    /// Whether a tile of this shape varies: at most one size may.
    func shapeVaries(_ shape: TileShape?) -> Bool? {
        guard let shape, let rows = sizeVaries(shape.rows), let cols = sizeVaries(shape.cols), !(rows && cols) else { return nil }
        return rows || cols
    }

    /// Two sizes equal everywhere in the box.
    func sizesAgree(_ a: AffineForm?, _ b: AffineForm?) -> Bool {
        guard let a, let b else { return false }
        if a == b { return true }
        guard let x = interval(a), let y = interval(b) else { return false }
        return x.isPoint && x == y
    }

    /// Whether the tile `e` makes varies in shape over the box (true) or not (false); nil
    /// when what it counts may not be affine in the box's coordinates (see the extension's
    /// comment). Integers and numbers are not tiles: false.
    mutating func shapeVaries(_ e: Expr) -> Bool? {
        switch e.kind {
        case .local(let slot):
            guard varyingSlots.contains(slot) else { return false }
            return shapeVaries(shapes[slot])
        case .load(let access, _):
            guard let varies = accessVaries(access) else { return nil }
            return varies ? shapeVaries(loadShape(access)) : false
        case .unary(_, let operand), .transpose(let operand):
            guard let varies = shapeVaries(operand) else { return nil }
            return varies ? shapeVaries(shape(e)) : false
        case .binary(let op, let l, let r):
            guard let a = shapeVaries(l), let b = shapeVaries(r) else { return nil }
            if !a && !b { return false }
            if op == .matmul {
                guard let x = shape(l), let y = shape(r), sizesAgree(x.cols, y.rows),
                    let m = sizeVaries(x.rows), let k = sizeVaries(x.cols), let n = sizeVaries(y.cols), [m, k, n].filter({ $0 }).count <= 1
                else { return nil }
            } else {
                guard operandShapeIsKnown(l), operandShapeIsKnown(r) else { return nil }
            }
            return shapeVaries(shape(e))
        case .call(let builtin, let arguments):
            var varies = false
            for (argument, spec) in zip(arguments, builtin.spec.arguments(count: arguments.count)) {
                if spec.role == .tileSize {
                    guard let size = sizeVaries(integer(argument)) else { return nil }
                    varies = varies || size
                } else if spec.role == .operand {
                    guard let v = shapeVaries(argument) else { return nil }
                    varies = varies || v
                }
            }
            guard varies else { return false }
            switch builtin.spec.counting {
            case .mask, .triangularInverse:
                return nil
            default:
                break
            }
            let operands = zip(arguments, builtin.spec.arguments(count: arguments.count)).filter { $1.role == .operand }.map(\.0)
            guard operands.allSatisfy({ operandShapeIsKnown($0) }) else { return nil }
            if builtin == .hcat || builtin == .take {
                guard arguments.count == 2, let a = shape(arguments[0]), let b = shape(arguments[1]),
                    sizesAgree(a.rows, b.rows) || (builtin == .take && sizesAgree(b.rows, .constant(1)))
                else { return nil }
            }
            return shapeVaries(shape(e))
        default:
            return false
        }
    }

    /// An operand whose shape `shape` knows, or a number (a literal, a parameter, an
    /// integer variable): what a broadcast's shape is computed from.
    mutating func operandShapeIsKnown(_ e: Expr) -> Bool {
        switch e.kind {
        case .integer, .float, .parameter:
            return true
        case .local(let slot):
            return values[slot] != nil || shapes[slot] != nil
        default:
            return shape(e) != nil
        }
    }

    /// Whether a slice's size varies over the box (at most one of its ranges may); nil
    /// when a length is unknown or may not vary here.
    mutating func accessVaries(_ access: TensorAccess) -> Bool? {
        var varying = 0
        for index in access.indices {
            guard case .range(let a, let b, _) = index else { continue }
            guard let lo = integer(a), let hi = integer(b), let varies = sizeVaries(hi - lo) else { return nil }
            if varies { varying += 1 }
        }
        return varying <= 1 ? varying == 1 : nil
    }

    /// A store whose slice or value varies in size: bytes linear in the one varying size.
    mutating func storeIsLinear(_ access: TensorAccess, _ value: Expr) -> Bool {
        accessVaries(access) != nil && shapeVaries(value) != nil
    }

    /// After a loop: a tile made varying inside it may not be carried (its next iteration
    /// would count a product of sizes and trips) and is unknown after the loop.
    mutating func loopKeepsShapes(_ carried: CarriedState, varyingBefore: Set<Int>) -> Bool {
        guard varyingSlots.count > varyingBefore.count else { return true }
        if carried.tileSlots.contains(where: varyingSlots.contains) { return false }
        for slot in varyingSlots.subtracting(varyingBefore) { shapes[slot] = nil }
        return true
    }
}
