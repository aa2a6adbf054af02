import AttnNumerics
import TileLanguage

/// The period scan (`foldPeriods(of:)`): how often a block's counts can repeat along each
/// dimension of a box, through every division the statements make, nested ones included.
extension UniformityChecker {
    /// Walks every statement once, whatever the proofs would decide, and returns the
    /// least common period of the divisions met in each box dimension (`foldPeriods`) and
    /// the shortest (`runPeriods`), by dimension index. Conditions are not decided (both branches are walked), a
    /// loop variable ranges over its whole range, and a `min` or `max` whose sides
    /// cross over the box is taken as its side that varies (quest's
    /// max(0, min(pages, last + 1) - kp) as last + 1 - kp): the period is a hint for
    /// folding the box (`CountCompressor.foldedBox`), never a proof, so it need not hold
    /// everywhere; what the folded pieces count is proven as for any box.
    mutating func foldPeriods(of block: PlannedBlock) -> [Int: FoldPeriod] {
        scansPeriods = true
        axisVariables = ranges.count
        scanPeriods(block)
        var periods: [Int: FoldPeriod] = [:]
        for (dimension, variable) in axisVariable {
            if let period = foldPeriods[variable] {
                periods[dimension] = FoldPeriod(period: period, run: runPeriods[variable] ?? period, cuts: runCuts[variable] ?? [])
            }
        }
        return periods
    }

    private mutating func scanPeriods(_ block: PlannedBlock) {
        for statement in block.statements {
            steps += Self.unitsPerStep
            switch statement.kind {
            case .assign(let slot, let value):
                values[slot] = integer(value)
            case .store:
                break
            case .conditional(let condition, let then, let otherwise):
                _ = integer(condition)
                scanPeriods(then)
                scanPeriods(otherwise)
            case .loop(let slot, let lower, let upper, let body, let carried):
                for s in carried.integerSlots { values[s] = nil }
                if let lo = integer(lower).flatMap({ interval($0) }), let hi = integer(upper).flatMap({ interval($0) }), lo.lo < hi.hi {
                    values[slot] = fresh(IntInterval(lo.lo, hi.hi - 1))
                } else {
                    values[slot] = nil
                }
                loopDepth += 1
                scanPeriods(body)
                loopDepth -= 1
                values[slot] = nil
            }
        }
    }
}

/// How a box dimension's counts repeat (`UniformityChecker.foldPeriods(of:)`): the period
/// it is folded by, the shortest period of one division, and where each division steps.
struct FoldPeriod: Equatable {
    var period: Int
    var run: Int
    var cuts: Set<RunCut>

    /// The first points of the runs a dimension of `count` points is cut into: 0 and every
    /// point where a division steps (x = phase mod its period). Between two of them no
    /// division the scan met changes its value, whatever the phase of its dividend (nsa's
    /// (p - 31) / 16 beside p / 64: runs [0, 15), [15, 31), ..., [63, 64), [64, 79), ...);
    /// runs of `run` from 0 when no step was noted.
    func runStarts(count: Int) -> [Int] {
        guard !cuts.isEmpty else { return Array(Swift.stride(from: 0, to: count, by: Swift.max(run, 1))) }
        var starts: Set<Int> = [0]
        for cut in cuts where cut.period > 1 {
            for start in Swift.stride(from: cut.phase, to: count, by: cut.period) { starts.insert(start) }
        }
        return starts.sorted()
    }
}

/// Where a floor division steps along a box variable x: at x = phase mod period.
struct RunCut: Hashable {
    var period: Int
    var phase: Int
}
