import AttnNumerics
import TileLanguage

/// The summed-loop proof (`countsAreSummed`): a box whose blocks differ only in how many
/// iterations of each kind one top-level loop runs. Every statement outside that loop
/// is uniform over the box; the loop's range [lo, lo + T) may vary over the box (lo and T
/// computable at each block from its coordinates); its first p and last t iterations
/// count alike across the box, one kind per position, and the iterations between them
/// count alike across the box and each other; and when the loop body starts with `if
/// block_mask(row, j, ...)` (row computable from the coordinates, the pattern constant)
/// each of those kinds splits in two by the mask's truth. A block then counts
///
///     P + sum over kinds of (its iterations of that kind) x K_kind,
///
/// P its statements outside the loop, and the box sums to V P + sum of M_kind K_kind, M
/// counted from the coordinates alone (`CountCompressor.summedBoxCounts`). Causal and
/// ragged block-sparse masks are such boxes: the mask's kept and skipped key blocks
/// between a diagonal (or ragged) tail whose truth varies from row to row.
extension UniformityChecker {
    /// True when the block's counts are summed as above; `summedLoop` then says which
    /// loop and how. Call once, on a fresh checker, after the axes' ranges are set.
    mutating func countsAreSummed(_ block: PlannedBlock) -> Bool {
        allowsSummedLoop = true
        axisVariables = ranges.count
        defer { allowsSummedLoop = false }
        return isUniform(block) && summedLoop != nil
    }

    /// The summed-loop proof for a top-level loop of `body` over `slot`: finds the edges
    /// and the mask condition, and records them in `summedLoop`.
    mutating func summedLoopIsUniform(_ body: PlannedBlock, slot: Int, lower: AffineForm, upper: AffineForm) -> Bool {
        guard let trips = upper - lower, isComputable(lower), isComputable(trips), let span = interval(trips), span.lo >= 0 else {
            return false
        }
        let mask = maskCondition(body, slot: slot)
        let condition = mask?.condition
        // Every iteration's kind and truth at every point of the box, proven per kind.
        func edgesHold(_ checker: inout UniformityChecker, _ prefix: Int, _ tail: Int) -> Bool {
            guard span.lo >= prefix + tail, let tailStart = lower + trips, let start = tailStart - .constant(tail) else { return false }
            return checker.middleHolds(body, slot: slot, lower: lower, trips: trips, span: span, prefix: prefix, tail: tail, condition: condition)
                && (prefix == 0 || checker.eitherTruth(condition) { $0.rangeIsUniform(body, slot: slot, start: lower, 0, prefix) })
                && (tail == 0 || checker.eitherTruth(condition) { $0.rangeIsUniform(body, slot: slot, start: start, 0, tail) })
        }
        for edges in 0...Swift.min(Self.maxEdges, span.lo) {
            for prefix in 0...edges where edgesHold(&self, prefix, edges - prefix) {
                summedLoop = SummedLoop(
                    bodyID: body.id, lower: lower, trips: trips, prefix: prefix, tail: edges - prefix, mask: mask,
                    forms: ComputableForms(divisions: divisions))
                return true
            }
        }
        // A longer edge on one side (Br / Bc masked key blocks at a causal diagonal),
        // the shortest that leaves the middle uniform found by bisection, as in
        // `affineLoopIsUniform`.
        let widest = Swift.min(Self.maxLongEdge, span.lo)
        guard widest > Self.maxEdges else { return false }
        for tailSide in [true, false] {
            func middle(_ checker: inout UniformityChecker, _ edge: Int) -> Bool {
                checker.middleHolds(
                    body, slot: slot, lower: lower, trips: trips, span: span, prefix: tailSide ? 0 : edge, tail: tailSide ? edge : 0,
                    condition: condition)
            }
            guard middle(&self, widest) else { continue }
            var (failing, holding) = (Self.maxEdges, widest)
            while holding - failing > 1 {
                let mid = failing + (holding - failing) / 2
                if middle(&self, mid) { holding = mid } else { failing = mid }
            }
            let (prefix, tail) = tailSide ? (0, holding) : (holding, 0)
            if edgesHold(&self, prefix, tail) {
                summedLoop = SummedLoop(
                    bodyID: body.id, lower: lower, trips: trips, prefix: prefix, tail: tail, mask: mask,
                    forms: ComputableForms(divisions: divisions))
                return true
            }
        }
        return false
    }

