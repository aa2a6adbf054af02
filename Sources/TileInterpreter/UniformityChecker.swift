import AttnNumerics
import TileLanguage

/// Decides whether a statement list counts the same at every point of a box of integer
/// values (grid positions, loop iterations), by affine arithmetic over its "sites":
/// slice extents and bounds, loop trip counts, `if` conditions, tile sizes and mask
/// offsets. Integers are affine forms over variables with ranges (`AffineForm`), so
/// relations survive: a sliding window's loop runs from i - W/B to i, a constant trip
/// count, and a mask offset q0 - k0 = i B - j B does not depend on i once j is written
/// as its loop's start plus a counter. Whatever is not affine falls back to its range.
///
/// Counters depend on integer values only through those sites (data never changes a
/// count), so if every site is provably constant over the box, every point in it moves
/// the same bytes and does the same FLOPs. This is what lets count-only mode run one
/// representative block or iteration for a whole box and multiply, and stay exact.
/// A box it cannot prove uniform is split until it can, down to single points.
///
/// `countsAreAffine` proves a weaker property that covers causal masks: a loop's trip
/// count T may vary over the box as an affine function of the grid axes, provided its
/// iterations split into a prefix of p iterations counted from lo and a tail of t
/// counted from hi, each alike across the box, and a middle whose body counts alike
/// everywhere. A block then counts C + P + M (T - p - t) + Tail, an affine function of
/// its coordinates, and the sum over the box is its volume times the value at the
/// box's centre.
///
/// The proofs live one per file: the statement walk and constant trip counts here;
/// `+Intervals` (ranges of affine forms), `+Integers` (expressions as affine forms),
/// `+Sites` (slices and built-in arguments), `+Masks` (all-or-nothing masks and tile
/// shapes), `+AffineTrips` (`countsAreAffine`), `+ConditionTruth` (iterations and rows
/// counted by an `if`'s truth, `countsArePartitioned`), `+SummedLoops` (one loop's
/// iterations summed by kind, `countsAreSummed`) and `+MaskBands` (blocks summed by their
/// mask's offset, `countsAreBanded`). Their state is this type's
/// stored properties, shared by the extensions.
struct UniformityChecker {
    let parameters: [ScalarValue]
    let tensorShapes: [[Int]]
    /// Slots holding data read from tensors: they only index tensors, so an index made of
    /// them never changes a count (numeric runs check its bounds).
    let dataSlots: Set<Int>
    /// Abstract values of the kernel's slots: an affine form for integers, nil otherwise.
    var values: [AffineForm?]
    /// Abstract shapes of the kernel's tile slots (rows and columns as affine forms, nil
    /// when unknown): what lets a mask whose offset varies be proven to hide all or none
    /// of its tile everywhere in the box.
    var shapes: [Int: TileShape] = [:]
    /// Whether to track `shapes` (only masks and `col` read them; `KernelPlan.tracksShapes`).
    var tracksShapes = true
    /// The range of each variable of the affine forms.
    var ranges: [IntInterval] = []
    /// Linear facts g >= 0 known inside an affine loop's middle, each with the loop
    /// counter it bounds (see `interval`).
    var constraints: [(form: AffineForm, counter: Int)] = []
    /// Whether loops with box-dependent trip counts are accepted (`countsAreAffine`).
    var allowsAffineLoops = false
    /// Variables below this index are the box's axes.
    var axisVariables = 0
    /// Loops enclosing the statement being checked.
    var loopDepth = 0
    /// Set when a top-level loop's trip count varied in a way that is not affine in the
    /// axes (a floor division, say): residue classes of the box may still be affine.
    var sawNonAffineTripCount = false
    /// Per box variable, the least period (in points of the box) on which every floor
    /// division, ceiling division or remainder of it by a constant seen so far is affine:
    /// a x / k is affine on each residue class of x modulo k / gcd(a, k).
    var residuePeriods: [Int: Int] = [:]
    /// The variable of each box dimension that is not a single point, by dimension index
    /// (a plain box has one dimension per grid axis).
    var axisVariable: [Int: Int] = [:]
    /// The most residue classes count mode splits a box into.
    static let maxResiduePeriod = 64
    /// Per box variable, the least period on which every floor division of it seen so
    /// far is affine, nested divisions included (`floorDivision`): what a dimension of the
    /// box is folded by (`CountCompressor.foldedBox`).
    var foldPeriods: [Int: Int] = [:]
    /// Per box variable, the shortest period of one division of it (the runs a folded
    /// dimension is cut into).
    var runPeriods: [Int: Int] = [:]
    /// Per box variable, where each division of it steps (`noteFoldPeriod`): the points a
    /// folded run is cut at (`FoldPeriod.runStarts`).
    var runCuts: [Int: Set<RunCut>] = [:]
    /// Per box variable, the offsets where a `min` or `max` of it switches sides
    /// (`noteSwitch`): where a box is cut before it is halved.
    var switchCuts: [Int: Set<Int>] = [:]
    /// The longest period count mode folds a box dimension by.
    static let maxFoldPeriod = 1 << 20
    /// Set while `foldPeriods(of:)` scans: a `min` or `max` whose sides cross is taken as
    /// the side that varies.
    var scansPeriods = false
    /// An `if` condition taken as known: the checker proves a loop body uniform over the
    /// iterations where it holds (or where it does not), which `CountCompressor` then
    /// counts apart (a block-sparse mask's kept and skipped key blocks).
    var assumption: (condition: Expr, holds: Bool)?
    /// Set when an integer operation may fail somewhere in the box (overflow, a division
    /// by a range holding zero, an invalid `block_mask` pattern): the box is then not
    /// uniform, so it is split until every point that fails is run and fails as it would
    /// in an exhaustive replay, whether or not the value reaches a site.
    var mayFail = false
    /// Variables that stand for a floor or ceiling division x / k by a positive constant
    /// (`rangeOf` gives them only their range): k v = x - r for a floor, k v = x + r for a
    /// ceiling, with r in [0, k - 1]. `interval` uses them to keep relations such as
    /// S cdiv(x, S) >= x, which splits of a key range rely on (`min(khi, klo + S per)` is
    /// khi).
    var divisions: [Int: (x: AffineForm, k: Int, ceiling: Bool)] = [:]
    /// Whether a top-level loop may be counted by a block-sparse mask whose row varies
    /// over the box (`countsArePartitioned`).
    var allowsRowPartition = false
    /// The one loop so counted, once found (`countsArePartitioned`).
    var rowPartition: RowPartition?
    /// Whether one top-level loop may be counted by its kinds of iterations summed over
    /// the box (`countsAreSummed`), and that loop, once found.
    var allowsSummedLoop = false
    var summedLoop: SummedLoop?
    /// Whether one mask offset may vary over the box however it hides (`countsAreBanded`),
    /// and that mask, once found.
    var allowsMaskBand = false
    var maskBand: MaskBand?
    /// Whether a tile size may vary over the box as an affine form (`countsAreAffine`
    /// outside the middle of an affine loop; `+AffineShapes`), whether one did, the tile
    /// slots ever assigned a shape that varies, and the loop counters (variables a varying
    /// size may hold besides the box's axes).
    var allowsAffineShapes = false
    var sawAffineShape = false
    /// Whether a causal mask's hidden count varied affinely over the box (`maskIsAffine`),
    /// and whether a top-level loop's trip count did (`affineLoopIsUniform`).
    var sawAffineMask = false
    var sawAffineLoop = false
    /// Whether an affine loop's middle runs no iteration at some points of the box (its
    /// edges take every iteration of its shortest blocks; `affineLoopIsUniform`).
    var sawEmptyMiddle = false
    var varyingSlots: Set<Int> = []
    var counterVariables: Set<Int> = []
    /// The work this checker (and the checkers it was copied from) did, in units of the
    /// run's budget (`WorkBudget`): `unitsPerStep` per statement visited.
    var steps = 0
    /// A statement visited by a proof costs about five replayed in count mode (affine forms
    /// and intervals built for every expression; measured: 1.1e6 units a second over
    /// proofs and replays against 5.3e6 for replays alone, release build).
    static let unitsPerStep = 5

