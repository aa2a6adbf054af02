import AttnNumerics
import TileLanguage

/// Integer expressions as affine forms over the box's variables (what is not affine becomes
/// a fresh variable over its range), with the division facts and residue periods the
/// proofs rely on.
extension UniformityChecker {
    /// The affine form of an integer expression; nil for non-integers or when unknown.
    /// Operations that are not affine give a fresh variable over their result's range.
    mutating func integer(_ e: Expr) -> AffineForm? {
        switch e.kind {
        case .integer(let i): return .constant(i)
        case .parameter(let index):
            if case .int(let i) = parameters[index] { return .constant(i) }
            return nil
        case .local(let slot): return values[slot]
        case .unary(.negate, let operand):
            guard let a = integer(operand) else { return nil }
            return checked(a.scaled(by: -1))
        case .unary(.not, let operand):
            guard let v = range(operand) else { return nil }
            if v.isPoint { return .constant(v.lo == 0 ? 1 : 0) }
            if v.lo > 0 || v.hi < 0 { return .constant(0) }
            return fresh(.boolean)
        case .binary(let op, let l, let r):
            guard op != .matmul, let a = integer(l), let b = integer(r) else { return nil }
            return checked(binaryForm(op, a, b))
        case .call(let builtin, let arguments):
            // Only calls whose arguments are all integers give integers (min and max of
            // tiles do not).
            guard builtin.spec.result == .integer || builtin.spec.result == .broadcast else { return nil }
            var forms: [AffineForm] = []
            for argument in arguments {
                guard let form = integer(argument) else { return nil }
                forms.append(form)
            }
            return checked(callForm(builtin, forms))
        default:
            return nil
        }
    }

    /// `form` when it is known and its range fits in 64 bits; otherwise nil, noting that
    /// the operation that made it may fail somewhere in the box.
    mutating func checked(_ form: AffineForm?) -> AffineForm? {
        guard let form, form.isConstant || plainInterval(form) != nil else {
            mayFail = true
            return nil
        }
        return form
    }

    mutating func binaryForm(_ op: BinaryOperator, _ a: AffineForm, _ b: AffineForm) -> AffineForm? {
            switch op {
            case .add: return a + b
            case .subtract: return a - b
            case .multiply:
                if b.isConstant { return a.scaled(by: b.constant) }
                if a.isConstant { return b.scaled(by: a.constant) }
                return rangeOf(a, b, IntInterval.multiply)
            case .divide:
                if b.isConstant, let exact = a.dividedExactly(by: b.constant) { return exact }
                notePeriod(a, divisor: b)
                if b.isConstant, b.constant > 0 { return floorDivision(a, by: b.constant) }
                return noteDivision(rangeOf(a, b, IntInterval.divide), a, b, ceiling: false)
            case .remainder:
                if b.isConstant, b.constant > 0, a.terms.values.allSatisfy({ $0 % b.constant == 0 }) {
                    return .constant(IntegerArithmetic.floorRemainder(a.constant, b.constant))
                }
                notePeriod(a, divisor: b)
                return rangeOf(a, b, IntInterval.remainder)
            case .less, .lessEqual, .greater, .greaterEqual, .equal, .notEqual:
                // Decide on the range of the difference, which keeps relations.
                guard let difference = a - b, let d = interval(difference) else { return nil }
                let zero = IntInterval(point: 0)
                let truth: IntInterval
                switch op {
                case .less: truth = IntInterval.compare(<, d, zero)
                case .lessEqual: truth = IntInterval.compare(<=, d, zero)
                case .greater: truth = IntInterval.compare(>, d, zero)
                case .greaterEqual: truth = IntInterval.compare(>=, d, zero)
                case .equal: truth = d.isPoint ? IntInterval(point: d.lo == 0 ? 1 : 0) : (d.lo > 0 || d.hi < 0 ? IntInterval(point: 0) : .boolean)
                default: truth = d.isPoint ? IntInterval(point: d.lo != 0 ? 1 : 0) : (d.lo > 0 || d.hi < 0 ? IntInterval(point: 1) : .boolean)
                }
                return truth.isPoint ? .constant(truth.lo) : fresh(truth)
            case .and, .or:
                guard let x = interval(a), let y = interval(b) else { return nil }
                let p = truth(x), q = truth(y)
                if op == .and {
                    if p == false || q == false { return .constant(0) }
                    if p == true && q == true { return .constant(1) }
                } else {
                    if p == true || q == true { return .constant(1) }
                    if p == false && q == false { return .constant(0) }
                }
                return fresh(.boolean)
            case .matmul: return nil
            }
    }

