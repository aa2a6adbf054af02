/// Bytes one HBM tensor moved along each edge of the hierarchy.
public struct TensorTraffic: Sendable, Equatable {
    public var hbmToSram = 0
    public var hbmToRegisters = 0
    public var sramToHbm = 0
    public var registersToHbm = 0
    /// The part of `hbmToSram` its multicast loads (`load ... -> sram multicast(c)`)
    /// delivered, each CTA's tile counted: the shared-memory bytes written, which the n
    /// CTAs of a cluster receive from one L2 read (`l2RequestedBytes`).
    public var multicastToSram = 0

    public init() {}

    public var readBytes: Int { hbmToSram + hbmToRegisters }
    public var writeBytes: Int { sramToHbm + registersToHbm }

    /// Bytes the SMs request from the L2 for this tensor before any L1 or L2 sharing:
    /// every load's tile once per CTA, except a multicast load's, once per cluster of
    /// `clusterCTAs` (the kernel's `cluster(c: n)`). Exact: a multicast load is run by all
    /// n CTAs of a cluster with the same tile (`MulticastCheck`), so its bytes are n equal
    /// shares.
    ///
    ///     requested = hbm->sram + hbm->reg - multicast + multicast / n
    public func l2RequestedBytes(clusterCTAs: Int) -> Int {
        readBytes - multicastToSram + multicastToSram / max(1, clusterCTAs)
    }

