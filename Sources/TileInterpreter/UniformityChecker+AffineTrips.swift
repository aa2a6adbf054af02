import AttnNumerics
import TileLanguage

/// The affine-trip-count proof (`countsAreAffine`): a top-level loop whose trip count varies
/// affinely over the box splits into edges alike across the box and a uniform middle (causal
/// masks).
extension UniformityChecker {
    /// True when a block's counts are an affine function of the box's axes: uniform, or
    /// with top-level loops whose trip counts vary affinely (see the type's comment).
    /// Call once, on a fresh checker, after the axes' ranges are set.
    mutating func countsAreAffine(_ block: PlannedBlock) -> Bool {
        allowsAffineLoops = true
        allowsAffineShapes = true
        tracksShapes = true
        axisVariables = ranges.count
        defer {
            allowsAffineLoops = false
            allowsAffineShapes = false
        }
        return isUniform(block)
    }

    /// The most iterations an affine loop may set apart at its two ends.
    static let maxEdges = 4

    /// A top-level loop whose trip count T = hi - lo varies affinely with the box's axes:
    /// for some edge lengths p + t <= `maxEdges` (or p = 0 or t = 0 up to `maxLongEdge`)
    /// with T - p - t >= 1 everywhere, a prefix
    /// j = lo + k (k < p) and a tail j = hi - t + k (k < t) must be uniform per k, and the
    /// middle j = lo + p + k (k < T - p - t) uniform over the box and k together, knowing
    /// T - p - t - 1 - k >= 0. A causal forward pass has its diagonal block in the tail, a
    /// causal backward pass (query blocks from the diagonal down) in the prefix.
    ///
    /// Short edges may also take every iteration of the box's shortest blocks (p + t =
    /// min T, the middle empty there and T - p - t >= 0 everywhere): a block then counts
    /// its edges plus T - p - t times the middle, still affine in the coordinates (nsa's
    /// attend, whose window loop runs cur + 1 key blocks, the last masked, for the queries
    /// p < w - 1: a residue class mod lsel starts at cur = 0, one iteration, all tail).
    /// That is noted (`sawEmptyMiddle`): the blocks that run a middle iteration are then not
    /// all blocks, so the caller runs one that runs the most (a corner of the box: T - p -
    /// t is affine) under the carried-state watch.
    mutating func affineLoopIsUniform(_ body: PlannedBlock, slot: Int, lower: AffineForm, upper: AffineForm, trips: AffineForm) -> Bool {
        guard allowsAffineLoops, loopDepth == 0 else { return false }
        guard trips.terms.keys.allSatisfy({ $0 < axisVariables }) else {
            sawNonAffineTripCount = true
            return false
        }
        guard let span = interval(trips), span.lo >= 1 else { return false }
        let holds = affineLoopSplits(body, slot: slot, lower: lower, upper: upper, trips: trips, span: span)
        if holds { sawAffineLoop = true }
        return holds
    }

    /// Whether the affine loop's iterations split into edges and a middle (see
    /// `affineLoopIsUniform`).
    private mutating func affineLoopSplits(_ body: PlannedBlock, slot: Int, lower: AffineForm, upper: AffineForm, trips: AffineForm, span: IntInterval) -> Bool {
        // Edges of span.lo leave the middle empty in the shortest blocks (not in all: the
        // trip count varies, so span.hi > span.lo).
        let longest = Swift.min(Self.maxEdges, span.hi > span.lo ? span.lo : span.lo - 1)
        for edges in 0...longest {
            for prefix in 0...edges where edgesAreUniform(body, slot: slot, lower: lower, upper: upper, trips: trips, span: span, prefix, edges - prefix) {
                if edges == span.lo { sawEmptyMiddle = true }
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
    static let maxLongEdge = 64

    /// Whether an affine loop splits into a prefix of `prefix` and a tail of `tail`
    /// iterations, each alike across the box, around a uniform middle.
    mutating func edgesAreUniform(
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

    /// Whether the constant range [lo, hi) of j = start + k splits into a prefix and a
    /// tail of at most `maxEdges` iterations between them, each alike across the box,
    /// around a middle uniform over the box and its iterations together.
    ///
    /// Longer edges at both ends (a window of Br / Bc masked key blocks at each of its
    /// edges, up to `maxLongEdge` each) are found by bisection: the middle only shrinks as
    /// either edge grows, so the shortest equal pair that leaves it uniform is searched
    /// first, then each edge shortened alone.
    mutating func edgesSplitRange(_ body: PlannedBlock, slot: Int, start: AffineForm, _ lo: Int, _ hi: Int) -> Bool {
        guard hi - lo > Self.maxEdges + 1, let lower = start + .constant(lo), let upper = start + .constant(hi) else { return false }
        let trips = AffineForm.constant(hi - lo)
        let span = IntInterval(point: hi - lo)
        for edges in 1...Self.maxEdges {
            for prefix in 0...edges where edgesAreUniform(body, slot: slot, lower: lower, upper: upper, trips: trips, span: span, prefix, edges - prefix) {
                return true
            }
        }
        let widest = Swift.min(Self.maxLongEdge, (hi - lo - 1) / 2)
        guard widest > Self.maxEdges else { return false }
        func middle(_ checker: inout UniformityChecker, _ prefix: Int, _ tail: Int) -> Bool {
            guard let start = lower + .constant(prefix) else { return false }
            return checker.middleIsUniform(body, slot: slot, lower: start, trips: .constant(hi - lo - prefix - tail), longest: hi - lo - prefix - tail)
        }
        guard middle(&self, widest, widest) else { return false }
        /// The least edge in (failing, holding] for which `holds` does.
        func shortest(_ failing: Int, _ holding: Int, _ holds: (Int) -> Bool) -> Int {
            var (failing, holding) = (failing, holding)
            while holding - failing > 1 {
                let mid = failing + (holding - failing) / 2
                if holds(mid) { holding = mid } else { failing = mid }
            }
            return holding
        }
        let both = shortest(0, widest) { middle(&self, $0, $0) }
        let prefix = shortest(-1, both) { middle(&self, $0, both) }
        let tail = shortest(-1, both) { middle(&self, prefix, $0) }
        return edgesAreUniform(body, slot: slot, lower: lower, upper: upper, trips: trips, span: span, prefix, tail)
    }

    /// The body at j = lower + k for every k < trips (>= 1 over the box), k < longest.
    mutating func middleIsUniform(_ body: PlannedBlock, slot: Int, lower: AffineForm, trips: AffineForm, longest: Int) -> Bool {
        let saved = (values, ranges.count, constraints.count, mayFail, shapes, allowsAffineShapes)
        // The middle counts one iteration times a trip count: its sizes must not vary.
        allowsAffineShapes = false
        defer {
            allowsAffineShapes = saved.5
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
}
