/// An integer expression as constant + sum of coefficient x variable, over variables
/// that each range over an interval (grid axes, loop counters, or values only known to
/// lie in a range). Unlike intervals it keeps relations: (i + 1) - i is exactly 1.
struct AffineForm: Equatable {
    var constant: Int
    /// Variable index -> nonzero coefficient.
    var terms: AffineTerms

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

/// The terms of an affine form: variable index -> nonzero coefficient, kept as a short
/// array sorted by variable. Forms have a handful of terms, and count mode builds
/// millions of them, so this avoids a hash table (and its allocation) per form while
/// reading like a dictionary.
struct AffineTerms: Equatable, Sequence, ExpressibleByDictionaryLiteral {
    /// (variable, coefficient) pairs in increasing variable order, no zero coefficient.
    private var pairs: [(key: Int, value: Int)]

    init(dictionaryLiteral elements: (Int, Int)...) {
        pairs = []
        for (key, value) in elements { self[key] = value }
    }

    static func == (a: AffineTerms, b: AffineTerms) -> Bool {
        a.pairs.count == b.pairs.count && zip(a.pairs, b.pairs).allSatisfy { $0.key == $1.key && $0.value == $1.value }
    }

    var count: Int { pairs.count }
    var isEmpty: Bool { pairs.isEmpty }
    var first: (key: Int, value: Int)? { pairs.first }
    var keys: [Int] { pairs.map(\.key) }
    var values: [Int] { pairs.map(\.value) }

    /// The index of `key` in `pairs`, or where it would be inserted.
    private func position(of key: Int) -> (index: Int, found: Bool) {
        var index = 0
        while index < pairs.count {
            if pairs[index].key == key { return (index, true) }
            if pairs[index].key > key { break }
            index += 1
        }
        return (index, false)
    }

    /// The coefficient of a variable, nil when absent; setting nil removes it (callers
    /// store nil rather than zero, as with a dictionary).
    subscript(key: Int) -> Int? {
        get {
            let (index, found) = position(of: key)
            return found ? pairs[index].value : nil
        }
        set {
            let (index, found) = position(of: key)
            if let newValue {
                if found {
                    pairs[index].value = newValue
                } else if index == pairs.count {
                    pairs.append((key, newValue))
                } else {
                    pairs.insert((key, newValue), at: index)
                }
            } else if found {
                pairs.remove(at: index)
            }
        }
    }

    func mapValues(_ transform: (Int) throws -> Int) rethrows -> AffineTerms {
        var result = self
        for index in result.pairs.indices { result.pairs[index].value = try transform(result.pairs[index].value) }
        return result
    }

    func makeIterator() -> IndexingIterator<[(key: Int, value: Int)]> { pairs.makeIterator() }
}
