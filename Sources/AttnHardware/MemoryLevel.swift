/// A level of the GPU memory hierarchy, from off-chip to the innermost.
public enum MemoryLevel: String, Sendable, CaseIterable, Codable, Comparable {
    /// Off-chip high-bandwidth memory (device DRAM).
    case hbm
    /// The on-chip L2 cache between HBM and the SMs.
    case l2
    /// On-chip shared memory of one SM, allocated per thread block.
    case sram
    /// The register file of one SM, allocated per thread.
    case registers

    public static func < (a: MemoryLevel, b: MemoryLevel) -> Bool {
        allCases.firstIndex(of: a) ?? 0 < allCases.firstIndex(of: b) ?? 0
    }
}

/// The capacity and bandwidth of one memory level on a given GPU.
public struct MemoryLevelSpec: Sendable, Equatable {
    public var level: MemoryLevel
    /// Capacity in bytes: the whole device for HBM and L2, per SM for SRAM and registers.
    public var capacityBytes: Int
    /// Capacity available to one thread block, for the per-block levels.
    public var perBlockCapacityBytes: Int?
    /// Aggregate bandwidth over the whole device; nil where the profile does not model it.
    public var bytesPerSecond: Double?

    public init(level: MemoryLevel, capacityBytes: Int, perBlockCapacityBytes: Int?, bytesPerSecond: Double?) {
        self.level = level
        self.capacityBytes = capacityBytes
        self.perBlockCapacityBytes = perBlockCapacityBytes
        self.bytesPerSecond = bytesPerSecond
    }
}
