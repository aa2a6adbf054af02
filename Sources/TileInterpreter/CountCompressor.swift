import AttnNumerics
import TileLanguage

/// How a loop's iterations are run when some may be counted once and multiplied.
protocol LoopCompression: AnyObject {
    func runLoop(_ executor: BlockExecutor, slot: Int, _ lo: Int, _ hi: Int, body: PlannedBlock, carried: CarriedState) throws(Diagnostic)
}

/// Count mode's compression: decides which thread blocks and loop iterations to run and
/// how many times each counts, and only ever runs them through the `BlockExecutor`.
///
/// A box of blocks that `UniformityChecker` proves uniform is counted from one block; a
/// box whose counts it proves affine in the coordinates from its centre or two corners;
/// anything else is split — into residue classes when a trip count is affine only on
/// every k-th block, in two otherwise — down to single blocks, which run as in an
/// exhaustive replay. Loops are split into ranges of iterations the same way, or counted
/// by the truth of an `if` at the top of their body (block-sparse masks). Nothing is ever
/// estimated: the counters equal an exhaustive replay's (docs/ARCHITECTURE.md), and a
/// box fails where the exhaustive replay would.
final class CountCompressor: LoopCompression {
    let executor: BlockExecutor
    let plan: KernelPlan

    init(executor: BlockExecutor, plan: KernelPlan) {
        self.executor = executor
        self.plan = plan
    }

    private var bound: BoundProgram { executor.bound }
    private var kernel: KernelDecl { plan.kernel }

    /// Sensitive grid axes this short or shorter (FlashAttention-2 splits the keys at most
    /// 128 ways), and at least 16 times shorter than the longest, are split first.
    static let shortAxis = 128

    /// A checker for the kernel over a box of its grid.
    func boxChecker(_ box: GridBox) -> UniformityChecker {
        var checker = UniformityChecker(bound: bound, kernel: kernel, box: box)
        checker.tracksShapes = plan.tracksShapes
        return checker
    }

    /// A checker over the running block's own values (every slot a point, every live
    /// tile its shape).
    private func loopChecker() -> UniformityChecker {
        var checker = UniformityChecker(
            parameters: bound.parameterValues, tensorShapes: bound.tensorShapes, dataSlots: kernel.dataSlots,
            env: executor.integerEnvironment)
        checker.tracksShapes = plan.tracksShapes
        if plan.tracksShapes {
            for (slot, tile) in executor.env.tiles() {
                checker.shapes[slot] = TileShape(rows: .constant(tile.rows), cols: .constant(tile.cols))
            }
        }
        return checker
    }

    /// Counts every block of the kernel's grid into the executor's counters.
    func countGrid(extents: [Int]) throws(Diagnostic) {
        executor.loops = self
        defer { executor.loops = nil }
        if let split = plan.tiledSplit, extents.indices.contains(split.axis), extents[split.axis] > 1 {
            let saved = executor.counters
            do {
                if try countTiled(split, extents: extents) { return }
            } catch let error where error.kind == .budget {
                throw error
            } catch {
                // Any failure is reported by the plain count below, where it happens.
            }
            executor.counters = saved
            executor.loops = self
        }
        try countBox(GridBox(extents: extents))
    }

    // MARK: Split key ranges

    /// The top-level loop whose every iteration must leave the carried state as it found
    /// it (`countTiled`), and whether one did not.
    private var watchedLoop: Int?
    private var watchedLoopChangedState = false

    /// While a box is counted by its summed loop (`summedBoxCounts`): that loop's body
    /// and the iterations a block runs of it, what each counted, and whether one changed
    /// the carried state.
    var summing: (bodyID: Int, iterations: [Int])?
    var summedIterations: [Int: Counters] = [:]
    var summedIterationChangedState = false

    /// Counts a grid whose loop's key ranges tile along the split axis s (`TiledSplit`):
    /// the blocks of split 0, each with its loop running to min(B, jlo + S P) — every
    /// iteration any of its S splits runs, once — and the blocks of splits 1 ..< S with
    /// no iteration (their prologue and epilogue). That is the grid's count when every
    /// block starts its loop in the same state (the prologue does not depend on s) and no
    /// iteration changes it: each iteration then counts the same in any split, and the
    /// epilogue after it as after none. An iteration that changes the state: false (count
    /// the grid plainly). Each part is compressed like any grid.
    private func countTiled(_ split: TiledSplit, extents: [Int]) throws(Diagnostic) -> Bool {
        let location = plan.body.statements[split.loop].location
        let splits = extents[split.axis]
        let merged = CountCompressor(executor: executor, plan: plan.withSplitLoopUpper(split, split.mergedUpper(splits: splits, at: location)))
        merged.watchedLoop = split.loopSlot
        var first = GridBox(extents: extents)
        first.count[split.axis] = 1
        executor.loops = merged
        try merged.countBox(first)
        executor.loops = self
        if merged.watchedLoopChangedState { return false }
        let rest = CountCompressor(executor: executor, plan: plan.withSplitLoopUpper(split, split.emptyUpper(at: location)))
        var others = GridBox(extents: extents)
        others.start[split.axis] = 1
        others.count[split.axis] = splits - 1
        executor.loops = rest
        try rest.countBox(others)
        executor.loops = self
        return true
    }

