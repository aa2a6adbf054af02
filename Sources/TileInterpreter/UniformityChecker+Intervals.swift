import AttnNumerics
import TileLanguage

/// Intervals of affine forms: the ranges of their variables, tightened by the linear facts
/// known inside an affine loop and by the relations of division variables.
extension UniformityChecker {
    /// The interval an affine form ranges over; nil on overflow.
    ///
    /// Each constraint g >= 0 on a counter v can tighten it (one Fourier-Motzkin step):
    /// with p = |g_v| and q = |a_v|, p a + q g (opposite signs) or p a - q g (same signs)
    /// has no v term, and g >= 0 gives a <= max(p a + q g) / p or a >= min(p a - q g) / p.
    /// This is how `(j + 1) B - 1 > i B` is decided false for every j < i at once.
    func interval(_ a: AffineForm) -> IntInterval? {
        guard var result = plainInterval(a) else { return nil }
        for constraint in constraints {
            guard let av = a.terms[constraint.counter], let gv = constraint.form.terms[constraint.counter] else { continue }
            let p = abs(gv), q = abs(av)
            let sameSign = (av > 0) == (gv > 0)
            guard let scaledA = a.scaled(by: p), let scaledG = constraint.form.scaled(by: sameSign ? -q : q),
                let combined = scaledA + scaledG, let bound = plainInterval(combined)
            else { continue }
            if sameSign {
                result.lo = Swift.max(result.lo, IntegerArithmetic.ceilDivide(bound.lo, p))
            } else {
                result.hi = Swift.min(result.hi, IntegerArithmetic.floorDivide(bound.hi, p))
            }
        }
        if !divisions.isEmpty, let substituted = intervalThroughDivisions(a) {
            result.lo = Swift.max(result.lo, substituted.lo)
            result.hi = Swift.min(result.hi, substituted.hi)
        }
        // An empty result means the constraints admit no point; stay with what is sound.
        return result.lo <= result.hi ? result : plainInterval(a)
    }

    /// The interval of `a` with each term c v of a division variable v = x / k whose
    /// coefficient c is a multiple of k written c / k (x - r) (floor) or c / k (x + r)
    /// (ceiling), r in [0, k - 1]; nil when no term qualifies or on overflow. The forms x
    /// only hold older variables, so the recursion ends.
    func intervalThroughDivisions(_ a: AffineForm) -> IntInterval? {
        var form = a
        var slack = IntInterval(point: 0)
        var substituted = false
        for (v, c) in a.terms {
            guard let fact = divisions[v], c % fact.k == 0 else { continue }
            let q = c / fact.k
            guard let scaled = fact.x.scaled(by: q), let withX = form + scaled,
                let remainder = IntInterval.multiply(IntInterval(fact.ceiling ? 0 : -(fact.k - 1), fact.ceiling ? fact.k - 1 : 0), IntInterval(point: q)),
                let total = IntInterval.add(slack, remainder)
            else { return nil }
            form = withX
            form.terms[v] = nil
            slack = total
            substituted = true
        }
        guard substituted, let rest = interval(form) else { return nil }
        return IntInterval.add(rest, slack)
    }

    /// The interval of an affine form from its variables' ranges alone.
    func plainInterval(_ a: AffineForm) -> IntInterval? {
        var result = IntInterval(point: a.constant)
        for (v, k) in a.terms {
            guard let term = IntInterval.multiply(ranges[v], IntInterval(point: k)), let sum = IntInterval.add(result, term) else { return nil }
            result = sum
        }
        return result
    }

    /// The interval of an integer expression.
    mutating func range(_ e: Expr) -> IntInterval? {
        integer(e).flatMap { interval($0) }
    }

    func truth(_ v: IntInterval) -> Bool? {
        if v.isPoint { return v.lo != 0 }
        if v.lo > 0 || v.hi < 0 { return true }
        return nil
    }
}
