/// The GPU-to-GPU link of a hardware profile: bandwidth per direction per GPU and an
/// assumed per-transfer latency, each with its source (the profile's optional
/// `interconnect` object, docs/hardware.md). The time of a collective or a send over it is
/// the cost model's (`CostModel.allReduceSeconds`, `CostModel.transferSeconds`,
/// `CostModel.allToAllSeconds`), which take their latencies from NCCL's tuning model
/// (`CostModel.CollectiveTuning`), not from `latencySeconds`.
public struct Interconnect: Sendable, Equatable {
    /// The link's name, e.g. `NVLink 4`.
    public var name: String
    /// Bytes per second one GPU sends (and, at the same time, receives).
    public var bytesPerSecond: Double
    /// Seconds a transfer over the link costs beyond its bytes (alpha), an assumption: the
    /// cost model's collectives and sends use NCCL's latencies instead; only a fixed clock's
    /// disaggregated KV hand-off (`IterationTimer.transferSeconds`' default) charges this.
    public var latencySeconds: Double
    /// Where each figure comes from, keyed by its JSON field name (`bytes_per_second`,
    /// `latency_seconds`, `domain_gpus`, `nvswitch_multicast`).
    public var sources: [String: String]
    /// GPUs the link joins all-to-all at this bandwidth (the NVLink or Infinity Fabric
    /// domain: 8 on an HGX board, 72 in a GB200 NVL72 rack); nil where the profile does not
    /// say. Beyond it traffic leaves for the scale-out network, which no profile models.
    public var domainGPUs: Int? = nil
    /// Whether the GPUs meet at NVSwitch chips that multicast and reduce in the switch
    /// (NVLink SHARP: third-generation NVSwitch, HGX H100 and later), which NCCL's NVLS
    /// all-reduce needs (`CostModel.allReduce`); false where the profile does not say
    /// (`nvswitch_multicast`).
    public var nvswitchMulticast = false

    /// The NVLink generation the name gives (`NVLink 4` -> 4); nil for any other link.
    public var nvlinkGeneration: Int? {
        guard name.hasPrefix("NVLink ") else { return nil }
        return Int(name.dropFirst("NVLink ".count).prefix { $0.isNumber })
    }

    /// Whether the name says PCIe (`PCIe Gen5 x16`).
    public var isPCIe: Bool { name.hasPrefix("PCIe") }

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