    /// Notes an iteration of the watched loop that changed the carried state.
    private func noteStateChange(slot: Int) {
        if slot == watchedLoop { watchedLoopChangedState = true }
    }

    /// Adds `counters` counted `times` times to the running totals, or fails naming the
    /// counter that passed 2^63 - 1.
    func add(_ counters: Counters, times: Int = 1) throws(Diagnostic) {
        do {
            try executor.counters.add(counters, times: times)
        } catch {
            throw executor.overflowError(error)
        }
    }

    // MARK: Boxes of blocks

    /// Counts `pieces` that together make `box`, in the order given. They need not be in
    /// row-major order, so a failure (other than the budget's) is reported as the
    /// exhaustive replay would: the first failing block of `box` (`firstFailure`).
    private func countPieces(_ pieces: [GridBox], of box: GridBox) throws(Diagnostic) {
        do {
            for piece in pieces { try countBox(piece) }
        } catch let error where error.kind == .budget {
            throw error
        } catch {
            throw firstFailure(in: box, else: error)
        }
    }

    /// The error the exhaustive replay reports for a box whose affine sum failed: the
    /// failure of its first failing block in row-major order (the centre or a corner may
    /// lie further in). `fallback` if no block fails on its own, and at once when it is a
    /// counter overflow: that is the totals' (a sum over the box past 2^63 - 1, as
    /// deepseek-v3's prefill at 32M tokens), which no block's replay finds, and walking
    /// every block of a box that large without compression would not end.
    func firstFailure(in box: GridBox, else fallback: Diagnostic) -> Diagnostic {
        if fallback.kind == .overflow { return fallback }
        executor.loops = nil
        executor.watchesCarriedState = false
        defer { executor.loops = self }
        for index in 0..<box.volume {
            do {
                _ = try executor.countBlock(plan, box.point(atIndex: index))
            } catch {
                return error
            }
        }
        return fallback
    }

    /// Counts the blocks of a box: one representative when the box is provably uniform,
    /// two (or the centre) when its counts are provably affine in the coordinates, else
    /// the box split along an axis that matters: into residue classes when a loop's trip
    /// count failed only for not being affine, in two otherwise.
    private func countBox(_ box: GridBox) throws(Diagnostic) {
        let volume = box.volume
        if volume == 0 { return }
        if volume == 1 {
            try executor.runBlock(plan, box.first)
            return
        }
        // One fresh checker for the box, copied for each proof (a copy of an unused
        // checker is the same as a new one, and costs no rebuilding of its variables).
        let fresh = boxChecker(box)
        var checker = fresh
        let uniform = checker.isUniform(plan.body)
        try executor.spend(checker.steps)
        if uniform {
            try add(try executor.countBlock(plan, box.first), times: volume)
            return
        }
        var affine = fresh
        let affineHolds = affine.countsAreAffine(plan.body)
        try executor.spend(affine.steps)
        if affineHolds {
            let counted: Counters?
            do {
                counted = try affineBoxCounts(box, varyingSizes: affine.sawAffineShape, varyingTrips: affine.sawAffineLoop, emptyMiddles: affine.sawEmptyMiddle)
            } catch {
                throw firstFailure(in: box, else: error)
            }
            if let counted {
                try add(counted)
                return
            }
        }
        var partitioned = fresh
        let partitionHolds = plan.hasBlockMask && partitioned.countsArePartitioned(plan.body)
        try executor.spend(partitioned.steps)
        if partitionHolds, let partition = partitioned.rowPartition, let counted = try partitionedBoxCounts(box, partition, checker: partitioned) {
            try add(counted)
            return
        }
        var summed = fresh
        let summedHolds = summed.countsAreSummed(plan.body)
        try executor.spend(summed.steps)
        if summedHolds, let loop = summed.summedLoop, let counted = try summedBoxCounts(box, loop, checker: summed) {
            try add(counted)
            return
        }
        if plan.tracksShapes {
            var banded = fresh
            let bandHolds = banded.countsAreBanded(plan.body)
            try executor.spend(banded.steps)
            if bandHolds, let band = banded.maskBand, let counted = try bandedBoxCounts(box, band, checker: banded) {
                try add(counted)
                return
            }
        }
        // Split a sensitive axis first (largest extent), so that axes that cannot change
        // the counts (heads, batch) stay whole.
        let candidates = box.count.indices.filter { box.count[$0] > 1 }
        let sensitive = candidates.filter { isSensitive(box, $0) }
        if try peelLastSlices(box, along: sensitive) { return }
        if !affineHolds, try peelLastOffset(box, sensitive: sensitive) { return }
        // A short sensitive axis beside a long one (the splits of split-KV decoding beside
        // the query blocks) is taken apart first: each of its values is then often affine
        // in the long one.
        let longest = sensitive.map { box.count[$0] }.max() ?? 0
        let short = candidates.filter { isSensitive(box, $0) && box.count[$0] <= Self.shortAxis && 16 * box.count[$0] <= longest }
        let axis = short.min { box.count[$0] < box.count[$1] } ?? candidates.max { a, b in
            (isSensitive(box, a) ? 1 : 0, box.count[a]) < (isSensitive(box, b) ? 1 : 0, box.count[b])
        } ?? 0
        if affine.sawNonAffineTripCount, let classes = try affineResidueClasses(box, along: axis, period: affine.residuePeriod(ofAxis: axis)) {
            for part in classes { try countBox(part) }
            return
        }
        if plan.hasBlockMask, try countSummedResidueClasses(box, along: axis, period: summed.residuePeriod(ofAxis: axis)) { return }
        // Before halving: a long period through nested divisions folds the box.
        // (Kernels whose splits tile a key range, `countTiled`, keep halving: their merged
        // grids' boxes are affine by halves, and folding them cost more.)
        var switches = affine.switchOffsets()
        if plan.tiledSplit == nil, box.isFolded || box.volume > 2 * UniformityChecker.maxResiduePeriod {
            var scan = fresh
            let periods = scan.foldPeriods(of: plan.body)
            try executor.spend(scan.steps)
            if try countFolded(box, periods: periods) { return }
            switches.merge(scan.switchOffsets()) { $0.union($1) }
        }
        if try countSwitched(box, switches: switches) { return }
        let (low, high) = box.halves(along: axis)
        try countBox(low)
        try countBox(high)
    }

