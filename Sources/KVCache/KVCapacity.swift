import AttnHardware
import Workload

/// How much KV cache fits on a GPU after the model's weights.
///
///     budget = floor(hbm_bytes x memory_utilization) - parameters x weight_bytes
///
/// `memory_utilization` is the share of HBM the server lets itself use (vLLM's
/// gpu_memory_utilization, 0.9 by default); the rest is left to the CUDA context and
/// activations.
public struct KVCapacity: Sendable, Equatable {
    public var footprint: KVFootprint
    public var hardware: HardwareProfile
    public var weightBytesPerParameter: Int
    /// The layers' weight format (`ModelSpec.weightBytes(format:bytesPerParameter:)`; the
    /// embedding and LM head stay at `weightBytesPerParameter`); nil: every parameter at
    /// `weightBytesPerParameter`.
    public var weightFormat: TensorFormat?
    public var memoryUtilization: Double

    public static let defaultMemoryUtilization = 0.9

    public init(
        footprint: KVFootprint, hardware: HardwareProfile, weightBytesPerParameter: Int = 2, memoryUtilization: Double = defaultMemoryUtilization,
        weightFormat: TensorFormat? = nil
    ) {
        self.footprint = footprint
        self.weightFormat = weightFormat
        self.hardware = hardware
        self.weightBytesPerParameter = weightBytesPerParameter
        self.memoryUtilization = memoryUtilization
    }

    /// Weight bytes one GPU holds: parameters x bytes / G, rounded up, under tensor
    /// parallelism over G GPUs (the norms, replicated in practice, are under 0.01% of a
    /// model's parameters and are split here too). Routed experts stored in a
    /// low-precision format (`moe.expert_dtype`, gpt-oss's MXFP4) take that format's bytes
    /// whatever `weightBytesPerParameter` says (`ModelSpec.weightBytes`).
    public var weightBytes: Int {
        let g = footprint.tensorParallel
        let total = weightFormat.map { footprint.model.weightBytes(format: $0, bytesPerParameter: weightBytesPerParameter) }
            ?? footprint.model.weightBytes(bytesPerParameter: weightBytesPerParameter)
        return (total + g - 1) / g
    }

    /// Bytes left for the KV cache; negative when the weights alone do not fit.
    public var budgetBytes: Int {
        Int((Double(hardware.hbmBytes) * memoryUtilization).rounded(.down)) - weightBytes
    }

    /// Token slots of KV cache that fit (the vLLM paper's "max # KV cache slots").
    public var tokenSlots: Int {
        budgetBytes > 0 && footprint.bytesPerToken > 0 ? budgetBytes / footprint.bytesPerToken : 0
    }

    /// Sequences of `context` tokens that fit at once.
    public func sequences(context: Int) -> Int {
        let perSequence = footprint.bytesPerSequence(context: context)
        return budgetBytes > 0 && perSequence > 0 ? budgetBytes / perSequence : 0
    }
}
