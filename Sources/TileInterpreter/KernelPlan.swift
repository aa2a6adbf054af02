import TileLanguage

/// A kernel body annotated for execution: when each buffer dies, which variables a loop
/// carries from one iteration to the next, and which grid axes can change the counts.
struct KernelPlan {
    let kernel: KernelDecl
    let body: PlannedBlock
    /// For each grid axis: true when its value can reach a slice extent, a loop bound, an
    /// `if` condition or a tile size, i.e. when blocks along it may count differently.
    let axisIsSensitive: [Bool]
    /// Whether the kernel masks scores (`mask_causal`, `mask_window`): only then does the
    /// uniformity checker track tile shapes.
    let hasMasks: Bool

    init(_ kernel: KernelDecl) {
        self.kernel = kernel
        var builder = PlanBuilder(slotCount: kernel.slotNames.count, slotTypes: kernel.slotTypes)
        builder.collect(kernel.body, path: [], blockID: 0)
        var defining = builder.definingSites()
        // Grid axes hold their value for the whole block: never released.
        for axis in kernel.axes { defining[axis.slot] = nil }
        body = builder.build(kernel.body, blockID: 0, defining: defining)
        let sensitive = SensitivityAnalysis.sensitiveSlots(kernel.body, slotCount: kernel.slotNames.count)
        axisIsSensitive = kernel.axes.map { sensitive.contains($0.slot) }
        var masks = false
        CountSites.forEach(in: kernel.body) { site in
            if case .call(let builtin, _) = site, builtin == .maskCausal || builtin == .maskWindow { masks = true }
        }
        hasMasks = masks
    }
}

/// A statement list with its liveness annotations.
struct PlannedBlock {
    var statements: [PlannedStmt]
    /// Identifies the block among the kernel's blocks (0 is the kernel body).
    var id: Int

    /// Slots assigned anywhere in the block (loop variables included).
    var assignedSlots: Set<Int> {
        var slots: Set<Int> = []
        for statement in statements {
            switch statement.kind {
            case .assign(let slot, _): slots.insert(slot)
            case .store: break
            case .loop(let slot, _, _, let body, _):
                slots.insert(slot)
                slots.formUnion(body.assignedSlots)
            case .conditional(_, let then, let otherwise):
                slots.formUnion(then.assignedSlots)
                slots.formUnion(otherwise.assignedSlots)
            }
        }
        return slots
    }
}

struct PlannedStmt {
    enum Kind {
        case assign(slot: Int, Expr)
        case store(TensorAccess, Expr)
        case loop(slot: Int, lower: Expr, upper: Expr, body: PlannedBlock, carried: CarriedState)
        case conditional(Expr, then: PlannedBlock, otherwise: PlannedBlock)
    }

    var kind: Kind
    var location: SourceLocation
    /// Slots whose last reference is this statement: their buffers are freed after it.
    var release: [Int]
}

/// The variables a loop body assigns that live on past one iteration.
struct CarriedState {
    /// Carried integer variables: their values change between iterations, so iterations
    /// cannot be counted as repeats of one another.
    var integerSlots: [Int]
    var hasIntegers: Bool { !integerSlots.isEmpty }
    /// Carried tile variables: their shapes must stay fixed for iterations to repeat.
    var tileSlots: [Int]
}

/// Collects every reference of every slot with its position in the block tree.
private struct PlanBuilder {
    /// A position: (block id, statement index) from the kernel body inwards.
    typealias Path = [(block: Int, index: Int)]

    var references: [[Path]]
    var assignedIn: [Int: Set<Int>] = [:]  // block id -> slots assigned anywhere inside
    var children: [Int: [Int]] = [:]
    var nextBlockID = 1
    let slotTypes: [ValueType]

    init(slotCount: Int, slotTypes: [ValueType]) {
        references = Array(repeating: [], count: slotCount)
        self.slotTypes = slotTypes
    }

    mutating func collect(_ block: [Stmt], path: Path, blockID: Int) {
        for (index, statement) in block.enumerated() {
            let here = path + [(blockID, index)]
            for slot in SlotReferences.direct(statement) {
                references[slot].append(here)
            }
            switch statement.kind {
            case .loop(_, _, _, _, let body):
                let child = nextBlockID
                nextBlockID += 1
                children[blockID, default: []].append(child)
                collect(body, path: here, blockID: child)
            case .conditional(_, let then, let otherwise):
                for branch in [then, otherwise] {
                    let child = nextBlockID
                    nextBlockID += 1
                    children[blockID, default: []].append(child)
                    collect(branch, path: here, blockID: child)
                }
            default:
                break
            }
        }
    }

    /// For each slot: the block that owns it (the deepest block holding all of its
    /// references) and the statement of that block after which it dies.
    func definingSites() -> [(block: Int, index: Int)?] {
        references.map { paths in
            guard let first = paths.first, !first.isEmpty else { return nil }
            var level = 0
            while true {
                let next = level + 1
                let allDeeper = paths.allSatisfy { $0.count > next }
                let sameEntry = paths.allSatisfy { $0.count > level && $0[level] == first[level] }
                let sameNextBlock = allDeeper && paths.allSatisfy { $0[next].block == first[next].block }
                if sameEntry && sameNextBlock { level = next } else { break }
            }
            let last = paths.map { $0.count > level ? $0[level].index : -1 }.max() ?? 0
            return (first[level].block, last)
        }
    }