    mutating func add(_ other: TensorTraffic, times k: Int, tensor: Int) throws(CounterOverflow) {
        try CounterOverflow.accumulate(&hbmToSram, other.hbmToSram, k, "hbm->sram bytes of tensor \(tensor)")
        try CounterOverflow.accumulate(&hbmToRegisters, other.hbmToRegisters, k, "hbm->reg bytes of tensor \(tensor)")
        try CounterOverflow.accumulate(&sramToHbm, other.sramToHbm, k, "sram->hbm bytes of tensor \(tensor)")
        try CounterOverflow.accumulate(&registersToHbm, other.registersToHbm, k, "reg->hbm bytes of tensor \(tensor)")
        try CounterOverflow.accumulate(&multicastToSram, other.multicastToSram, k, "multicast hbm->sram bytes of tensor \(tensor)")
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
    /// Tensor-memory tiles read into registers (`tcgen05.ld`: the softmax reading S, the
    /// correction reading O).
    public var tensorMemoryToRegisters = 0
    /// Tiles written from registers into tensor memory (`tcgen05.st`: P, the rescaled O).
    public var registersToTensorMemory = 0
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
    /// Largest register bytes one thread block held at once (tiles and temporaries): its
    /// register demand, which may exceed what the block can allocate (then it spills).
    public var peakRegisterBytes = 0
    /// Bytes spilled to local memory: per iteration of the innermost loop (or per block,
    /// outside loops) the largest register demand over the block's register capacity,
    /// stored once and loaded back once (docs/cost-model.md, "Registers and spills").
    public var spillBytes = 0
    /// Loop iterations run, over all blocks and loops (each pays a pipeline wait and a
    /// barrier on a GPU; the cost model charges them).
    public var loopIterations = 0
    /// The most rows (M) of any matrix product: what the tensor-core instruction shape
    /// is matched against.
    public var peakMatmulRows = 0
    /// Largest tensor memory one thread block held at once, bytes: its `tcgen05.alloc`
    /// allocations (whole power-of-two columns of all 128 lanes, docs/tile-language.md,
    /// "Tensor memory"); 0 for a kernel that places nothing there.
    public var peakTensorMemoryBytes = 0

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

    /// Adds `other` counted `k` times; peaks take the maximum. Throws when a counter would
    /// pass 2^63 - 1 (the counters are then unusable); `checkTotals` covers the sums.
    public mutating func add(_ other: Counters, times k: Int = 1) throws(CounterOverflow) {
        for index in tensors.indices { try tensors[index].add(other.tensors[index], times: k, tensor: index) }
        try CounterOverflow.accumulate(&sramToRegisters, other.sramToRegisters, k, "sram->reg bytes")
        try CounterOverflow.accumulate(&registersToSram, other.registersToSram, k, "reg->sram bytes")
        try CounterOverflow.accumulate(&tensorMemoryToRegisters, other.tensorMemoryToRegisters, k, "tmem->reg bytes")
        try CounterOverflow.accumulate(&registersToTensorMemory, other.registersToTensorMemory, k, "reg->tmem bytes")
        try CounterOverflow.accumulate(&flopsMatmul, other.flopsMatmul, k, "matmul FLOPs")
        try CounterOverflow.accumulate(&flopsOther, other.flopsOther, k, "other FLOPs")
        try CounterOverflow.accumulate(&exps, other.exps, k, "exps")
        try CounterOverflow.accumulate(&logs, other.logs, k, "logs")
        try CounterOverflow.accumulate(&maskedElements, other.maskedElements, k, "masked elements")
        try CounterOverflow.accumulate(&spillBytes, other.spillBytes, k, "spill bytes")
        try CounterOverflow.accumulate(&loopIterations, other.loopIterations, k, "loop iterations")
        takePeaks(of: other)
    }

    /// The additive counters in one array: each tensor's four edges (HBM->SRAM,
    /// HBM->registers, SRAM->HBM, registers->HBM), then SRAM->registers, registers->SRAM,
    /// matmul FLOPs, other FLOPs, exps, logs, masked elements, spill bytes, loop
    /// iterations, tensor memory->registers and registers->tensor memory, then each
    /// tensor's multicast HBM->SRAM bytes. For exact arithmetic on whole counter sets (count mode's sums over
    /// boxes); the peaks are not in it. Every additive counter must be here.
    var additiveFields: [Int] {
        var fields: [Int] = []
        fields.reserveCapacity(5 * tensors.count + 11)
        for traffic in tensors {
            fields += [traffic.hbmToSram, traffic.hbmToRegisters, traffic.sramToHbm, traffic.registersToHbm]
        }
        fields += [sramToRegisters, registersToSram, flopsMatmul, flopsOther, exps, logs, maskedElements, spillBytes, loopIterations]
        fields += [tensorMemoryToRegisters, registersToTensorMemory]
        fields += tensors.map(\.multicastToSram)
        return fields
    }

    /// Counters from `additiveFields`' layout and the peaks.
    init(tensorCount: Int, additiveFields fields: [Int], peaks: Counters) {
        self.init(tensorCount: tensorCount)
        for index in tensors.indices {
            let base = 4 * index
            tensors[index] = TensorTraffic()
            tensors[index].hbmToSram = fields[base]
            tensors[index].hbmToRegisters = fields[base + 1]
            tensors[index].sramToHbm = fields[base + 2]
            tensors[index].registersToHbm = fields[base + 3]
        }
        let rest = 4 * tensorCount
        sramToRegisters = fields[rest]
        registersToSram = fields[rest + 1]
        flopsMatmul = fields[rest + 2]
        flopsOther = fields[rest + 3]
        exps = fields[rest + 4]
        logs = fields[rest + 5]
        maskedElements = fields[rest + 6]
        spillBytes = fields[rest + 7]
        loopIterations = fields[rest + 8]
        tensorMemoryToRegisters = fields[rest + 9]
        registersToTensorMemory = fields[rest + 10]
        for index in tensors.indices { tensors[index].multicastToSram = fields[rest + 11 + index] }
        takePeaks(of: peaks)
    }

    /// Sets every peak to the larger of this set's and `other`'s, the additive counters
    /// unchanged.
    mutating func takePeaks(of other: Counters) {
        peakSramBytes = max(peakSramBytes, other.peakSramBytes)
        peakRegisterBytes = max(peakRegisterBytes, other.peakRegisterBytes)
        peakMatmulRows = max(peakMatmulRows, other.peakMatmulRows)
        peakTensorMemoryBytes = max(peakTensorMemoryBytes, other.peakTensorMemoryBytes)
    }

    /// The name `add` reports when the field at `index` of `additiveFields` overflows.
    static func additiveFieldName(_ index: Int, tensorCount: Int) -> String {
        if index < 4 * tensorCount {
            let edge = ["hbm->sram", "hbm->reg", "sram->hbm", "reg->hbm"][index % 4]
            return "\(edge) bytes of tensor \(index / 4)"
        }
        let names = ["sram->reg bytes", "reg->sram bytes", "matmul FLOPs", "other FLOPs", "exps", "logs", "masked elements", "spill bytes", "loop iterations", "tmem->reg bytes", "reg->tmem bytes"]
        let rest = index - 4 * tensorCount
        if rest >= names.count && rest < names.count + tensorCount { return "multicast hbm->sram bytes of tensor \(rest - names.count)" }
        return rest < names.count ? names[rest] : "counter \(index)"
    }

    /// Checks that the sums the reports derive (HBM read and write bytes, SRAM traffic,
    /// all FLOPs) fit in 64 bits, so reading them never traps.
    public func checkTotals() throws(CounterOverflow) {
        var read = 0, written = 0, sramRead = sramToRegisters, sramWritten = registersToSram, flops = flopsMatmul
        for (index, traffic) in tensors.enumerated() {
            try CounterOverflow.accumulate(&read, traffic.hbmToSram, 1, "HBM read bytes (tensor \(index))")
            try CounterOverflow.accumulate(&read, traffic.hbmToRegisters, 1, "HBM read bytes (tensor \(index))")
            try CounterOverflow.accumulate(&written, traffic.sramToHbm, 1, "HBM write bytes (tensor \(index))")
            try CounterOverflow.accumulate(&written, traffic.registersToHbm, 1, "HBM write bytes (tensor \(index))")
            try CounterOverflow.accumulate(&sramRead, traffic.sramToHbm, 1, "SRAM read bytes")
            try CounterOverflow.accumulate(&sramWritten, traffic.hbmToSram, 1, "SRAM write bytes")
        }
        try CounterOverflow.accumulate(&flops, flopsOther, 1, "FLOPs")
    }
}

/// A counter that would pass 2^63 - 1: the run is too large to count in 64-bit integers.
public struct CounterOverflow: Error, Sendable, Equatable {
    /// Which counter, e.g. "matmul FLOPs".
    public var counter: String

    /// `total += value * times`, or throws naming `counter`.
    static func accumulate(_ total: inout Int, _ value: Int, _ times: Int, _ counter: @autoclosure () -> String) throws(CounterOverflow) {
        let (product, o1) = value.multipliedReportingOverflow(by: times)
        let (sum, o2) = total.addingReportingOverflow(product)
        if o1 || o2 { throw CounterOverflow(counter: counter()) }
        total = sum
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

    /// All kernels together (peaks are the largest of any kernel). `Simulator.run` only
    /// returns stats whose total fits (`checkedTotal`), so this never overflows.
    public var total: Counters {
        (try? checkedTotal()) ?? Counters(tensorCount: tensorNames.count)
    }

    /// All kernels together, or the counter that passes 2^63 - 1.
    public func checkedTotal() throws(CounterOverflow) -> Counters {
        var sum = Counters(tensorCount: tensorNames.count)
        for kernel in kernels { try sum.add(kernel.counters) }
        try sum.checkTotals()
        return sum
    }

    public var blocks: Int { kernels.reduce(0) { $0 + $1.blocks } }
}
