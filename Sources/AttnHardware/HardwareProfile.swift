import AttnNumerics

/// A GPU described as data: memory levels, SMs and peak rates, each figure with its source.
///
/// A profile holds datasheet facts (and figures measured on the part) only: the constants
/// fitted to measured runs are calibration sets beside the cost model
/// (`CostModel.CalibrationSet`).
public struct HardwareProfile: Sendable, Equatable {
    /// Stable identifier used on the command line and in scenarios, e.g. `h100-sxm`.
    public var id: String
    /// Human-readable name, e.g. `NVIDIA H100 SXM5 80GB`.
    public var name: String
    public var hbmBytes: Int
    public var hbmBytesPerSecond: Double
    /// L2 size in bytes; nil for a profile without an L2 model.
    public var l2Bytes: Int?
    /// Aggregate L2 bandwidth (SMs to L2), when known.
    public var l2BytesPerSecond: Double?
    public var smCount: Int
    public var clockHz: Double
    public var sharedMemoryBytesPerSM: Int
    /// The largest shared-memory allocation one thread block may make (opt-in maximum).
    public var sharedMemoryBytesPerBlock: Int
    /// Shared-memory bandwidth of one SM in bytes per clock (32 banks x 4 bytes on NVIDIA).
    public var sharedMemoryBytesPerClockPerSM: Int
    /// 32-bit registers per SM.
    public var registersPerSM: Int
    /// 32-bit registers one thread block may use.
    public var registersPerBlock: Int
    /// 32-bit registers one thread may use (255 on NVIDIA since compute capability 3.5);
    /// a kernel that needs more spills the excess to local memory.
    public var registersPerThread: Int = 255
    /// Unified L1 data cache and shared memory per SM, bytes: what shared memory leaves of
    /// it caches loads (and spills). nil: the profile models no L1 beyond shared memory.
    public var l1BytesPerSM: Int? = nil
    /// Rows per warp group the asynchronous warp-group MMA needs (Hopper's wgmma: 64);
    /// 0 when the GPU has none (Ampere, Ada, CDNA: every kernel runs the warp-level MMA).
    public var mmaRowsPerWarpGroup: Int = 0
    /// Warps in the warp group one asynchronous MMA spans (wgmma: 4).
    public var mmaWarpsPerWarpGroup: Int = 4
    /// Rows (M) of the warp-level MMA instruction a warp issues: 16 for NVIDIA's
    /// mma.sync m16n8k16 and for CDNA 3's v_mfma_f32_16x16x16_f16.
    public var mmaRowsPerWarp: Int = 16
    /// Threads of a warp (NVIDIA: 32) or wavefront (AMD CDNA: 64): the unit a kernel's
    /// threads are scheduled, and its loads kept in flight, in.
    public var warpSize: Int = 32
    /// Threads one thread block (workgroup) may have.
    public var maxThreadsPerBlock: Int = 1024
    /// Load-to-use latency of DRAM (an L2 miss), seconds: with the bytes a warp keeps in
    /// flight it bounds the bandwidth few warps can draw.
    public var dramLatencySeconds: Double = HardwareProfile.defaultDRAMLatencySeconds
    /// Load-to-use latency of an L2 hit, seconds: what a loop iteration that waits on its
    /// own loads exposes per dependent load (docs/cost-model.md, "Rounds").
    public var l2LatencySeconds: Double = HardwareProfile.defaultL2LatencySeconds
    /// DRAM latency assumed when a profile gives none.
    public static let defaultDRAMLatencySeconds = 600e-9
    /// L2 hit latency assumed when a profile gives none.
    public static let defaultL2LatencySeconds = 300e-9
    public var maxThreadsPerSM: Int
    public var maxBlocksPerSM: Int
    /// Dense tensor-core matmul peak per input dtype, FLOP/s (without 2:4 sparsity): `fp32`
    /// is TF32; FP8 has a rate per format (`fp8e4m3`, `fp8e5m2`: every FP8 tensor core to
    /// date runs both at one rate); `fp4e2m1` is the block-scaled FP4 MMA (NVFP4 on
    /// Blackwell, MXFP4 on Blackwell and CDNA 4), whose scales the instruction applies: the
    /// rate counts the 2 M N K FLOPs of the element products only. A dtype a part lacks is
    /// absent (the A100 has no FP8, Hopper no FP4).
    public var matmulFlopsPerSecond: [DType: Double]
    /// Dense INT8 tensor-core peak, integer operations per second; nil where the datasheet
    /// gives none (or the part has none).
    public var matmulInt8OpsPerSecond: Double? = nil
    /// Tensor memory per SM, bytes: Blackwell's (SM100) dedicated accumulator storage of
    /// `tcgen05.mma` (128 lanes x 512 columns x 4 bytes = 256 KB), which the MMA writes
    /// and `tcgen05.ld` reads back into registers; 0 on GPUs without it.
    public var tensorMemoryBytesPerSM: Int = 0
    /// Rows (M) of the CTA-wide MMA at its full rate: 128 for Blackwell's `tcgen05.mma`,
    /// issued by one thread for the whole CTA with operands in shared (A also in tensor)
    /// memory and the accumulator in tensor memory; 0 when the GPU has none.
    public var mmaRowsPerCTA: Int = 0
    /// CTAs one MMA may span: 2 for `tcgen05.mma.cta_group::2` (a pair of CTAs on the two
    /// SMs of a cluster computes an M = 2 x `mmaRowsPerCTA` tile, each CTA loading half of
    /// the B operand); 1 elsewhere.
    public var mmaCTAGroupSize: Int = 1
    /// The most CTAs of one thread-block cluster the GPU launches (the portable size, 8 on
    /// compute capability 9.0 and later: CUDA C++ Programming Guide, "Thread Block
    /// Clusters"); 1 on GPUs without clusters, whose blocks share no load by TMA multicast.
    public var maxClusterCTAs: Int = 1
    /// Non-tensor FP32 peak (FMA counted as two FLOPs), FLOP/s.
    public var vectorFlopsPerSecond: Double
    /// Special-function-unit results (exp2, log2, ...) per clock per SM.
    public var specialFunctionOpsPerClockPerSM: Int
    /// Ceilings measured on a real part, when known (see docs/data).
    public var measuredHBMBytesPerSecond: Double?
    public var measuredMatmulFlopsPerSecond: [DType: Double]
    /// Whether the GPU launches thread-block clusters of more than one CTA, whose CTAs the
    /// TMA can multicast a tile to (`cp.async.bulk.tensor ... .multicast::cluster`).
    public var hasThreadBlockClusters: Bool { maxClusterCTAs > 1 }
    /// Where each figure comes from, keyed by its JSON field name.
    public var sources: [String: String]
    /// The GPU-to-GPU link tensor and context parallelism use; nil when the profile
    /// describes none (then only one GPU can be modelled).
    public var interconnect: Interconnect? = nil
    /// Host memory below HBM for KV offload and swapping, over the host link; nil when
    /// the profile gives none.
    public var hostMemory: MemoryTier? = nil
    /// NVMe storage below host memory; nil when the profile gives none.
    public var storage: MemoryTier? = nil