    /// The iterations between the edges, j = lower + prefix + k for k < trips - prefix -
    /// tail, uniform over the box and k together (under either truth of `condition`);
    /// true when there are none anywhere.
    mutating func middleHolds(
        _ body: PlannedBlock, slot: Int, lower: AffineForm, trips: AffineForm, span: IntInterval, prefix: Int, tail: Int, condition: Expr?
    ) -> Bool {
        let longest = span.hi - prefix - tail
        guard longest > 0 else { return true }
        guard let start = lower + .constant(prefix), let rest = trips - .constant(prefix + tail) else { return false }
        return eitherTruth(condition) { $0.middleIsUniform(body, slot: slot, lower: start, trips: rest, longest: longest) }
    }

    /// `check` under each truth of `condition` (taken as known where the body tests it),
    /// or once when there is none.
    mutating func eitherTruth(_ condition: Expr?, _ check: (inout UniformityChecker) -> Bool) -> Bool {
        guard let condition else { return check(&self) }
        let saved = assumption
        defer { assumption = saved }
        for holds in [true, false] {
            assumption = (condition, holds)
            if !check(&self) { return false }
        }
        return true
    }

    /// The `if block_mask(row, j, ...)` at the top of a loop body over j whose row is
    /// computable from the box's coordinates and whose pattern is constant over the box
    /// (read before the body assigns anything).
    mutating func maskCondition(_ body: PlannedBlock, slot: Int) -> SummedLoop.Mask? {
        let assigned = body.assignedSlots
        for statement in body.statements {
            guard case .conditional(let condition, _, _) = statement.kind, let test = BlockMaskTest(condition, loopSlot: slot),
                condition.slots.isDisjoint(with: assigned)
            else { continue }
            let savedFailure = mayFail
            defer { mayFail = savedFailure }
            guard let row = integer(test.row), isComputable(row),
                let pattern = test.resolve({ (e: Expr) -> Int? in range(e).flatMap { $0.isPoint ? $0.lo : nil } }), !mayFail
            else { continue }
            return SummedLoop.Mask(condition: condition, row: row, pattern: pattern)
        }
        return nil
    }

    /// Whether a form's value at every point of the box follows from the point's
    /// coordinates: its variables are the box's axes, or floor or ceiling divisions of
    /// such forms by constants (`divisions`).
    func isComputable(_ form: AffineForm) -> Bool {
        form.terms.allSatisfy { variable, _ in
            variable < axisVariables || divisions[variable].map { isComputable($0.x) } ?? false
        }
    }
}

/// A top-level loop whose iterations a box counts by kind (`UniformityChecker.countsAreSummed`).
struct SummedLoop {
    /// The block's loop condition `if block_mask(row, j, ...)` and what it reads.
    struct Mask {
        var condition: Expr
        /// The row, in the box's variables.
        var row: AffineForm
        var pattern: ScaledPattern
    }

    /// The loop body's id (`PlannedBlock.id`): how `CountCompressor` recognizes the loop.
    var bodyID: Int
    /// j's first value and the trip count, in the box's variables.
    var lower: AffineForm
    var trips: AffineForm
    /// Iterations set apart at the start and at the end, each a kind of its own.
    var prefix: Int
    var tail: Int
    var mask: Mask?
    /// What computes the forms at a point of the box (the checker's division variables
    /// when the proof held).
    var forms: ComputableForms
}
