/// An integer expression as constant + sum of coefficient x variable, over variables
/// that each range over an interval (grid axes, loop counters, or values only known to
/// lie in a range). Unlike intervals it keeps relations: (i + 1) - i is exactly 1.
struct AffineForm: Equatable {
    var constant: Int
    /// Variable index -> nonzero coefficient.
    var terms: [Int: Int]

    static func constant(_ c: Int) -> AffineForm { AffineForm(constant: c, terms: [:]) }
    static func variable(_ v: Int) -> AffineForm { AffineForm(constant: 0, terms: [v: 1]) }

    var isConstant: Bool { terms.isEmpty }

    static func + (a: AffineForm, b: AffineForm) -> AffineForm? {
        var result = a
        let (c, overflow) = a.constant.addingReportingOverflow(b.constant)
        if overflow { return nil }
        result.constant = c
        for (v, k) in b.terms {
            let (sum, o) = (result.terms[v] ?? 0).addingReportingOverflow(k)
            if o { return nil }
            result.terms[v] = sum == 0 ? nil : sum
        }
        return result
    }

    func scaled(by k: Int) -> AffineForm? {
        if k == 0 { return .constant(0) }
        let (c, overflow) = constant.multipliedReportingOverflow(by: k)
        if overflow { return nil }
        var result = AffineForm(constant: c, terms: [:])
        for (v, x) in terms {
            let (p, o) = x.multipliedReportingOverflow(by: k)
            if o { return nil }
            result.terms[v] = p
        }
        return result
    }

    static func - (a: AffineForm, b: AffineForm) -> AffineForm? {
        guard let negated = b.scaled(by: -1) else { return nil }
        return a + negated
    }

    /// floor(self / k) exactly, when every coefficient is a multiple of k.
    func dividedExactly(by k: Int) -> AffineForm? {
        guard k != 0, terms.values.allSatisfy({ $0 % k == 0 }) else { return nil }
        return AffineForm(constant: IntegerArithmetic.floorDivide(constant, k), terms: terms.mapValues { $0 / k })
    }
}