    /// The runs at the start of a folded dimension counted apart (`countFolded`).
    static let foldEdges = 2

    /// Whether a dimension of the box belongs to a grid axis that can change the counts.
    private func isSensitive(_ box: GridBox, _ dimension: Int) -> Bool {
        plan.axisIsSensitive[box.axisOf[dimension]]
    }

    /// Counts a box by folding a dimension whose counts repeat with a long period, or, once
    /// folded, by its edges and runs; false (nothing counted) when neither applies.
    ///
    /// A dimension whose divisions, nested ones included, all repeat every P points
    /// (`UniformityChecker.foldPeriods(of:)`; quest's select every P Bp = 4,096 queries,
    /// moba's attend every B = 512) with P past what residue classes split by and the
    /// dimension at least 2 P long is folded (`GridBox.folded`): m = P t + r, the runs t
    /// and the offset r in a run as two dimensions, and the last count mod P points apart.
    /// Along t a block's counts are then affine except where a `min` or `max` switches
    /// (the first run, whose trip count is clamped at zero, and the last), so the first
    /// `foldEdges` runs and the last are set apart (in the middle an affine trip count is
    /// then at least 2, room for an edge iteration), and in a folded box the offset
    /// dimension is cut into runs at the points where its divisions step
    /// (`FoldPeriod.runStarts`: quest's qpos / P every 16 queries; nsa's cmax = (p - 31) /
    /// 16 at p = 15 mod 16 beside its p / 64 at multiples of 64), each of which the affine
    /// proof then counts whole along t: the number of pieces depends on the period, not
    /// on N. A dimension with a long period but too
    /// short to fold (a ragged remainder) is cut into such runs too. Every piece is
    /// counted like any box, and a failure is the first failing block's in row-major
    /// order, as in an exhaustive replay.
    private func countFolded(_ box: GridBox, periods: [Int: FoldPeriod]) throws(Diagnostic) -> Bool {
        let dimensions = box.count.indices.filter { box.count[$0] > 1 && isSensitive(box, $0) }
        var pieces: [GridBox] = []
        let foldable = dimensions.filter { d in
            guard let period = periods[d]?.period else { return false }
            return period > UniformityChecker.maxResiduePeriod && period <= UniformityChecker.maxFoldPeriod && box.count[d] >= 2 * period
        }
        if let d = foldable.max(by: { box.count[$0] < box.count[$1] }), let period = periods[d]?.period {
            let (core, remainder) = box.folded(d, period: period)
            // The first two runs and the last apart (row-major order: those first, the
            // middle, the last): a trip count affine in t is then at least 2 in the middle,
            // room for an edge iteration.
            if core.count[d] > Self.foldEdges + 1 {
                var middle = core, last = core
                for t in 0..<Self.foldEdges {
                    var slice = core
                    slice.start[d] += core.stride[d] * t
                    slice.count[d] = 1
                    pieces.append(slice)
                }
                middle.start[d] += core.stride[d] * Self.foldEdges
                middle.count[d] -= Self.foldEdges + 1
                last.start[d] += core.stride[d] * (core.count[d] - 1)
                last.count[d] = 1
                pieces += [middle, last]
            } else {
                pieces = [core]
            }
            if let remainder { pieces.append(remainder) }
        } else if let d = box.isFolded ? dimensions.min(by: { box.stride[$0] < box.stride[$1] })
                    : dimensions.filter({ (periods[$0]?.period ?? 1) > UniformityChecker.maxResiduePeriod }).max(by: { box.count[$0] < box.count[$1] }),
            let starts = periods[d]?.runStarts(count: box.count[d]), starts.count > 1
        {
            // The offset dimension (the shortest stride), or a dimension with a long period
            // too short to fold (a ragged remainder), in runs between the points where its
            // divisions step.
            pieces = box.runs(along: d, startingAt: starts)
        }
        guard !pieces.isEmpty else { return false }
        try countPieces(pieces, of: box)
        return true
    }

