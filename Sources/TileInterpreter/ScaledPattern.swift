import AttnNumerics

/// A block pattern read through a loop over key blocks j whose mask column is
/// floor(j / scale): a mask block spans `scale` key blocks (flash2's `block_size` over
/// Bc-key tiles). Scale 1 is the pattern itself.
struct ScaledPattern: Equatable {
    let pattern: BlockPattern
    let scale: Int

    /// The mask column of key block j.
    func column(_ j: Int) -> Int { IntegerArithmetic.floorDivide(j, scale) }

    /// Whether query row `i` computes key block j.
    func allows(_ i: Int, _ j: Int) -> Bool { pattern.allows(i, column(j)) }

    /// Key blocks j in [lo, hi) row `i` computes: whole mask columns scale blocks each,
    /// the partial columns at both ends by their share of the range. O(1).
    func keptCount(row i: Int, _ lo: Int, _ hi: Int) -> Int {
        guard scale > 1 else { return pattern.keptCount(row: i, lo, hi) }
        guard lo < hi else { return 0 }
        let first = column(lo), last = column(hi - 1)
        if first == last { return pattern.allows(i, first) ? hi - lo : 0 }
        // The blocks of the first and last columns inside [lo, hi) (each in [1, scale]:
        // exact in wrapping arithmetic).
        let head = (first &+ 1) &* scale &- lo, tail = hi &- last &* scale
        return (pattern.allows(i, first) ? head : 0) + pattern.keptCount(row: i, first + 1, last) * scale
            + (pattern.allows(i, last) ? tail : 0)
    }

    /// `BlockPattern.truths` over key blocks: the first kept and skipped columns, from
    /// where the range meets them.
    func truths(row i: Int, _ lo: Int, _ hi: Int) -> (trueCount: Int, firstTrue: Int?, firstFalse: Int?) {
        guard scale > 1 else { return pattern.truths(row: i, lo, hi) }
        guard lo < hi else { return (0, nil, nil) }
        let columns = pattern.truths(row: i, column(lo), column(hi - 1) + 1)
        let start = { (c: Int) in Swift.max(lo, c &* self.scale) }
        return (keptCount(row: i, lo, hi), columns.firstTrue.map(start), columns.firstFalse.map(start))
    }
}
