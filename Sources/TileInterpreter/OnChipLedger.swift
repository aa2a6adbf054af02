import AttnHardware
import TileLanguage

/// The on-chip bytes a thread block holds as it runs (docs/ARCHITECTURE.md, "Counting
/// rules"): its live tiles per level, the temporaries of the statement being evaluated,
/// and the largest register demand over what the block can allocate, which spills. It
/// notes the peaks and the spill in the counters it is given. Its sums are checked: bytes
/// past 2^63 - 1 are a `CounterOverflow`, never a trap.
struct OnChipLedger {
    /// Shared memory one thread block may hold (over it the kernel cannot run): a CTA
    /// pair's (`cluster(2)`) is both SMs'.
    var sramLimit: Int
    /// Register bytes one block of the current kernel can allocate (over them it spills).
    var registerLimit: Int
    /// Tensor memory one thread block (CTA) may hold: the SM's, 128 lanes x 512 columns x
    /// 4 bytes on Blackwell (one CTA may allocate all 512 columns, `tcgen05.alloc`); 0
    /// where the GPU has none.
    var tensorMemoryLimit = 0
    /// CTAs of the current kernel's block (2 for a CTA pair): a tile in tensor memory
    /// takes its columns in each CTA's 128 lanes (`TensorMemoryAllocation`).
    var tensorMemoryCTAs = 1
    private(set) var liveSram = 0
    private(set) var liveRegisters = 0
    private(set) var liveTensorMemory = 0
    /// The largest register demand over `registerLimit` in the current loop iteration (or
    /// the block's statements outside loops): what spills there.
    private var excessRegisters = 0
    /// Register bytes materialized by the expression being evaluated.
    private(set) var temporaryBytes = 0
    /// Their shapes (rows, columns).
    private var temporaryShapes: [(Int, Int)] = []

    init(sramLimit: Int, registerLimit: Int) {
        self.sramLimit = sramLimit
        self.registerLimit = registerLimit
    }

    /// Register bytes one block of `threads` threads can allocate: the per-block register
    /// file or the per-thread limit times the threads, whichever is smaller, 4 bytes each.
    static func registerLimit(_ hardware: HardwareProfile, threads: Int) -> Int {
        Swift.min(hardware.registersPerBlock, hardware.registersPerThread * threads) * 4
    }

    /// A block starts with nothing on chip.
    mutating func startBlock() {
        liveSram = 0
        liveRegisters = 0
        liveTensorMemory = 0
        excessRegisters = 0
    }

    /// Places a newly loaded tile in its level; returns the bytes the block would need
    /// when it would pass the SRAM limit (then nothing is placed), else nil.
    mutating func place(_ tile: Tile, counters: inout Counters) throws(CounterOverflow) -> Int? {
        if tile.level == .sram {
            // liveSram <= sramLimit, far from 2^63 - 1: only the tile can be that large.
            guard tile.bytes <= sramLimit - liveSram else { return try Self.sum(liveSram, tile.bytes, "live shared memory bytes") }
            liveSram += tile.bytes
            counters.peakSramBytes = Swift.max(counters.peakSramBytes, liveSram)
        } else {
            try noteRegisterDemand(extra: tile.bytes, counters: &counters)
            liveRegisters = try Self.sum(liveRegisters, tile.bytes, "live register bytes")
        }
        return nil
    }

    /// Places an assignment's result in tensor memory, charging its allocation (whole
    /// power-of-two columns of all 128 lanes, `TensorMemoryAllocation`), not its raw bytes;
    /// returns the bytes the block would need when it would pass the tensor-memory limit
    /// (then nothing is placed), else nil.
    mutating func placeInTensorMemory(_ tile: Tile, counters: inout Counters) throws(CounterOverflow) -> Int? {
        let bytes = try tensorMemoryAllocation(tile).bytes
        guard bytes <= tensorMemoryLimit - liveTensorMemory else {
            return try Self.sum(liveTensorMemory, bytes, "live tensor memory bytes")
        }
        liveTensorMemory += bytes
        counters.peakTensorMemoryBytes = Swift.max(counters.peakTensorMemoryBytes, liveTensorMemory)
        return nil
    }

    /// What `tile` takes of the current block's tensor memory.
    func tensorMemoryAllocation(_ tile: Tile) throws(CounterOverflow) -> TensorMemoryAllocation {
        try TensorMemoryAllocation(tile, ctas: tensorMemoryCTAs)
    }

    /// A computed result now held in registers (an assignment's value).
    mutating func holdInRegisters(_ tile: Tile) throws(CounterOverflow) {
        liveRegisters = try Self.sum(liveRegisters, tile.bytes, "live register bytes")
    }

    /// A tile no longer held.
    mutating func free(_ tile: Tile) {
        switch tile.level {
        case .sram: liveSram -= tile.bytes
        case .registers: liveRegisters -= tile.bytes
        case .tensorMemory:
            // Placed, so its allocation was computed once without overflow.
            liveTensorMemory -= (try? tensorMemoryAllocation(tile).bytes) ?? 0
        }
    }

    /// Records a register demand of the live tiles plus `extra`: the block's peak, and
    /// what passes the allocatable registers (spilled, never refused).
    mutating func noteRegisterDemand(extra: Int, counters: inout Counters) throws(CounterOverflow) {
        let needed = try Self.sum(liveRegisters, extra, "register bytes a statement needs")
        if needed > registerLimit { excessRegisters = Swift.max(excessRegisters, needed - registerLimit) }
        counters.peakRegisterBytes = Swift.max(counters.peakRegisterBytes, needed)
    }

    /// Starts a loop iteration, whose spill is its own; returns the enclosing excess, for
    /// `endIteration`.
    mutating func beginIteration() -> Int {
        defer { excessRegisters = 0 }
        return excessRegisters
    }

    /// Ends a loop iteration, back to the enclosing excess.
    mutating func endIteration(restoring excess: Int) {
        excessRegisters = excess
    }

    /// The current iteration's (or the block's) spill: its largest excess over the
    /// register capacity, stored to local memory once and loaded back once; then none.
    mutating func takeSpill() -> Int {
        defer { excessRegisters = 0 }
        return excessRegisters
    }

    /// A statement starts with no temporaries.
    mutating func beginStatement() {
        temporaryBytes = 0
        temporaryShapes.removeAll(keepingCapacity: true)
    }

    /// A result the statement materializes in registers of its own.
    mutating func recordTemporary(_ tile: Tile) throws(CounterOverflow) {
        temporaryBytes = try Self.sum(temporaryBytes, tile.bytes, "register bytes of a statement's temporaries")
        temporaryShapes.append((tile.rows, tile.cols))
    }

    /// a + b, or the overflow of `counter`.
    private static func sum(_ a: Int, _ b: Int, _ counter: String) throws(CounterOverflow) -> Int {
        let (result, overflow) = a.addingReportingOverflow(b)
        if overflow { throw CounterOverflow(counter: counter) }
        return result
    }

    /// Whether a temporary of the statement has `tile`'s shape (the result can overwrite it).
    func hasTemporary(shapedLike tile: Tile) -> Bool {
        temporaryShapes.contains { $0 == (tile.rows, tile.cols) }
    }
}