    /// The form of an integer built-in's result; nil when unknown or when it may fail.
    mutating func callForm(_ builtin: Builtin, _ forms: [AffineForm]) -> AffineForm? {
        // The built-in's form comes from its definition (`Builtin.integerForm`).
        switch builtin.integerForm {
        case nil:
            return nil
        case .ceilingDivision?:
            let (a, b) = (forms[0], forms[1])
            if b.isConstant, b.constant != 0, let shifted = a + .constant(b.constant - 1), let exact = shifted.dividedExactly(by: b.constant) {
                return exact
            }
            notePeriod(a, divisor: b)
            // cdiv(a, k) = floor((a + k - 1) / k) for k > 0.
            if b.isConstant, b.constant > 0, let shifted = a + .constant(b.constant - 1), plainInterval(shifted) != nil {
                return floorDivision(shifted, by: b.constant)
            }
            return noteDivision(rangeOf(a, b, IntInterval.ceilDivide), a, b, ceiling: true)
        case .extremum(let isMinimum)?:
            let (a, b) = (forms[0], forms[1])
            guard let difference = a - b, let d = interval(difference) else { return nil }
            // Pick a side when the difference's sign is known over the box.
            if d.hi <= 0 { return isMinimum ? a : b }
            if d.lo >= 0 { return isMinimum ? b : a }
            noteSwitch(difference)
            if scansPeriods { return a.isConstant ? b : a }
            guard let x = interval(a), let y = interval(b) else { return nil }
            return fresh(isMinimum ? IntInterval(Swift.min(x.lo, y.lo), Swift.min(x.hi, y.hi)) : IntInterval(Swift.max(x.lo, y.lo), Swift.max(x.hi, y.hi)))
        case .ranges(let meaning)?:
            var ranges: [ClosedRange<Int>] = []
            for form in forms {
                guard let v = interval(form), v.lo <= v.hi else { return nil }
                ranges.append(v.lo...v.hi)
            }
            guard let r = meaning(ranges) else { return nil }
            return r.lowerBound == r.upperBound ? .constant(r.lowerBound) : fresh(IntInterval(r.lowerBound, r.upperBound))
        }
    }

    /// Notes the residue period on which `a / divisor` (floor, ceiling or remainder)
    /// becomes affine in the box's axes (see `residuePeriod`).
    mutating func notePeriod(_ a: AffineForm, divisor: AffineForm) {
        guard divisor.isConstant, divisor.constant != 0 else { return }
        let k = abs(divisor.constant)
        for (variable, coefficient) in a.terms where variable < axisVariables {
            let period = k / IntegerArithmetic.gcd(abs(coefficient), k)
            let known = residuePeriods[variable] ?? 1
            let combined = period / IntegerArithmetic.gcd(period, known) * known
            residuePeriods[variable] = Swift.min(combined, Self.maxResiduePeriod + 1)
        }
    }

    /// The residue period of a box dimension (see `residuePeriods`); 1 when no division
    /// by a constant involved it, above `maxResiduePeriod` when too long to split by.
    func residuePeriod(ofAxis axis: Int) -> Int {
        axisVariable[axis].flatMap { residuePeriods[$0] } ?? 1
    }

    /// The period of a box dimension through nested divisions (see `foldPeriods`); 1 when
    /// none, above `maxFoldPeriod` when too long to fold by.
    func foldPeriod(ofDimension dimension: Int) -> Int {
        axisVariable[dimension].flatMap { foldPeriods[$0] } ?? 1
    }

