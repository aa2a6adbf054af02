import AttnHardware
import AttnNumerics
import Foundation
import TileLanguage

/// Runs one thread block of a kernel — or one iteration of one of its loops — numeric or
/// count-only, and counts every byte and FLOP it moves.
///
/// The memory model (docs/ARCHITECTURE.md, "Counting rules"):
/// - `load` moves a tile from HBM into SRAM or registers; `store` moves one back.
/// - Reading an SRAM tile as an operand moves it into registers (SRAM->reg bytes).
/// - Computed tiles live in registers in fp32. Elementwise chains are fused; matmul and
///   reduction results, and elementwise results feeding them, are materialized.
/// - A named tile's buffer lives from its assignment to its last use (see `KernelPlan`);
///   live SRAM per thread block is checked against the hardware's limit (over it the
///   kernel cannot run: a capacity diagnostic). Registers are not refused: a block whose
///   demand passes what it can allocate (min(registers per block, 255 per thread x
///   threads)) spills the excess to local memory, counted in `Counters.spillBytes`.
///
/// Its state is a few values, each its own type: the block's `Slots`, the `OnChipLedger`
/// of the bytes it holds, the `Counters`, its `BlockPosition` and `Tracer`, the run's
/// `HostMemory` and `WorkMeter` (its spending of the command's `WorkBudget`), and the `CarriedStateWatch` of count mode's affine
/// sums.
///
/// The executor knows nothing of boxes or repetition: `CountCompressor` decides which
/// blocks and iterations to run and calls `countBlock` and `iterate`; a loop is handed
/// to `loops` when one is set (count mode, compressed), else every iteration runs.
final class BlockExecutor {
    let bound: BoundProgram
    let source: SourceFile
    let mode: ExecutionMode
    /// Runs loops by pieces of iterations that count alike (compressed count mode).
    var loops: LoopCompression?
    /// The kernel being run.
    private(set) var kernel: KernelDecl

    /// The values of the block's slots.
    var env = Slots()
    /// The on-chip bytes the block holds.
    var chip: OnChipLedger
    /// While `x = x + A @ B -> tmem` is evaluated: x's slot, the MMA's accumulator in
    /// tensor memory, which the tensor cores read in place (no `tcgen05.ld`).
    var tensorMemoryAccumulator: Int?
    /// Whether the block has cut a slice short at a tensor's end (`rows(i, b)` past it):
    /// its tiles are the TMA's zero-filled boxes, whose MMA rows `checkPairMMARows` leaves.
    var cutShort = false
    /// What the current kernel (or the piece being counted) moved and computed.
    var counters: Counters
    /// The block, loop iterations and line being run.
    private(set) var position = BlockPosition()
    /// Where trace events go (nil: the run is not traced).
    private var tracer: Tracer?
    /// HBM contents (numeric mode; empty in count mode).
    var host: HostMemory
    /// The work spent of the run's budget (`WorkBudget`, `RunOptions.budget`).
    var work = WorkMeter()
    /// Count mode's watch over the state loops carry.
    private var watch = CarriedStateWatch()

    init(bound: BoundProgram, mode: ExecutionMode, host: HostMemory, trace: TraceSink?) {
        self.bound = bound
        self.source = bound.program.source
        self.mode = mode
        self.host = host
        self.tracer = trace.map(Tracer.init)
        self.chip = OnChipLedger(
            sramLimit: bound.hardware.sramBytesPerBlock,
            registerLimit: OnChipLedger.registerLimit(bound.hardware, threads: bound.kernelThreads.first ?? KernelDecl.defaultThreads))
        self.chip.tensorMemoryLimit = bound.hardware.tensorMemoryBytesPerSM
        self.counters = Counters(tensorCount: bound.program.tensors.count)
        self.kernel = bound.program.kernels[0]
    }

    var isNumeric: Bool { mode == .numeric }

    /// While counting a box by its affine sum: every top-level loop iteration run clears
    /// `carriedStateRepeated` if it changed the loop's carried state.
    var watchesCarriedState: Bool {
        get { watch.isWatching }
        set { watch.isWatching = newValue }
    }

    var carriedStateRepeated: Bool {
        get { watch.repeated }
        set { watch.repeated = newValue }
    }

    func error(_ message: String, _ location: SourceLocation, kind: Diagnostic.Kind = .bounds, notes: [String] = []) -> Diagnostic {
        Diagnostic(kind, source, location, message, notes: notes)
    }

