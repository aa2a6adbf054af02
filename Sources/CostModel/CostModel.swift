import AttnHardware
import AttnNumerics
import TileInterpreter
import TileLanguage

/// Turns a run's exact counts into traffic at every level and time on a hardware profile:
/// the one place the tool's seconds come from (kernels here; streaming operators and
/// collectives in `CostModel+Streaming.swift`). docs/cost-model.md has every equation,
/// constant and source.
///
/// Per kernel, with T threads in w = ceil(T / warp size) warps, k blocks per SM (occupancy),
/// C = k x SMs blocks at once and A = min(blocks, SMs) SMs busy:
///
///     t_dram    = DRAM bytes / min(HBM ceiling, min(blocks, C) x w x bytes in flight per warp / DRAM latency)
///     t_l2      = SM->L2 bytes / (L2 bandwidth x A / SMs)
///     t_compute = f x (max(t_mma, t_operand) + other / vector peak + t_tmem + exp, log / SFU rate)
///                 + iterations x (cycles per iteration + crossings x cycles per crossing) / (clock x A)
///                 (crossings: row reductions of an iteration that cross warps, `crossWarpReductions`;
///                 a CTA-wide asynchronous MMA overlaps its iterations' cycles: f t_mma and the
///                 iteration term take their maximum, `usesCTAWideMMA`)
///     t_rounds  = iterations / A x (chain x L2 latency + bytes per iteration / (L2 bandwidth / SMs))
///                 (loops that wait on their loads: stages 1)
///     t_blocks  = blocks / (SMs x r) x (DRAM latency + cross-warp reductions x barrier wait)
///                 (kernels without loops; r = min(k, blocks / SMs))
///     t_elements = loaded elements x DRAM latency / (SMs x threads per SM)
///                 (a framework's elementwise kernel over a broadcast operand: `elementLatencySeconds`)
///     t         = max(t_dram, t_l2, t_compute, t_rounds, t_blocks, t_elements) + kernel overhead
///
/// and a call is the sum of its kernels plus the host time of its launch path. f = SMs x
/// ceil(blocks / SMs) / blocks charges a partial last wave and idle SMs.
public struct CostModel: Sendable {
    public var hardware: HardwareProfile
    public var calibration: CalibrationSet
    public var dtype: DType
    /// NCCL's latency/bandwidth constants, which collectives and sends are timed with.
    public var collectives: CollectiveTuning = .nccl

    public init(hardware: HardwareProfile, dtype: DType, calibration: CalibrationSet = .standard) {
        self.hardware = hardware
        self.dtype = dtype
        self.calibration = calibration
    }

    /// Ceilings: measured where the profile has them, else the datasheet figure times the
    /// sustained fraction (`CalibrationSet.sustainedMatmulFraction`, `sustainedHBMFraction`).
    public var hbmBytesPerSecond: Double {
        hardware.measuredHBMBytesPerSecond ?? hardware.hbmBytesPerSecond * calibration.sustainedHBMFraction
    }
    public var matmulFlopsPerSecond: Double {
        if let measured = hardware.measuredMatmulFlopsPerSecond[dtype] { return measured }
        let peak = hardware.matmulFlopsPerSecond[dtype] ?? hardware.matmulFlopsPerSecond[.fp16] ?? hardware.vectorFlopsPerSecond
        return peak * calibration.sustainedMatmulFraction
    }
    public var l2BytesPerSecond: Double { hardware.l2BytesPerSecond ?? 2 * hbmBytesPerSecond }

    /// Arithmetic intensity (matmul FLOPs per DRAM byte) where matmul and memory times meet.
    public var ridgePoint: Double { matmulFlopsPerSecond / hbmBytesPerSecond }

    /// DRAM bytes per second one resident warp streams: bytes in flight over the latency
    /// (Little's law).
    public var warpBytesPerSecond: Double { calibration.bytesInFlightPerWarp / hardware.dramLatencySeconds }

