import AttnHardware

extension CostModel {
    /// A streaming operator of a model step that no tile program describes (a norm, RoPE,
    /// a residual add, an activation, an embedding gather): one kernel whose blocks each
    /// read their elements once and write them once, so it is bound by the larger of its
    /// bytes over the HBM ceiling and its arithmetic over the vector and special-function
    /// rates, plus one kernel launch:
    ///
    ///     t = max(bytes / HBM ceiling, FLOPs / vector peak + special ops / SFU rate) + kernel overhead
    public func streamingOperator(bytes: Int, flops: Int, special: Int = 0) -> (seconds: Double, bound: KernelPrediction.Bound) {
        let memory = Double(bytes) / hbmBytesPerSecond
        let compute = Double(flops) / hardware.vectorFlopsPerSecond + Double(special) / hardware.specialFunctionOpsPerSecond
        let busy = max(memory, compute)
        let bound: KernelPrediction.Bound = busy < calibration.kernelOverheadSeconds ? .overhead : compute > memory ? .compute : .memory
        return (busy + calibration.kernelOverheadSeconds, bound)
    }

    /// Seconds of a ring all-reduce of `bytes` over `gpus` GPUs on `link`: 2 (G - 1)
    /// steps, each sending bytes / G (Patarasuk and Yuan 2009; NCCL's ring algorithm):
    ///
    ///     t = 2 (G - 1) (alpha + bytes / (G beta));   0 for one GPU
    public func allReduceSeconds(bytes: Int, gpus: Int, over link: Interconnect) -> Double {
        guard gpus > 1 else { return 0 }
        let steps = Double(2 * (gpus - 1))
        return steps * (link.latencySeconds + Double(bytes) / Double(gpus) / link.bytesPerSecond)
    }

    /// Seconds to pass one block of `bytes` to the next GPU of a ring: alpha + bytes / beta.
    public func transferSeconds(bytes: Int, over link: Interconnect) -> Double {
        link.latencySeconds + Double(bytes) / link.bytesPerSecond
    }
}
