import TileLanguage

extension Counters {
    /// Adds what a built-in call counts by its rule (docs/ARCHITECTURE.md, "Counting
    /// rules"), from the tile it made; returns the FLOPs a trace shows for the call (its
    /// "other" FLOPs, exponentials and logarithms together). Throws when a counter would
    /// pass 2^63 - 1.
    mutating func count(_ rule: CountRule, _ output: TileOutput) throws(CounterOverflow) -> Int {
        let elements = output.tile.count
        switch rule {
        case .none, .cast:
            return 0
        case .elementwise:
            try CounterOverflow.accumulate(&flopsOther, elements, 1, "other FLOPs")
            return elements
        case .exp:
            try CounterOverflow.accumulate(&exps, elements, 1, "exps")
            return elements
        case .log:
            try CounterOverflow.accumulate(&logs, elements, 1, "logs")
            return elements
        case .rowReduction:
            // A row of c values reduces with c - 1 pairwise operations.
            let flops = output.tile.rows * (output.reducedColumns - 1)
            try CounterOverflow.accumulate(&flopsOther, flops, 1, "other FLOPs")
            return flops
        case .mask:
            // One compare-and-select per element.
            try CounterOverflow.accumulate(&flopsOther, elements, 1, "other FLOPs")
            try CounterOverflow.accumulate(&maskedElements, output.hiddenElements, 1, "masked elements")
            return elements
        case .selection:
            // r rows of c candidates, each compared along a heap of k: r c ceil(log2 k), at
            // least one comparison per candidate.
            var depth = 1
            while depth < 62 && (1 << depth) < output.tile.cols { depth += 1 }
            let compared = output.tile.rows * output.reducedColumns
            try CounterOverflow.accumulate(&flopsOther, compared, depth, "other FLOPs")
            var flops = 0
            try CounterOverflow.accumulate(&flops, compared, depth, "FLOPs of one call")
            return flops
        case .perElement(let other, let special):
            try CounterOverflow.accumulate(&flopsOther, other, elements, "other FLOPs")
            try CounterOverflow.accumulate(&exps, special, elements, "exps")
            var flops = 0
            try CounterOverflow.accumulate(&flops, other + special, elements, "FLOPs of one call")
            return flops
        case .triangularInverse:
            // Element (i, j), i - j = m > 0: m - 1 multiplies, m - 1 additions and a
            // negation; summed over the strictly lower triangle, n(n - 1)(2n - 1) / 6.
            // n(n - 1) / 2 times 2n - 1 is divisible by 3.
            let n = output.tile.rows
            var pairsTimesLength = 0
            try CounterOverflow.accumulate(&pairsTimesLength, n * (n - 1) / 2, 2 * n - 1, "other FLOPs")
            let flops = pairsTimesLength / 3
            try CounterOverflow.accumulate(&flopsOther, flops, 1, "other FLOPs")
            return flops
        }
    }
}