    /// The DRAM rate `residentBlocks` blocks of `warps` warps can keep in flight (Little's
    /// law: each warp streams `warpBytesPerSecond`), capped at the HBM ceiling.
    func streamingBytesPerSecond(residentBlocks: Int, warps: Int) -> Double {
        min(hbmBytesPerSecond, Double(residentBlocks) * Double(warps) * warpBytesPerSecond)
    }

    /// Registers one thread is allocated: its tiles' share of the block's peak register
    /// bytes plus the base registers, rounded up to the allocation unit of 8, at most the
    /// per-thread limit (the rest spills).
    public func registersPerThread(peakRegisterBytes: Int, threads: Int) -> Int {
        let threads = max(threads, 1)
        let tiles = (peakRegisterBytes + 4 * threads - 1) / (4 * threads)
        let demand = tiles + calibration.baseRegistersPerThread
        return min(hardware.registersPerThread, (demand + 7) / 8 * 8)
    }

    /// Thread blocks one SM can hold with this kernel's per-block resources: shared memory
    /// (`sramPerBlock`: the loop's tiles times the pipelining stages, at most the per-block
    /// limit), the registers actually allocated (`registersPerThread`) and the tensor
    /// memory its `tcgen05.alloc` allocations take (`peakTensorMemoryBytes`: a block that
    /// cannot allocate waits in `tcgen05.alloc` until a resident one frees its columns, so
    /// only floor(tensor memory per SM / peak) blocks run at once).
    public func blocksPerSM(
        peakSramBytes: Int, peakRegisterBytes: Int, threads: Int = KernelDecl.defaultThreads, stages: Int = 1, singleBufferedSramBytes: Int = 0,
        peakTensorMemoryBytes: Int = 0
    ) -> Int {
        var limit = min(hardware.maxBlocksPerSM, hardware.maxThreadsPerSM / max(threads, 1))
        let sram = sramPerBlock(peakSramBytes: peakSramBytes, stages: stages, singleBufferedSramBytes: singleBufferedSramBytes)
        if sram > 0 { limit = min(limit, hardware.sharedMemoryBytesPerSM / sram) }
        if peakTensorMemoryBytes > 0 { limit = min(limit, hardware.tensorMemoryBytesPerSM / peakTensorMemoryBytes) }
        if peakRegisterBytes > 0 || calibration.baseRegistersPerThread > 0 {
            let registers = registersPerThread(peakRegisterBytes: peakRegisterBytes, threads: threads) * max(threads, 1)
            limit = min(limit, hardware.registersPerSM / max(registers, 1))
        }
        return max(1, limit)
    }

    /// Shared memory a block holds: its peak SRAM, the tiles its loops load multiplied by
    /// the pipelining stages, at most the per-block limit. A software pipeliner buffers
    /// only the loads of the loop it pipelines (Triton's `num_stages` copies of each
    /// in-loop load; FlashAttention-3's ring of K/V stages): a tile loaded once before the
    /// loop (Q, `singleBufferedSramBytes`) is held once:
    ///
    ///     SRAM/block = min(SRAM per block limit, peak x stages - (stages - 1) x single-buffered)
    func sramPerBlock(peakSramBytes: Int, stages: Int, singleBufferedSramBytes: Int = 0) -> Int {
        guard peakSramBytes > 0 else { return 0 }
        let stages = max(stages, 1)
        let single = min(max(0, singleBufferedSramBytes), peakSramBytes)
        return min(hardware.sharedMemoryBytesPerBlock, peakSramBytes * stages - (stages - 1) * single)
    }

    /// Shared memory a block loads outside its loops, per block: the tiles of tensors no
    /// loop streams (`KernelSchedule.streamedTensors`) that go to shared memory, loaded
    /// once (Q of a FlashAttention forward held for the wgmma's A operand).
    func singleBufferedSramBytes(counters c: Counters, schedule: KernelSchedule, blocks: Int) -> Int {
        guard blocks > 0 else { return 0 }
        let bytes = c.tensors.indices.reduce(0) { $0 + (schedule.streamedTensors.contains($1) ? 0 : c.tensors[$1].hbmToSram) }
        return bytes / blocks
    }

