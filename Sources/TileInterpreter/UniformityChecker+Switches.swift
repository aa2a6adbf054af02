import AttnNumerics
import TileLanguage

/// Where a `min` or `max` switches sides inside the box (`switchCuts`): the point a box is
/// cut at so that each piece takes one side everywhere.
extension UniformityChecker {
    /// Notes where max(a, b) or min(a, b) switches sides along a box variable, given the
    /// difference d = a - b whose sign is not the same over the box. Only a d that moves
    /// one way along one box variable is cut: a sum of that variable and of floor or
    /// ceiling divisions of it (`divisions`, nested ones included), every term turning the
    /// same way. Along it d changes sign once, from d(0) to d(last), both nonzero; the cut
    /// is at the first offset m where d(m) is 0 or has d(last)'s sign (found by bisection,
    /// each d(m) computed exactly): on the offsets before m the extremum takes one side,
    /// from m on the other (where the sides tie, the one that varies). nsa's attend starts
    /// its window at max(0, (p - w + 1) / lsel), the division from p = w - 1 on. The cut
    /// is a hint, as the fold periods are: each piece is proven as any box is.
    mutating func noteSwitch(_ difference: AffineForm) {
        var variable: Int?
        guard let direction = monotoneDirection(difference, along: &variable), direction != 0, let v = variable else { return }
        let last = ranges[v].hi
        guard ranges[v].lo == 0, last > 0, let first = value(of: difference, along: v, at: 0),
            let end = value(of: difference, along: v, at: last), first != 0, end != 0, (first > 0) != (end > 0)
        else { return }
        // The least m with d(m) = 0 or of d(last)'s sign (d(last) is).
        var (before, from) = (0, last)
        while from - before > 1 {
            let mid = before + (from - before) / 2
            guard let d = value(of: difference, along: v, at: mid) else { return }
            if d == 0 || (d > 0) == (end > 0) { from = mid } else { before = mid }
        }
        switchCuts[v, default: []].insert(from)
    }

    /// +1 when `form` never decreases as box variable `variable` grows (every other
    /// variable a division of it), -1 when it never increases, 0 when constant; nil when
    /// it holds another variable or terms that turn different ways. `variable` is the box
    /// variable met (set on the first).
    func monotoneDirection(_ form: AffineForm, along variable: inout Int?) -> Int? {
        var direction = 0
        for (v, c) in form.terms {
            let turn: Int
            if v < axisVariables {
                if let known = variable, known != v { return nil }
                variable = v
                turn = c > 0 ? 1 : -1
            } else if let fact = divisions[v], fact.k > 0, let inner = monotoneDirection(fact.x, along: &variable) {
                turn = c > 0 ? inner : -inner
            } else {
                return nil
            }
            if turn == 0 { continue }
            if direction != 0 && direction != turn { return nil }
            direction = turn
        }
        return direction
    }

    /// The value of `form` with box variable `variable` at `m`, every other variable a
    /// division of it (`ComputableForms`); nil on overflow or any other variable.
    func value(of form: AffineForm, along variable: Int, at m: Int) -> Int? {
        var axes = [Int](repeating: 0, count: axisVariables)
        axes[variable] = m
        return ComputableForms(divisions: divisions).value(form, axes: axes)
    }

    /// The offsets where some `min` or `max` switches sides (`noteSwitch`), by box
    /// dimension index.
    func switchOffsets() -> [Int: Set<Int>] {
        var offsets: [Int: Set<Int>] = [:]
        for (dimension, variable) in axisVariable {
            if let cuts = switchCuts[variable] { offsets[dimension] = cuts }
        }
        return offsets
    }
}
