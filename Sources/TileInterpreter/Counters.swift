/// Bytes one HBM tensor moved along each edge of the hierarchy.
public struct TensorTraffic: Sendable, Equatable {
    public var hbmToSram = 0
    public var hbmToRegisters = 0
    public var sramToHbm = 0
    public var registersToHbm = 0

    public init() {}

    public var readBytes: Int { hbmToSram + hbmToRegisters }
    public var writeBytes: Int { sramToHbm + registersToHbm }

    mutating func add(_ other: TensorTraffic, times k: Int) {
        hbmToSram += other.hbmToSram * k
        hbmToRegisters += other.hbmToRegisters * k
        sramToHbm += other.sramToHbm * k
        registersToHbm += other.registersToHbm * k
    }
}

/// Everything a run counts: bytes on every edge (per HBM tensor for the HBM edges),
/// FLOPs by kind, and the peak on-chip bytes one thread block held.
///
/// Additive fields add (and scale, when a counted piece stands for several identical
/// ones); the peaks take the maximum.
public struct Counters: Sendable, Equatable {
    /// HBM traffic per tensor, indexed like `Program.tensors`.
    public var tensors: [TensorTraffic]
    /// Tile operands read out of shared memory into registers.
    public var sramToRegisters = 0
    /// Tiles written from registers into shared memory.
    public var registersToSram = 0
    /// 2*m*n*k for every (m x k) @ (k x n).
    public var flopsMatmul = 0
    /// Elementwise arithmetic and reductions (one per output element; r*(c-1) per row reduction).
    public var flopsOther = 0
    /// Exponentials evaluated (one per element).
    public var exps = 0
    /// Logarithms evaluated (one per element).
    public var logs = 0
    /// Score elements set to -inf by `mask_causal` / `mask_window`: work spent on
    /// positions the mask discards.
    public var maskedElements = 0
    /// Largest shared memory one thread block held at once, bytes.
    public var peakSramBytes = 0
    /// Largest register bytes one thread block held at once (tiles and temporaries).
    public var peakRegisterBytes = 0

    public init(tensorCount: Int) {
        tensors = Array(repeating: TensorTraffic(), count: tensorCount)
    }

    public var hbmReadBytes: Int { tensors.reduce(0) { $0 + $1.readBytes } }
    public var hbmWriteBytes: Int { tensors.reduce(0) { $0 + $1.writeBytes } }
    public var hbmToSramBytes: Int { tensors.reduce(0) { $0 + $1.hbmToSram } }
    public var sramToHbmBytes: Int { tensors.reduce(0) { $0 + $1.sramToHbm } }
    /// Bytes read out of shared memory (to registers or back to HBM).
    public var sramReadBytes: Int { sramToRegisters + sramToHbmBytes }
    /// Bytes written into shared memory (from HBM or registers).
    public var sramWriteBytes: Int { hbmToSramBytes + registersToSram }

    /// Adds `other` counted `k` times; peaks take the maximum.
    public mutating func add(_ other: Counters, times k: Int = 1) {
        for index in tensors.indices { tensors[index].add(other.tensors[index], times: k) }
        sramToRegisters += other.sramToRegisters * k
        registersToSram += other.registersToSram * k
        flopsMatmul += other.flopsMatmul * k
        flopsOther += other.flopsOther * k
        exps += other.exps * k
        logs += other.logs * k
        maskedElements += other.maskedElements * k
        peakSramBytes = max(peakSramBytes, other.peakSramBytes)
        peakRegisterBytes = max(peakRegisterBytes, other.peakRegisterBytes)
    }
}

/// What one kernel of a program did.
public struct KernelStats: Sendable, Equatable {
    public var name: String
    public var grid: [Int]
    /// Thread blocks launched: the product of the grid extents.
    public var blocks: Int
    public var counters: Counters
}

/// What a whole program run did: per kernel and in total.
public struct RunStats: Sendable, Equatable {
    public var kernels: [KernelStats]
    public var tensorNames: [String]

    /// All kernels together (peaks are the largest of any kernel).
    public var total: Counters {
        var sum = Counters(tensorCount: tensorNames.count)
        for kernel in kernels { sum.add(kernel.counters) }
        return sum
    }

    public var blocks: Int { kernels.reduce(0) { $0 + $1.blocks } }
}
