import AttnNumerics
import TileLanguage

/// Boxes counted by their mask's offset (`UniformityChecker.countsAreBanded`).
extension CountCompressor {
    /// What a block's mask hides: nothing, everything, or part of its tile at offset D.
    enum OffsetKind: Hashable {
        case keep
        case hide
        case partial(Int)
    }

    /// The sum over a box of blocks that differ only in one mask's query-key offset D
    /// (`UniformityChecker.countsAreBanded`): blocks are counted by kind from their
    /// coordinates (`tallyOffsets`), one block of each kind runs, and the box's counters
    /// are the sum of each kind's count times its block's. Exact: the proof leaves D as the
    /// only thing two blocks of the box may differ in, and blocks of one kind have the
    /// same D or hide alike.
    func bandedBoxCounts(_ box: GridBox, _ band: MaskBand, checker: UniformityChecker) throws(Diagnostic) -> Counters? {
        guard let tally = tallyOffsets(box, band, checker: checker) else { return nil }
        try executor.spend(tally.work)
        var perKind: [OffsetKind: Counters] = [:]
        do {
            for kind in tally.order {
                guard let point = tally.samples[kind] else { return nil }
                perKind[kind] = try executor.countBlock(plan, point)
            }
        } catch {
            throw firstFailure(in: box, else: error)
        }
        var sum = Counters(tensorCount: executor.counters.tensors.count)
        do {
            for kind in tally.order {
                guard let counted = perKind[kind], let count = tally.counts[kind] else { return nil }
                try sum.add(counted, times: count)
            }
        } catch {
            throw executor.overflowError(error)
        }
        return sum
    }

    /// How many blocks of the box are of each offset kind, a block of each, in the order
    /// first met, and the work of listing them; nil when a value does not fit in 64 bits
    /// or there are too many to list.
    ///
    /// D is linear along one axis the offset reads directly (the inner axis: D = D0 + b m
    /// for its m-th point, b != 0), so along it the blocks whose D lies below the band of
    /// partial offsets (`MaskShape.partialOffsets`) hide all, those above keep all (hide
    /// all, with a window), and the few inside are listed one by one; every point of the
    /// other axes the offset reads is listed, the axes it does not read repeat.
    private func tallyOffsets(
        _ box: GridBox, _ band: MaskBand, checker: UniformityChecker
    ) -> (counts: [OffsetKind: Int], samples: [OffsetKind: [Int]], order: [OffsetKind], work: Int)? {
        let forms = band.forms
        let variables = forms.variables(of: [band.offset])
        let throughDivisions = forms.variables(of: variables.compactMap { forms.divisions[$0]?.x })
        var axes: [(axis: Int, variable: Int)] = []
        for axis in box.count.indices {
            if let variable = checker.variable(ofAxis: axis), variables.contains(variable) { axes.append((axis, variable)) }
        }
        let linear = axes.filter { band.offset.terms[$0.variable] != nil && !throughDivisions.contains($0.variable) }
        guard let inner = linear.max(by: { box.count[$0.axis] < box.count[$1.axis] }), let slope = band.offset.terms[inner.variable],
            let partial = band.shape.partialOffsets
        else { return nil }
        let outer = axes.filter { $0.axis != inner.axis }
        var outerPoints = 1
        for (axis, _) in outer {
            let (product, overflow) = outerPoints.multipliedReportingOverflow(by: box.count[axis])
            guard !overflow, product <= Self.maxPartitionRows else { return nil }
            outerPoints = product
        }
        let innerCount = box.count[inner.axis]
        let repeats = box.volume / (outerPoints * innerCount)
        // D = D0 + slope m; with the sign folded into D (s D = s D0 + |slope| m), the band
        // [lo, hi] of D is [s lo, s hi] reordered (empty when hi < lo: then no m lies in
        // it, and the blocks below and above it are counted as such).
        let sign = slope > 0 ? 1 : -1
        let step = slope.magnitude > UInt(Int.max) ? Int.max : abs(slope)
        let (bandLo, bandHi) = sign > 0 ? (partial.lo, partial.hi) : (-partial.hi, -partial.lo)
        var counts: [OffsetKind: Int] = [:]
        var samples: [OffsetKind: [Int]] = [:]
        var order: [OffsetKind] = []
        var work = outerPoints
        var axisValues = [Int](repeating: 0, count: checker.axisVariables)
        var offsets = box.count.map { _ in 0 }
        func note(_ kind: OffsetKind, _ n: Int, at m: Int) -> Bool {
            guard n > 0 else { return true }
            let (scaled, o1) = n.multipliedReportingOverflow(by: repeats)
            let (total, o2) = (counts[kind] ?? 0).addingReportingOverflow(scaled)
            guard !o1, !o2 else { return false }
            if counts[kind] == nil {
                order.append(kind)
                offsets[inner.axis] = m
                samples[kind] = box.point(offsets)
            }
            counts[kind] = total
            return true
        }
        for index in 0..<outerPoints {
            var rest = index
            for (axis, variable) in outer.reversed() {
                offsets[axis] = rest % box.count[axis]
                axisValues[variable] = offsets[axis]
                rest /= box.count[axis]
            }
            axisValues[inner.variable] = 0
            guard let d0 = forms.value(band.offset, axes: axisValues) else { return nil }
            let (signedD0, o0) = d0.multipliedReportingOverflow(by: sign)
            // The first m with s D >= bandLo, and the last with s D <= bandHi, clamped.
            let (belowGap, o1) = bandLo.subtractingReportingOverflow(signedD0)
            let (aboveGap, o2) = bandHi.subtractingReportingOverflow(signedD0)
            guard !o0, !o1, !o2 else { return nil }
            let first = Swift.min(Swift.max(IntegerArithmetic.ceilDivide(belowGap, step), 0), innerCount)
            let last = Swift.max(Swift.min(IntegerArithmetic.floorDivide(aboveGap, step), innerCount - 1), first - 1)
            // Below the band (s D < bandLo): D below it hides all for s = 1; above, s = -1.
            let belowKind: OffsetKind = sign > 0 ? .hide : (band.shape.window == nil ? .keep : .hide)
            let aboveKind: OffsetKind = sign > 0 ? (band.shape.window == nil ? .keep : .hide) : .hide
            guard note(belowKind, first, at: 0), note(aboveKind, innerCount - 1 - last, at: last + 1) else { return nil }
            if first <= last {
                work += last - first + 1
                guard work <= Self.maxPartitionRows else { return nil }
                for m in first...last {
                    let (delta, o3) = slope.multipliedReportingOverflow(by: m)
                    let (d, o4) = d0.addingReportingOverflow(delta)
                    guard !o3, !o4 else { return nil }
                    let kind: OffsetKind = band.shape.keepsAll(d) ? .keep : band.shape.hidesAll(d) ? .hide : .partial(d)
                    guard note(kind, 1, at: m) else { return nil }
                }
            }
        }
        guard counts.values.reduce(0, +) == box.volume else { return nil }
        return (counts, samples, order, work)
    }
}
