import AttnHardware
import AttnNumerics
import Foundation
import TileLanguage

/// Executes a bound program thread block by thread block, counting every byte and FLOP.
///
/// The memory model (docs/ARCHITECTURE.md, "Counting rules"):
/// - `load` moves a tile from HBM into SRAM or registers; `store` moves one back.
/// - Reading an SRAM tile as an operand moves it into registers (SRAM->reg bytes).
/// - Computed tiles live in registers in fp32. Elementwise chains are fused; matmul and
///   reduction results, and elementwise results feeding them, are materialized.
/// - A named tile's buffer lives from its assignment to its last use (see `KernelPlan`);
///   live SRAM and registers per thread block are checked against the hardware's limits.
final class Interpreter {
    let bound: BoundProgram
    let source: SourceFile
    let options: RunOptions
    let trace: TraceSink?
    let sramLimit: Int
    let registerLimit: Int

    /// HBM contents (numeric mode only).
    var tensors: [HostTensor] = []
    /// Which elements of each output tensor have been written (numeric mode only).
    var written: [[Bool]] = []

    // Per kernel and per block.
    var kernel: KernelDecl
    var plan: KernelPlan?
    var env: [Value] = []
    var liveSram = 0
    var liveRegisters = 0
    var counters: Counters
    var blockCoordinates: [Int] = []
    var loopStack: [(name: String, value: Int)] = []
    var sequence = 0
    /// While counting a box by its affine sum: every top-level loop iteration run clears
    /// `carriedStateRepeats` if it changed the loop's carried state.
    var checksCarriedState = false
    var carriedStateRepeats = true

    // Per statement: registers materialized by the expression being evaluated.
    var statementTemporaryBytes = 0
    var statementTemporaryShapes: [(Int, Int)] = []
    var currentLine = 0

    init(bound: BoundProgram, options: RunOptions, trace: TraceSink?) {
        self.bound = bound
        self.source = bound.program.source
        self.options = options
        self.trace = trace
        self.sramLimit = bound.hardware.sramBytesPerBlock
        self.registerLimit = bound.hardware.registerBytesPerBlock
        self.counters = Counters(tensorCount: bound.program.tensors.count)
        self.kernel = bound.program.kernels[0]
    }

    var isNumeric: Bool { options.mode == .numeric }

    /// Whether boxes of blocks and iterations may be counted once and multiplied.
    var compresses: Bool { options.mode == .count && options.compress && trace == nil }

    func error(_ message: String, _ location: SourceLocation, kind: Diagnostic.Kind = .bounds, notes: [String] = []) -> Diagnostic {
        Diagnostic(kind, source, location, message, notes: notes)
    }

    // MARK: Whole run

    func run() throws(Diagnostic) -> RunResult {
        if isNumeric { try allocateTensors() }
        var kernels: [KernelStats] = []
        for (index, declaration) in bound.program.kernels.enumerated() {
            kernels.append(try runKernel(declaration, extents: bound.gridExtents[index]))
        }
        let stats = RunStats(kernels: kernels, tensorNames: bound.program.tensors.map(\.name))
        guard isNumeric else { return RunResult(stats: stats, checks: [], tensors: [:]) }
        let checks = try Verifier(bound: bound, tensors: tensors, written: written).verify()
        var byName: [String: HostTensor] = [:]
        for (declaration, tensor) in zip(bound.program.tensors, tensors) { byName[declaration.name] = tensor }
        return RunResult(stats: stats, checks: checks, tensors: byName)
    }

