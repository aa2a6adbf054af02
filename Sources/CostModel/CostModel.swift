import AttnHardware
import AttnNumerics
import TileInterpreter
import TileLanguage

/// Turns a run's exact counts into DRAM traffic and time on a hardware profile
/// (docs/cost-model.md has every equation and constant).
///
/// Per kernel:
///
///     blocks/SM = min(max blocks/SM, floor(threads/SM / threads), floor(smem/SM / peak SRAM),
///                     floor(regs/SM / peak regs))
///     C         = blocks/SM x SMs;  waves = ceil(blocks / C)
///     t_dram    = DRAM bytes / min(measured HBM bandwidth, min(blocks, C) x warps/block x beta)
///     t_l2      = tile bytes / (L2 bandwidth x min(blocks, SMs) / SMs)
///     t_compute = f x (matmul / (measured matmul peak x eta) + other / vector peak
///                      + exp and log / SFU rate),   f = SMs x ceil(blocks / SMs) / blocks
///     t         = max(t_dram, t_l2, t_compute) + kernel overhead
///
/// and a run is the sum of its kernels plus one call overhead. Matmul, vector and
/// special-function work add up rather than overlap: in FlashAttention-2 each warp's
/// softmax waits for its S = Q K^T and the P V waits for the softmax. The imbalance
/// factor f charges a partial last wave and idle SMs when blocks < SMs.
public struct CostModel: Sendable {
    public var hardware: HardwareProfile
    public var constants: CostModelConstants
    public var dtype: DType

    /// Constants used for a profile that carries none: the H100 calibration.
    public static let uncalibratedDefaults = CostModelConstants(
        matmulEfficiency: 0.70, warpBytesPerSecond: 4e9, kernelOverheadSeconds: 4e-6, callOverheadSeconds: 70e-6,
        source: "the H100 SXM calibration, carried over (this profile has no cost_model of its own)")

    public init(hardware: HardwareProfile, dtype: DType, constants: CostModelConstants? = nil) {
        self.hardware = hardware
        self.dtype = dtype
        self.constants = constants ?? hardware.costModel ?? CostModel.uncalibratedDefaults
    }

    /// Ceilings: measured where the profile has them, else the datasheet.
    public var hbmBytesPerSecond: Double { hardware.measuredHBMBytesPerSecond ?? hardware.hbmBytesPerSecond }
    public var matmulFlopsPerSecond: Double {
        hardware.measuredMatmulFlopsPerSecond[dtype] ?? hardware.matmulFlopsPerSecond[dtype]
            ?? hardware.matmulFlopsPerSecond[.fp16] ?? hardware.vectorFlopsPerSecond
    }
    public var l2BytesPerSecond: Double { hardware.l2BytesPerSecond ?? 2 * hbmBytesPerSecond }

    /// Arithmetic intensity (matmul FLOPs per DRAM byte) where matmul and memory times meet.
    public var ridgePoint: Double { matmulFlopsPerSecond / hbmBytesPerSecond }

    /// Thread blocks one SM can hold with this kernel's per-block resources.
    public func blocksPerSM(peakSramBytes: Int, peakRegisterBytes: Int, threads: Int = KernelDecl.defaultThreads) -> Int {
        var limit = min(hardware.maxBlocksPerSM, hardware.maxThreadsPerSM / max(threads, 1))
        if peakSramBytes > 0 { limit = min(limit, hardware.sharedMemoryBytesPerSM / peakSramBytes) }
        if peakRegisterBytes > 0 { limit = min(limit, hardware.registersPerSM * 4 / peakRegisterBytes) }
        return max(1, limit)
    }

    public func predict(_ bound: BoundProgram, _ stats: RunStats) -> RunPrediction {
        let l2 = L2Model(l2Bytes: hardware.l2Bytes ?? 0)
        let tensorBytes = bound.tensorShapes.enumerated().map { $0.element.reduce(1, *) * bound.tensorDTypes[$0.offset].bytes }
        var kernels: [KernelPrediction] = []
        for (index, kernel) in stats.kernels.enumerated() {
            let c = kernel.counters
            let threads = bound.kernelThreads[index]
            let perSM = blocksPerSM(peakSramBytes: c.peakSramBytes, peakRegisterBytes: c.peakRegisterBytes, threads: threads)
            let concurrent = perSM * hardware.smCount
            let blocks = kernel.blocks
            guard blocks > 0 else { continue }
            let dram = hardware.l2Bytes == nil
                ? (read: c.hbmReadBytes, write: c.hbmWriteBytes)
                : l2.dram(kernel: bound.program.kernels[index], in: bound, extents: kernel.grid, counters: c, tensorBytes: tensorBytes, concurrentBlocks: concurrent)
            let resident = min(blocks, concurrent)
            let warps = Double(max(1, threads / 32))
            let streaming = min(hbmBytesPerSecond, Double(resident) * warps * constants.warpBytesPerSecond)
            let dramSeconds = Double(dram.read + dram.write) / streaming
            let activeSMs = min(blocks, hardware.smCount)
            let l2Seconds = Double(c.hbmReadBytes + c.hbmWriteBytes) / (l2BytesPerSecond * Double(activeSMs) / Double(hardware.smCount))
            let imbalance = Double(hardware.smCount * ((blocks + hardware.smCount - 1) / hardware.smCount)) / Double(blocks)
            let work = Double(c.flopsMatmul) / (matmulFlopsPerSecond * constants.matmulEfficiency)
                + Double(c.flopsOther) / hardware.vectorFlopsPerSecond
                + Double(c.exps + c.logs) / hardware.specialFunctionOpsPerSecond
            let computeSeconds = imbalance * work
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
                l2ReadBytes: c.hbmReadBytes, l2WriteBytes: c.hbmWriteBytes, dramReadBytes: dram.read, dramWriteBytes: dram.write,
                flopsMatmul: c.flopsMatmul, flopsOther: c.flopsOther, specialOps: c.exps + c.logs,
                dramSeconds: dramSeconds, l2Seconds: l2Seconds, computeSeconds: computeSeconds,
                seconds: busy + constants.kernelOverheadSeconds, bound: bound))
        }
        return RunPrediction(kernels: kernels, overheadSeconds: constants.callOverheadSeconds)
    }
}