    /// A box cut where a `min` or `max` switches sides (`UniformityChecker.noteSwitch`)
    /// along a sensitive dimension: nsa's attend starts its window at max(0, (p - w + 1) /
    /// lsel), 0 on the queries before p = w - 1 and the division from there on, so
    /// no box holding both sides is affine, even by residue classes, and halving it
    /// would cut once per doubling of N. Cut there, each piece takes one side. The
    /// longest such dimension is cut at each of its offsets; false (nothing counted) when
    /// no offset lies inside the box.
    private func countSwitched(_ box: GridBox, switches: [Int: Set<Int>]) throws(Diagnostic) -> Bool {
        let cuts = switches.compactMap { d, offsets -> (dimension: Int, offsets: [Int])? in
            guard box.count.indices.contains(d), isSensitive(box, d) else { return nil }
            let inside = offsets.filter { $0 > 0 && $0 < box.count[d] }.sorted()
            return inside.isEmpty ? nil : (d, inside)
        }
        guard let cut = cuts.max(by: { box.count[$0.dimension] < box.count[$1.dimension] }) else { return false }
        // The pieces are in row-major order only when the dimension is the outermost: a
        // failure is the first failing block's.
        try countPieces(box.runs(along: cut.dimension, startingAt: [0] + cut.offsets), of: box)
        return true
    }

    /// A box whose blocks count alike but for the last slice along some of `axes` (ragged
    /// last tiles: on a 2-D grid halving would cut along one axis while the other's
    /// ragged slice stays in every piece): when the box without the last slice along
    /// every one of `axes` is uniform, counts that core once and each peeled slice as a
    /// box of its own. False (nothing counted) otherwise.
    private func peelLastSlices(_ box: GridBox, along axes: [Int]) throws(Diagnostic) -> Bool {
        guard !axes.isEmpty else { return false }
        var core = box
        for axis in axes { core.count[axis] -= 1 }
        var checker = boxChecker(core)
        let uniform = checker.isUniform(plan.body)
        try executor.spend(checker.steps)
        guard uniform else { return false }
        var rest = box
        var slices: [GridBox] = []
        for axis in axes {
            var slice = rest
            slice.start[axis] = rest.start[axis] + rest.stride[axis] * (rest.count[axis] - 1)
            slice.count[axis] = 1
            rest.count[axis] -= 1
            slices.append(slice)
        }
        // The pieces are not in row-major order: a failure is the first failing block's.
        try countPieces([rest] + slices, of: box)
        return true
    }

    /// A folded box (`countFolded`) whose counts are affine but at the last offset of its
    /// run: moba's own-block loop masks its last tile behind an `if` that is true for
    /// every query of a run of Bt but the last (whose tile ends at the query). When the box
    /// itself is not affine (the caller's proof failed) but the box without its last slice
    /// along the offset dimension (the shortest stride) is, counts that core and the slice
    /// as boxes of their own, so the runs along t stay whole (halving would cut t down, in
    /// pieces that grow with N). False (nothing counted) otherwise.
    private func peelLastOffset(_ box: GridBox, sensitive: [Int]) throws(Diagnostic) -> Bool {
        guard box.isFolded, let d = sensitive.min(by: { box.stride[$0] < box.stride[$1] }) else { return false }
        var core = box
        core.count[d] -= 1
        var checker = boxChecker(core)
        let affine = checker.countsAreAffine(plan.body)
        try executor.spend(checker.steps)
        guard affine else { return false }
        var slice = box
        slice.start[d] = box.start[d] + box.stride[d] * (box.count[d] - 1)
        slice.count[d] = 1
        // The pieces are not in row-major order: a failure is the first failing block's.
        try countPieces([core, slice], of: box)
        return true
    }

