import TileLanguage

/// A kernel body annotated for execution: when each buffer dies, which variables a loop
/// carries from one iteration to the next, and which grid axes can change the counts.
struct KernelPlan {
    let kernel: KernelDecl
    private(set) var body: PlannedBlock
    /// For each grid axis: true when its value can reach a slice extent, a loop bound, an
    /// `if` condition or a tile size, i.e. when blocks along it may count differently.
    let axisIsSensitive: [Bool]
    /// Whether the kernel masks scores (`mask_causal`, `mask_window`, `mask_prefix`) or takes columns of
    /// tiles (`col`): only then does the uniformity checker track tile shapes.
    let tracksShapes: Bool
    /// A top-level loop whose key ranges tile along a grid axis (split-KV), if any.
    let tiledSplit: TiledSplit?
    /// Whether an `if` tests a block-sparse mask (`block_mask`): only then may a box be
    /// counted by its rows' kept blocks (`UniformityChecker.countsArePartitioned`).
    let hasBlockMask: Bool

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
            if case .call(let builtin, _) = site, builtin == .maskCausal || builtin == .maskWindow || builtin == .maskPrefix || builtin == .col { masks = true }
        }
        tracksShapes = masks
        tiledSplit = TiledSplit.find(in: body, kernel: kernel)
        var blockMask = false
        Stmt.forEach(in: kernel.body) { statement in
            if case .conditional(let condition, _, _) = statement.kind,
                condition.contains(where: { if case .call(.blockMask, _) = $0.kind { return true } else { return false } }) {
                blockMask = true
            }
        }
        hasBlockMask = blockMask
    }

    /// This plan with the upper bound of `split`'s loop replaced by `upper`, and the
    /// integer slots `upper` reads kept alive up to the loop.
    func withSplitLoopUpper(_ split: TiledSplit, _ upper: Expr) -> KernelPlan {
        var copy = self
        let keep = upper.slots
        for index in 0..<split.loop {
            copy.body.statements[index].release.removeAll { keep.contains($0) }
        }
        var loop = copy.body.statements[split.loop]
        if case .loop(let slot, let lower, _, let loopBody, let carried) = loop.kind {
            loop.kind = .loop(slot: slot, lower: lower, upper: upper, body: loopBody, carried: carried)
        }
        let moved = keep.filter { slot in self.body.statements[0..<split.loop].contains { $0.release.contains(slot) } }
        loop.release.append(contentsOf: moved.filter { !loop.release.contains($0) }.sorted())
        copy.body.statements[split.loop] = loop
        return copy
    }
}

/// A top-level loop whose ranges tile its key range along a grid axis s, as split-KV
/// kernels write it:
///
///     jlo = A + s * P              (or min(B, A + s * P))
///     jhi = min(B, jlo + P)
///     for j in jlo ..< jhi: ...
///
/// with A, B and P free of s. Capping jlo at B changes nothing: a split whose start
/// A + s P reaches B runs no iteration either way (paged decoding's partitions past a
/// causal query's last page). Splits s0 ..< s0 + c then run, between them, the
/// iterations [A + s0 P, min(B, A + (s0 + c) P)) once each (none when P <= 0): the same
/// as one block whose loop runs to `min(B, jlo + c * P)`. `find` also requires that the
/// statements before the loop (but those two) and the loop body read nothing that
/// depends on s, that the loop carries no integer, and that A, B and P keep their values
/// from jlo's assignment to the loop; then a block's prologue and every iteration count
/// the same whichever split runs them (`CountCompressor.countTiled`).
struct TiledSplit {
    /// The axis s, an index into the kernel's axes.
    let axis: Int
    /// The loop's index among the kernel body's top-level statements.
    let loop: Int
    /// The loop variable j.
    let loopSlot: Int
    /// The slot of jlo, the loop's lower bound.
    let lowSlot: Int
    /// B and P.
    let bound: Expr
    let step: Expr

    /// The loop's upper bound when one block stands for `splits` consecutive splits.
    func mergedUpper(splits: Int, at location: SourceLocation) -> Expr {
        let scaled = Expr(.binary(.multiply, Expr(.integer(splits), location), step), location)
        return Expr(.call(.min, [bound, Expr(.binary(.add, Expr(.local(lowSlot), location), scaled), location)]), location)
    }

