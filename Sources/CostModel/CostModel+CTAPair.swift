import TileInterpreter

/// Blackwell's CTA pair (`cluster(2)`, `tcgen05.mma.cta_group::2`) in the time model.
extension CostModel {
    /// The model a kernel of CTA pairs is predicted with, nil for any other kernel: each of
    /// its thread blocks is two CTAs on the two SMs of a TPC, so occupancy, the SMs a grid
    /// keeps busy (A), the partial-wave factor f and the L2 model's concurrent blocks count
    /// pairs over SMs / 2 places, each with twice one SM's resources and per-clock rates
    /// (`HardwareProfile.ctaPairView`); the block's threads are both CTAs' (`kernelThreads`).
    /// Every equation of `predict` then holds unchanged with blocks = pairs.
    func ctaPairModel(kernelIndex index: Int, in bound: BoundProgram) -> CostModel? {
        guard index < bound.kernelClusters.count, bound.kernelClusters[index] > 1 else { return nil }
        return CostModel(hardware: hardware.ctaPairView(bound.kernelClusters[index]), dtype: dtype, calibration: calibration)
    }
}
