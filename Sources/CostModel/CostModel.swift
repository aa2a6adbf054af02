import AttnHardware
import AttnNumerics
import TileInterpreter
import TileLanguage

/// Turns a run's exact counts into traffic at every level and time on a hardware profile
/// (docs/cost-model.md has every equation, constant and source).
///
/// Per kernel:
///
///     regs/thread = min(max regs/thread, roundup8(ceil(peak reg bytes / 4 / threads) + base))
///     blocks/SM   = min(max blocks/SM, floor(threads/SM / threads), floor(smem/SM / (stages x peak SRAM)),
///                       floor(regs/SM / (regs/thread x threads)))
///     C           = blocks/SM x SMs;  waves = ceil(blocks / C)
///     SM->L2      = tile reads x (1 - L1 share) + spill loads missing L1;  writes + spill stores
///     DRAM        = the L2 model's reads and writes + spill write-backs over the L2
///     t_dram      = DRAM bytes / min(HBM bandwidth, min(blocks, C) x warps x bytes in flight / latency)
///     t_l2        = SM->L2 bytes / (L2 bandwidth x min(blocks, SMs) / SMs)
///     t_compute   = f x (max(matmul / (peak x eta), sync operand bytes / (smem bandwidth x phi))
///                        + other / vector peak + exp, log / SFU rate)
///                   + iterations x cycles per iteration / (clock x SMs x min(1, blocks / SMs))
///     t           = max(t_dram, t_l2, t_compute) + kernel overhead
///
/// and a run is the sum of its kernels plus one call overhead. f = SMs x ceil(blocks /
/// SMs) / blocks charges a partial last wave and idle SMs.
public struct CostModel: Sendable {
    public var hardware: HardwareProfile
    public var constants: CostModelConstants
    public var dtype: DType

    /// Constants for a profile that carries none: the standard (per-SM, not per-GPU) set.
    public static let uncalibratedDefaults = CostModelConstants.standard

    public init(hardware: HardwareProfile, dtype: DType, constants: CostModelConstants? = nil) {
        self.hardware = hardware
        self.dtype = dtype
        self.constants = constants ?? hardware.costModel ?? CostModelConstants.standard
    }

    /// Ceilings: measured where the profile has them, else the datasheet figure times the
    /// sustained fraction (`CostModelConstants.sustainedMatmulFraction`, `sustainedHBMFraction`).
    public var hbmBytesPerSecond: Double {
        hardware.measuredHBMBytesPerSecond ?? hardware.hbmBytesPerSecond * constants.sustainedHBMFraction
    }
    public var matmulFlopsPerSecond: Double {
        if let measured = hardware.measuredMatmulFlopsPerSecond[dtype] { return measured }
        let peak = hardware.matmulFlopsPerSecond[dtype] ?? hardware.matmulFlopsPerSecond[.fp16] ?? hardware.vectorFlopsPerSecond
        return peak * constants.sustainedMatmulFraction
    }
    public var l2BytesPerSecond: Double { hardware.l2BytesPerSecond ?? 2 * hbmBytesPerSecond }

    /// Arithmetic intensity (matmul FLOPs per DRAM byte) where matmul and memory times meet.
    public var ridgePoint: Double { matmulFlopsPerSecond / hbmBytesPerSecond }

    /// DRAM bytes per second one resident warp streams: bytes in flight over the latency.
    public var warpBytesPerSecond: Double { constants.bytesInFlightPerWarp / hardware.dramLatencySeconds }

    /// Registers one thread is allocated: its tiles' share of the block's peak register
    /// bytes plus the base registers, rounded up to the allocation unit of 8, at most the
    /// per-thread limit (the rest spills).
    public func registersPerThread(peakRegisterBytes: Int, threads: Int) -> Int {
        let threads = max(threads, 1)
        let tiles = (peakRegisterBytes + 4 * threads - 1) / (4 * threads)
        let demand = tiles + constants.baseRegistersPerThread
        return min(hardware.registersPerThread, (demand + 7) / 8 * 8)
    }