    /// The loop's upper bound that runs no iteration (the prologue and epilogue alone).
    func emptyUpper(at location: SourceLocation) -> Expr {
        Expr(.local(lowSlot), location)
    }

    static func find(in body: PlannedBlock, kernel: KernelDecl) -> TiledSplit? {
        var assignments: [Int: Int] = [:]
        countAssignments(body, into: &assignments)
        for (loopIndex, statement) in body.statements.enumerated() {
            guard case .loop(let j, let lower, let upper, let loopBody, let carried) = statement.kind, !carried.hasIntegers,
                case .local(let lowSlot) = lower.kind, case .local(let highSlot) = upper.kind, lowSlot != highSlot,
                assignments[lowSlot] == 1, assignments[highSlot] == 1,
                let lowIndex = body.statements[..<loopIndex].firstIndex(where: { $0.assigns(lowSlot) }),
                let highIndex = body.statements[..<loopIndex].firstIndex(where: { $0.assigns(highSlot) }), lowIndex < highIndex,
                case .assign(_, let lowValue) = body.statements[lowIndex].kind,
                case .assign(_, let highValue) = body.statements[highIndex].kind
            else { continue }
            for (axis, declaration) in kernel.axes.enumerated() {
                guard let found = cappedProgression(lowValue, along: declaration.slot),
                    let bound = cappedStep(highValue, low: lowSlot, step: found.step),
                    found.cap.map({ $0.sameValue(as: bound) }) ?? true
                else { continue }
                let (start, step, _) = found
                let pieces = [start, step, bound].compactMap { $0 }
                let read = pieces.reduce(into: Set<Int>()) { $0.formUnion($1.slots) }
                guard read.allSatisfy({ kernel.slotTypes.indices.contains($0) && kernel.slotTypes[$0] == .int }),
                    !read.contains(lowSlot), !read.contains(highSlot), !read.contains(declaration.slot)
                else { continue }
                // A, B and P keep their values from jlo's assignment to the loop.
                var assignedLater: Set<Int> = []
                for index in lowIndex..<loopIndex { body.statements[index].collectAssigned(into: &assignedLater) }
                guard read.isDisjoint(with: assignedLater) else { continue }
                // Nothing before the loop but jlo and jhi, and nothing in the loop body,
                // reads a value that depends on s.
                let tainted = dependents(of: declaration.slot, in: body, excludingLoop: loopIndex)
                guard read.isDisjoint(with: tainted) else { continue }
                let prologueClean = body.statements[..<loopIndex].indices.allSatisfy { index in
                    index == lowIndex || index == highIndex || body.statements[index].readSlots.isDisjoint(with: tainted)
                }
                guard prologueClean, loopBody.readSlots.isDisjoint(with: tainted) else { continue }
                return TiledSplit(axis: axis, loop: loopIndex, loopSlot: j, lowSlot: lowSlot, bound: bound, step: step)
            }
        }
        return nil
    }

    /// A + s * P as `progression` reads it, or min(B, A + s * P) (either order) with B
    /// free of s: (A or nil, P, B or nil).
    private static func cappedProgression(_ e: Expr, along s: Int) -> (start: Expr?, step: Expr, cap: Expr?)? {
        if let found = progression(e, along: s) { return (found.start, found.step, nil) }
        guard case .call(.min, let arguments) = e.kind, arguments.count == 2 else { return nil }
        for (cap, inner) in [(arguments[0], arguments[1]), (arguments[1], arguments[0])] where !cap.slots.contains(s) {
            if let found = progression(inner, along: s) { return (found.start, found.step, cap) }
        }
        return nil
    }