    /// A box whose summed loop differs by the residue of `axis` modulo `period` (a
    /// block-sparse mask read through blocks wider than the query tiles, i Br / B with
    /// Br < B: a causal query block's last key block is cut at offset (i mod B / Br) Br)
    /// counted class by class, when the loop proof (`countsAreSummed`) holds on every
    /// residue class: the divisions the checker met are affine on each. False (nothing
    /// counted) otherwise.
    private func countSummedResidueClasses(_ box: GridBox, along axis: Int, period: Int) throws(Diagnostic) -> Bool {
        guard period > 1, period <= UniformityChecker.maxResiduePeriod, box.count[axis] >= 2 * period else { return false }
        let parts = box.residueClasses(along: axis, period)
        var steps = 0
        let allSummed = parts.allSatisfy { part in
            var checker = boxChecker(part)
            defer { steps += checker.steps }
            return checker.countsAreSummed(plan.body)
        }
        try executor.spend(steps)
        guard allSummed else { return false }
        // The classes interleave: a failure is the first failing block's in row-major order.
        try countPieces(parts, of: box)
        return true
    }

    /// Residue classes along `axis` in each of which the counts are affine, if there are
    /// such: floor(i Br / Bc) is affine on every (Bc / gcd(Br, Bc))-th block. Tries the
    /// period the checker derived from the divisions it met (`residuePeriod`, e.g. 5 for
    /// Br = 48, Bc = 80), then 2, 4, 8 and 16.
    private func affineResidueClasses(_ box: GridBox, along axis: Int, period: Int) throws(Diagnostic) -> [GridBox]? {
        var candidates = [2, 4, 8, 16]
        if period > 1 && period <= UniformityChecker.maxResiduePeriod {
            candidates.removeAll { $0 == period }
            candidates.insert(period, at: 0)
        }
        for classes in candidates where box.count[axis] >= 2 * classes {
            let parts = box.residueClasses(along: axis, classes)
            var steps = 0
            let allAffine = parts.allSatisfy { part in
                var checker = boxChecker(part)
                defer { steps += checker.steps }
                return checker.countsAreAffine(plan.body)
            }
            try executor.spend(steps)
            if allAffine { return parts }
        }
        return nil
    }

    /// The sum over a box whose per-block counts are affine in the coordinates
    /// (`UniformityChecker.countsAreAffine`): the mean of an affine function over a box is
    /// its value at the centre, which is also the mean of two opposite corners. So the sum
    /// is volume x f(centre) for an odd volume (the centre is then a block) and
    /// volume / 2 x (f(first) + f(last)) for an even one; exact in integers.
    ///
    /// The proof covers the sites; the carried state must also repeat. Every block
    /// enters its top-level loops in the same state, so if no top-level iteration of the
    /// blocks run here changes it (each iteration is run or is a proven copy of one that
    /// was), no iteration of any block does. Otherwise nil: split the box instead. When no
    /// loop's trip count varies over the box (`varyingTrips` false) and no tile size does,
    /// what varies is only what causal masks hide (`UniformityChecker.maskIsAffine`), a
    /// counter and never a layout: every block runs the same statements on tiles of the
    /// same layouts, so their states evolve alike, as in a uniform box, and a loop whose
    /// first iteration defines the tiles a later loop reuses (moba's own-block loop) needs
    /// no watch.
    ///
    /// With tile sizes that vary over the box (`varyingSizes`, `UniformityChecker+AffineShapes`)
    /// the additive counts are still affine, but the peaks of shared memory, registers and
    /// matmul rows are maxima of affine functions of the point: convex, so largest at a
    /// corner of the box, as is whatever passes a capacity or register limit. Every corner
    /// along the sensitive dimensions is then run: the peaks are theirs, a failure is found
    /// (and reported as the first failing block's), and a spill at any corner (a maximum
    /// over the limit, not linear) sends the box back to be split.
    ///
    /// An affine loop whose middle is empty at some blocks (`emptyMiddles`,
    /// `UniformityChecker.sawEmptyMiddle`) runs middle iterations only where its trip
    /// count is longer; the samples need not be among those blocks. Every corner along the
    /// sensitive dimensions is then run under the watch too: the middle's length is affine,
    /// so a corner runs the most middle iterations, and if any block runs one, a corner
    /// does, and the watch sees whether it changes the carried state. (Two samples, with
    /// one sensitive dimension longer than a point, are already those corners: the first
    /// block at its offset 0, the last at its end.)
    private func affineBoxCounts(_ box: GridBox, varyingSizes: Bool = false, varyingTrips: Bool = true, emptyMiddles: Bool = false) throws(Diagnostic) -> Counters? {
        let volume = box.volume
        executor.watchesCarriedState = true
        executor.carriedStateRepeated = true
        defer { executor.watchesCarriedState = false }
        let samples: [Counters]
        if volume % 2 == 1 {
            samples = [try executor.countBlock(plan, box.centre)]
        } else {
            samples = [try executor.countBlock(plan, box.first), try executor.countBlock(plan, box.last)]
        }
        var sum = Counters(tensorCount: executor.counters.tensors.count)
        do {
            var samplesTotal = Counters(tensorCount: sum.tensors.count)
            for sample in samples { try samplesTotal.add(sample) }
            try sum.add(samplesTotal, times: volume % 2 == 1 ? volume : volume / 2)
        } catch {
            throw executor.overflowError(error)
        }
        if varyingSizes {
            let sensitive = box.count.indices.filter { isSensitive(box, $0) }
            for corner in box.corners(along: sensitive) {
                let counted = try executor.countBlock(plan, corner)
                if counted.spillBytes != 0 { return nil }
                sum.takePeaks(of: counted)
            }
        } else if emptyMiddles {
            let sensitive = box.count.indices.filter { isSensitive(box, $0) && box.count[$0] > 1 }
            if samples.count == 1 || sensitive.count > 1 {
                for corner in box.corners(along: sensitive) { _ = try executor.countBlock(plan, corner) }
            }
        }
        return executor.carriedStateRepeated || !(varyingSizes || varyingTrips) ? sum : nil
    }