    /// Bytes of shared memory one thread block may use: the SRAM capacity the tile
    /// programs are checked against.
    public var sramBytesPerBlock: Int { sharedMemoryBytesPerBlock }

    /// Bytes of registers one thread block may use (4 bytes per 32-bit register).
    public var registerBytesPerBlock: Int { registersPerBlock * 4 }

    /// Aggregate shared-memory bandwidth: bytes/clock/SM x SMs x clock.
    public var sramBytesPerSecond: Double {
        Double(sharedMemoryBytesPerClockPerSM) * Double(smCount) * clockHz
    }

    /// Warps (wavefronts) of a block of `threads` threads: ceil(threads / warp size).
    public func warps(threads: Int) -> Int {
        max(1, (max(threads, 1) + warpSize - 1) / warpSize)
    }

    /// Aggregate special-function throughput: ops/clock/SM x SMs x clock.
    public var specialFunctionOpsPerSecond: Double {
        Double(specialFunctionOpsPerClockPerSM) * Double(smCount) * clockHz
    }

    /// The memory levels of this profile, outermost first.
    public var levels: [MemoryLevelSpec] {
        var result = [MemoryLevelSpec(
            level: .hbm, capacityBytes: hbmBytes, perBlockCapacityBytes: nil,
            bytesPerSecond: hbmBytesPerSecond)]
        if let l2Bytes {
            result.append(MemoryLevelSpec(level: .l2, capacityBytes: l2Bytes, perBlockCapacityBytes: nil, bytesPerSecond: l2BytesPerSecond))
        }
        result.append(MemoryLevelSpec(
            level: .sram, capacityBytes: sharedMemoryBytesPerSM,
            perBlockCapacityBytes: sharedMemoryBytesPerBlock, bytesPerSecond: sramBytesPerSecond))
        result.append(MemoryLevelSpec(
            level: .registers, capacityBytes: registersPerSM * 4,
            perBlockCapacityBytes: registerBytesPerBlock, bytesPerSecond: nil))
        return result
    }
}
