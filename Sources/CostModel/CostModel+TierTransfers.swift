import AttnHardware

extension CostModel {
    /// Seconds to copy `bytes` between HBM and a memory level below it (`tier`: host
    /// memory over the host link, or NVMe) as `transfers` copies issued one after another.
    ///
    ///     t = transfers x latency + bytes / bandwidth
    ///
    /// Each copy pays a fixed cost before its bytes stream (the tier's `latencySeconds`):
    /// to host memory, a `cudaMemcpyAsync` between pinned host memory and the GPU, whose
    /// submission alone costs about 5-7 us per call (Wu et al., "DualPath: Breaking the
    /// Storage Bandwidth Bottleneck in Agentic LLM Inference", 2026, Section 5.2) before
    /// the copy engine's DMA starts; from NVMe, the drive's read latency. The bytes then
    /// stream at the link's bandwidth per direction (`bytesPerSecond`: PCIe, NVLink-C2C or
    /// the drive's sequential read). vLLM swaps a block as one copy per layer for its keys
    /// and one for its values on one stream, so the copies queue and many small copies pay
    /// the fixed cost many times (Kwon et al. 2023, Figure 19a). Negative counts count as 0.
    public func tierTransferSeconds(bytes: Int, transfers: Int, tier: MemoryTier) -> Double {
        Double(max(0, transfers)) * tier.latencySeconds + Double(max(0, bytes)) / tier.bytesPerSecond
    }
}