    /// `env` gives each integer slot's range over the box (nil: not an integer, or
    /// unknown); a slot whose range is not a single value becomes a variable.
    init(parameters: [ScalarValue], tensorShapes: [[Int]], dataSlots: Set<Int>, env: [IntInterval?]) {
        self.parameters = parameters
        self.tensorShapes = tensorShapes
        self.dataSlots = dataSlots
        self.values = []
        values.reserveCapacity(env.count)
        for interval in env {
            if let interval {
                values.append(interval.isPoint ? .constant(interval.lo) : fresh(interval))
            } else {
                values.append(nil)
            }
        }
    }

    /// A checker for a kernel of a bound program whose grid axes range over `box`.
    init(bound: BoundProgram, kernel: KernelDecl, box: GridBox) {
        self.init(parameters: bound.parameterValues, tensorShapes: bound.tensorShapes, dataSlots: kernel.dataSlots,
                  env: Array(repeating: nil, count: kernel.slotNames.count))
        guard box.isFolded else {
            for (axis, declaration) in kernel.axes.enumerated() {
                setProgression(slot: declaration.slot, start: box.start[axis], stride: box.stride[axis], count: box.count[axis])
                if box.count[axis] > 1 { axisVariable[axis] = ranges.count - 1 }
            }
            return
        }
        // A folded axis is the sum of its dimensions' progressions.
        var forms = [AffineForm?](repeating: .constant(0), count: box.axes)
        for d in box.count.indices {
            let axis = box.axisOf[d]
            var term: AffineForm? = .constant(box.start[d])
            if box.count[d] > 1 {
                term = fresh(IntInterval(0, box.count[d] - 1)).scaled(by: box.stride[d]).flatMap { $0 + .constant(box.start[d]) }
                axisVariable[d] = ranges.count - 1
            }
            if let sum = forms[axis], let term { forms[axis] = sum + term } else { forms[axis] = nil }
        }
        for (axis, declaration) in kernel.axes.enumerated() { values[declaration.slot] = forms[axis] }
    }

