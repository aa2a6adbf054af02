import AttnNumerics
import TileLanguage

/// Boxes counted by their summed loop (`UniformityChecker.countsAreSummed`).
extension CountCompressor {
    /// The kinds of iterations of a summed loop: its middle and each edge position, each
    /// split by the mask's truth when it has one (`kept` is true without a mask).
    enum IterationKind: Hashable {
        case middle(kept: Bool)
        case prefix(Int, kept: Bool)
        case tail(Int, kept: Bool)
    }

    /// The sum over a box of blocks that count P + sum of m_kind K_kind
    /// (`UniformityChecker.countsAreSummed`): every block's iterations of each kind are
    /// counted from its coordinates (the loop's range, and the mask's kept blocks by
    /// `BlockPattern.keptCount` in closed form), then one block runs with no iteration of
    /// the loop (P, its statements outside the loop) and one iteration of each kind runs
    /// inside a block that has it (K_kind). The box's counters are V P + sum of M_kind
    /// K_kind, its peaks the largest of those runs'.
    ///
    /// Exact when every iteration leaves the carried state as it found it: P's epilogue
    /// then runs in the state any number of iterations leaves, and each kind's iteration
    /// starts, in every block, from the state its sample started from. An iteration that
    /// changes it: nil (the box is split instead).
    func summedBoxCounts(_ box: GridBox, _ loop: SummedLoop, checker: UniformityChecker) throws(Diagnostic) -> Counters? {
        guard let tally = tallyKinds(box, loop, checker: checker) else { return nil }
        try executor.spend(tally.points)
        let tensorCount = executor.counters.tensors.count
        // One run per block: the first block (P, and the kinds it has), then a block for
        // each kind it lacks.
        var runs: [(point: [Int], iterations: [Int])] = [(box.first, [])]
        for kind in tally.order {
            guard let sample = tally.samples[kind] else { continue }
            if let index = runs.firstIndex(where: { $0.point == sample.point }) {
                if !runs[index].iterations.contains(sample.j) { runs[index].iterations.append(sample.j) }
            } else {
                runs.append((sample.point, [sample.j]))
            }
        }
        var base: Counters?
        var perIteration: [Int: Counters] = [:]
        var perKind: [IterationKind: Counters] = [:]
        summedIterationChangedState = false
        defer { summing = nil }
        do {
            for run in runs {
                summing = (loop.bodyID, run.iterations)
                summedIterations = [:]
                // The block's counters leave out the iterations counted apart: the first
                // block's are P.
                let block = try executor.countBlock(plan, run.point)
                if base == nil { base = block }
                for j in run.iterations {
                    guard let counted = summedIterations[j] else { return nil }
                    perIteration[j] = counted
                }
                for kind in tally.order where tally.samples[kind]?.point == run.point {
                    if let j = tally.samples[kind]?.j { perKind[kind] = perIteration[j] }
                }
            }
        } catch {
            throw firstFailure(in: box, else: error)
        }
        guard !summedIterationChangedState, let base else { return nil }
        var sum = Counters(tensorCount: tensorCount)
        do {
            try sum.add(base, times: box.volume)
            for kind in tally.order {
                guard let count = tally.counts[kind], count > 0, let counted = perKind[kind] else { continue }
                try sum.add(counted, times: count)
            }
        } catch {
            throw executor.overflowError(error)
        }
        return sum
    }

    /// Runs the iterations `iterations` of a summed loop (each from the state the loop
    /// starts in), keeping what each counted apart from the block's counters.
    func runSelected(_ iterations: [Int], slot: Int, body: PlannedBlock, carried: CarriedState) throws(Diagnostic) {
        for j in iterations {
            let before = executor.carriedState(carried)
            summedIterations[j] = try executor.countIteration(slot: slot, j, body: body, carried: carried)
            if executor.carriedState(carried) != before { summedIterationChangedState = true }
        }
    }

