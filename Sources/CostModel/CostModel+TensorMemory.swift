import TileInterpreter

/// Time of Blackwell's tensor-memory moves: the `tcgen05.ld` and `tcgen05.st` a kernel's
/// warps issue to read a result out of tensor memory into registers and to write one back
/// (the counters `tmem_to_reg_bytes` and `reg_to_tmem_bytes`, docs/cost-model.md,
/// "Tensor memory").
extension CostModel {
    /// Columns of tensor memory per lane: 512 32-bit cells (PTX ISA 8.7, "Tensor Memory").
    public static let tensorMemoryColumns = 512

    /// Bytes one SM moves between tensor memory and registers per clock, loads and stores
    /// together: one 32-bit cell per lane, 128 lanes x 4 bytes = 512 on Blackwell (the
    /// lanes are the capacity over 512 columns of 4 bytes: twice as many for a CTA pair's
    /// view of a TPC, `ctaPairView`).
    ///
    /// PTX ISA 8.7, "Tensor Memory" and `tcgen05.ld` / `tcgen05.st`: tensor memory is 128
    /// lanes of 512 32-bit cells per SM, and a warp reaches only the 32 lanes of its
    /// sub-partition (warp w % 4 owns lanes 32 (w % 4) to 32 (w % 4) + 31), so the four
    /// sub-partitions move data side by side, 32 lanes each. That each lane moves one 32-bit
    /// cell per clock, read or write, is assumed, not a datasheet or measured figure: NVIDIA
    /// publishes no tensor-memory bandwidth, and one cell per lane per clock is what one
    /// `tcgen05.ld.32x32b.x1` (one lane and one register per thread) moves per warp. At the
    /// B200's 1.86 GHz it is 952 GB/s per SM, 141 TB/s over 148 SMs.
    public var tensorMemoryBytesPerClockPerSM: Double {
        let lanes = hardware.tensorMemoryBytesPerSM / (Self.tensorMemoryColumns * 4)
        return Double(lanes * 4)
    }

    /// Tensor memory <-> register bandwidth of the whole GPU: the per-SM rate times the
    /// clock and the SMs (0 on a GPU without tensor memory).
    public var tensorMemoryBytesPerSecond: Double {
        tensorMemoryBytesPerClockPerSM * hardware.clockHz * Double(hardware.smCount)
    }

    /// Seconds the kernel's warps spend moving tiles between tensor memory and registers,
    /// before the imbalance factor f (as the vector and special-function terms):
    ///
    ///     t_tmem = (tmem_to_reg bytes + reg_to_tmem bytes) / (512 B x clock x SMs)
    ///
    /// The softmax and correction warps issue these moves themselves, between their
    /// arithmetic, so `predict` adds t_tmem to the CUDA cores' side of the compute term
    /// (f (t_vector + t_special + t_tmem)), which the CTA-wide MMA's tensor-core work
    /// overlaps. A tile the tensor cores read in place (P as `tcgen05.mma`'s A operand) or
    /// write there (S, O += P V) moves no byte here and costs nothing.
    public func tensorMemorySeconds(counters c: Counters) -> Double {
        let bytes = Double(c.tensorMemoryToRegisters) + Double(c.registersToTensorMemory)
        guard bytes > 0, tensorMemoryBytesPerSecond > 0 else { return 0 }
        return bytes / tensorMemoryBytesPerSecond
    }
}
