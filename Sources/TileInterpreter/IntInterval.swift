/// A closed integer interval [lo, hi]: the values an integer expression takes over a box
/// of grid positions or loop iterations. Sound: every concrete value lies inside.
struct IntInterval: Equatable {
    var lo: Int
    var hi: Int

    init(_ lo: Int, _ hi: Int) {
        self.lo = lo
        self.hi = hi
    }

    init(point: Int) { self.init(point, point) }

    var isPoint: Bool { lo == hi }

    static let boolean = IntInterval(0, 1)

    /// Interval arithmetic; nil when a bound overflows (the caller treats nil as unknown).
    static func add(_ a: IntInterval, _ b: IntInterval) -> IntInterval? {
        let (lo, o1) = a.lo.addingReportingOverflow(b.lo)
        let (hi, o2) = a.hi.addingReportingOverflow(b.hi)
        return o1 || o2 ? nil : IntInterval(lo, hi)
    }

    static func subtract(_ a: IntInterval, _ b: IntInterval) -> IntInterval? {
        let (lo, o1) = a.lo.subtractingReportingOverflow(b.hi)
        let (hi, o2) = a.hi.subtractingReportingOverflow(b.lo)
        return o1 || o2 ? nil : IntInterval(lo, hi)
    }

    static func multiply(_ a: IntInterval, _ b: IntInterval) -> IntInterval? {
        // The four corner products, without building an array (a hot path of count mode).
        let (p1, o1) = a.lo.multipliedReportingOverflow(by: b.lo)
        let (p2, o2) = a.lo.multipliedReportingOverflow(by: b.hi)
        let (p3, o3) = a.hi.multipliedReportingOverflow(by: b.lo)
        let (p4, o4) = a.hi.multipliedReportingOverflow(by: b.hi)
        if o1 || o2 || o3 || o4 { return nil }
        return IntInterval(Swift.min(p1, p2, p3, p4), Swift.max(p1, p2, p3, p4))
    }

    /// Floor division by a nonzero constant: monotone in the dividend.
    static func divide(_ a: IntInterval, _ b: IntInterval) -> IntInterval? {
        guard b.isPoint, b.lo != 0 else { return nil }
        let x = IntegerArithmetic.floorDivide(a.lo, b.lo), y = IntegerArithmetic.floorDivide(a.hi, b.lo)
        return IntInterval(min(x, y), max(x, y))
    }

    static func ceilDivide(_ a: IntInterval, _ b: IntInterval) -> IntInterval? {
        guard b.isPoint, b.lo != 0 else { return nil }
        let x = IntegerArithmetic.ceilDivide(a.lo, b.lo), y = IntegerArithmetic.ceilDivide(a.hi, b.lo)
        return IntInterval(min(x, y), max(x, y))
    }

    static func remainder(_ a: IntInterval, _ b: IntInterval) -> IntInterval? {
        guard b.isPoint, b.lo > 0 else { return nil }
        let c = b.lo
        if IntegerArithmetic.floorDivide(a.lo, c) == IntegerArithmetic.floorDivide(a.hi, c) {
            return IntInterval(IntegerArithmetic.floorRemainder(a.lo, c), IntegerArithmetic.floorRemainder(a.hi, c))
        }
        return IntInterval(0, c - 1)
    }

    /// The truth of a comparison over all pairs: a point when decided, else [0, 1].
    static func compare(_ op: (Int, Int) -> Bool, _ a: IntInterval, _ b: IntInterval) -> IntInterval {
        // Decided when the comparison holds (or fails) at every corner and the relation is
        // monotone; checking the extreme pairs suffices for <, <=, >, >=; == and != need
        // points or disjoint intervals, handled by the caller through the same corners.
        let corners = [op(a.lo, b.lo), op(a.lo, b.hi), op(a.hi, b.lo), op(a.hi, b.hi)]
        if corners.allSatisfy({ $0 }) { return IntInterval(point: 1) }
        if corners.allSatisfy({ !$0 }) { return IntInterval(point: 0) }
        return .boolean
    }
}