    /// Every kernel's prediction and the call's host time (`launch`: how the call's
    /// kernels are launched).
    public func predict(_ bound: BoundProgram, _ stats: RunStats, launch: LaunchPath = .framework) -> RunPrediction {
        let l2 = L2Model(l2Bytes: hardware.l2Bytes ?? 0)
        let tensorBytes = bound.tensorShapes.enumerated().map { $0.element.reduce(1, *) * bound.tensorDTypes[$0.offset].bytes }
        var kernels: [KernelPrediction] = []
        for (index, kernel) in stats.kernels.enumerated() where kernel.blocks > 0 {
            // A CTA pair's kernel (cluster(2)) sees the GPU as TPCs (CostModel+CTAPair.swift).
            let model = ctaPairModel(kernelIndex: index, in: bound) ?? self
            kernels.append(model.predict(kernel: kernel, index: index, in: bound, l2: l2, tensorBytes: tensorBytes, launch: launch))
        }
        return RunPrediction(kernels: kernels, overheadSeconds: launch.overheadSeconds(calibration))
    }

    private func predict(kernel: KernelStats, index: Int, in bound: BoundProgram, l2: L2Model, tensorBytes: [Int], launch: LaunchPath) -> KernelPrediction {
        let c = kernel.counters
        let blocks = kernel.blocks
        let threads = bound.kernelThreads[index]
        let stages = index < bound.kernelStages.count ? bound.kernelStages[index] : 1
        let declaration = bound.program.kernels[index]
        let schedule = KernelSchedule(declaration)
        let single = singleBufferedSramBytes(counters: c, schedule: schedule, blocks: blocks)
        let perSM = blocksPerSM(
            peakSramBytes: c.peakSramBytes, peakRegisterBytes: c.peakRegisterBytes, threads: threads, stages: stages, singleBufferedSramBytes: single,
            peakTensorMemoryBytes: c.peakTensorMemoryBytes)
        let sramBlock = sramPerBlock(peakSramBytes: c.peakSramBytes, stages: stages, singleBufferedSramBytes: single)
        let concurrent = perSM * hardware.smCount

        // SM <-> L2: tile traffic less what the L1 serves, plus spills.
        let l1 = L1Model(
            hardware: hardware, calibration: calibration, blocksPerSM: perSM,
            sramPerSM: perSM * sramBlock, cachedInL1: stages >= 2,
            sharedTileSramPerSM: perSM * max(0, sramBlock - single))
        let tileReads = l1.tileReadsReachingL2(kernel: declaration, in: bound, extents: kernel.grid, counters: c, tensorBytes: tensorBytes)
        let spill = l1.spill(
            counters: c, excessPerBlock: max(0, c.peakRegisterBytes - BlockLimits.registerBytes(hardware, threads: threads)),
            l2Bytes: hardware.l2Bytes, concurrentBlocks: min(blocks, concurrent))
        let l2Read = tileReads + spill.l2Read
        let l2Write = c.hbmWriteBytes + c.spillBytes

        var dram = hardware.l2Bytes == nil
            ? (read: c.hbmReadBytes, write: c.hbmWriteBytes)
            : l2.dram(kernel: declaration, in: bound, extents: kernel.grid, counters: c, tensorBytes: tensorBytes, concurrentBlocks: concurrent,
                localMemoryBytes: c.spillBytes + spill.l2Read)
        dram.write += spill.dramWrite

        let resident = min(blocks, concurrent)
        let warps = hardware.warps(threads: threads)
        let streaming = streamingBytesPerSecond(residentBlocks: resident, warps: warps)
        let dramSeconds = Double(dram.read + dram.write) / streaming
        let activeSMs = min(blocks, hardware.smCount)
        let l2Seconds = Double(l2Read + l2Write) / (l2BytesPerSecond * Double(activeSMs) / Double(hardware.smCount))
        let imbalance = Double(hardware.smCount * ((blocks + hardware.smCount - 1) / hardware.smCount)) / Double(blocks)
        let matmulSeconds = self.matmulSeconds(kernel: declaration, counters: c, threads: threads, activeSMs: activeSMs)
        // The warps' own work: vector FLOPs and their tensor-memory moves (CostModel+TensorMemory.swift).
        let otherSeconds = Double(c.flopsOther) / hardware.vectorFlopsPerSecond + tensorMemorySeconds(counters: c)
        let specialSeconds = Double(c.exps + c.logs) / hardware.specialFunctionOpsPerSecond
        let cycles = calibration.iterationCycles
            + Double(crossWarpReductions(kernel: declaration, schedule: schedule, counters: c, threads: threads)) * calibration.crossWarpReductionCycles
        let iterationSeconds = Double(c.loopIterations) * cycles / (hardware.clockHz * Double(activeSMs))
        let computeSeconds = usesCTAWideMMA(kernel: declaration, counters: c, threads: threads)
            ? imbalance * (otherSeconds + specialSeconds) + max(imbalance * matmulSeconds, iterationSeconds)
            : imbalance * (matmulSeconds + otherSeconds + specialSeconds) + iterationSeconds
        let latency = latencySeconds(
            schedule: schedule, counters: c, blocks: blocks, blocksPerSM: perSM, stages: stages, warps: warps, activeSMs: activeSMs)
        let elements = launch == .framework
            ? elementLatencySeconds(kernel: declaration, in: bound, extents: kernel.grid, counters: c, tensorBytes: tensorBytes) : 0
        let busy = max(dramSeconds, l2Seconds, computeSeconds, latency.rounds, latency.blocks, elements)
        let boundBy: KernelPrediction.Bound
        if busy < calibration.kernelOverheadSeconds {
            boundBy = .overhead
        } else if busy == computeSeconds {
            boundBy = .compute
        } else if busy == l2Seconds {
            boundBy = .l2
        } else if busy == dramSeconds {
            boundBy = streaming < hbmBytesPerSecond ? .latency : .memory
        } else {
            boundBy = .latency
        }
        return KernelPrediction(
            name: kernel.name, blocks: blocks, blocksPerSM: perSM, waves: (blocks + concurrent - 1) / concurrent,
            registersPerThread: registersPerThread(peakRegisterBytes: c.peakRegisterBytes, threads: threads),
            spillBytes: c.spillBytes,
            l2ReadBytes: l2Read, l2WriteBytes: l2Write, dramReadBytes: dram.read, dramWriteBytes: dram.write,
            flopsMatmul: c.flopsMatmul, flopsOther: c.flopsOther, specialOps: c.exps + c.logs,
            dramSeconds: dramSeconds, l2Seconds: l2Seconds, computeSeconds: computeSeconds,
            roundSeconds: latency.rounds, blockLatencySeconds: max(latency.blocks, elements),
            seconds: busy + calibration.kernelOverheadSeconds, bound: boundBy)
    }

