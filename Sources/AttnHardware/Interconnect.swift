/// The GPU-to-GPU link of a hardware profile: bandwidth per direction per GPU and the
/// latency of one step of a collective, each with its source (the profile's optional
/// `interconnect` object, docs/hardware.md).
public struct Interconnect: Sendable, Equatable {
    /// The link's name, e.g. `NVLink 4`.
    public var name: String
    /// Bytes per second one GPU sends (and, at the same time, receives).
    public var bytesPerSecond: Double
    /// Seconds per step of a ring collective (launch and synchronization, alpha).
    public var latencySeconds: Double
    /// Where each figure comes from, keyed by its JSON field name (`bytes_per_second`,
    /// `latency_seconds`).
    public var sources: [String: String]

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

    /// Seconds of a ring all-reduce of `bytes` over `gpus` GPUs: 2 (G - 1) steps, each
    /// sending bytes / G (Patarasuk and Yuan 2009; NCCL's ring algorithm):
    /// t = 2 (G - 1) (alpha + bytes / (G beta)); 0 for one GPU.
    public func allReduceSeconds(bytes: Int, gpus: Int) -> Double {
        guard gpus > 1 else { return 0 }
        let steps = Double(2 * (gpus - 1))
        return steps * (latencySeconds + Double(bytes) / Double(gpus) / bytesPerSecond)
    }

    /// Bytes one GPU sends in a ring all-reduce of `bytes`: 2 (G - 1) / G x bytes
    /// (rounded down); 0 for one GPU.
    public static func allReduceBytesPerGPU(bytes: Int, gpus: Int) -> Int {
        gpus > 1 ? 2 * (gpus - 1) * bytes / gpus : 0
    }

    /// Seconds to pass one block of `bytes` to the next GPU of a ring: alpha + bytes / beta.
    public func transferSeconds(bytes: Int) -> Double {
        latencySeconds + Double(bytes) / bytesPerSecond
    }
}