    /// Forgets the variables from index `count` on (leaving a loop or a range of
    /// iterations), with the division facts about them.
    mutating func dropVariables(from count: Int) {
        ranges.removeLast(ranges.count - count)
        if !divisions.isEmpty { divisions = divisions.filter { $0.key < count } }
        if !counterVariables.isEmpty { counterVariables = counterVariables.filter { $0 < count } }
    }

    /// A new variable ranging over `range`.
    mutating func fresh(_ range: IntInterval) -> AffineForm {
        ranges.append(range)
        return .variable(ranges.count - 1)
    }

    /// Sets a slot to range over `range` (a box axis or a loop variable).
    mutating func setRange(slot: Int, _ range: IntInterval) {
        values[slot] = range.isPoint ? .constant(range.lo) : fresh(range)
    }

    /// Sets a slot to start + stride m for m in 0 ..< count (a box axis).
    mutating func setProgression(slot: Int, start: Int, stride: Int, count: Int) {
        guard count > 1 else {
            values[slot] = .constant(start)
            return
        }
        values[slot] = fresh(IntInterval(0, count - 1)).scaled(by: stride).flatMap { $0 + .constant(start) }
    }

    /// The box variable of each axis that is not a single point (for `RowPartition.row`).
    func variable(ofAxis axis: Int) -> Int? { axisVariable[axis] }

    /// True when every site of `block` is constant over the current `env`.
    mutating func isUniform(_ block: PlannedBlock) -> Bool {
        for statement in block.statements {
            guard isUniform(statement) else { return false }
        }
        return true
    }

    mutating func isUniform(_ statement: PlannedStmt) -> Bool {
        let uniform = statementIsUniform(statement)
        return uniform && !mayFail
    }

