import AttnHardware
import TileInterpreter
import TileLanguage

/// What an SM's L1 serves before the L2: re-reads of one datum by co-resident blocks, and
/// spilled registers (docs/cost-model.md, "L1 and spills").
///
/// The L1 is what the unified L1/shared-memory array (`l1_bytes_per_sm`) leaves beside
/// the shared memory of the blocks resident on the SM: F = L1 - blocks/SM x SRAM/block.
///
/// Shared reads. A tensor read by n_r blocks per datum (the grid axes its loads do not
/// depend on, as in the L2 model): blocks launch in grid order and an SM holds k of them,
/// so g = min(n_r, k) co-resident blocks read the same tiles. When F > 0 the L1 serves a
/// fraction s (`l1_share_fraction`) of the g - 1 re-reads:
///
///     SM->L2 reads(t) = tile reads(t) x (1 - s (g - 1) / g)
///
/// Spills. A block stores its excess registers to local memory and loads them back
/// (`Counters.spillBytes` each way). Stores write through the L1 to the L2. Loads hit in
/// the L1 while the resident spill footprint (excess per block x k) fits in F; the part
/// that does not fit reads from the L2:
///
///     spill L2 reads = spill bytes x max(0, 1 - F / footprint)
///
/// and spilled lines are written back to DRAM when the spill footprint of all resident
/// blocks passes half the L2 (the other half holds the streamed tiles):
///
///     spill DRAM writes = spill bytes x max(0, 1 - (L2 / 2) / (excess x resident blocks)).
struct L1Model {
    let hardware: HardwareProfile
    let constants: CostModelConstants
    let blocksPerSM: Int
    let sramPerSM: Int

    /// Bytes of L1 left beside the resident blocks' shared memory.
    var freeL1Bytes: Int { max(0, (hardware.l1BytesPerSM ?? hardware.sharedMemoryBytesPerSM) - sramPerSM) }

    func tileReadsReachingL2(kernel: KernelDecl, in bound: BoundProgram, extents: [Int], counters: Counters) -> Int {
        guard constants.l1ShareFraction > 0, freeL1Bytes > 0, blocksPerSM > 1 else { return counters.hbmReadBytes }
        let dependence = GridDependence.loadedTensorAxes(kernel, in: bound)
        var reads = 0.0
        for (tensor, traffic) in counters.tensors.enumerated() where traffic.readBytes > 0 {
            let axes = dependence[tensor] ?? []
            let readers = extents.indices.filter { !axes.contains($0) }.reduce(1) { $0 * extents[$1] }
            let sharing = Double(min(readers, blocksPerSM))
            reads += Double(traffic.readBytes) * (1 - constants.l1ShareFraction * (sharing - 1) / sharing)
        }
        return Int(reads.rounded())
    }

    func spill(counters: Counters, excessPerBlock: Int, l2Bytes: Int?, concurrentBlocks: Int) -> (l2Read: Int, dramWrite: Int) {
        guard counters.spillBytes > 0, excessPerBlock > 0 else { return (0, 0) }
        let spilled = Double(counters.spillBytes)
        let footprint = Double(excessPerBlock * blocksPerSM)
        let miss = max(0, 1 - Double(freeL1Bytes) / footprint)
        var dramWrite = 0.0
        if let l2Bytes {
            dramWrite = spilled * max(0, 1 - Double(l2Bytes) / 2 / Double(excessPerBlock * max(1, concurrentBlocks)))
        }
        return (Int((spilled * miss).rounded()), Int(dramWrite.rounded()))
    }
}