    /// The latency terms of a kernel (docs/cost-model.md, "Rounds" and "One-round blocks").
    ///
    /// *Rounds.* An iteration of a loop that waits on its own loads (`stages(1)`: no
    /// software pipelining) costs its SM the L2 round trip of each load of its dependent
    /// chain (a block-table entry, then the page it names: 2) and the time its bytes take
    /// through the SM's share of the L2 bandwidth; the SM serves one such iteration at a
    /// time, whatever its resident blocks (the measured paged-decode kernel: 3.9 and 15.5
    /// blocks per SM give the same time per iteration and SM):
    ///
    ///     t_rounds = iterations / A x (chain x L2 latency + bytes per iteration x SMs / L2 bandwidth)
    ///
    /// *One-round blocks.* A kernel without loops loads once, reduces and stores: each block
    /// is one round of the DRAM latency plus, for each reduction across its warps (a row
    /// spread over the warps of a CUDA-core kernel: no matrix product lays rows out per
    /// warp), one barrier wait. r = min(k, blocks / SMs) blocks overlap on an SM:
    ///
    ///     t_blocks = blocks / (SMs x r) x (DRAM latency + cross-warp reductions x barrier wait)
    func latencySeconds(
        schedule: KernelSchedule, counters c: Counters, blocks: Int, blocksPerSM: Int, stages: Int, warps: Int, activeSMs: Int
    ) -> (rounds: Double, blocks: Double) {
        let sms = Double(hardware.smCount)
        if c.loopIterations > 0 {
            guard stages <= 1 else { return (0, 0) }
            let streamed = schedule.streamedTensors.reduce(0) { $0 + ($1 < c.tensors.count ? c.tensors[$1].readBytes : 0) }
            let perIteration = Double(streamed) / Double(c.loopIterations)
            let chain = Double(max(1, schedule.dependentLoads))
            let round = chain * hardware.l2LatencySeconds + perIteration * sms / l2BytesPerSecond
            return (Double(c.loopIterations) / Double(activeSMs) * round, 0)
        }
        let crossWarp = c.flopsMatmul == 0 && warps > 1 ? schedule.reductionsPerRound : 0
        return (0, oneRoundSeconds(blocks: blocks, blocksPerSM: blocksPerSM, crossWarpReductions: crossWarp))
    }