    /// The most distinct rows a box counted by its block-sparse mask may have: their kept
    /// counts are held in one array.
    static let maxPartitionRows = 1 << 24

    /// The sum over a box whose blocks count C + n K_kept + (T - n) K_skipped, with n the
    /// key blocks the mask keeps in the block's row (`UniformityChecker.countsArePartitioned`):
    /// an affine function of n. Every row's n is counted once (`BlockPattern.keptCount`:
    /// O(1) per row, closed form for every pattern); rows
    /// with equal n count alike and are added as one group. Two blocks run: the first,
    /// and one whose n differs (if any), which gives the slope, exactly (a remainder means
    /// the proof did not hold: nil, split instead). Between them they run every kind of
    /// iteration any block has (a row with n = T has only kept ones, n = 0 only skipped
    /// ones; two different n cannot both be T or both 0), so if none changed the carried
    /// state, none does anywhere, and the peaks are theirs.
    private func partitionedBoxCounts(_ box: GridBox, _ partition: RowPartition, checker: UniformityChecker) throws(Diagnostic) -> Counters? {
        // The row at offsets m along the axes it depends on: c + sum of k_a m_a.
        var axes: [(axis: Int, coefficient: Int)] = []
        for axis in box.count.indices {
            if let variable = checker.variable(ofAxis: axis), let k = partition.row.terms[variable] { axes.append((axis, k)) }
        }
        guard axes.count == partition.row.terms.count else { return nil }
        var rows = 1
        for (axis, _) in axes {
            let (product, overflow) = rows.multipliedReportingOverflow(by: box.count[axis])
            guard !overflow, product <= Self.maxPartitionRows else { return nil }
            rows = product
        }
        let repeats = box.volume / rows
        // Row values in row-major order of those axes (the checker proved they fit).
        var rowValues = [Int](repeating: partition.row.constant, count: rows)
        var block = 1
        for (axis, k) in axes.reversed() {
            let count = box.count[axis]
            for index in 0..<rows { rowValues[index] &+= k &* ((index / block) % count) }
            block *= count
        }
        try executor.spend(rows)
        let kept = rowValues.map { partition.pattern.keptCount(row: $0, partition.lo, partition.hi) }
        // The first block (offsets 0, row index 0) and the first row whose count differs.
        let firstKept = kept[0]
        var otherIndex: Int?
        for index in 1..<rows where kept[index] != firstKept {
            otherIndex = index
            break
        }
        let tensorCount = executor.counters.tensors.count
        executor.watchesCarriedState = true
        executor.carriedStateRepeated = true
        defer { executor.watchesCarriedState = false }
        let first: Counters, other: Counters?
        do {
            first = try executor.countBlock(plan, box.first)
            if let otherIndex {
                // The block at those row offsets, every other axis at its start.
                var offsets = box.count.map { _ in 0 }
                var rest = otherIndex
                for (axis, _) in axes.reversed() {
                    offsets[axis] = rest % box.count[axis]
                    rest /= box.count[axis]
                }
                other = try executor.countBlock(plan, box.point(offsets))
            } else {
                other = nil
            }
        } catch {
            throw firstFailure(in: box, else: error)
        }
        guard executor.carriedStateRepeated else { return nil }
        guard let other, let otherIndex else {
            do {
                var sum = Counters(tensorCount: tensorCount)
                try sum.add(first, times: box.volume)
                return sum
            } catch {
                throw executor.overflowError(error)
            }
        }
        // The slope per kept block, exact or no proof.
        let a = first.additiveFields, b = other.additiveFields
        let step = kept[otherIndex] - firstKept
        var slope = [Int](repeating: 0, count: a.count)
        for field in a.indices {
            let difference = b[field] - a[field]  // both in [0, 2^63): cannot overflow
            guard difference % step == 0 else { return nil }
            slope[field] = difference / step
        }
        // Rows grouped by their kept count, in increasing order (every group's counters
        // are a block's, so they are non-negative and the partial sums only grow).
        var groups: [Int: Int] = [:]
        for n in kept { groups[n, default: 0] += repeats }
        var peaks = first
        peaks.takePeaks(of: other)
        var sum = Counters(tensorCount: tensorCount)
        for (n, blocks) in groups.sorted(by: { $0.key < $1.key }) {
            var fields = a
            for field in a.indices {
                let (scaled, o1) = (n - firstKept).multipliedReportingOverflow(by: slope[field])
                let (value, o2) = a[field].addingReportingOverflow(scaled)
                if o1 || o2 {
                    throw executor.overflowError(CounterOverflow(counter: Counters.additiveFieldName(field, tensorCount: tensorCount)))
                }
                // A block cannot count below zero: the proof did not hold.
                if value < 0 { return nil }
                fields[field] = value
            }
            let group = Counters(tensorCount: tensorCount, additiveFields: fields, peaks: peaks)
            do {
                try sum.add(group, times: blocks)
            } catch {
                throw executor.overflowError(error)
            }
        }
        return sum
    }

