import Testing
@testable import TileInterpreter

/// The sorted-array terms of `AffineForm` behave like the dictionary they replaced, and
/// interval multiplication takes the extremes of the four corner products.
struct AffineTermsTests {
    @Test func termsStaySortedAndDropRemovedVariables() {
        var terms: AffineTerms = [3: 2]
        terms[1] = 5
        terms[2] = -1
        #expect(terms.keys == [1, 2, 3])
        #expect(terms.values == [5, -1, 2])
        #expect(terms[2] == -1)
        #expect(terms[4] == nil)
        terms[2] = nil
        #expect(terms.keys == [1, 3])
        #expect(terms.count == 2)
        terms[3] = 7
        #expect(terms.values == [5, 7])
        #expect(terms.first?.key == 1)
        // Equal whatever the order the variables were set in.
        let other: AffineTerms = [3: 7, 1: 5]
        #expect(terms == other)
        #expect(terms != [1: 5, 3: 8])
        #expect(terms.mapValues { $0 * 2 } == [1: 10, 3: 14])
    }

    @Test func affineArithmeticCancelsAndScales() {
        // (x0 + 2 x1 + 3) + (x2 - x0) = 3 + 2 x1 + x2.
        let a = AffineForm(constant: 3, terms: [0: 1, 1: 2])
        let b = AffineForm(constant: 0, terms: [2: 1, 0: -1])
        let sum = a + b
        #expect(sum == AffineForm(constant: 3, terms: [1: 2, 2: 1]))
        #expect((a - a) == AffineForm.constant(0))
        #expect((a - a)?.isConstant == true)
        #expect(a.scaled(by: 3) == AffineForm(constant: 9, terms: [0: 3, 1: 6]))
        #expect(a.scaled(by: 0) == AffineForm.constant(0))
        #expect(AffineForm(constant: 0, terms: [0: Int.max]).scaled(by: 2) == nil)
        // (4 x0 + 7) / 2 = 2 x0 + floor(7 / 2); 3 x0 is not a multiple of 2.
        #expect(AffineForm(constant: 7, terms: [0: 4]).dividedExactly(by: 2) == AffineForm(constant: 3, terms: [0: 2]))
        #expect(AffineForm(constant: 0, terms: [0: 3]).dividedExactly(by: 2) == nil)
    }

    @Test func intervalProductTakesTheCornerExtremes() {
        #expect(IntInterval.multiply(IntInterval(-2, 3), IntInterval(4, 5)) == IntInterval(-10, 15))
        #expect(IntInterval.multiply(IntInterval(-2, 3), IntInterval(-5, -4)) == IntInterval(-15, 10))
        #expect(IntInterval.multiply(IntInterval(-3, -2), IntInterval(-5, 4)) == IntInterval(-12, 15))
        #expect(IntInterval.multiply(IntInterval(Int.max, Int.max), IntInterval(1, 2)) == nil)
    }
}
