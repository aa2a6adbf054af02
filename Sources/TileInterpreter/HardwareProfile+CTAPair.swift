import AttnHardware

extension HardwareProfile {
    /// The GPU as a kernel of CTA pairs sees it (`cluster(2)`, Blackwell's
    /// `tcgen05.mma.cta_group::2`): each thread block is the two CTAs of a cluster pair on
    /// the two SMs of a TPC, so there are half as many places for blocks, each with twice
    /// one SM's shared memory, registers, threads, L1, tensor memory and per-clock rates
    /// (shared-memory bandwidth, special functions), and twice the MMA rows. The GPU-wide
    /// rates (HBM, L2, tensor cores, vector FLOPs) are the same GPU's. `mma_cta_group_size`
    /// becomes 1: the pair is used up. With `ctas` 1 the profile is returned unchanged.
    public func ctaPairView(_ ctas: Int) -> HardwareProfile {
        guard ctas > 1 else { return self }
        var view = self
        view.smCount = Swift.max(1, smCount / ctas)
        view.sharedMemoryBytesPerSM = sharedMemoryBytesPerSM * ctas
        view.sharedMemoryBytesPerBlock = sharedMemoryBytesPerBlock * ctas
        view.sharedMemoryBytesPerClockPerSM = sharedMemoryBytesPerClockPerSM * ctas
        view.registersPerSM = registersPerSM * ctas
        view.registersPerBlock = registersPerBlock * ctas
        view.l1BytesPerSM = l1BytesPerSM.map { $0 * ctas }
        view.maxThreadsPerBlock = maxThreadsPerBlock * ctas
        view.maxThreadsPerSM = maxThreadsPerSM * ctas
        view.tensorMemoryBytesPerSM = tensorMemoryBytesPerSM * ctas
        view.specialFunctionOpsPerClockPerSM = specialFunctionOpsPerClockPerSM * ctas
        view.mmaRowsPerCTA = mmaRowsPerCTA * ctas
        view.mmaCTAGroupSize = 1
        return view
    }
}