    /// floor(a / k) for a constant k > 0, as exactly as affine forms allow.
    ///
    /// A division variable v = floor(x / k1) with coefficient 1 goes back into its
    /// dividend: floor((floor(x / k1) + y) / k) = floor((x + k1 y) / (k1 k)) for an
    /// integer y (write x = k1 q + r, 0 <= r < k1: the fraction r / k1 < 1 never moves the
    /// floor of an integer over k). Quest's trip count cdiv(qpos / P + 1 - kp, Bp) is so
    /// one division of qpos by P Bp. Then the terms whose coefficients are multiples of k,
    /// and the constant's multiple of k, come out whole: floor((k q + y) / k) = q +
    /// floor(y / k). What is left, y, is a fresh variable over its range (a constant when
    /// the range holds one value), recorded as a division (`divisions`), and its period
    /// in each box variable is noted in `foldPeriods`. Exact: the result equals the floor
    /// at every point of the box.
    mutating func floorDivision(_ dividend: AffineForm, by divisor: Int) -> AffineForm? {
        var a = dividend, k = divisor
        while let (v, fact) = nestedDivision(in: a) {
            let k1 = fact.k
            let (product, overflow) = k1.multipliedReportingOverflow(by: k)
            guard !overflow, let x = fact.ceiling ? fact.x + .constant(k1 - 1) : fact.x,
                let y = a - .variable(v), let scaled = y.scaled(by: k1), let rewritten = x + scaled,
                plainInterval(rewritten) != nil
            else { break }
            a = rewritten
            k = product
        }
        var whole = AffineForm.constant(IntegerArithmetic.floorDivide(a.constant, k))
        var rest = AffineForm.constant(IntegerArithmetic.floorRemainder(a.constant, k))
        for (v, c) in a.terms {
            if c % k == 0 {
                whole.terms[v] = c / k
            } else {
                rest.terms[v] = c
            }
        }
        if rest.isConstant { return whole }
        noteFoldPeriod(rest, divisor: k)
        guard let span = interval(rest), let quotient = IntInterval.divide(span, IntInterval(point: k)) else { return nil }
        if quotient.isPoint { return whole + .constant(quotient.lo) }
        let w = fresh(quotient)
        divisions[ranges.count - 1] = (rest, k, false)
        return whole + w
    }

    /// A term of `a` with coefficient 1 whose variable is a floor or ceiling division by
    /// a positive constant (see `divisions`).
    private func nestedDivision(in a: AffineForm) -> (Int, (x: AffineForm, k: Int, ceiling: Bool))? {
        guard !divisions.isEmpty else { return nil }
        for (v, c) in a.terms where c == 1 {
            if let fact = divisions[v] { return (v, fact) }
        }
        return nil
    }

    /// Notes the period on which floor(a / k) is affine in each box variable of `a`
    /// (k / gcd(coefficient, k)), combined over every division of the proof.
    ///
    /// Where floor(a / k) steps along a variable is noted too (`runCuts`): for a = x + e
    /// (or e - x) with x the variable alone, the floor steps at the x where x + e (or
    /// e - x + 1) is a multiple of k, so at x = phase mod k. nsa's cmax = (p - l + 1) / s
    /// steps at p = 15 mod 16, not at multiples of 16: runs cut there keep it constant.
    /// Any other dividend (another variable beside x, a coefficient past 1) notes phase 0.
    mutating func noteFoldPeriod(_ a: AffineForm, divisor k: Int) {
        for (variable, coefficient) in a.terms where variable < axisVariables {
            let period = k / IntegerArithmetic.gcd(abs(coefficient), k)
            let known = foldPeriods[variable] ?? 1
            let combined = period / IntegerArithmetic.gcd(period, known)
            let (lcm, overflow) = combined.multipliedReportingOverflow(by: known)
            foldPeriods[variable] = overflow ? Self.maxFoldPeriod + 1 : Swift.min(lcm, Self.maxFoldPeriod + 1)
            runPeriods[variable] = Swift.min(runPeriods[variable] ?? period, period)
            var phase = 0
            if a.terms.count == 1, abs(coefficient) == 1 {
                // x + e is a multiple of k at x = -e mod k; e - x + 1 at x = e + 1 mod k.
                let shifted = coefficient == 1 ? 0.subtractingReportingOverflow(a.constant) : a.constant.addingReportingOverflow(1)
                if !shifted.overflow { phase = IntegerArithmetic.floorRemainder(shifted.partialValue, period) }
            }
            runCuts[variable, default: []].insert(RunCut(period: period, phase: phase))
        }
    }

    /// Records that `result`, when it is a fresh variable, is a / b for a positive
    /// constant b (see `divisions`).
    mutating func noteDivision(_ result: AffineForm?, _ a: AffineForm, _ b: AffineForm, ceiling: Bool) -> AffineForm? {
        if let result, b.isConstant, b.constant > 0, result.constant == 0, result.terms.count == 1,
            let term = result.terms.first, term.value == 1, term.key == ranges.count - 1 {
            divisions[term.key] = (a, b.constant, ceiling)
        }
        return result
    }

    /// A non-affine result: a fresh variable over the range `f` gives.
    mutating func rangeOf(_ a: AffineForm, _ b: AffineForm, _ f: (IntInterval, IntInterval) -> IntInterval?) -> AffineForm? {
        guard let x = interval(a), let y = interval(b), let r = f(x, y) else { return nil }
        return r.isPoint ? .constant(r.lo) : fresh(r)
    }
}