    /// Starts a kernel: counters from zero.
    func begin(_ declaration: KernelDecl) {
        kernel = declaration
        let index = bound.program.kernels.firstIndex(of: declaration) ?? 0
        let threads = index < bound.kernelThreads.count ? bound.kernelThreads[index] : KernelDecl.defaultThreads
        // A CTA pair (cluster(2)) holds both SMs' shared memory, registers and tensor memory.
        let ctas = index < bound.kernelClusters.count ? bound.kernelClusters[index] : 1
        let hardware = bound.hardware.ctaPairView(ctas)
        chip.sramLimit = hardware.sramBytesPerBlock
        chip.registerLimit = OnChipLedger.registerLimit(hardware, threads: threads)
        chip.tensorMemoryLimit = hardware.tensorMemoryBytesPerSM
        chip.tensorMemoryCTAs = ctas
        counters = Counters(tensorCount: bound.program.tensors.count)
    }

    // MARK: Blocks

    /// The counters of the one block at `coordinates`, apart from the running totals.
    func countBlock(_ plan: KernelPlan, _ coordinates: [Int]) throws(Diagnostic) -> Counters {
        try counted { () throws(Diagnostic) in try runBlock(plan, coordinates) }
    }

    /// The counters of iteration `j` of a loop, apart from the running totals.
    func countIteration(slot: Int, _ j: Int, body: PlannedBlock, carried: CarriedState) throws(Diagnostic) -> Counters {
        try counted { () throws(Diagnostic) in try iterate(slot: slot, j, body: body, carried: carried) }
    }

    /// What `work` counts, apart from the running totals (which it leaves as they were).
    private func counted(_ work: () throws(Diagnostic) -> Void) throws(Diagnostic) -> Counters {
        let saved = counters
        counters = Counters(tensorCount: saved.tensors.count)
        defer { counters = saved }
        try work()
        return counters
    }