    /// Blocks of one round (a kernel without loops, or a streaming operator): each waits
    /// the DRAM latency and a barrier per reduction across its warps, r = min(k, blocks / SMs)
    /// of them overlapping on an SM:
    ///
    ///     t_blocks = blocks / (SMs x r) x (DRAM latency + cross-warp reductions x barrier wait)
    func oneRoundSeconds(blocks: Int, blocksPerSM: Int, crossWarpReductions: Int) -> Double {
        guard blocks > 0 else { return 0 }
        let sms = Double(hardware.smCount)
        let overlap = min(Double(max(1, blocksPerSM)), Double(blocks) / sms)
        let round = hardware.dramLatencySeconds + Double(crossWarpReductions) * calibration.barrierWaitSeconds
        return Double(blocks) / (sms * overlap) * round
    }

    /// Threads of the warp group an asynchronous MMA spans (wgmma: 4 warps of 32).
    public var warpGroupThreads: Int { hardware.mmaWarpsPerWarpGroup * hardware.warpSize }

    /// Whether the kernel's GEMMs run an asynchronous MMA that reads its operands from
    /// shared memory itself: it says `mma(async)`, the GPU has one, and its product has at
    /// least the instruction's smallest M:
    /// - Hopper's warp-group MMA (`mma_rows_per_warp_group`: wgmma m64nNk16, 64 rows).
    ///   Warp groups beyond the product's 64-row slabs split its columns (Triton with 8
    ///   warps over 64 rows) or feed the others (the producer warp group of a
    ///   warp-specialized cuBLAS or CUTLASS sm90 kernel): they do not make it fall back to
    ///   the warp-level MMA.
    /// - Blackwell's CTA-wide MMA (`mma_rows_per_cta`: tcgen05.mma, issued by one thread for
    ///   the CTA, A and B from shared memory, D in tensor memory; PTX ISA 8.6,
    ///   tcgen05.mma.cta_group::1.kind::f16 takes M = 64 or 128, N = 8 to 256, K = 16), from
    ///   64 rows: half the profile's 128.
    public func usesAsyncMMA(kernel: KernelDecl, counters: Counters, threads: Int) -> Bool {
        guard kernel.mma == .async else { return false }
        if hardware.mmaRowsPerWarpGroup > 0 { return counters.peakMatmulRows >= hardware.mmaRowsPerWarpGroup }
        if hardware.mmaRowsPerCTA > 0 { return counters.peakMatmulRows >= hardware.mmaRowsPerCTA / 2 }
        return false
    }

