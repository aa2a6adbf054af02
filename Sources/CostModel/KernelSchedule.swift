import TileLanguage

/// What a kernel's program says about how its loads wait, read off its statements.
///
/// - *Streamed tensors*: those loaded inside a loop; one iteration loads a tile of each
///   and then waits on them (a `stages(n)` kernel issues the next n - 1 iterations' loads
///   first).
/// - *Dependent loads*: the longest chain of loads in one iteration whose indices need a
///   value an earlier load of the same iteration returned: 1 when every address is known
///   when the iteration starts, 2 for a block-table lookup before the page it names.
public struct KernelSchedule: Sendable, Equatable {
    /// Tensors (indices into the program's tensors) loaded inside a loop.
    public var streamedTensors: Set<Int>
    /// Loads in the longest dependent chain of one loop iteration (0 without loops).
    public var dependentLoads: Int
    /// Row reductions (`rowmax`, `rowsum`) one round runs: per iteration of the innermost
    /// loop, or in the whole body of a kernel without loops.
    public var reductionsPerRound: Int = 0

    public init(streamedTensors: Set<Int>, dependentLoads: Int) {
        self.streamedTensors = streamedTensors
        self.dependentLoads = dependentLoads
    }

    public init(_ kernel: KernelDecl) {
        var streamed: Set<Int> = []
        var chain = 0
        Stmt.forEach(in: kernel.body) { statement in
            guard case .loop(_, _, _, _, let body) = statement.kind else { return }
            // Depth of the chain behind each slot assigned in this loop body: a load is one
            // deeper than the deepest slot its indices read; other values carry the depth of
            // their operands.
            var depth: [Int: Int] = [:]
            var deepest = 0
            Stmt.forEach(in: body) { inner in
                guard case .assign(_, let slot, let value) = inner.kind else { return }
                if case .load(let access, _) = value.kind {
                    streamed.insert(access.tensor)
                    let level = 1 + (access.slots.compactMap { depth[$0] }.max() ?? 0)
                    depth[slot] = level
                    deepest = max(deepest, level)
                } else {
                    depth[slot] = value.slots.compactMap { depth[$0] }.max() ?? 0
                }
            }
            chain = max(chain, deepest)
        }
        self.init(streamedTensors: streamed, dependentLoads: chain)
        reductionsPerRound = Self.reductions(in: kernel.body)
    }

    /// Reductions one round runs: those of the innermost loop that has any (its body's
    /// straight-line statements and the arms of its `if`s), else those of the whole body.
    static func reductions(in block: [Stmt]) -> Int {
        let (loop, straight) = roundReductions(block)
        return loop ?? straight
    }

    /// The reductions of the innermost loop below `block` that has any (nil when no loop
    /// has), and those of `block`'s own statements (the larger arm of each `if`).
    private static func roundReductions(_ block: [Stmt]) -> (loop: Int?, straight: Int) {
        var loop: Int?
        var straight = 0
        for statement in block {
            switch statement.kind {
            case .loop(_, _, _, _, let body):
                let inner = roundReductions(body)
                let here = inner.loop ?? inner.straight
                if here > 0 { loop = max(loop ?? 0, here) }
            case .conditional(_, let then, let otherwise):
                let a = roundReductions(then), b = roundReductions(otherwise)
                if let l = a.loop ?? b.loop { loop = max(loop ?? 0, max(l, b.loop ?? 0)) }
                straight += max(a.straight, b.straight)
            case .assign(_, _, let e), .store(_, let e):
                _ = e.contains { node in
                    if case .call(let builtin, _) = node.kind, builtin == .rowmax || builtin == .rowsum { straight += 1 }
                    return false
                }
            }
        }
        return (loop, straight)
    }
}