    /// A + s * P (in any order of the operands; A may be absent): (A or nil, P), with s
    /// read nowhere else.
    private static func progression(_ e: Expr, along s: Int) -> (start: Expr?, step: Expr)? {
        func product(_ e: Expr) -> Expr? {
            guard case .binary(.multiply, let l, let r) = e.kind else { return nil }
            if case .local(s) = l.kind, !r.slots.contains(s) { return r }
            if case .local(s) = r.kind, !l.slots.contains(s) { return l }
            return nil
        }
        if let step = product(e) { return (nil, step) }
        guard case .binary(.add, let l, let r) = e.kind else { return nil }
        if let step = product(r), !l.slots.contains(s) { return (l, step) }
        if let step = product(l), !r.slots.contains(s) { return (r, step) }
        return nil
    }

    /// min(B, jlo + P) (in any order of min's arguments and of the sum): B.
    private static func cappedStep(_ e: Expr, low: Int, step: Expr) -> Expr? {
        guard case .call(.min, let arguments) = e.kind, arguments.count == 2 else { return nil }
        func isLowPlusStep(_ e: Expr) -> Bool {
            guard case .binary(.add, let l, let r) = e.kind else { return false }
            if case .local(low) = l.kind, r.sameValue(as: step) { return true }
            if case .local(low) = r.kind, l.sameValue(as: step) { return true }
            return false
        }
        if isLowPlusStep(arguments[1]), !arguments[0].slots.contains(low) { return arguments[0] }
        if isLowPlusStep(arguments[0]), !arguments[1].slots.contains(low) { return arguments[1] }
        return nil
    }

    /// How many statements assign each slot, anywhere in `block`.
    private static func countAssignments(_ block: PlannedBlock, into counts: inout [Int: Int]) {
        for statement in block.statements {
            switch statement.kind {
            case .assign(let slot, _): counts[slot, default: 0] += 1
            case .store: break
            case .loop(let slot, _, _, let body, _):
                counts[slot, default: 0] += 1
                countAssignments(body, into: &counts)
            case .conditional(_, let then, let otherwise):
                countAssignments(then, into: &counts)
                countAssignments(otherwise, into: &counts)
            }
        }
    }

    /// Slots whose value may depend on `source`: assigned from it, or under an `if` or a
    /// loop whose header reads it (the top-level loop `excludingLoop` and its body aside:
    /// its variable is what the splits share).
    private static func dependents(of source: Int, in body: PlannedBlock, excludingLoop: Int) -> Set<Int> {
        var tainted: Set<Int> = [source]
        var changed = true
        func walk(_ block: PlannedBlock, control: Bool, top: Bool) {
            for (index, statement) in block.statements.enumerated() {
                if top && index == excludingLoop { continue }
                func taint(_ slot: Int) {
                    if tainted.insert(slot).inserted { changed = true }
                }
                switch statement.kind {
                case .assign(let slot, let value):
                    if control || !value.slots.isDisjoint(with: tainted) { taint(slot) }
                case .store:
                    break
                case .loop(let slot, let lower, let upper, let loopBody, _):
                    let header = control || !lower.slots.union(upper.slots).isDisjoint(with: tainted)
                    if header { taint(slot) }
                    walk(loopBody, control: header, top: false)
                case .conditional(let condition, let then, let otherwise):
                    let header = control || !condition.slots.isDisjoint(with: tainted)
                    walk(then, control: header, top: false)
                    walk(otherwise, control: header, top: false)
                }
            }
        }
        while changed {
            changed = false
            walk(body, control: false, top: true)
        }
        return tainted
    }
}

extension PlannedStmt {
    /// Whether this statement itself assigns `slot` (not a nested one).
    func assigns(_ slot: Int) -> Bool {
        if case .assign(slot, _) = kind { return true }
        return false
    }

