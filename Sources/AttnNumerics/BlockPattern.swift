/// Which (query block, key block) pairs a block-sparse attention computes.
///
/// The patterns of the efficient-transformer survey's "fixed patterns" (Tay et al. 2022,
/// Section 3.2; Child et al. 2019's local and strided attention), and a seeded random mask.
public enum BlockPattern: Sendable, Equatable {
    /// Every block.
    case dense
    /// Blocks within `local - 1` of the diagonal, plus every `stride`-th key block
    /// (blocks stride-1, 2 stride-1, ...), which act as summary columns.
    case localStrided(local: Int, stride: Int)
    /// Each off-diagonal block kept with probability density/1000 (seeded hash); the
    /// diagonal is always kept, so every query block sees a key block.
    case random(densityPermille: Int, seed: Int)

    /// The codes the tile language's `block_mask` builtin takes for `pattern`.
    public init?(code: Int, local: Int, stride: Int, densityPermille: Int, seed: Int) {
        switch code {
        case 0: self = .dense
        case 1: self = .localStrided(local: local, stride: stride)
        case 2: self = .random(densityPermille: densityPermille, seed: seed)
        default: return nil
        }
    }

    /// Whether query block `i` computes key block `j`.
    public func allows(_ i: Int, _ j: Int) -> Bool {
        switch self {
        case .dense:
            return true
        case .localStrided(let local, let stride):
            // |i - j| < local without overflow: a distance past Int.max is never local.
            let (difference, overflow) = i.subtractingReportingOverflow(j)
            let near = !overflow && local > 0 && difference.magnitude < UInt(local)
            return near || (stride > 0 && j % stride == stride - 1)
        case .random(let density, let seed):
            if i == j { return true }
            var generator = SeededGenerator(seed: UInt64(truncatingIfNeeded: seed) &* 0x9E37_79B9_7F4A_7C15
                ^ UInt64(truncatingIfNeeded: i) &* 0xBF58_476D_1CE4_E5B9 ^ UInt64(truncatingIfNeeded: j))
            return Int(generator.next() % 1000) < density
        }
    }
}
