import AttnNumerics
import TileLanguage

/// Proofs by a condition's truth: iterations counted by the truth of a top-level `if`
/// (`partitioningCondition`), rows of a box counted by the key blocks a block-sparse mask
/// keeps (`countsArePartitioned`), and `block_mask` over intervals.
extension UniformityChecker {
    /// True when a block's counts are C + n K_kept + (T - n) K_skipped, where n is how many
    /// key blocks of one top-level loop a block-sparse mask keeps for the block's row:
    /// every site is constant over the box except that loop's `if block_mask(row, j,
    /// ...)`, whose row varies (an affine function of the axes), over a range [lo, hi) and
    /// pattern that do not, and the loop body is uniform over the box and the range under
    /// either truth. `rowPartition` then says which loop, range, pattern and row. Call
    /// once, on a fresh checker, after the axes' ranges are set.
    mutating func countsArePartitioned(_ block: PlannedBlock) -> Bool {
        allowsRowPartition = true
        axisVariables = ranges.count
        defer { allowsRowPartition = false }
        return isUniform(block) && rowPartition != nil
    }

    /// What an undecided `if` at the top of a loop body says about a range of iterations.
    enum ConditionSplit { case uniform, hopeless, unknown }

    /// A loop body whose top-level `if` is undecided over [lo, hi) (a block-sparse mask's
    /// `if block_mask(i, j, ...)`): when the condition reads only the loop variable (whose
    /// start is constant over the box) and values constant over the box, each iteration
    /// takes the same branch at every point of the box, so the range is uniform if the
    /// body is under either truth (the iterations are then counted by kind,
    /// `CountCompressor.runPartitioned`). When it also reads a value that varies over the
    /// box, halving a long range down to single iterations would cost O(range) and still
    /// fail: give up at once.
    mutating func conditionSplit(_ body: PlannedBlock, slot: Int, start: AffineForm, _ lo: Int, _ hi: Int) -> ConditionSplit {
        for condition in partitionCandidates(body, slot: slot, start: start, lo, hi) {
            // The loop variable is start + counter: the start must not vary over the box.
            let dependsOnBox = !start.isConstant || condition.slots.contains { $0 != slot && values[$0]?.isConstant != true }
            if dependsOnBox {
                if allowsRowPartition && loopDepth == 0 && rowPartition == nil,
                    let partition = rowPartition(body, of: condition, slot: slot, start: start, lo, hi) {
                    rowPartition = partition
                    return .uniform
                }
                return hi - lo > Self.longRange ? .hopeless : .unknown
            }
            if isUniformUnderEitherTruth(body, of: condition, slot: slot, start: start, lo, hi) { return .uniform }
        }
        return .unknown
    }

    /// The loop over j = start + k, k in [lo, hi), counted by `condition` when it is
    /// `block_mask(row, j, pattern...)` with the pattern constant over the box, the row an
    /// affine form in the box's axes (free of j), the start constant, and the body uniform
    /// over the box and the range under either truth (`countsArePartitioned`).
    mutating func rowPartition(
        _ body: PlannedBlock, of condition: Expr, slot: Int, start: AffineForm, _ lo: Int, _ hi: Int
    ) -> RowPartition? {
        guard start.isConstant, let test = BlockMaskTest(condition, loopSlot: slot) else { return nil }
        let savedFailure = mayFail
        defer { mayFail = savedFailure }
        mayFail = false
        guard let row = integer(test.row), row.terms.keys.allSatisfy({ $0 < axisVariables }) else { return nil }
        let pattern = test.resolve { (e: Expr) -> Int? in range(e).flatMap { $0.isPoint ? $0.lo : nil } }
        let (first, lowOverflow) = start.constant.addingReportingOverflow(lo)
        let (end, highOverflow) = start.constant.addingReportingOverflow(hi)
        guard !mayFail, !lowOverflow, !highOverflow, let pattern,
            isUniformUnderEitherTruth(body, of: condition, slot: slot, start: start, lo, hi)
        else { return nil }
        return RowPartition(slot: slot, pattern: pattern, row: row, lo: first, hi: end)
    }

    /// The `if`s at the top of a loop body its iterations [lo, hi) could be counted by:
    /// undecided over them, reading the loop variable and nothing the body assigns (the
    /// condition is evaluated before the body runs).
    mutating func partitionCandidates(_ body: PlannedBlock, slot: Int, start: AffineForm, _ lo: Int, _ hi: Int) -> [Expr] {
        let assigned = body.assignedSlots
        var candidates: [Expr] = []
        for statement in body.statements {
            guard case .conditional(let condition, _, _) = statement.kind else { continue }
            let slots = condition.slots
            guard slots.contains(slot), slots.isDisjoint(with: assigned) else { continue }
            let decided = withIterations(slot: slot, start: start, lo, hi) { $0.range(condition)?.isPoint ?? false } ?? false
            if !decided { candidates.append(condition) }
        }
        return candidates
    }

    /// Whether the body is uniform over [lo, hi) both where `condition` holds and where
    /// it does not.
    mutating func isUniformUnderEitherTruth(
        _ body: PlannedBlock, of condition: Expr, slot: Int, start: AffineForm, _ lo: Int, _ hi: Int
    ) -> Bool {
        let savedAssumption = assumption
        defer { assumption = savedAssumption }
        for holds in [true, false] {
            assumption = (condition, holds)
            if !bodyIsUniform(body, slot: slot, start: start, lo, hi) { return false }
        }
        return true
    }

    /// The top-level `if` of a loop body by whose truth the iterations [lo, hi) can be
    /// counted in two kinds (`CountCompressor.runPartitioned`): the body is uniform among
    /// the iterations of each kind. The values are a run's own, so the other slots are
    /// points and each iteration's truth is known.
    mutating func partitioningCondition(_ body: PlannedBlock, slot: Int, _ lo: Int, _ hi: Int) -> Expr? {
        for condition in partitionCandidates(body, slot: slot, start: .constant(0), lo, hi)
        where isUniformUnderEitherTruth(body, of: condition, slot: slot, start: .constant(0), lo, hi) {
            return condition
        }
        return nil
    }

    /// Ranges of iterations longer than this are not halved down to single iterations
    /// when an `if` that varies over the box makes them non-uniform (`conditionSplit`).
    static let longRange = 64
}

/// A top-level loop counted by a block-sparse mask whose row varies over a box
/// (`UniformityChecker.countsArePartitioned`): iterations j in [lo, hi) of the loop over
/// `slot`, kept where `pattern` allows (row, j), with the row an affine form in the box's
/// variables (`UniformityChecker.variable(ofAxis:)`).
struct RowPartition {
    var slot: Int
    var pattern: ScaledPattern
    var row: AffineForm
    var lo: Int
    var hi: Int
}
