import AttnHardware

extension CostModel {
    /// A streaming operator of a model step that no tile program describes (a norm, RoPE,
    /// a residual add, an activation, an embedding gather): one kernel whose blocks each
    /// read their elements once and write them once. It is timed by the terms a tile
    /// kernel without a loop is timed by (`predict`; docs/cost-model.md, "Time"):
    ///
    ///     t_dram   = bytes / min(HBM ceiling, min(blocks, C) x w x beta)      (Little's law)
    ///     t_blocks = blocks / (SMs x r) x (DRAM latency + reductions x barrier wait)
    ///     t        = max(t_dram, FLOPs / vector peak + special ops / SFU rate, t_blocks) + kernel overhead
    ///
    /// with the kernel's launch shape (`StreamingShape`): PyTorch's elementwise kernels give
    /// a block 128 threads of 8 elements; a row reduction (a norm) is one block per row,
    /// sized as PyTorch sizes a softmax block to its row, and each of its reductions across
    /// warps waits at a barrier. Without a shape the operator is taken to stream at the HBM
    /// ceiling with no latency term (the time before the launch shape was modelled).
    public func streamingOperator(
        bytes: Int, flops: Int, special: Int = 0, shape: StreamingShape? = nil
    ) -> (seconds: Double, bound: KernelPrediction.Bound) {
        let compute = Double(flops) / hardware.vectorFlopsPerSecond + Double(special) / hardware.specialFunctionOpsPerSecond
        var memory = Double(bytes) / hbmBytesPerSecond
        var rounds = 0.0
        var latencyBound = false
        if let shape, shape.blocks > 0 {
            let perSM = blocksPerSM(peakSramBytes: 0, peakRegisterBytes: 0, threads: shape.threads)
            let warps = hardware.warps(threads: shape.threads)
            let resident = min(shape.blocks, perSM * hardware.smCount)
            let streaming = streamingBytesPerSecond(residentBlocks: resident, warps: warps)
            memory = Double(bytes) / streaming
            latencyBound = streaming < hbmBytesPerSecond
            rounds = oneRoundSeconds(blocks: shape.blocks, blocksPerSM: perSM, crossWarpReductions: warps > 1 ? shape.reductions : 0)
        }
        let busy = max(memory, compute, rounds)
        let bound: KernelPrediction.Bound
        if busy < calibration.kernelOverheadSeconds {
            bound = .overhead
        } else if busy == compute {
            bound = .compute
        } else if busy == memory {
            bound = latencyBound ? .latency : .memory
        } else {
            bound = .latency
        }
        return (busy + calibration.kernelOverheadSeconds, bound)
    }
}
