import AttnHardware
import TileLanguage

/// The on-chip bytes a thread block holds as it runs (docs/ARCHITECTURE.md, "Counting
/// rules"): its live tiles per level, the temporaries of the statement being evaluated,
/// and the largest register demand over what the block can allocate, which spills. It
/// notes the peaks and the spill in the counters it is given.
struct OnChipLedger {
    /// Shared memory one thread block may hold (over it the kernel cannot run).
    let sramLimit: Int
    /// Register bytes one block of the current kernel can allocate (over them it spills).
    var registerLimit: Int
    private(set) var liveSram = 0
    private(set) var liveRegisters = 0
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
        excessRegisters = 0
    }

    /// Places a newly loaded tile in its level; returns the bytes the block would need
    /// when it would pass the SRAM limit (then nothing is placed), else nil.
    mutating func place(_ tile: Tile, counters: inout Counters) -> Int? {
        if tile.level == .sram {
            guard liveSram + tile.bytes <= sramLimit else { return liveSram + tile.bytes }
            liveSram += tile.bytes
            counters.peakSramBytes = Swift.max(counters.peakSramBytes, liveSram)
        } else {
            noteRegisterDemand(extra: tile.bytes, counters: &counters)
            liveRegisters += tile.bytes
        }
        return nil
    }

    /// A computed result now held in registers (an assignment's value).
    mutating func holdInRegisters(_ tile: Tile) {
        liveRegisters += tile.bytes
    }

    /// A tile no longer held.
    mutating func free(_ tile: Tile) {
        if tile.level == .sram { liveSram -= tile.bytes } else { liveRegisters -= tile.bytes }
    }

    /// Records a register demand of the live tiles plus `extra`: the block's peak, and
    /// what passes the allocatable registers (spilled, never refused).
    mutating func noteRegisterDemand(extra: Int, counters: inout Counters) {
        let needed = liveRegisters + extra
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
    mutating func recordTemporary(_ tile: Tile) {
        temporaryBytes += tile.bytes
        temporaryShapes.append((tile.rows, tile.cols))
    }

    /// Whether a temporary of the statement has `tile`'s shape (the result can overwrite it).
    func hasTemporary(shapedLike tile: Tile) -> Bool {
        temporaryShapes.contains { $0 == (tile.rows, tile.cols) }
    }
}