    /// How many iterations of each kind the box's blocks run between them, and a block
    /// and iteration of each kind there is; nil when a value does not fit in 64 bits or
    /// the box has too many distinct points to list.
    private func tallyKinds(
        _ box: GridBox, _ loop: SummedLoop, checker: UniformityChecker
    ) -> (counts: [IterationKind: Int], samples: [IterationKind: (point: [Int], j: Int)], order: [IterationKind], points: Int)? {
        // The axes the range and the row read; the other axes repeat every count.
        var forms = [loop.lower, loop.trips]
        if let mask = loop.mask { forms.append(mask.row) }
        let variables = loop.forms.variables(of: forms)
        var axes: [(axis: Int, variable: Int)] = []
        for axis in box.count.indices {
            if let variable = checker.variable(ofAxis: axis), variables.contains(variable) { axes.append((axis, variable)) }
        }
        var points = 1
        for (axis, _) in axes {
            let (product, overflow) = points.multipliedReportingOverflow(by: box.count[axis])
            guard !overflow, product <= Self.maxPartitionRows else { return nil }
            points = product
        }
        let repeats = box.volume / points
        var counts: [IterationKind: Int] = [:]
        var samples: [IterationKind: (point: [Int], j: Int)] = [:]
        var order: [IterationKind] = []
        var axisValues = [Int](repeating: 0, count: checker.axisVariables)
        var offsets = box.count.map { _ in 0 }
        func note(_ kind: IterationKind, _ n: Int, sample j: Int?) -> Bool {
            guard n > 0 else { return true }
            let (scaled, o1) = n.multipliedReportingOverflow(by: repeats)
            let (total, o2) = (counts[kind] ?? 0).addingReportingOverflow(scaled)
            guard !o1, !o2 else { return false }
            if counts[kind] == nil { order.append(kind) }
            counts[kind] = total
            if samples[kind] == nil, let j { samples[kind] = (box.point(offsets), j) }
            return true
        }
        for index in 0..<points {
            var rest = index
            for (axis, variable) in axes.reversed() {
                offsets[axis] = rest % box.count[axis]
                axisValues[variable] = offsets[axis]
                rest /= box.count[axis]
            }
            guard let lo = loop.forms.value(loop.lower, axes: axisValues), let trips = loop.forms.value(loop.trips, axes: axisValues),
                trips >= loop.prefix + loop.tail, lo.addingReportingOverflow(trips).overflow == false
            else { return nil }
            let row = loop.mask.flatMap { loop.forms.value($0.row, axes: axisValues) }
            if loop.mask != nil && row == nil { return nil }
            // The edges, one iteration each.
            for k in 0..<loop.prefix {
                let kept = loop.mask.map { $0.pattern.allows(row ?? 0, lo + k) } ?? true
                guard note(.prefix(k, kept: kept), 1, sample: lo + k) else { return nil }
            }
            for k in 0..<loop.tail {
                let j = lo + trips - loop.tail + k
                let kept = loop.mask.map { $0.pattern.allows(row ?? 0, j) } ?? true
                guard note(.tail(k, kept: kept), 1, sample: j) else { return nil }
            }
            // The middle, [lo + prefix, lo + trips - tail).
            let (a, b) = (lo + loop.prefix, lo + trips - loop.tail)
            guard a < b else { continue }
            if let mask = loop.mask, let row {
                let needsSamples = samples[.middle(kept: true)] == nil || samples[.middle(kept: false)] == nil
                let truth: (trueCount: Int, firstTrue: Int?, firstFalse: Int?) =
                    needsSamples ? mask.pattern.truths(row: row, a, b) : (mask.pattern.keptCount(row: row, a, b), nil, nil)
                guard note(.middle(kept: true), truth.trueCount, sample: truth.firstTrue),
                    note(.middle(kept: false), b - a - truth.trueCount, sample: truth.firstFalse)
                else { return nil }
            } else {
                guard note(.middle(kept: true), b - a, sample: a) else { return nil }
            }
        }
        return (counts, samples, order, points)
    }
}
