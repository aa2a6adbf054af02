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
/// depend on, as in the L2 model), every reader reading all of it (no mask or split gives
/// readers different ranges, so they walk their loops in step):
///
/// - the first C = min(blocks, k x SMs) blocks launch together; readers among them
///   (g1 = min(n_r, C / gap)) request the same sectors at the same time and the L2
///   coalesces them: a share w1 = C / blocks of the reads is cut to 1 / g1;
/// - later, co-resident blocks of one SM that are neighbours in launch order (gap 1:
///   g = min(n_r, k) readers on the SM) re-read tiles the L1 may still hold. Only blocks
///   launched together walk their loops in step (two at a time: a pair starts together
///   and, its blocks taking equally long, finishes together and hands the SM to the next
///   pair); a read finds its tile in the L1 with probability 1 / g, times s
///   (`l1_share_fraction`) and the room the L1 has beside shared memory for the loop's
///   tiles, min(1, F / loop-tile SRAM per SM) (a tile each block loads once before its
///   loop, Q, is shared by no other block):
///
///     SM->L2 reads(t) = tile reads(t) x (1 - w1 (1 - 1/g1)) x (1 - (s / g) min(1, F / loop SRAM))   (g >= 2)
///
/// Multicast. The tile reads are the SM's requests: a multicast load's once per cluster
/// of n CTAs (`TensorTraffic.l2RequestedBytes`); for a tensor every block loads by
/// multicast, the sharers the L2 (g1) and the L1 (g) see are clusters, n CTAs each.
///
/// Spills. A block stores its excess registers to local memory and loads them back
/// (`Counters.spillBytes` each way). Stores write through the L1 to the L2. Loads hit in
/// the L1 while the resident spill footprint (excess per block x k) fits in F; once it
/// does not, every iteration sweeps the footprint in the same order and an LRU cache
/// misses on all of it (the cliff of a cyclic access pattern):
///
///     spill L2 reads = spill bytes if footprint > F, else 0
///
/// and spilled lines are written back to DRAM when the spill footprint of all resident
/// blocks passes half the L2 (the other half holds the streamed tiles):
///
///     spill DRAM writes = spill bytes x max(0, 1 - (L2 / 2) / (excess x resident blocks)).
struct L1Model {
    let hardware: HardwareProfile
    let calibration: CalibrationSet
    let blocksPerSM: Int
    let sramPerSM: Int
    /// Whether the kernel's loads are cached in the L1 on their way to shared memory: a
    /// software-pipelined kernel (`stages(n)`, n >= 2) issues them as asynchronous copies
    /// that allocate in the L1, as Triton's do; others are taken to bypass it (as the
    /// cp.async.cg copies of FlashAttention-2 do).
    var cachedInL1 = false
    /// Shared memory of the resident blocks' loop tiles (the tiles their co-resident
    /// readers share): `sramPerSM` less the tiles each block loads once before its loop
    /// (Q held for the wgmma, read by no other block).
    var sharedTileSramPerSM: Int?

    /// Bytes of L1 left beside the resident blocks' shared memory.
    var freeL1Bytes: Int { max(0, (hardware.l1BytesPerSM ?? hardware.sharedMemoryBytesPerSM) - sramPerSM) }

    func tileReadsReachingL2(kernel: KernelDecl, in bound: BoundProgram, extents: [Int], counters: Counters, tensorBytes: [Int]) -> Int {
        let blocks = extents.reduce(1, *)
        // A multicast load's tile is read from the L2 once per cluster of n CTAs
        // (`TensorTraffic.l2RequestedBytes`).
        let clusterCTAs = bound.program.kernels.firstIndex(of: kernel).map { bound.kernelMulticastCTAs[$0] } ?? 1
        guard blocks > 1 else { return counters.tensors.reduce(0) { $0 + $1.l2RequestedBytes(clusterCTAs: clusterCTAs) } }
        let dependence = GridDependence.loadedTensorAxes(kernel, in: bound)
        var strides = Array(repeating: 1, count: extents.count)
        for axis in stride(from: extents.count - 2, through: 0, by: -1) { strides[axis] = strides[axis + 1] * extents[axis + 1] }
        // How much of the L1 the co-resident blocks' shared-memory tiles would need to
        // stay cached between their readers.
        let tiles = sharedTileSramPerSM ?? sramPerSM
        let room = tiles > 0 ? min(1, Double(freeL1Bytes) / Double(tiles)) : 1
        var reads = 0.0
        for (tensor, traffic) in counters.tensors.enumerated() where traffic.readBytes > 0 {
            let bytes = Double(traffic.l2RequestedBytes(clusterCTAs: clusterCTAs))
            let axes = dependence[tensor] ?? []
            let readerAxes = extents.indices.filter { !axes.contains($0) && extents[$0] > 1 }
            let readers = readerAxes.reduce(1) { $0 * extents[$1] }
            // Readers in lockstep: every reader reads the whole tensor (no mask or split
            // gives them different ranges).
            guard readers > 1, let fastest = readerAxes.max(),
                  Double(traffic.readBytes) >= Double(readers) * Double(tensorBytes[tensor]) * 0.99
            else {
                reads += bytes
                continue
            }
            let gap = strides[fastest]
            // A tensor every block loads by multicast reaches the L2 once per cluster: the
            // readers the L2 sees are the clusters (n CTAs each).
            let perCluster = traffic.multicastToSram == traffic.readBytes ? max(1, clusterCTAs) : 1
            // First wave: the blocks launched together walk their loops in step; the L2
            // coalesces their requests for the same sectors.
            let firstRound = min(blocks, hardware.smCount)
            let firstWave = min(1, Double(firstRound) / Double(blocks))
            let waveSharers = Double(max(1, min(readers, firstRound / gap) / perCluster))
            let coalesced = firstWave * (1 - 1 / waveSharers)
            // Co-resident blocks of one SM reading the same tiles: the L1 serves a share.
            let smSharers = gap == 1 && cachedInL1 ? Double(max(1, min(readers, blocksPerSM) / perCluster)) : 1
            let l1 = smSharers > 1 ? calibration.l1ShareFraction / smSharers * room : 0
            reads += bytes * (1 - coalesced) * (1 - l1)
        }
        return Int(reads.rounded())
    }

    func spill(counters: Counters, excessPerBlock: Int, l2Bytes: Int?, concurrentBlocks: Int) -> (l2Read: Int, dramWrite: Int) {
        guard counters.spillBytes > 0, excessPerBlock > 0 else { return (0, 0) }
        let spilled = Double(counters.spillBytes)
        let footprint = Double(excessPerBlock * blocksPerSM)
        // A cyclic sweep over more than an LRU cache holds misses on every access.
        let miss = footprint > Double(freeL1Bytes) ? 1.0 : 0.0
        var dramWrite = 0.0
        if let l2Bytes {
            dramWrite = spilled * max(0, 1 - Double(l2Bytes) / 2 / Double(excessPerBlock * max(1, concurrentBlocks)))
        }
        return (Int((spilled * miss).rounded()), Int(dramWrite.rounded()))
    }
}
