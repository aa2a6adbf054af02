import AttnNumerics
import TileLanguage

/// An `if block_mask(row, column, pattern, local, stride, density, seed)` testing key
/// block j of a loop: the column is j itself, or j * a / b with b a multiple of a (a mask
/// block spans b / a key blocks), and no other argument reads j.
struct BlockMaskTest {
    let row: Expr
    /// The pattern's five settings.
    let settings: [Expr]
    /// a and b of a column j * a / b; nil for the column j.
    let ratio: (numerator: Expr, denominator: Expr)?

    init?(_ condition: Expr, loopSlot slot: Int) {
        guard case .call(.blockMask, let arguments) = condition.kind, arguments.count == 7, !arguments[0].slots.contains(slot),
            !arguments[2...].contains(where: { $0.slots.contains(slot) })
        else { return nil }
        switch arguments[1].kind {
        case .local(slot):
            ratio = nil
        case .binary(.divide, let product, let denominator):
            guard case .binary(.multiply, let l, let r) = product.kind, !denominator.slots.contains(slot) else { return nil }
            if case .local(slot) = l.kind, !r.slots.contains(slot) {
                ratio = (r, denominator)
            } else if case .local(slot) = r.kind, !l.slots.contains(slot) {
                ratio = (l, denominator)
            } else {
                return nil
            }
        default:
            return nil
        }
        row = arguments[0]
        settings = Array(arguments[2...])
    }

    /// The pattern read through the column, from the values `value` gives the settings and
    /// the ratio's terms; nil when the pattern is invalid, a value unknown, or b not a
    /// positive multiple of a positive a.
    func resolve<E: Error>(_ value: (Expr) throws(E) -> Int?) throws(E) -> ScaledPattern? {
        var codes: [Int] = []
        for setting in settings {
            guard let v = try value(setting) else { return nil }
            codes.append(v)
        }
        guard let pattern = BlockPattern(code: codes[0], local: codes[1], stride: codes[2], densityPermille: codes[3], seed: codes[4]) else {
            return nil
        }
        guard let ratio else { return ScaledPattern(pattern: pattern, scale: 1) }
        guard let a = try value(ratio.numerator), let b = try value(ratio.denominator), a > 0, b > 0, b % a == 0 else { return nil }
        return ScaledPattern(pattern: pattern, scale: b / a)
    }
}
