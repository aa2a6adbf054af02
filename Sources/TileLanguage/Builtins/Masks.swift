import AttnNumerics

/// Masks: from positions (`mask_causal`, `mask_window`), which set hidden scores to -inf,
/// and from block indices (`block_mask`), which says whether a query block computes a key
/// block at all.
extension Builtin {
    static let masks: [Builtin] = [.maskCausal, .maskWindow, .blockMask]

    /// `mask_causal(s, q0, k0)` sets s[r, c] to -inf where key k0 + c lies after query
    /// q0 + r. An optional last argument p says positions repeat every p rows (row r is
    /// query q0 + r % p), for tiles that stack the query heads of a GQA group. One
    /// compare-and-select per element; hidden elements count as masked (`CountRule.mask`).
    public static let maskCausal = positionMask("mask_causal", windowed: false)

    /// `mask_window(s, q0, k0, w)` (optional row period last): also hides keys w or more
    /// positions before the query (a causal sliding window of width w).
    public static let maskWindow = positionMask("mask_window", windowed: true)

    /// `block_mask(i, j, pattern, local, stride, density, seed)` is 1 when query block i
    /// computes key block j (`BlockPattern`: pattern 0 dense, 1 local + strided, 2 random
    /// with density in permille). Counts nothing: the `if` it guards decides the counts.
    public static let blockMask = Builtin(
        "block_mask",
        BuiltinSpec(required: Array(repeating: ArgumentSpec("an argument", .integer), count: 7), result: .integer, counting: .none),
        .integer({ (x: [Int]) throws(BuiltinFailure) -> Int in
            guard let pattern = BlockPattern(code: x[2], local: x[3], stride: x[4], densityPermille: x[5], seed: x[6]) else {
                throw .invalid("'block_mask' pattern \(x[2]) is not 0 (dense), 1 (local + strided) or 2 (random)")
            }
            return pattern.allows(x[0], x[1]) ? 1 : 0
        }, form: .ranges(blockMaskRange)))

    /// `block_mask` over ranges of block indices: decided without enumerating when the
    /// pattern is dense, or local + strided with every pair on one side of the band and
    /// no strided column in range; a single pair is evaluated directly. The pattern's
    /// arguments must be single values.
    @Sendable private static func blockMaskRange(_ x: [ClosedRange<Int>]) -> ClosedRange<Int>? {
        guard x[2...].allSatisfy({ $0.lowerBound == $0.upperBound }) else { return nil }
        let (i, j) = (x[0], x[1])
        guard let pattern = BlockPattern(code: x[2].lowerBound, local: x[3].lowerBound, stride: x[4].lowerBound,
                                         densityPermille: x[5].lowerBound, seed: x[6].lowerBound) else { return nil }
        if i.lowerBound == i.upperBound && j.lowerBound == j.upperBound {
            let value = pattern.allows(i.lowerBound, j.lowerBound) ? 1 : 0
            return value...value
        }
        switch pattern {
        case .dense:
            return 1...1
        case .localStrided(let local, let stride):
            // Distance |i - j| over the box (a distance past 64 bits: either kind of block,
            // as far as this knows).
            let a = i.lowerBound.subtractingReportingOverflow(j.upperBound), b = j.lowerBound.subtractingReportingOverflow(i.upperBound)
            let c = i.upperBound.subtractingReportingOverflow(j.lowerBound), d = j.upperBound.subtractingReportingOverflow(i.lowerBound)
            let width = j.upperBound.subtractingReportingOverflow(j.lowerBound)
            guard !a.overflow, !b.overflow, !c.overflow, !d.overflow, !width.overflow, width.partialValue < Int.max else { return 0...1 }
            let minDistance = Swift.max(0, Swift.max(a.partialValue, b.partialValue))
            let maxDistance = Swift.max(c.partialValue, d.partialValue)
            if maxDistance < local { return 1...1 }
            // Does [j.lo, j.hi] hold a column with j % stride == stride - 1? Yes if it spans a
            // whole period, wraps past a multiple of stride, or ends on such a column.
            let loResidue = IntegerArithmetic.floorRemainder(j.lowerBound, Swift.max(stride, 1))
            let hiResidue = IntegerArithmetic.floorRemainder(j.upperBound, Swift.max(stride, 1))
            let stridedInRange = stride > 0 && (width.partialValue + 1 >= stride || loResidue > hiResidue || hiResidue == stride - 1)
            if minDistance >= local && !stridedInRange { return 0...0 }
            return 0...1
        case .random:
            return 0...1
        }
    }