    mutating func statementIsUniform(_ statement: PlannedStmt) -> Bool {
        steps += Self.unitsPerStep
        switch statement.kind {
        case .assign(let slot, let value):
            guard sitesAreUniform(value) else { return false }
            if sawAffineShape {
                guard let varies = shapeVaries(value) else { return false }
                if varies { varyingSlots.insert(slot) }
            }
            values[slot] = integer(value)
            if tracksShapes || sawAffineShape { shapes[slot] = shape(value) }
            return true
        case .store(let access, let value):
            guard accessIsUniform(access) && sitesAreUniform(value) else { return false }
            return !sawAffineShape || storeIsLinear(access, value)
        case .conditional(let condition, let then, let otherwise):
            if let assumption, assumption.condition == condition {
                return isUniform(assumption.holds ? then : otherwise)
            }
            guard let truth = range(condition), truth.isPoint else { return false }
            return isUniform(truth.lo != 0 ? then : otherwise)
        case .loop(let slot, let lower, let upper, let body, let carried):
            // The loop must run the same number of times everywhere in the box; its
            // variable is written start + k for a counter k over 0 ..< trips.
            guard let lo = integer(lower), let hi = integer(upper), let trips = hi - lo else { return false }
            // A loop that runs no iteration anywhere in the box (a split past the end of
            // its key range) counts nothing, however its bounds vary.
            if let span = interval(trips), span.hi <= 0 {
                values[slot] = nil
                return true
            }
            if carried.hasIntegers {
                // Values that evolve across iterations are unknown to the analysis.
                for s in carried.integerSlots { values[s] = nil }
            }
            let saved = (values, ranges.count, shapes)
            let varyingBefore = varyingSlots
            let result: Bool
            if allowsSummedLoop && loopDepth == 0 && summedLoop == nil && !carried.hasIntegers
                && !(trips.isConstant && (trips.constant <= 0 || bodyIsUniform(body, slot: slot, start: lo, 0, trips.constant))) {
                result = summedLoopIsUniform(body, slot: slot, lower: lo, upper: hi)
            } else if trips.isConstant {
                result = trips.constant <= 0 || rangeIsUniform(body, slot: slot, start: lo, 0, trips.constant, peels: true)
            } else {
                result = affineLoopIsUniform(body, slot: slot, lower: lo, upper: hi, trips: trips)
            }
            values = saved.0
            dropVariables(from: saved.1)
            shapes = saved.2
            values[slot] = nil
            return result && loopKeepsShapes(carried, varyingBefore: varyingBefore)
        }
    }

    /// The loop body must be uniform over the box for every iteration; iterations may
    /// differ from one another, so the counter's range is split where needed.
    ///
    /// A whole range (`peels`) first tries setting apart a few iterations at its ends
    /// (`edgesAreUniform`): a sliding window's loop starts and ends with a masked key
    /// block at every block of the box, however long the window.
    mutating func rangeIsUniform(_ body: PlannedBlock, slot: Int, start: AffineForm, _ lo: Int, _ hi: Int, peels: Bool = false) -> Bool {
        if bodyIsUniform(body, slot: slot, start: start, lo, hi) { return true }
        if hi - lo == 1 { return false }
        if peels && edgesSplitRange(body, slot: slot, start: start, lo, hi) { return true }
        // Iterations counted by a condition's truth count one of each kind: fixed sizes.
        let allowed = allowsAffineShapes
        allowsAffineShapes = false
        let split = conditionSplit(body, slot: slot, start: start, lo, hi)
        allowsAffineShapes = allowed
        switch split {
        case .uniform: return true
        case .hopeless: return false
        case .unknown: break
        }
        let mid = lo + (hi - lo) / 2
        return rangeIsUniform(body, slot: slot, start: start, lo, mid) && rangeIsUniform(body, slot: slot, start: start, mid, hi)
    }

    /// The body over the iterations j = start + k, k in [lo, hi): uniform over the box
    /// and those iterations together.
    mutating func bodyIsUniform(_ body: PlannedBlock, slot: Int, start: AffineForm, _ lo: Int, _ hi: Int) -> Bool {
        withIterations(slot: slot, start: start, lo, hi) { checker in
            checker.loopDepth += 1
            defer { checker.loopDepth -= 1 }
            return checker.isUniform(body)
        } ?? false
    }

    /// Runs `check` with the loop variable `slot` set to start + k for k in [lo, hi), then
    /// puts back the abstract state (values, variables, the failure flag, shapes); nil
    /// when start + k does not fit in 64 bits.
    mutating func withIterations<T>(
        slot: Int, start: AffineForm, _ lo: Int, _ hi: Int, _ check: (inout UniformityChecker) -> T
    ) -> T? {
        let saved = (values, ranges.count, mayFail, shapes)
        defer {
            values = saved.0
            dropVariables(from: saved.1)
            mayFail = saved.2
            shapes = saved.3
        }
        guard let variable = start + fresh(IntInterval(lo, hi - 1)) else { return nil }
        counterVariables.insert(ranges.count - 1)
        values[slot] = variable
        return check(&self)
    }
}