    /// Whether the kernel's GEMMs run the CTA-wide asynchronous MMA (`usesAsyncMMA` on a GPU
    /// whose profile has `mma_rows_per_cta` and no warp-group MMA: tcgen05.mma on Blackwell).
    /// One thread issues it for the CTA and it runs asynchronously into tensor memory,
    /// completing on an mbarrier: the next iteration's waits (its loads' barrier, the commit
    /// of the previous MMA) proceed while the tensor cores work, so a loop's iteration cycles
    /// hide behind the MMA and `predict` takes the longer of the two:
    ///
    ///     t_compute = f t_vector + max(f t_mma, t_iterations)     (CTA-wide MMA)
    ///     t_compute = f (t_mma + t_vector) + t_iterations          (otherwise)
    ///
    /// Every other kernel's warps issue the MMA themselves and wait on it within the
    /// iteration (mma.sync is synchronous; a wgmma warp group waits with `wgmma.wait_group`
    /// before the softmax reads its scores: the Triton loops of docs/data/h100-triton-d64.csv,
    /// on which `iteration_cycles` was fitted this way), so the two add.
    public func usesCTAWideMMA(kernel: KernelDecl, counters: Counters, threads: Int) -> Bool {
        hardware.mmaRowsPerWarpGroup == 0 && hardware.mmaRowsPerCTA > 0 && usesAsyncMMA(kernel: kernel, counters: counters, threads: threads)
    }

    /// Row reductions of one loop iteration that cross warps: a warp-level-MMA kernel whose
    /// product has fewer row slabs (M / rows per MMA instruction) than warps spreads each
    /// row over several warps (Triton with 4 warps over 16 or 32 query rows), so every
    /// `rowmax` and `rowsum` of the iteration meets in shared memory behind a barrier. A
    /// kernel with a warp per row slab (FlashAttention-2's 4 warps over 64 or 128 rows), or
    /// with fewer rows than one instruction's (a decode query, padded to the instruction),
    /// keeps its rows inside warps. The layout is Triton's for the warp-level MMA
    /// (`warpsPerTileV2` in lib/Dialect/TritonGPU/Transforms/AccelerateMatmul.cpp: warps
    /// along M up to M / 16, the rest along N). Each crossing costs
    /// `CalibrationSet.crossWarpReductionCycles`, fitted on the Triton block-size sweep of
    /// docs/data/h100-triton-d64.csv (its 16- and 32-row tiles are the only such kernels).
    func crossWarpReductions(kernel: KernelDecl, schedule: KernelSchedule, counters: Counters, threads: Int) -> Int {
        guard counters.flopsMatmul > 0, counters.loopIterations > 0, counters.peakMatmulRows >= hardware.mmaRowsPerWarp,
              !usesAsyncMMA(kernel: kernel, counters: counters, threads: threads)
        else { return 0 }
        let warps = hardware.warps(threads: threads)
        return warps > counters.peakMatmulRows / hardware.mmaRowsPerWarp ? schedule.reductionsPerRound : 0
    }