    private func allocateTensors() throws(Diagnostic) {
        var generator = SeededGenerator(seed: options.seed)
        for (index, declaration) in bound.program.tensors.enumerated() {
            let shape = bound.tensorShapes[index]
            let dtype = bound.tensorDTypes[index]
            if let given = options.inputs[declaration.name] {
                guard given.shape == shape else {
                    throw error("the given '\(declaration.name)' has shape \(given.shape); the program declares \(shape)", declaration.location)
                }
                tensors.append(given)
            } else if declaration.role == .input {
                switch declaration.initializer {
                case .normal:
                    tensors.append(HostTensor(randomNormal: shape, dtype: dtype, generator: &generator))
                case .uniform(let lo, let hi):
                    let a = try ScalarEvaluator.evaluate(lo, parameters: bound.parameterValues, source: source).asDouble
                    let b = try ScalarEvaluator.evaluate(hi, parameters: bound.parameterValues, source: source).asDouble
                    var tensor = HostTensor(shape: shape, dtype: dtype)
                    for i in tensor.values.indices { tensor.values[i] = dtype.round(Float(a + (b - a) * generator.nextUnit())) }
                    tensors.append(tensor)
                case .permutation:
                    var tensor = HostTensor(shape: shape, dtype: dtype)
                    var order = Array(0..<tensor.count)
                    order.shuffle(using: &generator)
                    tensor.values = order.map(Float.init)
                    tensors.append(tensor)
                }
            } else {
                tensors.append(HostTensor(shape: shape, dtype: dtype))
            }
            written.append(declaration.role == .output ? Array(repeating: false, count: shape.reduce(1, *)) : [])
        }
    }

    // MARK: Kernels and the grid

    private func runKernel(_ declaration: KernelDecl, extents: [Int]) throws(Diagnostic) -> KernelStats {
        kernel = declaration
        let kernelPlan = KernelPlan(declaration)
        plan = kernelPlan
        counters = Counters(tensorCount: bound.program.tensors.count)
        let blocks = extents.reduce(1, *)
        if compresses {
            try runBox(kernelPlan, GridBox(extents: extents))
        } else {
            var coordinates = extents.map { _ in 0 }
            for _ in 0..<blocks {
                try runBlock(kernelPlan, coordinates)
                for axis in stride(from: extents.count - 1, through: 0, by: -1) {
                    coordinates[axis] += 1
                    if coordinates[axis] < extents[axis] { break }
                    coordinates[axis] = 0
                }
            }
        }
        return KernelStats(name: declaration.name, grid: extents, blocks: blocks, counters: counters)
    }

    /// Counts the blocks of a box: one representative when the box is provably uniform,
    /// two (or the centre) when its counts are provably affine in the coordinates, else
    /// the box split along an axis that matters: into residue classes when a loop's trip
    /// count failed only for not being affine, in two otherwise.
    private func runBox(_ plan: KernelPlan, _ box: GridBox) throws(Diagnostic) {
        let volume = box.volume
        if volume == 0 { return }
        if volume == 1 {
            try runBlock(plan, box.first)
            return
        }
        var checker = UniformityChecker(bound: bound, kernel: kernel, box: box)
        if checker.isUniform(plan.body) {
            counters.add(try countBlock(plan, box.first), times: volume)
            return
        }
        var affine = UniformityChecker(bound: bound, kernel: kernel, box: box)
        if affine.countsAreAffine(plan.body), let sum = try affineBoxCounts(plan, box) {
            counters.add(sum)
            return
        }
        // Split a sensitive axis first (largest extent), so that axes that cannot change
        // the counts (heads, batch) stay whole.
        let candidates = kernel.axes.indices.filter { box.count[$0] > 1 }
        let axis = candidates.max { a, b in
            (plan.axisIsSensitive[a] ? 1 : 0, box.count[a]) < (plan.axisIsSensitive[b] ? 1 : 0, box.count[b])
        } ?? 0
        if affine.sawNonAffineTripCount, let classes = affineResidueClasses(plan, box, along: axis) {
            for part in classes { try runBox(plan, part) }
            return
        }
        let (low, high) = box.halves(along: axis)
        try runBox(plan, low)
        try runBox(plan, high)
    }

