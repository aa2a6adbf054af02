/// The GPU-to-GPU link of a hardware profile: bandwidth per direction per GPU and the
/// latency of one step of a collective, each with its source (the profile's optional
/// `interconnect` object, docs/hardware.md). The time of a collective over it is the cost
/// model's (`CostModel.allReduceSeconds`, `CostModel.transferSeconds`).
public struct Interconnect: Sendable, Equatable {
    /// The link's name, e.g. `NVLink 4`.
    public var name: String
    /// Bytes per second one GPU sends (and, at the same time, receives).
    public var bytesPerSecond: Double
    /// Seconds per step of a ring collective (launch and synchronization, alpha).
    public var latencySeconds: Double
    /// Where each figure comes from, keyed by its JSON field name (`bytes_per_second`,
    /// `latency_seconds`, `domain_gpus`).
    public var sources: [String: String]
    /// GPUs the link joins all-to-all at this bandwidth (the NVLink or Infinity Fabric
    /// domain: 8 on an HGX board, 72 in a GB200 NVL72 rack); nil where the profile does not
    /// say. Beyond it traffic leaves for the scale-out network, which no profile models.
    public var domainGPUs: Int? = nil

    /// The largest step latency a profile may declare: 1 second.
    public static let maxLatencySeconds = 1.0

    /// A link with a positive bandwidth and a non-negative latency; nil otherwise.
    public init?(name: String, bytesPerSecond: Double, latencySeconds: Double, sources: [String: String] = [:]) {
        guard bytesPerSecond > 0, bytesPerSecond.isFinite, latencySeconds >= 0,
              latencySeconds <= Interconnect.maxLatencySeconds else { return nil }
        self.name = name
        self.bytesPerSecond = bytesPerSecond
        self.latencySeconds = latencySeconds
        self.sources = sources
    }

    /// Bytes one GPU sends in a ring all-reduce of `bytes`: 2 (G - 1) / G x bytes
    /// (rounded down); 0 for one GPU.
    public static func allReduceBytesPerGPU(bytes: Int, gpus: Int) -> Int {
        gpus > 1 ? 2 * (gpus - 1) * bytes / gpus : 0
    }
}