    /// Thread blocks one SM can hold with this kernel's per-block resources: shared memory
    /// (peak SRAM times the pipelining stages, at most the per-block limit) and the
    /// registers actually allocated (`registersPerThread`).
    public func blocksPerSM(peakSramBytes: Int, peakRegisterBytes: Int, threads: Int = KernelDecl.defaultThreads, stages: Int = 1) -> Int {
        var limit = min(hardware.maxBlocksPerSM, hardware.maxThreadsPerSM / max(threads, 1))
        let sram = sramPerBlock(peakSramBytes: peakSramBytes, stages: stages)
        if sram > 0 { limit = min(limit, hardware.sharedMemoryBytesPerSM / sram) }
        if peakRegisterBytes > 0 || constants.baseRegistersPerThread > 0 {
            let registers = registersPerThread(peakRegisterBytes: peakRegisterBytes, threads: threads) * max(threads, 1)
            limit = min(limit, hardware.registersPerSM / max(registers, 1))
        }
        return max(1, limit)
    }

    /// Shared memory a block holds: its peak SRAM, with the tiles it loads multiplied by
    /// the pipelining stages, at most the per-block limit.
    func sramPerBlock(peakSramBytes: Int, stages: Int) -> Int {
        guard peakSramBytes > 0 else { return 0 }
        return min(hardware.sharedMemoryBytesPerBlock, peakSramBytes * max(stages, 1))
    }

    public func predict(_ bound: BoundProgram, _ stats: RunStats) -> RunPrediction {
        let l2 = L2Model(l2Bytes: hardware.l2Bytes ?? 0)
        let tensorBytes = bound.tensorShapes.enumerated().map { $0.element.reduce(1, *) * bound.tensorDTypes[$0.offset].bytes }
        var kernels: [KernelPrediction] = []
        for (index, kernel) in stats.kernels.enumerated() {
            let c = kernel.counters
            let blocks = kernel.blocks
            guard blocks > 0 else { continue }
            let threads = bound.kernelThreads[index]
            let stages = index < bound.kernelStages.count ? bound.kernelStages[index] : 1
            let perSM = blocksPerSM(peakSramBytes: c.peakSramBytes, peakRegisterBytes: c.peakRegisterBytes, threads: threads, stages: stages)
            let concurrent = perSM * hardware.smCount
            let declaration = bound.program.kernels[index]

            // SM <-> L2: tile traffic less what the L1 serves, plus spills.
            let l1 = L1Model(
                hardware: hardware, constants: constants, blocksPerSM: perSM,
                sramPerSM: perSM * sramPerBlock(peakSramBytes: c.peakSramBytes, stages: stages), cachedInL1: stages >= 2)
            let tileReads = l1.tileReadsReachingL2(kernel: declaration, in: bound, extents: kernel.grid, counters: c, tensorBytes: tensorBytes)
            let spill = l1.spill(
                counters: c, excessPerBlock: max(0, c.peakRegisterBytes - BlockLimits.registerBytes(hardware, threads: threads)),
                l2Bytes: hardware.l2Bytes, concurrentBlocks: min(blocks, concurrent))
            let l2Read = tileReads + spill.l2Read
            let l2Write = c.hbmWriteBytes + c.spillBytes

            var dram = hardware.l2Bytes == nil
                ? (read: c.hbmReadBytes, write: c.hbmWriteBytes)
                : l2.dram(kernel: declaration, in: bound, extents: kernel.grid, counters: c, tensorBytes: tensorBytes, concurrentBlocks: concurrent)
            dram.write += spill.dramWrite

            let resident = min(blocks, concurrent)
            let warps = Double(max(1, threads / 32))
            let streaming = min(hbmBytesPerSecond, Double(resident) * warps * warpBytesPerSecond)
            let dramSeconds = Double(dram.read + dram.write) / streaming
            let activeSMs = min(blocks, hardware.smCount)
            let l2Seconds = Double(l2Read + l2Write) / (l2BytesPerSecond * Double(activeSMs) / Double(hardware.smCount))
            let imbalance = Double(hardware.smCount * ((blocks + hardware.smCount - 1) / hardware.smCount)) / Double(blocks)
            let matmulSeconds = self.matmulSeconds(kernel: declaration, counters: c, threads: threads, activeSMs: activeSMs)
            let work = matmulSeconds
                + Double(c.flopsOther) / hardware.vectorFlopsPerSecond
                + Double(c.exps + c.logs) / hardware.specialFunctionOpsPerSecond
            let iterationSeconds = Double(c.loopIterations) * constants.iterationCycles / (hardware.clockHz * Double(activeSMs))
            let computeSeconds = imbalance * work + iterationSeconds
            let busy = max(dramSeconds, l2Seconds, computeSeconds)
            let bound: KernelPrediction.Bound
            if busy < constants.kernelOverheadSeconds {
                bound = .overhead
            } else if busy == computeSeconds {
                bound = .compute
            } else if busy == l2Seconds {
                bound = .l2
            } else {
                bound = streaming < hbmBytesPerSecond ? .latency : .memory
            }
            kernels.append(KernelPrediction(
                name: kernel.name, blocks: blocks, blocksPerSM: perSM, waves: (blocks + concurrent - 1) / concurrent,
                registersPerThread: registersPerThread(peakRegisterBytes: c.peakRegisterBytes, threads: threads),
                spillBytes: c.spillBytes,
                l2ReadBytes: l2Read, l2WriteBytes: l2Write, dramReadBytes: dram.read, dramWriteBytes: dram.write,
                flopsMatmul: c.flopsMatmul, flopsOther: c.flopsOther, specialOps: c.exps + c.logs,
                dramSeconds: dramSeconds, l2Seconds: l2Seconds, computeSeconds: computeSeconds,
                seconds: busy + constants.kernelOverheadSeconds, bound: bound))
        }
        return RunPrediction(kernels: kernels, overheadSeconds: constants.callOverheadSeconds)
    }