    /// Residue classes along `axis` (2, 4, 8 or 16 of them) in each of which the counts are
    /// affine, if there are such: floor(i Br / Bc) is affine on every (Bc / Br)-th block.
    private func affineResidueClasses(_ plan: KernelPlan, _ box: GridBox, along axis: Int) -> [GridBox]? {
        for classes in [2, 4, 8, 16] where box.count[axis] >= 2 * classes {
            let parts = box.residueClasses(along: axis, classes)
            let allAffine = parts.allSatisfy { part in
                var checker = UniformityChecker(bound: bound, kernel: kernel, box: part)
                return checker.countsAreAffine(plan.body)
            }
            if allAffine { return parts }
        }
        return nil
    }

    /// The counters of the one block at `coordinates`, apart from the running totals.
    private func countBlock(_ plan: KernelPlan, _ coordinates: [Int]) throws(Diagnostic) -> Counters {
        let saved = counters
        counters = Counters(tensorCount: saved.tensors.count)
        defer { counters = saved }
        try runBlock(plan, coordinates)
        return counters
    }

    /// The sum over a box whose per-block counts are affine in the coordinates
    /// (`UniformityChecker.countsAreAffine`): the mean of an affine function over a box is
    /// its value at the centre, which is also the mean of two opposite corners. So the sum
    /// is volume x f(centre) for an odd volume (the centre is then a block) and
    /// volume / 2 x (f(first) + f(last)) for an even one; exact in integers.
    ///
    /// The proof covers the sites; the carried state must also repeat. Every block
    /// enters its top-level loops in the same state, so if no top-level iteration of the
    /// blocks run here changes it (each iteration is run or is a proven copy of one that
    /// was), no iteration of any block does. Otherwise nil: split the box instead.
    private func affineBoxCounts(_ plan: KernelPlan, _ box: GridBox) throws(Diagnostic) -> Counters? {
        let volume = box.volume
        checksCarriedState = true
        carriedStateRepeats = true
        defer { checksCarriedState = false }
        var sum = Counters(tensorCount: counters.tensors.count)
        if volume % 2 == 1 {
            sum.add(try countBlock(plan, box.centre), times: volume)
        } else {
            var corners = try countBlock(plan, box.first)
            corners.add(try countBlock(plan, box.last))
            sum.add(corners, times: volume / 2)
        }
        return carriedStateRepeats ? sum : nil
    }

    private func runBlock(_ plan: KernelPlan, _ coordinates: [Int]) throws(Diagnostic) {
        env = Array(repeating: .unset, count: kernel.slotNames.count)
        liveSram = 0
        liveRegisters = 0
        blockCoordinates = coordinates
        for (axis, value) in zip(kernel.axes, coordinates) { env[axis.slot] = .int(value) }
        try execute(plan.body)
    }

    // MARK: Statements

    private func execute(_ block: PlannedBlock) throws(Diagnostic) {
        for statement in block.statements {
            try execute(statement)
            release(statement.release)
        }
    }

    private func release(_ slots: [Int]) {
        for slot in slots {
            if let tile = env[slot].tile { free(tile) }
            env[slot] = .unset
        }
    }

    private func free(_ tile: Tile) {
        if tile.level == .sram { liveSram -= tile.bytes } else { liveRegisters -= tile.bytes }
    }