    // MARK: Ranges of loop iterations

    /// Splits [lo, hi) into ranges whose iterations provably count alike.
    func runLoop(_ executor: BlockExecutor, slot: Int, _ lo: Int, _ hi: Int, body: PlannedBlock, carried: CarriedState) throws(Diagnostic) {
        if let summing, summing.bodyID == body.id, executor.position.loops.isEmpty {
            try runSelected(summing.iterations, slot: slot, body: body, carried: carried)
            return
        }
        try runRange(slot: slot, lo, hi, body: body, carried: carried, peels: true)
    }

    /// The longest edge `runRange` peels off a loop's range before halving it.
    static let longestPeel = 64

    /// Splits [lo, hi) into ranges whose iterations provably count alike. A range that is
    /// not uniform first tries peeling a short edge off one end or both (1, 2, 4, ...
    /// iterations: a causal diagonal's masked key blocks at the end, a backward pass's at
    /// the start, a sliding window's at both), leaving a uniform rest, which costs O(log edge) proofs where halving
    /// costs O(log range); then it halves, and the halves do not peel.
    private func runRange(slot: Int, _ lo: Int, _ hi: Int, body: PlannedBlock, carried: CarriedState, peels: Bool) throws(Diagnostic) {
        if hi - lo == 1 {
            let before = slot == watchedLoop ? executor.carriedState(carried) : nil
            try executor.iterate(slot: slot, lo, body: body, carried: carried)
            if let before, executor.carriedState(carried) != before { noteStateChange(slot: slot) }
            return
        }
        var checker = loopChecker()
        var ranged = checker
        ranged.setRange(slot: slot, IntInterval(lo, hi - 1))
        let uniform = ranged.isUniform(body)
        try executor.spend(ranged.steps)
        if uniform {
            try runRepeated(slot: slot, lo, count: hi - lo, body: body, carried: carried)
            return
        }
        let condition = checker.partitioningCondition(body, slot: slot, lo, hi)
        try executor.spend(checker.steps)
        checker.steps = 0
        if let condition {
            try runPartitioned(by: condition, slot: slot, lo, hi, body: body, carried: carried)
            return
        }
        if peels {
            var edge = 1
            while edge <= Self.longestPeel && 2 * edge <= hi - lo {
                var tail = checker
                tail.setRange(slot: slot, IntInterval(lo, hi - edge - 1))
                let tailUniform = tail.isUniform(body)
                try executor.spend(tail.steps)
                if tailUniform {
                    try runRepeated(slot: slot, lo, count: hi - edge - lo, body: body, carried: carried)
                    try runRange(slot: slot, hi - edge, hi, body: body, carried: carried, peels: false)
                    return
                }
                var head = checker
                head.setRange(slot: slot, IntInterval(lo + edge, hi - 1))
                let headUniform = head.isUniform(body)
                try executor.spend(head.steps)
                if headUniform {
                    try runRange(slot: slot, lo, lo + edge, body: body, carried: carried, peels: false)
                    try runRepeated(slot: slot, lo + edge, count: hi - lo - edge, body: body, carried: carried)
                    return
                }
                var middle = checker
                if 2 * edge < hi - lo {
                    middle.setRange(slot: slot, IntInterval(lo + edge, hi - edge - 1))
                    let middleUniform = middle.isUniform(body)
                    try executor.spend(middle.steps)
                    if middleUniform {
                        try runRange(slot: slot, lo, lo + edge, body: body, carried: carried, peels: false)
                        try runRepeated(slot: slot, lo + edge, count: hi - lo - 2 * edge, body: body, carried: carried)
                        try runRange(slot: slot, hi - edge, hi, body: body, carried: carried, peels: false)
                        return
                    }
                }
                edge *= 2
            }
        }
        let mid = lo + (hi - lo) / 2
        try runRange(slot: slot, lo, mid, body: body, carried: carried, peels: false)
        try runRange(slot: slot, mid, hi, body: body, carried: carried, peels: false)
    }

