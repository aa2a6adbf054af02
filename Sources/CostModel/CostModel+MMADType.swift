import AttnNumerics
import TileLanguage

extension CostModel {
    /// The dtype a kernel's tensor cores multiply: the one it declares
    /// (`mma(async, fp8e4m3)`: FlashAttention-3's FP8 path stores O in 16 bits but feeds
    /// e4m3 operands to the FP8 wgmma), else the run's.
    func mmaDType(_ kernel: KernelDecl) -> DType { kernel.mmaDType ?? dtype }

    /// The matmul ceiling of `kernel`: its MMA dtype's measured rate, else its datasheet
    /// rate x the sustained fraction (`matmulFlopsPerSecond`, at the kernel's dtype).
    func matmulFlopsPerSecond(_ kernel: KernelDecl) -> Double {
        var model = self
        model.dtype = mmaDType(kernel)
        return model.matmulFlopsPerSecond
    }
}