    /// Whether the kernel's GEMMs run the asynchronous warp-group MMA: it says `mma(async)`,
    /// the GPU has one, and each warp group holds at least its rows.
    public func usesAsyncMMA(kernel: KernelDecl, counters: Counters, threads: Int) -> Bool {
        guard kernel.mma == .async, hardware.mmaRowsPerWarpGroup > 0 else { return false }
        let warpGroups = max(1, threads / 128)
        return counters.peakMatmulRows / warpGroups >= hardware.mmaRowsPerWarpGroup
    }

    /// Rows each warp multiplies with synchronous MMA: the matmul rows spread over the
    /// warps, at most one warp per 16 rows (the m16n8k16 instruction); warps beyond that
    /// split the columns.
    public func rowsPerWarp(matmulRows: Int, threads: Int) -> Int {
        let warps = max(1, threads / 32)
        let alongRows = max(1, min(warps, matmulRows / 16))
        return max(1, matmulRows / alongRows)
    }

    /// Time of the kernel's GEMMs on an SM's tensor cores (before the imbalance factor):
    ///
    ///     t_mma     = matmul FLOPs / (matmul peak x eta)
    ///     t_operand = matmul FLOPs x elem bytes / (2 x m_w) / (smem bandwidth x phi)   (sync only)
    ///     t         = max(t_mma, t_operand)
    ///
    /// With `mma.sync` each warp reads the B operand from shared memory for its m_w rows: an
    /// (m_w x k)(k x n) product moves k n elem bytes for 2 m_w n k FLOPs. The warp-group MMA
    /// shares B over the warp group and is bound by the tensor cores alone.
    func matmulSeconds(kernel: KernelDecl, counters: Counters, threads: Int, activeSMs: Int) -> Double {
        guard counters.flopsMatmul > 0 else { return 0 }
        let mma = Double(counters.flopsMatmul) / (matmulFlopsPerSecond * constants.matmulEfficiency)
        if usesAsyncMMA(kernel: kernel, counters: counters, threads: threads) { return mma }
        let rows = Double(rowsPerWarp(matmulRows: max(counters.peakMatmulRows, 1), threads: threads))
        let operandBytes = Double(counters.flopsMatmul) * Double(dtype.bytes) / (2 * rows)
        let operandRate = hardware.sramBytesPerSecond * constants.operandBandwidthFraction
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