    private func execute(_ statement: PlannedStmt) throws(Diagnostic) {
        currentLine = statement.location.line
        switch statement.kind {
        case .assign(let slot, let value):
            if case .load(let access, _) = value.kind, access.keptDimensions == 0 {
                env[slot] = .int(try loadInteger(access, at: value.location))
                return
            }
            if case .load(let access, let level) = value.kind {
                if let old = env[slot].tile { free(old) }
                env[slot] = .unset
                let tile = try load(access, level: level, at: value.location)
                try allocate(tile, named: kernel.slotNames[slot], at: statement.location)
                env[slot] = .tile(tile)
                return
            }
            beginStatement()
            let result = try evaluate(value, materialize: false)
            if let tile = result.tile {
                let hosted = isHosted(tile, top: value, assignedSlot: slot, dying: statement.release)
                try notePeakRegisters(extra: statementTemporaryBytes + (hosted ? 0 : tile.bytes), at: statement.location)
                if let old = env[slot].tile { free(old) }
                liveRegisters += tile.bytes
            }
            env[slot] = result
        case .store(let access, let value):
            beginStatement()
            if case .local(let slot) = value.kind, let tile = env[slot].tile, tile.level == .sram {
                try store(access, tile, from: .sram, at: value.location)
                return
            }
            guard let tile = try evaluate(value, materialize: false).tile else {
                throw error("a store writes a tile", value.location)
            }
            let hosted = isHosted(tile, top: value, assignedSlot: nil, dying: statement.release)
            try notePeakRegisters(extra: statementTemporaryBytes + (hosted ? 0 : tile.bytes), at: statement.location)
            try store(access, tile, from: .registers, at: value.location)
        case .loop(let slot, let lower, let upper, let body, let carried):
            let lo = try integer(lower), hi = try integer(upper)
            try runLoop(slot: slot, lo, hi, body: body, carried: carried)
            env[slot] = .unset
        case .conditional(let condition, let then, let otherwise):
            try execute(try integer(condition) != 0 ? then : otherwise)
        }
    }

    private func beginStatement() {
        statementTemporaryBytes = 0
        statementTemporaryShapes.removeAll(keepingCapacity: true)
    }

    /// A statement's result needs no register space of its own when it can overwrite a
    /// same-shaped temporary of the statement, the assigned variable's old tile, or a
    /// tile that dies at this statement (what a register allocator does).
    private func isHosted(_ tile: Tile, top: Expr, assignedSlot: Int?, dying: [Int]) -> Bool {
        if statementTemporaryShapes.contains(where: { $0 == (tile.rows, tile.cols) }) { return true }
        var candidates = dying
        if let assignedSlot { candidates.append(assignedSlot) }
        for slot in candidates {
            if let old = env[slot].tile, old.level == .registers, old.rows == tile.rows, old.cols == tile.cols {
                return true
            }
        }
        return false
    }

    // MARK: Loops

    private func runLoop(slot: Int, _ lo: Int, _ hi: Int, body: PlannedBlock, carried: CarriedState) throws(Diagnostic) {
        guard lo < hi else { return }
        if compresses && !carried.hasIntegers {
            try runPieces(slot: slot, lo, hi, body: body, carried: carried)
        } else {
            for j in lo..<hi { try iterate(slot: slot, j, body: body, carried: carried) }
        }
    }

    /// What an iteration's counts depend on besides the sites: the layouts of the tiles
    /// the loop carries and the bytes live on chip.
    private func carriedState(_ carried: CarriedState) -> CarriedLayout {
        CarriedLayout(tiles: carried.tileSlots.map { env[$0].tile?.layout }, liveSram: liveSram, liveRegisters: liveRegisters)
    }

    /// Splits [lo, hi) into ranges whose iterations provably count alike.
    private func runPieces(slot: Int, _ lo: Int, _ hi: Int, body: PlannedBlock, carried: CarriedState) throws(Diagnostic) {
        if hi - lo == 1 {
            try iterate(slot: slot, lo, body: body, carried: carried)
            return
        }
        var checker = UniformityChecker(
            parameters: bound.parameterValues, tensorShapes: bound.tensorShapes, dataSlots: kernel.dataSlots,
            env: env.map { if case .int(let i) = $0 { return IntInterval(point: i) } else { return nil } })
        checker.setRange(slot: slot, IntInterval(lo, hi - 1))
        if checker.isUniform(body) {
            try runRepeated(slot: slot, lo, count: hi - lo, body: body, carried: carried)
            return
        }
        let mid = lo + (hi - lo) / 2
        try runPieces(slot: slot, lo, mid, body: body, carried: carried)
        try runPieces(slot: slot, mid, hi, body: body, carried: carried)
    }

