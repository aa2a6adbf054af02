import AttnHardware
import AttnNumerics

/// An iteration timer plus the serving engine's host time per iteration: the CPU work
/// during which the GPU waits (scheduling the next batch, preparing its inputs, reading
/// back and processing the sampled tokens), which does not grow with the kernels' work.
///
///     seconds(batch) = base.seconds(batch) + hostSeconds
///
/// `PagedStudy.hostOverheadSeconds` sets it (`attnsim paged --host-overhead S`, scenario
/// `"host_overhead_s"`); 0 (no wrapper) times the kernels alone. The vLLM team measured
/// 5-13 ms of such GPU idle time per decode step in vLLM 0.5 ("[RFC]: Multi-Step
/// Scheduling", vllm-project/vllm issue #6854, July 2024), the overhead its v0.6 release
/// set out to remove (docs/kv-cache.md, "Against the paper").
public struct HostOverheadTimer<Base: IterationTimer>: IterationTimer {
    /// The kernels' timer.
    public var base: Base
    /// Seconds added to every iteration (finite, at least 0).
    public let hostSeconds: Double

    /// `base` with `hostSeconds` added to each iteration; the caller checks the value
    /// (`PagedStudy.validate` refuses one below 0, past `PagedStudy.maxHostOverheadSeconds`
    /// or not a number before a study runs).
    public init(_ base: Base, hostSeconds: Double) {
        self.base = base
        self.hostSeconds = hostSeconds
    }

    /// The base's label and the host time in a human unit (`fixed 0.05 s + host 13 ms`).
    public var label: String { "\(base.label) + host \(NumberFormat.seconds(hostSeconds))" }
    public var fixedSeconds: Double? { base.fixedSeconds.map { $0 + hostSeconds } }

    public mutating func seconds(_ batch: IterationBatch) throws -> Double {
        try base.seconds(batch) + hostSeconds
    }

    /// The base's: the host's time per iteration does not delay a GPU-to-GPU send.
    public func transferSeconds(bytes: Int, over link: Interconnect) -> Double {
        base.transferSeconds(bytes: bytes, over: link)
    }

    /// The base's: the host's time per iteration does not delay a copy to or from a tier.
    public func tierTransferSeconds(bytes: Int, transfers: Int, tier: MemoryTier) -> Double {
        base.tierTransferSeconds(bytes: bytes, transfers: transfers, tier: tier)
    }
}