    /// Runs the block at `coordinates`, adding to the running counters.
    func runBlock(_ plan: KernelPlan, _ coordinates: [Int]) throws(Diagnostic) {
        env.reset(count: kernel.slotNames.count)
        chip.startBlock()
        cutShort = false
        position.block = coordinates
        for (axis, value) in zip(kernel.axes, coordinates) { env[axis.slot] = .int(value) }
        try execute(plan.body)
        try addSpill()
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
            if let tile = env[slot].tile { chip.free(tile) }
            env[slot] = .unset
        }
    }

    private func execute(_ statement: PlannedStmt) throws(Diagnostic) {
        position.line = statement.location.line
        if !work.spend(1) { throw budgetError(at: statement.location) }
        switch statement.kind {
        case .assign(let slot, let value):
            if case .load(let access, _) = value.kind, access.keptDimensions == 0 {
                env[slot] = .int(try loadInteger(access, at: value.location))
                return
            }
            if case .load(let access, let level) = value.kind {
                if let old = env[slot].tile { chip.free(old) }
                env[slot] = .unset
                let tile = try load(access, level: level, at: value.location)
                try allocate(tile, named: kernel.slotNames[slot], at: statement.location)
                env[slot] = .tile(tile)
                return
            }
            chip.beginStatement()
            if statement.placement == .tensorMemory {
                try assignToTensorMemory(slot, value, at: statement.location)
                return
            }
            let result = try evaluate(value, materialize: false)
            if var tile = result.tile, tile.level == .sram {
                // A shared-memory tile rearranged on chip (`vt = v^T`: FlashAttention-3's FP8
                // path transposes V_j for the FP8 wgmma): read into registers (counted as the
                // operand was read) and written back into a buffer of its own in shared
                // memory, reg->sram bytes; no HBM byte moves.
                if let old = env[slot].tile { chip.free(old) }
                env[slot] = .unset
                counters.registersToSram = try sum(counters.registersToSram, tile.bytes, "reg->sram bytes")
                emit("sram_write", edge: "reg->sram", tensor: kernel.slotNames[slot], bytes: tile.bytes, shape: tile.shape)
                tile.level = .sram
                try allocate(tile, named: kernel.slotNames[slot], at: statement.location)
                env[slot] = .tile(tile)
                return
            }
            if let tile = result.tile {
                let hosted = isHosted(tile, assignedSlot: slot, dying: statement.release)
                let accumulated = accumulatesInPlace(value, into: slot, result: tile) ? tile.bytes : 0
                let extra = try sum(max(0, chip.temporaryBytes - accumulated), hosted ? 0 : tile.bytes, "register bytes a statement needs")
                try onChip { () throws(CounterOverflow) in try chip.noteRegisterDemand(extra: extra, counters: &counters) }
                if let old = env[slot].tile { chip.free(old) }
                try onChip { () throws(CounterOverflow) in try chip.holdInRegisters(tile) }
            }
            env[slot] = result
        case .store(let access, let value):
            chip.beginStatement()
            if case .local(let slot) = value.kind, let tile = env[slot].tile, tile.level == .sram {
                try store(access, tile, from: .sram, at: value.location)
                return
            }
            guard let tile = try evaluate(value, materialize: false).tile else {
                throw error("a store writes a tile", value.location)
            }
            let hosted = isHosted(tile, assignedSlot: nil, dying: statement.release)
            let extra = try sum(chip.temporaryBytes, hosted ? 0 : tile.bytes, "register bytes a statement needs")
            try onChip { () throws(CounterOverflow) in try chip.noteRegisterDemand(extra: extra, counters: &counters) }
            try store(access, tile, from: .registers, at: value.location)
        case .loop(let slot, let lower, let upper, let body, let carried):
            let lo = try integer(lower), hi = try integer(upper)
            try runLoop(statement, slot: slot, lo, hi, body: body, carried: carried)
            env[slot] = .unset
        case .conditional(let condition, let then, let otherwise):
            try execute(try integer(condition) != 0 ? then : otherwise)
        }
    }

    /// A statement's result needs no register space of its own when it can overwrite a
    /// same-shaped temporary of the statement, the assigned variable's old tile, or a
    /// tile that dies at this statement (what a register allocator does).
    private func isHosted(_ tile: Tile, assignedSlot: Int?, dying: [Int]) -> Bool {
        if chip.hasTemporary(shapedLike: tile) { return true }
        var candidates = dying
        if let assignedSlot { candidates.append(assignedSlot) }
        for slot in candidates {
            if let old = env[slot].tile, old.level == .registers, old.rows == tile.rows, old.cols == tile.cols {
                return true
            }
        }
        return false
    }

    /// `x = e + A @ B` (or `A @ B + e`) whose result replaces x's tile of the same shape:
    /// the matrix-multiply instruction accumulates into x's registers (its C operand), so
    /// the product needs no temporary of its own.
    private func accumulatesInPlace(_ value: Expr, into slot: Int, result: Tile) -> Bool {
        guard case .binary(.add, let l, let r) = value.kind else { return false }
        func isMatmul(_ e: Expr) -> Bool { if case .binary(.matmul, _, _) = e.kind { return true } else { return false } }
        guard isMatmul(l) || isMatmul(r), let old = env[slot].tile, old.level == .registers else { return false }
        return old.rows == result.rows && old.cols == result.cols && chip.temporaryBytes >= result.bytes
    }

    // MARK: Loops

    private func runLoop(_ statement: PlannedStmt, slot: Int, _ lo: Int, _ hi: Int, body: PlannedBlock, carried: CarriedState) throws(Diagnostic) {
        guard lo < hi else { return }
        if hi.subtractingReportingOverflow(lo).overflow, case .loop(_, let lower, let upper, _, _) = statement.kind {
            throw error(
                "integer overflow in 'for \(kernel.slotNames[slot]) in \(render(lower)) ..< \(render(upper))': its trip count \(hi) - (\(lo)) does not fit in 64 bits",
                statement.location, kind: .overflow)
        }
        if let loops, !carried.hasIntegers {
            try loops.runLoop(self, slot: slot, lo, hi, body: body, carried: carried)
        } else {
            try affordRepeats(hi - lo, of: body, at: kernel.location)
            for j in lo..<hi { try iterate(slot: slot, j, body: body, carried: carried) }
        }
    }

    /// What an iteration's counts depend on besides the sites: the layouts of the tiles
    /// the loop carries and the bytes live on chip.
    /// A reloaded tile in shared memory (`CarriedState.reloadedSlots`) is left out, its
    /// bytes too: it is freed before anything allocates (shared memory is checked and its
    /// peak noted only when a tile is placed), so it changes nothing the iteration counts.
    func carriedState(_ carried: CarriedState) -> CarriedLayout {
        var liveSram = chip.liveSram
        let tiles = carried.tileSlots.map { slot -> TileLayout? in
            guard let tile = env[slot].tile else { return nil }
            if carried.reloadedSlots.contains(slot) && tile.level == .sram {
                liveSram -= tile.bytes
                return nil
            }
            return tile.layout
        }
        return CarriedLayout(tiles: tiles, liveSram: liveSram, liveRegisters: chip.liveRegisters)
    }

    /// The integer slots' values, as points (for `UniformityChecker`).
    var integerEnvironment: [IntInterval?] { env.integerPoints }

    /// Runs iteration `j` of a loop.
    func iterate(slot: Int, _ j: Int, body: PlannedBlock, carried: CarriedState) throws(Diagnostic) {
        let before = watch.isWatching && position.loops.isEmpty ? carriedState(carried) : nil
        env[slot] = .int(j)
        position.loops.append((kernel.slotNames[slot], j))
        defer { position.loops.removeLast() }
        let outerExcess = chip.beginIteration()
        defer { chip.endIteration(restoring: outerExcess) }
        if counters.loopIterations == Int.max { throw overflowError(CounterOverflow(counter: "loop iterations")) }
        counters.loopIterations += 1
        try execute(body)
        try addSpill()
        if let before, carriedState(carried) != before { watch.repeated = false }
    }

    // MARK: Capacity

    /// Places a newly loaded tile in its level, enforcing the per-block capacity.
    private func allocate(_ tile: Tile, named name: String, at location: SourceLocation) throws(Diagnostic) {
        if let needed = try onChip({ () throws(CounterOverflow) in try chip.place(tile, counters: &counters) }) {
            throw capacityError(level: .sram, needed: needed, limit: chip.sramLimit, at: location, allocating: "allocating: " + tileText(name, tile))
        }
    }

    /// A tile as the capacity diagnostic names it: its shape, element size and the bytes it
    /// takes of its level, "k 64x128 x 2 B = 16,384 bytes"; in tensor memory the allocation
    /// charged for it, "o 128x96 x 4 B in 128 lanes x 128 columns = 65,536 bytes"
    /// (`TensorMemoryAllocation`: whole power-of-two columns of all lanes).
    func tileText(_ name: String, _ tile: Tile) -> String {
        let head = "\(name) \(tile.shapeText) x \(tile.elementBytes) B"
        guard tile.level == .tensorMemory, let allocation = try? chip.tensorMemoryAllocation(tile) else {
            return "\(head) = \(NumberFormat.bytes(tile.bytes))"
        }
        return "\(head) in \(allocation.text) = \(NumberFormat.bytes(allocation.bytes))"
    }

    /// Runs a ledger operation; a sum of bytes past 2^63 - 1 is the overflow diagnostic.
    func onChip<T>(_ operation: () throws(CounterOverflow) -> T) throws(Diagnostic) -> T {
        do {
            return try operation()
        } catch {
            throw overflowError(error)
        }
    }

    /// Counts the current iteration's (or the block's) spill: its largest excess over the
    /// register capacity, stored to local memory once and loaded back once.
    private func addSpill() throws(Diagnostic) {
        let spill = chip.takeSpill()
        guard spill > 0 else { return }
        let (sum, overflow) = counters.spillBytes.addingReportingOverflow(spill)
        if overflow { throw overflowError(CounterOverflow(counter: "spill bytes")) }
        counters.spillBytes = sum
    }

    func capacityError(
        level: TileLevel, needed: Int, limit: Int, at location: SourceLocation, allocating: String? = nil, temporaries: Int = 0
    ) -> Diagnostic {
        let what = ["sram": "shared memory (SRAM)", "reg": "registers", "tmem": "tensor memory (TMEM)"][level.rawValue] ?? level.rawValue
        var notes: [String] = []
        for (slot, tile) in env.tiles(at: level) {
            notes.append("live: " + tileText(kernel.slotNames[slot], tile))
        }
        if let allocating { notes.append(allocating) }
        if level == .tensorMemory { notes.append(TensorMemoryAllocation.granularityNote) }
        if temporaries > 0 { notes.append("this statement's result and temporaries: \(NumberFormat.bytes(temporaries))") }
        let pair = (bound.program.kernels.firstIndex(of: kernel).map { bound.kernelClusters[$0] } ?? 1) > 1
        notes.append("limit per \(pair ? "CTA pair (two SMs)" : "thread block") on \(bound.hardware.id): \(NumberFormat.bytes(limit))")
        let block = position.block.map(String.init).joined(separator: ", ")
        return error(
            "kernel '\(kernel.name)' needs \(NumberFormat.bytes(needed)) of \(what) per thread block here (block [\(block)]), over the limit of \(NumberFormat.bytes(limit))",
            location, kind: .capacity(level: level == .registers ? "registers" : level.rawValue, neededBytes: needed, limitBytes: limit), notes: notes)
    }

    // MARK: Trace

    func emit(_ operation: String, edge: String? = nil, tensor: String? = nil, bytes: Int = 0, flops: Int = 0, shape: [Int]) {
        tracer?.record(kernel: kernel.name, at: position, operation: operation, edge: edge, tensor: tensor, bytes: bytes, flops: flops, shape: shape)
    }
}

extension BlockExecutor {
    /// The diagnostic for a counter that passed 2^63 - 1, at the current kernel.
    func overflowError(_ overflow: CounterOverflow) -> Diagnostic {
        error(
            "the \(overflow.counter) of kernel '\(kernel.name)' pass 2^63 - 1: the run is too large to count in 64-bit integers",
            kernel.location, kind: .overflow,
            notes: ["count a shorter context, fewer heads or a smaller batch, and scale (counts grow as the shape's closed-form law in docs/io-laws.md)"])
    }
}