    /// Time of an elementwise kernel over a broadcast operand (no loop, no matrix product,
    /// and a tensor that several blocks read: its loads skip a grid axis, or an index maps
    /// several blocks onto one datum, as GQA's expansion does). PyTorch's TensorIterator
    /// vectorizes only contiguous operands; over a broadcast one it runs its legacy kernel
    /// (aten/src/ATen/native/cuda/CUDALoops.cuh: `launch_legacy_kernel<128, 4>`), whose
    /// threads load one element at a time, each load issued after the previous element's
    /// store. Little's law with one element in flight per resident thread, the SM full of
    /// 128-thread blocks:
    ///
    ///     t_elements = loaded elements x DRAM latency / (SMs x threads per SM)
    ///
    /// Charged on the framework launch path only (`predict`): a kernel launched directly
    /// (Triton, a user's CUDA) is not TensorIterator's. The data: docs/data/h100-sdpa.csv's
    /// naive GQA rows move their expansion at 1.2 to 1.6 TB/s of DRAM traffic, and its causal
    /// naive rows add the broadcast mask at about half that (each element loads two operands),
    /// where a vectorized copy streams near the 3.0 TB/s ceiling.
    func elementLatencySeconds(kernel: KernelDecl, in bound: BoundProgram, extents: [Int], counters c: Counters, tensorBytes: [Int]) -> Double {
        guard c.loopIterations == 0, c.flopsMatmul == 0, c.hbmReadBytes > 0 else { return 0 }
        let dependence = GridDependence.loadedTensorAxes(kernel, in: bound)
        var broadcast = false
        var elements = 0.0
        for (tensor, traffic) in c.tensors.enumerated() where traffic.readBytes > 0 {
            let axes = dependence[tensor] ?? []
            let shared = extents.indices.contains { !axes.contains($0) && extents[$0] > 1 }
            if shared || traffic.readBytes >= 2 * tensorBytes[tensor] { broadcast = true }
            elements += Double(traffic.readBytes) / Double(bound.tensorDTypes[tensor].bytes)
        }
        guard broadcast else { return 0 }
        return elements * hardware.dramLatencySeconds / Double(hardware.smCount * hardware.maxThreadsPerSM)
    }

    /// Rows each warp multiplies with the warp-level MMA: the matmul rows spread over the
    /// warps, at most one warp per instruction's rows (16 for mma.sync m16n8k16 and
    /// CDNA 3's 16 x 16 x 16 MFMA); warps beyond that split the columns.
    public func rowsPerWarp(matmulRows: Int, threads: Int) -> Int {
        let warps = hardware.warps(threads: threads)
        let alongRows = max(1, min(warps, matmulRows / hardware.mmaRowsPerWarp))
        return max(1, matmulRows / alongRows)
    }

    /// Time of the kernel's GEMMs on an SM's tensor cores (before the imbalance factor):
    ///
    ///     t_mma     = matmul FLOPs / (matmul ceiling x eta)
    ///     t_operand = matmul FLOPs x elem bytes / (2 x m_w) / (smem bandwidth x phi)   (warp-level MMA only)
    ///     t         = max(t_mma, t_operand)
    ///
    /// With the warp-level MMA (mma.sync) each warp reads the B operand from shared memory
    /// for its m_w rows: an (m_w x k)(k x n) product moves k n elem bytes for 2 m_w n k
    /// FLOPs. The warp-group MMA (wgmma) shares B over the warp group, and Blackwell's
    /// CTA-wide tcgen05.mma reads A and B from shared memory for the whole CTA: both are
    /// bound by the tensor cores alone.
    func matmulSeconds(kernel: KernelDecl, counters: Counters, threads: Int, activeSMs: Int) -> Double {
        guard counters.flopsMatmul > 0 else { return 0 }
        let mma = Double(counters.flopsMatmul) / (matmulFlopsPerSecond(kernel) * calibration.matmulEfficiency)
        if usesAsyncMMA(kernel: kernel, counters: counters, threads: threads) { return mma }
        let rows = Double(rowsPerWarp(matmulRows: max(counters.peakMatmulRows, 1), threads: threads))
        let operandBytes = Double(counters.flopsMatmul) * Double(mmaDType(kernel).bytes) / (2 * rows)
        let operandRate = hardware.sramBytesPerSecond * calibration.operandBandwidthFraction
        return max(mma, operandBytes / operandRate)
    }
}

/// What a thread block may allocate, as the executor checks it.
enum BlockLimits {
    /// Register bytes one block of `threads` threads can allocate.
    static func registerBytes(_ hardware: HardwareProfile, threads: Int) -> Int {
        min(hardware.registersPerBlock, hardware.registersPerThread * threads) * 4
    }
}
