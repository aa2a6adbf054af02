/// What the cost model predicts for one kernel.
public struct KernelPrediction: Sendable, Equatable {
    /// What limits the kernel's time.
    public enum Bound: String, Sendable, Equatable {
        /// DRAM bandwidth, with enough thread blocks in flight to use it.
        case memory
        /// Memory latency: too few bytes in flight to saturate DRAM, loop iterations that
        /// wait on their own loads, or blocks of one round that wait at their barriers.
        case latency
        /// L2 bandwidth (tile traffic the L2 serves).
        case l2
        /// Tensor-core, vector and special-function work.
        case compute
        /// Launch overhead: the kernel does almost nothing.
        case overhead
    }

    public var name: String
    public var blocks: Int
    /// Thread blocks one SM holds at once (shared memory, registers, block limit).
    public var blocksPerSM: Int
    /// ceil(blocks / (blocks per SM x SMs)).
    public var waves: Int
    /// Registers allocated per thread (at most the profile's per-thread limit).
    public var registersPerThread: Int
    /// Bytes spilled to local memory over the kernel (stored, and loaded back as many);
    /// 0 when the registers suffice. A spilling kernel is predicted, never refused.
    public var spillBytes: Int
    /// Bytes between the SMs and L2: the tile-level counts less what the L1 serves, plus
    /// spill traffic that misses the L1 (reads) or writes through it (writes).
    public var l2ReadBytes: Int
    public var l2WriteBytes: Int
    /// Bytes between L2 and DRAM, after the L2 model.
    public var dramReadBytes: Int
    public var dramWriteBytes: Int
    public var flopsMatmul: Int
    public var flopsOther: Int
    public var specialOps: Int
    /// The times the model compares, seconds.
    public var dramSeconds: Double
    public var l2Seconds: Double
    public var computeSeconds: Double
    /// Loop iterations that wait on their loads, served one at a time per SM (0 for a
    /// software-pipelined kernel or one without loops).
    public var roundSeconds: Double = 0
    /// Blocks of one round (no loop): waves of the DRAM latency and barrier waits.
    public var blockLatencySeconds: Double = 0
    public var seconds: Double
    public var bound: Bound
}

/// What the cost model predicts for a whole run.
public struct RunPrediction: Sendable, Equatable {
    public var kernels: [KernelPrediction]
    /// Host time of the call's launch path included in `seconds` (`LaunchPath`).
    public var overheadSeconds: Double

    public var seconds: Double { kernels.reduce(overheadSeconds) { $0 + $1.seconds } }
    public var dramReadBytes: Int { kernels.reduce(0) { $0 + $1.dramReadBytes } }
    public var dramWriteBytes: Int { kernels.reduce(0) { $0 + $1.dramWriteBytes } }
    public var l2ReadBytes: Int { kernels.reduce(0) { $0 + $1.l2ReadBytes } }
    public var l2WriteBytes: Int { kernels.reduce(0) { $0 + $1.l2WriteBytes } }
    public var spillBytes: Int { kernels.reduce(0) { $0 + $1.spillBytes } }
}
