/// The GPU-to-GPU link of a hardware profile: bandwidth per direction per GPU and the
/// latency of one step of a collective, each with its source.
///
/// Kept here, keyed by profile id, until hardware profiles carry it (docs/model.md says
/// how it moves into the profile JSON as an `interconnect` object).
public struct Interconnect: Sendable, Equatable {
    public var name: String
    /// Bytes per second one GPU sends (and, at the same time, receives).
    public var bytesPerSecond: Double
    /// Seconds per step of a ring collective (launch and synchronization, alpha).
    public var latencySeconds: Double
    public var source: String

    public init(name: String, bytesPerSecond: Double, latencySeconds: Double, source: String) {
        self.name = name
        self.bytesPerSecond = bytesPerSecond
        self.latencySeconds = latencySeconds
        self.source = source
    }

    /// The step latency assumed for every link: NCCL's ring all-reduce of a small message
    /// over 8 GPUs takes on the order of 10 to 30 us for its 14 steps (NCCL tests,
    /// all_reduce_perf), so a few us per step; an assumption, not a datasheet figure.
    public static let assumedStepLatency = 2e-6

    /// The interconnect of a built-in profile, by profile id; nil when unknown.
    public static func forProfile(_ id: String) -> Interconnect? { builtIn[id] }

    static let builtIn: [String: Interconnect] = [
        "h100-sxm": Interconnect(
            name: "NVLink 4", bytesPerSecond: 450e9, latencySeconds: assumedStepLatency,
            source: "NVIDIA H100 datasheet: NVLink 900 GB/s total (18 links x 50 GB/s, 25 GB/s per direction), 450 GB/s per direction"),
        "h200-sxm": Interconnect(
            name: "NVLink 4", bytesPerSecond: 450e9, latencySeconds: assumedStepLatency,
            source: "NVIDIA H200 datasheet: NVLink 900 GB/s total, 450 GB/s per direction"),
        "h100-pcie": Interconnect(
            name: "PCIe Gen5 x16", bytesPerSecond: 64e9, latencySeconds: 5e-6,
            source: "NVIDIA H100 datasheet, PCIe: Gen5 128 GB/s total, 64 GB/s per direction (NVLink bridges of 2 GPUs not modelled)"),
        "a100-80gb-sxm": Interconnect(
            name: "NVLink 3", bytesPerSecond: 300e9, latencySeconds: assumedStepLatency,
            source: "NVIDIA A100 datasheet: NVLink 600 GB/s total (12 links), 300 GB/s per direction"),
        "a100-40gb-sxm": Interconnect(
            name: "NVLink 3", bytesPerSecond: 300e9, latencySeconds: assumedStepLatency,
            source: "NVIDIA A100 datasheet: NVLink 600 GB/s total (12 links), 300 GB/s per direction"),
        "mi300x": Interconnect(
            name: "Infinity Fabric", bytesPerSecond: 448e9, latencySeconds: assumedStepLatency,
            source: "AMD Instinct MI300X data sheet: 7 Infinity Fabric links of 64 GB/s per direction to the 7 peers of an 8-GPU node (896 GB/s bidirectional aggregate)"),
        "rtx-4090": Interconnect(
            name: "PCIe Gen4 x16", bytesPerSecond: 32e9, latencySeconds: 5e-6,
            source: "PCIe 4.0 x16: 32 GB/s per direction (GeForce RTX 4090 has no NVLink)"),
    ]

    /// Seconds of a ring all-reduce of `bytes` over `gpus` GPUs: 2 (G - 1) steps, each
    /// sending bytes / G (Patarasuk and Yuan 2009; NCCL's ring algorithm).
    public func allReduceSeconds(bytes: Int, gpus: Int) -> Double {
        guard gpus > 1 else { return 0 }
        let steps = Double(2 * (gpus - 1))
        return steps * (latencySeconds + Double(bytes) / Double(gpus) / bytesPerSecond)
    }

    /// Bytes one GPU sends in a ring all-reduce of `bytes`: 2 (G - 1) / G x bytes.
    public static func allReduceBytesPerGPU(bytes: Int, gpus: Int) -> Int {
        gpus > 1 ? 2 * (gpus - 1) * bytes / gpus : 0
    }

    /// Seconds to pass one block of `bytes` to the next GPU of a ring.
    public func transferSeconds(bytes: Int) -> Double {
        latencySeconds + Double(bytes) / bytesPerSecond
    }
}
