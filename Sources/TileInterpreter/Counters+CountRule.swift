import TileLanguage

extension Counters {
    /// Adds what a built-in call counts by its rule (docs/ARCHITECTURE.md, "Counting
    /// rules"), from the tile it made; returns the FLOPs a trace shows for the call (its
    /// "other" FLOPs, exponentials and logarithms together).
    mutating func count(_ rule: CountRule, _ output: TileOutput) -> Int {
        let elements = output.tile.count
        switch rule {
        case .none, .cast:
            return 0
        case .elementwise:
            flopsOther += elements
            return elements
        case .exp:
            exps += elements
            return elements
        case .log:
            logs += elements
            return elements
        case .rowReduction:
            // A row of c values reduces with c - 1 pairwise operations.
            let flops = output.tile.rows * (output.reducedColumns - 1)
            flopsOther += flops
            return flops
        case .mask:
            // One compare-and-select per element.
            flopsOther += elements
            maskedElements += output.hiddenElements
            return elements
        case .perElement(let other, let special):
            flopsOther += other * elements
            exps += special * elements
            return (other + special) * elements
        }
    }
}
