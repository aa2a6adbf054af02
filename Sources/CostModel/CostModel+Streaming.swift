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
}