    mutating func build(_ block: [Stmt], blockID: Int, defining: [(block: Int, index: Int)?]) -> PlannedBlock {
        var childIterator = (children[blockID] ?? []).makeIterator()
        var statements: [PlannedStmt] = []
        for (index, statement) in block.enumerated() {
            let release = defining.indices.filter { defining[$0].map { $0.block == blockID && $0.index == index } ?? false }
            let kind: PlannedStmt.Kind
            switch statement.kind {
            case .assign(_, let slot, let value):
                kind = .assign(slot: slot, value)
            case .store(let access, let value):
                kind = .store(access, value)
            case .loop(_, let slot, let lower, let upper, let body):
                let child = childIterator.next() ?? -1
                let planned = build(body, blockID: child, defining: defining)
                let inside = subtree(child)
                // Loop variables of nested loops are reset by their loop and never carry.
                let assigned = SlotReferences.assigned(body).subtracting(SlotReferences.loopVariables(body))
                let carried = assigned.filter { slot in defining[slot].map { !inside.contains($0.block) } ?? false }
                let carriedState = CarriedState(
                    integerSlots: carried.filter { slotTypes[$0] == .int }.sorted(),
                    tileSlots: carried.filter { if case .tile = slotTypes[$0] { return true } else { return false } }.sorted())
                kind = .loop(slot: slot, lower: lower, upper: upper, body: planned, carried: carriedState)
            case .conditional(let condition, let then, let otherwise):
                let thenID = childIterator.next() ?? -1
                let otherwiseID = childIterator.next() ?? -1
                kind = .conditional(
                    condition, then: build(then, blockID: thenID, defining: defining),
                    otherwise: build(otherwise, blockID: otherwiseID, defining: defining))
            }
            statements.append(PlannedStmt(kind: kind, location: statement.location, release: release))
        }
        return PlannedBlock(statements: statements, id: blockID)
    }

    func subtree(_ root: Int) -> Set<Int> {
        var result: Set<Int> = [root]
        var stack = [root]
        while let block = stack.popLast() {
            for child in children[block] ?? [] where !result.contains(child) {
                result.insert(child)
                stack.append(child)
            }
        }
        return result
    }
}

/// Which slots a statement references.
enum SlotReferences {
    /// Slots a statement reads or writes itself (for loops and ifs: the header only).
    static func direct(_ statement: Stmt) -> Set<Int> {
        var slots: Set<Int> = []
        switch statement.kind {
        case .assign(_, let slot, let value):
            slots.insert(slot)
            value.collectSlots(into: &slots)
        case .store(let access, let value):
            slots.formUnion(access.slots)
            value.collectSlots(into: &slots)
        case .loop(_, let slot, let lower, let upper, _):
            slots.insert(slot)
            lower.collectSlots(into: &slots)
            upper.collectSlots(into: &slots)
        case .conditional(let condition, _, _):
            condition.collectSlots(into: &slots)
        }
        return slots
    }

    /// Slots assigned anywhere in `block`, nested statements included.
    static func assigned(_ block: [Stmt]) -> Set<Int> {
        var slots: Set<Int> = []
        Stmt.forEach(in: block) { statement in
            switch statement.kind {
            case .assign(_, let slot, _), .loop(_, let slot, _, _, _): slots.insert(slot)
            case .store, .conditional: break
            }
        }
        return slots
    }

    /// Variables of the loops nested anywhere in `block`.
    static func loopVariables(_ block: [Stmt]) -> Set<Int> {
        var slots: Set<Int> = []
        Stmt.forEach(in: block) { statement in
            if case .loop(_, let slot, _, _, _) = statement.kind { slots.insert(slot) }
        }
        return slots
    }
}

/// Finds the slots whose values can change what a block counts.
enum SensitivityAnalysis {
    /// Slots that reach (directly, or through integer assignments) a site (`CountSites`):
    /// a slice, a count-relevant argument of a built-in, a loop bound, a condition.
    static func sensitiveSlots(_ body: [Stmt], slotCount: Int) -> Set<Int> {
        var sensitive: Set<Int> = []
        var definitions: [Int: Set<Int>] = [:]
        Stmt.forEach(in: body) { statement in
            if case .assign(_, let slot, let value) = statement.kind {
                definitions[slot, default: []].formUnion(value.slots)
            }
        }
        // A single-position index only has to lie inside its tensor: it picks which data
        // moves, never how much, so it does not make an axis worth splitting first.
        CountSites.forEach(in: body) { site in
            guard !site.admitsData else { return }
            for e in site.expressions { e.collectSlots(into: &sensitive) }
        }
        var changed = true
        while changed {
            changed = false
            for slot in sensitive {
                for source in definitions[slot] ?? [] where !sensitive.contains(source) {
                    sensitive.insert(source)
                    changed = true
                }
            }
        }
        return sensitive
    }
}