    /// Runs iteration `j` once and counts it `count` times, provided the tiles the loop
    /// carries keep their layout (so every iteration starts from the same state).
    private func runRepeated(slot: Int, _ j: Int, count: Int, body: PlannedBlock, carried: CarriedState) throws(Diagnostic) {
        let before = carriedState(carried)
        let saved = counters
        counters = Counters(tensorCount: saved.tensors.count)
        try iterate(slot: slot, j, body: body, carried: carried)
        let one = counters
        counters = saved
        if carriedState(carried) == before {
            counters.add(one, times: count)
        } else {
            counters.add(one)
            for k in (j + 1)..<(j + count) { try iterate(slot: slot, k, body: body, carried: carried) }
        }
    }

    private func iterate(slot: Int, _ j: Int, body: PlannedBlock, carried: CarriedState) throws(Diagnostic) {
        let before = checksCarriedState && loopStack.isEmpty ? carriedState(carried) : nil
        env[slot] = .int(j)
        loopStack.append((kernel.slotNames[slot], j))
        defer { loopStack.removeLast() }
        try execute(body)
        if let before, carriedState(carried) != before { carriedStateRepeats = false }
    }

    // MARK: Capacity

    /// Places a newly loaded tile in its level, enforcing the per-block capacity.
    private func allocate(_ tile: Tile, named name: String, at location: SourceLocation) throws(Diagnostic) {
        let allocating = "allocating: \(name) \(tile.shapeText) x \(tile.elementBytes) B = \(NumberFormat.bytes(tile.bytes))"
        if tile.level == .sram {
            if liveSram + tile.bytes > sramLimit {
                throw capacityError(level: .sram, needed: liveSram + tile.bytes, limit: sramLimit, at: location, allocating: allocating)
            }
            liveSram += tile.bytes
            counters.peakSramBytes = max(counters.peakSramBytes, liveSram)
        } else {
            try notePeakRegisters(extra: tile.bytes, at: location, allocating: allocating)
            liveRegisters += tile.bytes
        }
    }

    private func notePeakRegisters(extra: Int, at location: SourceLocation, allocating: String? = nil) throws(Diagnostic) {
        let needed = liveRegisters + extra
        if needed > registerLimit {
            throw capacityError(level: .registers, needed: needed, limit: registerLimit, at: location, allocating: allocating,
                                temporaries: allocating == nil ? extra : 0)
        }
        counters.peakRegisterBytes = max(counters.peakRegisterBytes, needed)
    }

    private func capacityError(
        level: TileLevel, needed: Int, limit: Int, at location: SourceLocation, allocating: String? = nil, temporaries: Int = 0
    ) -> Diagnostic {
        let what = level == .sram ? "shared memory (SRAM)" : "registers"
        var notes: [String] = []
        for (slot, value) in env.enumerated() {
            if let tile = value.tile, tile.level == level {
                notes.append("live: \(kernel.slotNames[slot]) \(tile.shapeText) x \(tile.elementBytes) B = \(NumberFormat.bytes(tile.bytes))")
            }
        }
        if let allocating { notes.append(allocating) }
        if temporaries > 0 { notes.append("this statement's result and temporaries: \(NumberFormat.bytes(temporaries))") }
        notes.append("limit per thread block on \(bound.hardware.id): \(NumberFormat.bytes(limit))")
        let block = blockCoordinates.map(String.init).joined(separator: ", ")
        return error(
            "kernel '\(kernel.name)' needs \(NumberFormat.bytes(needed)) of \(what) per thread block here (block [\(block)]), over the limit of \(NumberFormat.bytes(limit))",
            location, kind: .capacity(level: level == .sram ? "sram" : "registers", neededBytes: needed, limitBytes: limit), notes: notes)
    }

    // MARK: Trace

    func emit(_ operation: String, edge: String? = nil, tensor: String? = nil, bytes: Int = 0, flops: Int = 0, shape: [Int]) {
        guard let trace else { return }
        trace.record(TraceEvent(
            sequence: sequence, kernel: kernel.name, block: blockCoordinates, loops: loopStack,
            operation: operation, edge: edge, tensor: tensor, bytes: bytes, flops: flops, shape: shape, line: currentLine))
        sequence += 1
    }
}