    /// Adds every slot this statement assigns, nested statements and loop variables included.
    func collectAssigned(into slots: inout Set<Int>) {
        switch kind {
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

    /// Every slot this statement reads, nested statements included.
    var readSlots: Set<Int> {
        var slots: Set<Int> = []
        switch kind {
        case .assign(_, let value):
            value.collectSlots(into: &slots)
        case .store(let access, let value):
            slots.formUnion(access.slots)
            value.collectSlots(into: &slots)
        case .loop(_, let lower, let upper, let body, _):
            lower.collectSlots(into: &slots)
            upper.collectSlots(into: &slots)
            slots.formUnion(body.readSlots)
        case .conditional(let condition, let then, let otherwise):
            condition.collectSlots(into: &slots)
            slots.formUnion(then.readSlots)
            slots.formUnion(otherwise.readSlots)
        }
        return slots
    }
}

extension PlannedBlock {
    /// Every slot the block's statements read.
    var readSlots: Set<Int> {
        statements.reduce(into: Set<Int>()) { $0.formUnion($1.readSlots) }
    }
}

extension Expr {
    /// Whether two expressions compute the same thing, wherever they are written
    /// (`==` also compares source locations).
    func sameValue(as other: Expr) -> Bool {
        switch (kind, other.kind) {
        case (.integer(let a), .integer(let b)): return a == b
        case (.local(let a), .local(let b)): return a == b
        case (.parameter(let a), .parameter(let b)): return a == b
        case (.unary(let op, let a), .unary(let op2, let b)): return op == op2 && a.sameValue(as: b)
        case (.binary(let op, let a, let b), .binary(let op2, let c, let d)): return op == op2 && a.sameValue(as: c) && b.sameValue(as: d)
        case (.call(let f, let a), .call(let g, let b)):
            return f == g && a.count == b.count && zip(a, b).allSatisfy { $0.sameValue(as: $1) }
        default: return false
        }
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
        for statement in statements { statement.collectAssigned(into: &slots) }
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
    /// `x = expr -> tmem`: the assignment's result is held in tensor memory.
    var placement: TileLevel? = nil
}

/// The variables a loop body assigns that live on past one iteration.
struct CarriedState {
    /// Carried integer variables: their values change between iterations, so iterations
    /// cannot be counted as repeats of one another.
    var integerSlots: [Int]
    var hasIntegers: Bool { !integerSlots.isEmpty }
    /// Carried tile variables: their shapes must stay fixed for iterations to repeat.
    var tileSlots: [Int]
    /// Carried tiles that every iteration reloads first (`slot = load ...`, after integer
    /// statements only) and that die with the loop: the executor frees the old tile
    /// before it allocates the new one, so the layout an iteration finds changes nothing
    /// it counts (moba's select reloads its pooled keys `km` in chunks).
    var reloadedSlots: Set<Int> = []
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
                let tiles = carried.filter { if case .tile = slotTypes[$0] { return true } else { return false } }
                let carriedState = CarriedState(
                    integerSlots: carried.filter { slotTypes[$0] == .int }.sorted(),
                    tileSlots: tiles.sorted(),
                    reloadedSlots: Set(tiles.filter { slot in
                        defining[slot].map { $0.block == blockID && $0.index == index } ?? false && reloads(body, slot)
                    }))
                kind = .loop(slot: slot, lower: lower, upper: upper, body: planned, carried: carriedState)
            case .conditional(let condition, let then, let otherwise):
                let thenID = childIterator.next() ?? -1
                let otherwiseID = childIterator.next() ?? -1
                kind = .conditional(
                    condition, then: build(then, blockID: thenID, defining: defining),
                    otherwise: build(otherwise, blockID: otherwiseID, defining: defining))
            }
            statements.append(PlannedStmt(kind: kind, location: statement.location, release: release, placement: statement.placement))
        }
        return PlannedBlock(statements: statements, id: blockID)
    }

    /// Whether every iteration of `body` reloads tile `slot` before anything else touches
    /// it or allocates: its first statement that references the slot (nested statements
    /// included) is `slot = load ...` at the top of the body, and every statement before it
    /// assigns an integer from integers alone.
    func reloads(_ body: [Stmt], _ slot: Int) -> Bool {
        for statement in body {
            var slots: Set<Int> = []
            Stmt.forEach(in: [statement]) { slots.formUnion(SlotReferences.direct($0)) }
            if case .assign(_, let target, let value) = statement.kind {
                if target == slot {
                    guard case .load(let access, _) = value.kind, access.keptDimensions > 0 else { return false }
                    var read: Set<Int> = []
                    value.collectSlots(into: &read)
                    return !read.contains(slot)
                }
                guard slotTypes[target] == .int, slots.allSatisfy({ slotTypes[$0] == .int }) else { return false }
                continue
            }
            return false
        }
        return false
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
