/// A memory level below HBM that a server can move KV blocks to: host memory over the
/// GPU's host link (PCIe, NVLink-C2C) or NVMe storage. Capacity per GPU, the link's
/// bandwidth per direction and the fixed cost of one copy, each with its source (the
/// profile's optional `host_memory` and `storage` objects, docs/hardware.md). Figures
/// only: the time of a copy is the cost model's (`CostModel.tierTransferSeconds`, asked
/// through `IterationTimer.tierTransferSeconds`).
public struct MemoryTier: Sendable, Equatable {
    /// What the level is and how it is reached, e.g. `DDR5 over PCIe 5.0 x16`.
    public var name: String
    /// Bytes of this level one GPU may use.
    public var bytes: Int
    /// Bytes per second one direction of the link moves.
    public var bytesPerSecond: Double
    /// Seconds of fixed cost per copy (a DMA's setup and launch; a storage read's latency).
    public var latencySeconds: Double
    /// Where each figure comes from, keyed by its JSON field name.
    public var sources: [String: String]

    public init?(name: String, bytes: Int, bytesPerSecond: Double, latencySeconds: Double, sources: [String: String] = [:]) {
        guard !name.isEmpty, bytes >= 0, bytesPerSecond > 0, bytesPerSecond.isFinite, latencySeconds >= 0, latencySeconds <= 1 else { return nil }
        self.name = name
        self.bytes = bytes
        self.bytesPerSecond = bytesPerSecond
        self.latencySeconds = latencySeconds
        self.sources = sources
    }
}