    /// Runs iteration `j` once and counts it `count` times, provided the tiles the loop
    /// carries keep their layout (so every iteration starts from the same state). When
    /// the first iteration changes it (a running maximum that starts as `full(-inf)`,
    /// say), the rest start from the state it left and usually keep it: they are tried
    /// once more the same way (`retries`), then run one by one.
    private func runRepeated(slot: Int, _ j: Int, count: Int, body: PlannedBlock, carried: CarriedState, retries: Int = 1) throws(Diagnostic) {
        let before = executor.carriedState(carried)
        let one = try executor.countIteration(slot: slot, j, body: body, carried: carried)
        if executor.carriedState(carried) == before {
            try add(one, times: count)
            return
        }
        noteStateChange(slot: slot)
        try add(one)
        if retries > 0 && count > 2 {
            try runRepeated(slot: slot, j + 1, count: count - 1, body: body, carried: carried, retries: retries - 1)
            return
        }
        try executor.affordRepeats(count - 1, of: body, at: kernel.location)
        for k in (j + 1)..<(j + count) { try executor.iterate(slot: slot, k, body: body, carried: carried) }
    }

    // MARK: Iterations split by a condition

    /// Runs [lo, hi) by the truth of `condition`, an `if` at the top of the body under
    /// whose either truth the body counts alike (`UniformityChecker.partitioningCondition`;
    /// a block-sparse mask: `if block_mask(i, j, ...)`): one iteration of each kind runs
    /// and counts for all of its kind.
    ///
    /// The truth is evaluated for every iteration (`truths`; O(hi - lo), in closed form for
    /// dense and local + strided masks), never assumed. Iterations may be counted out of
    /// order only when they all start from the same state: when the one run of a kind
    /// changes what the loop carries, the rest run in order instead.
    private func runPartitioned(by condition: Expr, slot: Int, _ lo: Int, _ hi: Int, body: PlannedBlock, carried: CarriedState) throws(Diagnostic) {
        let truth = try truths(of: condition, slot: slot, lo, hi)
        // The first iteration runs in order; its kind preserves the carried state if this
        // run does. The first iteration of the other kind then starts, in order, from the
        // same state: every iteration before it is of the first kind.
        let firstHolds = truth.firstTrue == lo
        let firstKindCount = firstHolds ? truth.trueCount : hi - lo - truth.trueCount
        let before = executor.carriedState(carried)
        let first = try executor.countIteration(slot: slot, lo, body: body, carried: carried)
        guard executor.carriedState(carried) == before else {
            noteStateChange(slot: slot)
            try add(first)
            try executor.affordRepeats(hi - lo - 1, of: body, at: kernel.location)
            for k in (lo + 1)..<hi { try executor.iterate(slot: slot, k, body: body, carried: carried) }
            return
        }
        guard let other = firstHolds ? truth.firstFalse : truth.firstTrue else {
            try add(first, times: firstKindCount)
            return
        }
        let second = try executor.countIteration(slot: slot, other, body: body, carried: carried)
        guard executor.carriedState(carried) == before else {
            noteStateChange(slot: slot)
            try add(first, times: other - lo)
            try add(second)
            try executor.affordRepeats(hi - other - 1, of: body, at: kernel.location)
            for k in (other + 1)..<hi { try executor.iterate(slot: slot, k, body: body, carried: carried) }
            return
        }
        try add(first, times: firstKindCount)
        try add(second, times: hi - lo - firstKindCount)
    }

    /// How many iterations of [lo, hi) satisfy `condition`, and the first that does and
    /// the first that does not.
    private func truths(of condition: Expr, slot: Int, _ lo: Int, _ hi: Int) throws(Diagnostic) -> (trueCount: Int, firstTrue: Int?, firstFalse: Int?) {
        if let pattern = try blockMaskPattern(condition, slot: slot) {
            return pattern.pattern.truths(row: pattern.row, lo, hi)
        }
        try executor.spend(hi - lo)
        var count = 0
        var firstTrue: Int?, firstFalse: Int?
        let saved = executor.env[slot]
        defer { executor.env[slot] = saved }
        for j in lo..<hi {
            executor.env[slot] = .int(j)
            if try executor.integer(condition) != 0 {
                count += 1
                if firstTrue == nil { firstTrue = j }
            } else if firstFalse == nil {
                firstFalse = j
            }
        }
        return (count, firstTrue, firstFalse)
    }

    /// `block_mask(i, j, ...)` (`BlockMaskTest`) with j the loop variable: the pattern,
    /// read through its column, and the row i, evaluated once.
    private func blockMaskPattern(_ condition: Expr, slot: Int) throws(Diagnostic) -> (pattern: ScaledPattern, row: Int)? {
        guard let test = BlockMaskTest(condition, loopSlot: slot) else { return nil }
        let row = try executor.integer(test.row)
        guard let pattern = try test.resolve({ (e: Expr) throws(Diagnostic) -> Int? in try executor.integer(e) }) else { return nil }
        return (pattern, row)
    }
}
