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
struct UniformityChecker {
    let parameters: [ScalarValue]
    let tensorShapes: [[Int]]
    /// Slots holding data read from tensors: they only index tensors, so an index made of
    /// them never changes a count (numeric runs check its bounds).
    let dataSlots: Set<Int>
    /// Abstract values of the kernel's slots: an affine form for integers, nil otherwise.
    private var values: [AffineForm?]
    /// Abstract shapes of the kernel's tile slots (rows and columns as affine forms, nil
    /// when unknown): what lets a mask whose offset varies be proven to hide all or none
    /// of its tile everywhere in the box.
    private var shapes: [Int: TileShape] = [:]
    /// Whether to track `shapes` (only masks read them; `KernelPlan.hasMasks`).
    var tracksShapes = true
    /// The range of each variable of the affine forms.
    private var ranges: [IntInterval] = []
    /// Linear facts g >= 0 known inside an affine loop's middle, each with the loop
    /// counter it bounds (see `interval`).
    private var constraints: [(form: AffineForm, counter: Int)] = []
    /// Whether loops with box-dependent trip counts are accepted (`countsAreAffine`).
    private var allowsAffineLoops = false
    /// Variables below this index are the box's axes.
    private var axisVariables = 0
    /// Loops enclosing the statement being checked.
    private var loopDepth = 0
    /// Set when a top-level loop's trip count varied in a way that is not affine in the
    /// axes (a floor division, say): residue classes of the box may still be affine.
    private(set) var sawNonAffineTripCount = false
    /// Per box variable, the least period (in points of the box) on which every floor
    /// division, ceiling division or remainder of it by a constant seen so far is affine:
    /// a x / k is affine on each residue class of x modulo k / gcd(a, k).
    private var residuePeriods: [Int: Int] = [:]
    /// The variable of each box axis that is not a single point, by axis index.
    private var axisVariable: [Int: Int] = [:]
    /// The most residue classes count mode splits a box into.
    static let maxResiduePeriod = 64
    /// An `if` condition taken as known: the checker proves a loop body uniform over the
    /// iterations where it holds (or where it does not), which `CountCompressor` then
    /// counts apart (a block-sparse mask's kept and skipped key blocks).
    var assumption: (condition: Expr, holds: Bool)?
    /// Set when an integer operation may fail somewhere in the box (overflow, a division
    /// by a range holding zero, an invalid `block_mask` pattern): the box is then not
    /// uniform, so it is split until every point that fails is run and fails as it would
    /// in an exhaustive replay, whether or not the value reaches a site.
    private var mayFail = false
    /// The most iterations an affine loop may set apart at its two ends.
    private static let maxEdges = 4
    /// Variables that stand for a floor or ceiling division x / k by a positive constant
    /// (`rangeOf` gives them only their range): k v = x - r for a floor, k v = x + r for a
    /// ceiling, with r in [0, k - 1]. `interval` uses them to keep relations such as
    /// S cdiv(x, S) >= x, which splits of a key range rely on (`min(khi, klo + S per)` is
    /// khi).
    private var divisions: [Int: (x: AffineForm, k: Int, ceiling: Bool)] = [:]
    /// Whether a top-level loop may be counted by a block-sparse mask whose row varies
    /// over the box (`countsArePartitioned`).
    private var allowsRowPartition = false
    /// The one loop so counted, once found (`countsArePartitioned`).
    private(set) var rowPartition: RowPartition?

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
        for (axis, declaration) in kernel.axes.enumerated() {
            setProgression(slot: declaration.slot, start: box.start[axis], stride: box.stride[axis], count: box.count[axis])
            if box.count[axis] > 1 { axisVariable[axis] = ranges.count - 1 }
        }
    }

    /// Forgets the variables from index `count` on (leaving a loop or a range of
    /// iterations), with the division facts about them.
    private mutating func dropVariables(from count: Int) {
        ranges.removeLast(ranges.count - count)
        if !divisions.isEmpty { divisions = divisions.filter { $0.key < count } }
    }

    /// A new variable ranging over `range`.
    private mutating func fresh(_ range: IntInterval) -> AffineForm {
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

    /// The interval an affine form ranges over; nil on overflow.
    ///
    /// Each constraint g >= 0 on a counter v can tighten it (one Fourier-Motzkin step):
    /// with p = |g_v| and q = |a_v|, p a + q g (opposite signs) or p a - q g (same signs)
    /// has no v term, and g >= 0 gives a <= max(p a + q g) / p or a >= min(p a - q g) / p.
    /// This is how `(j + 1) B - 1 > i B` is decided false for every j < i at once.
    private func interval(_ a: AffineForm) -> IntInterval? {
        guard var result = plainInterval(a) else { return nil }
        for constraint in constraints {
            guard let av = a.terms[constraint.counter], let gv = constraint.form.terms[constraint.counter] else { continue }
            let p = abs(gv), q = abs(av)
            let sameSign = (av > 0) == (gv > 0)
            guard let scaledA = a.scaled(by: p), let scaledG = constraint.form.scaled(by: sameSign ? -q : q),
                let combined = scaledA + scaledG, let bound = plainInterval(combined)
            else { continue }
            if sameSign {
                result.lo = Swift.max(result.lo, IntegerArithmetic.ceilDivide(bound.lo, p))
            } else {
                result.hi = Swift.min(result.hi, IntegerArithmetic.floorDivide(bound.hi, p))
            }
        }
        if !divisions.isEmpty, let substituted = intervalThroughDivisions(a) {
            result.lo = Swift.max(result.lo, substituted.lo)
            result.hi = Swift.min(result.hi, substituted.hi)
        }
        // An empty result means the constraints admit no point; stay with what is sound.
        return result.lo <= result.hi ? result : plainInterval(a)
    }

    /// The interval of `a` with each term c v of a division variable v = x / k whose
    /// coefficient c is a multiple of k written c / k (x - r) (floor) or c / k (x + r)
    /// (ceiling), r in [0, k - 1]; nil when no term qualifies or on overflow. The forms x
    /// only hold older variables, so the recursion ends.
    private func intervalThroughDivisions(_ a: AffineForm) -> IntInterval? {
        var form = a
        var slack = IntInterval(point: 0)
        var substituted = false
        for (v, c) in a.terms {
            guard let fact = divisions[v], c % fact.k == 0 else { continue }
            let q = c / fact.k
            guard let scaled = fact.x.scaled(by: q), let withX = form + scaled,
                let remainder = IntInterval.multiply(IntInterval(fact.ceiling ? 0 : -(fact.k - 1), fact.ceiling ? fact.k - 1 : 0), IntInterval(point: q)),
                let total = IntInterval.add(slack, remainder)
            else { return nil }
            form = withX
            form.terms[v] = nil
            slack = total
            substituted = true
        }
        guard substituted, let rest = interval(form) else { return nil }
        return IntInterval.add(rest, slack)
    }

    /// The interval of an affine form from its variables' ranges alone.
    private func plainInterval(_ a: AffineForm) -> IntInterval? {
        var result = IntInterval(point: a.constant)
        for (v, k) in a.terms {
            guard let term = IntInterval.multiply(ranges[v], IntInterval(point: k)), let sum = IntInterval.add(result, term) else { return nil }
            result = sum
        }
        return result
    }

    /// The interval of an integer expression.
    private mutating func range(_ e: Expr) -> IntInterval? {
        integer(e).flatMap { interval($0) }
    }

    /// True when a block's counts are an affine function of the box's axes: uniform, or
    /// with top-level loops whose trip counts vary affinely (see the type's comment).
    /// Call once, on a fresh checker, after the axes' ranges are set.
    mutating func countsAreAffine(_ block: PlannedBlock) -> Bool {
        allowsAffineLoops = true
        axisVariables = ranges.count
        defer { allowsAffineLoops = false }
        return isUniform(block)
    }

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

    /// The box variable of each axis that is not a single point (for `RowPartition.row`).
    func variable(ofAxis axis: Int) -> Int? { axisVariable[axis] }

    /// True when every site of `block` is constant over the current `env`.
    mutating func isUniform(_ block: PlannedBlock) -> Bool {
        for statement in block.statements {
            guard isUniform(statement) else { return false }
        }
        return true
    }

    private mutating func isUniform(_ statement: PlannedStmt) -> Bool {
        let uniform = statementIsUniform(statement)
        return uniform && !mayFail
    }

    private mutating func statementIsUniform(_ statement: PlannedStmt) -> Bool {
        switch statement.kind {
        case .assign(let slot, let value):
            guard sitesAreUniform(value) else { return false }
            values[slot] = integer(value)
            if tracksShapes { shapes[slot] = shape(value) }
            return true
        case .store(let access, let value):
            return accessIsUniform(access) && sitesAreUniform(value)
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
            if carried.hasIntegers {
                // Values that evolve across iterations are unknown to the analysis.
                for s in carried.integerSlots { values[s] = nil }
            }
            let saved = (values, ranges.count, shapes)
            let result: Bool
            if trips.isConstant {
                result = trips.constant <= 0 || rangeIsUniform(body, slot: slot, start: lo, 0, trips.constant)
            } else {
                result = affineLoopIsUniform(body, slot: slot, lower: lo, upper: hi, trips: trips)
            }
            values = saved.0
            dropVariables(from: saved.1)
            shapes = saved.2
            values[slot] = nil
            return result
        }
    }

    /// A top-level loop whose trip count T = hi - lo varies affinely with the box's axes:
    /// for some edge lengths p + t <= `maxEdges` (or p = 0 or t = 0 up to `maxLongEdge`)
    /// with T - p - t >= 1 everywhere, a prefix
    /// j = lo + k (k < p) and a tail j = hi - t + k (k < t) must be uniform per k, and the
    /// middle j = lo + p + k (k < T - p - t) uniform over the box and k together, knowing
    /// T - p - t - 1 - k >= 0. A causal forward pass has its diagonal block in the tail, a
    /// causal backward pass (query blocks from the diagonal down) in the prefix.
    private mutating func affineLoopIsUniform(_ body: PlannedBlock, slot: Int, lower: AffineForm, upper: AffineForm, trips: AffineForm) -> Bool {
        guard allowsAffineLoops, loopDepth == 0 else { return false }
        guard trips.terms.keys.allSatisfy({ $0 < axisVariables }) else {
            sawNonAffineTripCount = true
            return false
        }
        guard let span = interval(trips), span.lo >= 1 else { return false }
        let longest = Swift.min(Self.maxEdges, span.lo - 1)
        for edges in 0...longest {
            for prefix in 0...edges where edgesAreUniform(body, slot: slot, lower: lower, upper: upper, trips: trips, span: span, prefix, edges - prefix) {
                return true
            }
        }
        // A longer edge on one side: a causal diagonal crossed by Br / Bc key blocks (the
        // forward pass's tail) or Bn / Bm query blocks (the backward pass's prefix). The
        // middle only shrinks as the edge grows, so the shortest edge that leaves it
        // uniform is found by bisection.
        let widest = Swift.min(Self.maxLongEdge, span.lo - 1)
        guard widest > Self.maxEdges else { return false }
        for tailSide in [true, false] {
            func middle(_ edge: Int) -> Bool {
                guard let start = lower + .constant(tailSide ? 0 : edge), let rest = trips - .constant(edge) else { return false }
                return middleIsUniform(body, slot: slot, lower: start, trips: rest, longest: span.hi - edge)
            }
            guard middle(widest) else { continue }
            var (failing, holding) = (Self.maxEdges, widest)
            while holding - failing > 1 {
                let mid = failing + (holding - failing) / 2
                if middle(mid) { holding = mid } else { failing = mid }
            }
            if edgesAreUniform(body, slot: slot, lower: lower, upper: upper, trips: trips, span: span, tailSide ? 0 : holding, tailSide ? holding : 0) {
                return true
            }
        }
        return false
    }

    /// The longest edge (iterations set apart at one end of an affine loop) the bisection
    /// in `affineLoopIsUniform` tries: Br / Bc or Bn / Bm up to 64.
    private static let maxLongEdge = 64

    /// Whether an affine loop splits into a prefix of `prefix` and a tail of `tail`
    /// iterations, each alike across the box, around a uniform middle.
    private mutating func edgesAreUniform(
        _ body: PlannedBlock, slot: Int, lower: AffineForm, upper: AffineForm, trips: AffineForm, span: IntInterval, _ prefix: Int, _ tail: Int
    ) -> Bool {
        let edges = prefix + tail
        guard let middleStart = lower + .constant(prefix), let middleTrips = trips - .constant(edges),
            let tailStart = upper - .constant(tail),
            middleIsUniform(body, slot: slot, lower: middleStart, trips: middleTrips, longest: span.hi - edges)
        else { return false }
        return (prefix == 0 || rangeIsUniform(body, slot: slot, start: lower, 0, prefix))
            && (tail == 0 || rangeIsUniform(body, slot: slot, start: tailStart, 0, tail))
    }

    /// The body at j = lower + k for every k < trips (>= 1 over the box), k < longest.
    private mutating func middleIsUniform(_ body: PlannedBlock, slot: Int, lower: AffineForm, trips: AffineForm, longest: Int) -> Bool {
        let saved = (values, ranges.count, constraints.count, mayFail, shapes)
        defer {
            shapes = saved.4
            values = saved.0
            dropVariables(from: saved.1)
            constraints.removeLast(constraints.count - saved.2)
            mayFail = saved.3
        }
        let counter = fresh(IntInterval(0, longest - 1))
        guard let j = lower + counter, let last = trips - .constant(1), let slack = last - counter else { return false }
        constraints.append((slack, ranges.count - 1))
        values[slot] = j
        loopDepth += 1
        defer { loopDepth -= 1 }
        return isUniform(body)
    }

    /// The loop body must be uniform over the box for every iteration; iterations may
    /// differ from one another, so the counter's range is split where needed.
    private mutating func rangeIsUniform(_ body: PlannedBlock, slot: Int, start: AffineForm, _ lo: Int, _ hi: Int) -> Bool {
        if bodyIsUniform(body, slot: slot, start: start, lo, hi) { return true }
        if hi - lo == 1 { return false }
        switch conditionSplit(body, slot: slot, start: start, lo, hi) {
        case .uniform: return true
        case .hopeless: return false
        case .unknown: break
        }
        let mid = lo + (hi - lo) / 2
        return rangeIsUniform(body, slot: slot, start: start, lo, mid) && rangeIsUniform(body, slot: slot, start: start, mid, hi)
    }

    /// What an undecided `if` at the top of a loop body says about a range of iterations.
    private enum ConditionSplit { case uniform, hopeless, unknown }

    /// The body over the iterations j = start + k, k in [lo, hi): uniform over the box
    /// and those iterations together.
    private mutating func bodyIsUniform(_ body: PlannedBlock, slot: Int, start: AffineForm, _ lo: Int, _ hi: Int) -> Bool {
        withIterations(slot: slot, start: start, lo, hi) { checker in
            checker.loopDepth += 1
            defer { checker.loopDepth -= 1 }
            return checker.isUniform(body)
        } ?? false
    }

    /// Runs `check` with the loop variable `slot` set to start + k for k in [lo, hi), then
    /// puts back the abstract state (values, variables, the failure flag, shapes); nil
    /// when start + k does not fit in 64 bits.
    private mutating func withIterations<T>(
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
        values[slot] = variable
        return check(&self)
    }

    /// A loop body whose top-level `if` is undecided over [lo, hi) (a block-sparse mask's
    /// `if block_mask(i, j, ...)`): when the condition reads only the loop variable (whose
    /// start is constant over the box) and values constant over the box, each iteration
    /// takes the same branch at every point of the box, so the range is uniform if the
    /// body is under either truth (the iterations are then counted by kind,
    /// `CountCompressor.runPartitioned`). When it also reads a value that varies over the
    /// box, halving a long range down to single iterations would cost O(range) and still
    /// fail: give up at once.
    private mutating func conditionSplit(_ body: PlannedBlock, slot: Int, start: AffineForm, _ lo: Int, _ hi: Int) -> ConditionSplit {
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
    private mutating func rowPartition(
        _ body: PlannedBlock, of condition: Expr, slot: Int, start: AffineForm, _ lo: Int, _ hi: Int
    ) -> RowPartition? {
        guard start.isConstant, case .call(.blockMask, let arguments) = condition.kind, arguments.count == 7,
            case .local(slot) = arguments[1].kind, !arguments[0].slots.contains(slot),
            !arguments[2...].contains(where: { $0.slots.contains(slot) })
        else { return nil }
        let savedFailure = mayFail
        defer { mayFail = savedFailure }
        mayFail = false
        guard let row = integer(arguments[0]), row.terms.keys.allSatisfy({ $0 < axisVariables }) else { return nil }
        var settings: [Int] = []
        for argument in arguments[2...] {
            guard let value = range(argument), value.isPoint else { return nil }
            settings.append(value.lo)
        }
        let (first, lowOverflow) = start.constant.addingReportingOverflow(lo)
        let (end, highOverflow) = start.constant.addingReportingOverflow(hi)
        guard !mayFail, !lowOverflow, !highOverflow,
            let pattern = BlockPattern(code: settings[0], local: settings[1], stride: settings[2], densityPermille: settings[3], seed: settings[4]),
            isUniformUnderEitherTruth(body, of: condition, slot: slot, start: start, lo, hi)
        else { return nil }
        return RowPartition(slot: slot, pattern: pattern, row: row, lo: first, hi: end)
    }

    /// The `if`s at the top of a loop body its iterations [lo, hi) could be counted by:
    /// undecided over them, reading the loop variable and nothing the body assigns (the
    /// condition is evaluated before the body runs).
    private mutating func partitionCandidates(_ body: PlannedBlock, slot: Int, start: AffineForm, _ lo: Int, _ hi: Int) -> [Expr] {
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
    private mutating func isUniformUnderEitherTruth(
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

    /// Every index of an access (and every site inside it) is uniform over the box.
    private mutating func accessIsUniform(_ access: TensorAccess) -> Bool {
        var uniform = true
        CountSites.forEach(in: access) { site in
            if uniform { uniform = siteIsUniform(site) }
        }
        return uniform
    }

    /// Every site inside an expression (`CountSites`) is uniform over the box.
    private mutating func sitesAreUniform(_ e: Expr) -> Bool {
        var uniform = true
        CountSites.forEach(in: e) { site in
            if uniform { uniform = siteIsUniform(site) }
        }
        return uniform
    }

    /// One site counts alike (and fails alike) everywhere in the box.
    private mutating func siteIsUniform(_ site: CountSite) -> Bool {
        switch site {
        case .index(let access, let axis):
            let extent = tensorShapes[access.tensor][axis]
            switch access.indices[axis] {
            case .all:
                return true
            case .scalar(let e):
                // A single position only has to lie inside the tensor everywhere.
                if !dataSlots.isEmpty && DataDependence.isData(e, dataSlots) { return true }
                guard let i = range(e), i.lo >= 0, i.hi < extent else { return false }
                return true
            case .block(let b, let size, _):
                return blockLength(b, size, extent: extent) != nil
            case .range(let a, let b, _):
                guard let start = integer(a), let end = integer(b), let extentForm = end - start, let length = interval(extentForm),
                    length.isPoint, length.lo > 0, let lo = interval(start), let hi = interval(end), lo.lo >= 0, hi.hi <= extent
                else { return false }
                return true
            }
        case .call(let builtin, let arguments):
            // Settings and tile sizes must agree everywhere; a mask's positions only in
            // their difference (what it hides depends on the query-key offset).
            var query: AffineForm?, key: AffineForm?
            for (argument, spec) in zip(arguments, builtin.spec.arguments(count: arguments.count)) {
                switch spec.role {
                case .operand:
                    continue
                case .tileSize, .setting:
                    guard let v = range(argument), v.isPoint else { return false }
                case .queryPosition:
                    guard let q = integer(argument) else { return false }
                    query = q
                case .keyPosition:
                    guard let k = integer(argument) else { return false }
                    key = k
                }
            }
            if let query, let key {
                guard let difference = query - key, let offset = interval(difference) else { return false }
                if !offset.isPoint && !maskIsAllOrNothing(builtin, arguments, offset: offset) { return false }
            } else if query != nil || key != nil {
                return false
            }
            return true
        case .loopBounds, .condition:
            // Decided by the statement walk (`isUniform`), which gives the loop variable
            // its range and takes the branch.
            return false
        }
    }

    /// Whether a causal or window mask whose query-key offset ranges over `offset` hides
    /// every element of its tile, or none, everywhere in the box: then what it counts
    /// (one FLOP per element, the hidden elements) does not depend on the offset.
    ///
    /// Row r of an R x C tile holds query q0 + (r mod p) (p the row period, R without
    /// one), column c key k0 + c; with D = q0 - k0 and r_max = min(R, p) - 1 the causal
    /// mask keeps key <= query, i.e. c <= D + r. It keeps all when D >= C - 1 and hides
    /// all when D + r_max < 0. A window w also hides keys w or more before the query
    /// (D + r - c >= w): it keeps all when besides D + r_max <= w - 1, and hides all
    /// when D - (C - 1) >= w.
    private mutating func maskIsAllOrNothing(_ builtin: Builtin, _ arguments: [Expr], offset: IntInterval) -> Bool {
        guard let tile = shape(arguments[0]), let rowForm = tile.rows, let colForm = tile.cols,
            let rows = interval(rowForm), let cols = interval(colForm), rows.isPoint, cols.isPoint
        else { return false }
        var window: Int?
        var periodIndex = 3
        if builtin == .maskWindow {
            guard let w = range(arguments[3]), w.isPoint, w.lo > 0 else { return false }
            window = w.lo
            periodIndex = 4
        }
        var period = rows.lo
        if arguments.count > periodIndex {
            guard let p = range(arguments[periodIndex]), p.isPoint, p.lo > 0 else { return false }
            period = p.lo
        }
        let lastRow = Swift.min(rows.lo, period) - 1
        let dlo = offset.lo
        // D + r_max and D - (C - 1) over the box; nil on overflow.
        guard let last = IntInterval.add(offset, IntInterval(point: lastRow)),
            let first = IntInterval.subtract(offset, IntInterval(point: cols.lo - 1))
        else { return false }
        let (lastHi, firstLo) = (last.hi, first.lo)
        if let window {
            let keepsAll = dlo >= cols.lo - 1 && lastHi <= window - 1
            let hidesAll = lastHi < 0 || firstLo >= window
            return keepsAll || hidesAll
        }
        return dlo >= cols.lo - 1 || lastHi < 0
    }

    /// The length of block `b` of `size` positions along an axis of `extent`: when the
    /// block lies inside the axis everywhere in the box and its length min(size, extent -
    /// start) is the same everywhere (every block full, or a single block); else nil.
    private mutating func blockLength(_ b: Expr, _ size: Expr, extent: Int) -> Int? {
        guard let block = range(b), let s = range(size), s.isPoint, s.lo > 0,
            let start = IntInterval.multiply(block, s), start.lo >= 0, start.hi < extent
        else { return nil }
        if extent - start.hi >= s.lo { return s.lo }
        return start.isPoint ? extent - start.lo : nil
    }

    /// The abstract shape of a tile expression; nil when it is not a tile or unknown.
    private mutating func shape(_ e: Expr) -> TileShape? {
        switch e.kind {
        case .local(let slot):
            return shapes[slot]
        case .load(let access, _):
            return loadShape(access)
        case .transpose(let operand):
            return shape(operand).map { TileShape(rows: $0.cols, cols: $0.rows) }
        case .unary(_, let operand):
            return shape(operand)
        case .binary(let op, let l, let r):
            if op == .matmul {
                guard let a = shape(l), let b = shape(r) else { return nil }
                return TileShape(rows: a.rows, cols: b.cols)
            }
            return broadcast(shape(l), shape(r))
        case .call(let builtin, let arguments):
            switch builtin.spec.result {
            case .firstArgument, .floatOrFirst:
                return shape(arguments[0])
            case .tile1D:
                return shape(arguments[0]).map { TileShape(rows: $0.rows, cols: .constant(1)) }
            case .broadcast:
                return broadcast(shape(arguments[0]), shape(arguments[1]))
            case .tileOfSizes:
                let sizes = zip(arguments, builtin.spec.arguments(count: arguments.count)).filter { $1.role == .tileSize }.map { integer($0.0) }
                return TileShape(rows: sizes.first ?? nil, cols: sizes.count > 1 ? sizes[1] : .constant(1))
            case .integer, .widenedFirstArgument:
                return nil
            }
        default:
            return nil
        }
    }

    /// Elementwise broadcasting of two shapes (a scalar has none): equal dimensions, or
    /// one of them 1.
    private func broadcast(_ a: TileShape?, _ b: TileShape?) -> TileShape? {
        guard let a else { return b }
        guard let b else { return a }
        func combine(_ x: AffineForm?, _ y: AffineForm?) -> AffineForm? {
            guard let x, let y else { return nil }
            if x == y || y == .constant(1) { return x }
            return x == .constant(1) ? y : nil
        }
        return TileShape(rows: combine(a.rows, b.rows), cols: combine(a.cols, b.cols))
    }

    /// The shape of a load: the kept dimensions' lengths (all but the last flatten into
    /// rows), each known when the slice is the same length everywhere in the box.
    private mutating func loadShape(_ access: TensorAccess) -> TileShape? {
        let extents = tensorShapes[access.tensor]
        var lengths: [AffineForm?] = []
        for (axis, index) in access.indices.enumerated() {
            switch index {
            case .scalar:
                continue
            case .all:
                lengths.append(.constant(extents[axis]))
            case .block(let b, let size, _):
                lengths.append(blockLength(b, size, extent: extents[axis]).map { .constant($0) })
            case .range(let a, let b, _):
                if let lo = integer(a), let hi = integer(b) { lengths.append(hi - lo) } else { lengths.append(nil) }
            }
        }
        guard let last = lengths.last else { return nil }
        if lengths.count == 1 { return TileShape(rows: last, cols: .constant(1)) }
        var rows: AffineForm? = .constant(1)
        for length in lengths.dropLast() {
            guard let r = rows, let l = length, l.isConstant, let product = r.scaled(by: l.constant) else {
                rows = nil
                break
            }
            rows = product
        }
        return TileShape(rows: rows, cols: last)
    }

    /// The affine form of an integer expression; nil for non-integers or when unknown.
    /// Operations that are not affine give a fresh variable over their result's range.
    mutating func integer(_ e: Expr) -> AffineForm? {
        switch e.kind {
        case .integer(let i): return .constant(i)
        case .parameter(let index):
            if case .int(let i) = parameters[index] { return .constant(i) }
            return nil
        case .local(let slot): return values[slot]
        case .unary(.negate, let operand):
            guard let a = integer(operand) else { return nil }
            return checked(a.scaled(by: -1))
        case .unary(.not, let operand):
            guard let v = range(operand) else { return nil }
            if v.isPoint { return .constant(v.lo == 0 ? 1 : 0) }
            if v.lo > 0 || v.hi < 0 { return .constant(0) }
            return fresh(.boolean)
        case .binary(let op, let l, let r):
            guard op != .matmul, let a = integer(l), let b = integer(r) else { return nil }
            return checked(binaryForm(op, a, b))
        case .call(let builtin, let arguments):
            // Only calls whose arguments are all integers give integers (min and max of
            // tiles do not).
            guard builtin.spec.result == .integer || builtin.spec.result == .broadcast else { return nil }
            var forms: [AffineForm] = []
            for argument in arguments {
                guard let form = integer(argument) else { return nil }
                forms.append(form)
            }
            return checked(callForm(builtin, forms))
        default:
            return nil
        }
    }

    /// `form` when it is known and its range fits in 64 bits; otherwise nil, noting that
    /// the operation that made it may fail somewhere in the box.
    private mutating func checked(_ form: AffineForm?) -> AffineForm? {
        guard let form, form.isConstant || plainInterval(form) != nil else {
            mayFail = true
            return nil
        }
        return form
    }

    private mutating func binaryForm(_ op: BinaryOperator, _ a: AffineForm, _ b: AffineForm) -> AffineForm? {
            switch op {
            case .add: return a + b
            case .subtract: return a - b
            case .multiply:
                if b.isConstant { return a.scaled(by: b.constant) }
                if a.isConstant { return b.scaled(by: a.constant) }
                return rangeOf(a, b, IntInterval.multiply)
            case .divide:
                if b.isConstant, let exact = a.dividedExactly(by: b.constant) { return exact }
                notePeriod(a, divisor: b)
                return noteDivision(rangeOf(a, b, IntInterval.divide), a, b, ceiling: false)
            case .remainder:
                if b.isConstant, b.constant > 0, a.terms.values.allSatisfy({ $0 % b.constant == 0 }) {
                    return .constant(IntegerArithmetic.floorRemainder(a.constant, b.constant))
                }
                notePeriod(a, divisor: b)
                return rangeOf(a, b, IntInterval.remainder)
            case .less, .lessEqual, .greater, .greaterEqual, .equal, .notEqual:
                // Decide on the range of the difference, which keeps relations.
                guard let difference = a - b, let d = interval(difference) else { return nil }
                let zero = IntInterval(point: 0)
                let truth: IntInterval
                switch op {
                case .less: truth = IntInterval.compare(<, d, zero)
                case .lessEqual: truth = IntInterval.compare(<=, d, zero)
                case .greater: truth = IntInterval.compare(>, d, zero)
                case .greaterEqual: truth = IntInterval.compare(>=, d, zero)
                case .equal: truth = d.isPoint ? IntInterval(point: d.lo == 0 ? 1 : 0) : (d.lo > 0 || d.hi < 0 ? IntInterval(point: 0) : .boolean)
                default: truth = d.isPoint ? IntInterval(point: d.lo != 0 ? 1 : 0) : (d.lo > 0 || d.hi < 0 ? IntInterval(point: 1) : .boolean)
                }
                return truth.isPoint ? .constant(truth.lo) : fresh(truth)
            case .and, .or:
                guard let x = interval(a), let y = interval(b) else { return nil }
                let p = truth(x), q = truth(y)
                if op == .and {
                    if p == false || q == false { return .constant(0) }
                    if p == true && q == true { return .constant(1) }
                } else {
                    if p == true || q == true { return .constant(1) }
                    if p == false && q == false { return .constant(0) }
                }
                return fresh(.boolean)
            case .matmul: return nil
            }
    }

    /// The form of an integer built-in's result; nil when unknown or when it may fail.
    private mutating func callForm(_ builtin: Builtin, _ forms: [AffineForm]) -> AffineForm? {
        // The built-in's form comes from its definition (`Builtin.integerForm`).
        switch builtin.integerForm {
        case nil:
            return nil
        case .ceilingDivision?:
            let (a, b) = (forms[0], forms[1])
            if b.isConstant, b.constant != 0, let shifted = a + .constant(b.constant - 1), let exact = shifted.dividedExactly(by: b.constant) {
                return exact
            }
            notePeriod(a, divisor: b)
            return noteDivision(rangeOf(a, b, IntInterval.ceilDivide), a, b, ceiling: true)
        case .extremum(let isMinimum)?:
            let (a, b) = (forms[0], forms[1])
            guard let difference = a - b, let d = interval(difference) else { return nil }
            // Pick a side when the difference's sign is known over the box.
            if d.hi <= 0 { return isMinimum ? a : b }
            if d.lo >= 0 { return isMinimum ? b : a }
            guard let x = interval(a), let y = interval(b) else { return nil }
            return fresh(isMinimum ? IntInterval(Swift.min(x.lo, y.lo), Swift.min(x.hi, y.hi)) : IntInterval(Swift.max(x.lo, y.lo), Swift.max(x.hi, y.hi)))
        case .ranges(let meaning)?:
            var ranges: [ClosedRange<Int>] = []
            for form in forms {
                guard let v = interval(form), v.lo <= v.hi else { return nil }
                ranges.append(v.lo...v.hi)
            }
            guard let r = meaning(ranges) else { return nil }
            return r.lowerBound == r.upperBound ? .constant(r.lowerBound) : fresh(IntInterval(r.lowerBound, r.upperBound))
        }
    }

    /// Notes the residue period on which `a / divisor` (floor, ceiling or remainder)
    /// becomes affine in the box's axes (see `residuePeriod`).
    private mutating func notePeriod(_ a: AffineForm, divisor: AffineForm) {
        guard divisor.isConstant, divisor.constant != 0 else { return }
        let k = abs(divisor.constant)
        for (variable, coefficient) in a.terms where variable < axisVariables {
            let period = k / IntegerArithmetic.gcd(abs(coefficient), k)
            let known = residuePeriods[variable] ?? 1
            let combined = period / IntegerArithmetic.gcd(period, known) * known
            residuePeriods[variable] = Swift.min(combined, Self.maxResiduePeriod + 1)
        }
    }

    /// The residue period of a box axis (see `residuePeriods`); 1 when no division by a
    /// constant involved it, above `maxResiduePeriod` when too long to split by.
    func residuePeriod(ofAxis axis: Int) -> Int {
        axisVariable[axis].flatMap { residuePeriods[$0] } ?? 1
    }

    /// Records that `result`, when it is a fresh variable, is a / b for a positive
    /// constant b (see `divisions`).
    private mutating func noteDivision(_ result: AffineForm?, _ a: AffineForm, _ b: AffineForm, ceiling: Bool) -> AffineForm? {
        if let result, b.isConstant, b.constant > 0, result.constant == 0, result.terms.count == 1,
            let term = result.terms.first, term.value == 1, term.key == ranges.count - 1 {
            divisions[term.key] = (a, b.constant, ceiling)
        }
        return result
    }

    /// A non-affine result: a fresh variable over the range `f` gives.
    private mutating func rangeOf(_ a: AffineForm, _ b: AffineForm, _ f: (IntInterval, IntInterval) -> IntInterval?) -> AffineForm? {
        guard let x = interval(a), let y = interval(b), let r = f(x, y) else { return nil }
        return r.isPoint ? .constant(r.lo) : fresh(r)
    }

    private func truth(_ v: IntInterval) -> Bool? {
        if v.isPoint { return v.lo != 0 }
        if v.lo > 0 || v.hi < 0 { return true }
        return nil
    }
}



/// Rows and columns of a tile as affine forms over the box (nil: unknown).
struct TileShape: Equatable {
    var rows: AffineForm?
    var cols: AffineForm?
}

/// A top-level loop counted by a block-sparse mask whose row varies over a box
/// (`UniformityChecker.countsArePartitioned`): iterations j in [lo, hi) of the loop over
/// `slot`, kept where `pattern` allows (row, j), with the row an affine form in the box's
/// variables (`UniformityChecker.variable(ofAxis:)`).
struct RowPartition {
    var slot: Int
    var pattern: BlockPattern
    var row: AffineForm
    var lo: Int
    var hi: Int
}