    /// A mask by positions: row r of the scores holds query q0 + (r mod p), column c key
    /// k0 + c (`MaskGeometry`).
    private static func positionMask(_ name: String, windowed: Bool) -> Builtin {
        var required = [
            ArgumentSpec("the scores", .tile2D), ArgumentSpec("the first query position", .integer, .queryPosition),
            ArgumentSpec("the first key position", .integer, .keyPosition),
        ]
        if windowed { required.append(ArgumentSpec("the window", .integer, .setting)) }
        return Builtin(
            name,
            BuiltinSpec(
                required: required, optional: [ArgumentSpec("the row period", .integer, .setting)],
                result: .firstArgument, isElementwise: true, counting: .mask),
            .tile { call throws(Diagnostic) in
                guard let scores = try call.tile(0), scores.rank == 2 else { throw call.error("'\(name)' masks a 2-D tile") }
                var tile = scores.inRegisters
                let q0 = try call.integer(1), k0 = try call.integer(2)
                var window: Int?
                if windowed {
                    let w = try call.integer(3)
                    guard w > 0 else { throw call.error("the window of 'mask_window' must be positive, found \(w)", at: 3) }
                    window = w
                }
                var period = tile.rows
                let periodIndex = windowed ? 4 : 3
                if call.arguments.count > periodIndex {
                    period = try call.integer(periodIndex)
                    guard period > 0 else { throw call.error("the row period of '\(name)' must be positive, found \(period)", at: periodIndex) }
                }
                // Row r is query q0 + r % p: the query-key offset of each row must fit.
                let offset = try call.subtract(q0, k0, "the query-key offset q0 - k0")
                _ = try call.add(offset, Swift.min(tile.rows, period) - 1, "the last row's query-key offset q0 + r - k0")
                var masked = 0
                var data = tile.data
                for r in 0..<tile.rows {
                    let (lo, hi) = MaskGeometry.visibleColumns(row: r % period, cols: tile.cols, offset: offset, window: window)
                    masked += tile.cols - Swift.max(0, hi - lo)
                    if data != nil {
                        for c in 0..<tile.cols where c < lo || c >= hi { data?[r * tile.cols + c] = -.infinity }
                    }
                }
                tile.data = data
                return TileOutput(tile, hiddenElements: masked)
            })
    }
}

/// Which columns of a score tile a causal or sliding-window mask leaves visible.
package enum MaskGeometry {
    /// Row r holds query position q0 + r; column c holds key k0 + c, with `offset` = q0 -
    /// k0. Keys after the query are hidden, and with a window w > 0 so are keys w or more
    /// before it. Returns the visible columns as a half-open range lo ..< hi (empty when
    /// lo >= hi). Precondition: offset + r fits in 64 bits; nothing else is computed that
    /// could overflow (hi = min(cols, offset + r + 1), lo = max(0, offset + r - w + 1)).
    package static func visibleColumns(row r: Int, cols: Int, offset: Int, window: Int?) -> (Int, Int) {
        let position = offset + r
        let hi = position >= cols - 1 ? cols : position + 1
        let lo = window.map { position < $0 ? 0 : position - $0 + 1 } ?? 0
        return (lo, Swift.max(lo, hi))
    }
}
