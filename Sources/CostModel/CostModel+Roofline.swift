import TileLanguage

/// The roofs a roofline draws each kernel under: the matmul ceiling the time model used.
extension CostModel {
    /// The matmul ceiling (FLOP/s) each kernel of `prediction` was timed against, in its
    /// kernels' order: the ceiling of the kernel's MMA dtype (`matmulFlopsPerSecond(_:)`:
    /// `mma(async, fp8e4m3)` takes the FP8 rate whatever the run's dtype), found by the
    /// kernel's name in `program`; the run dtype's ceiling for a name the program does not
    /// declare. A CTA pair's view keeps the GPU's rates, so a pair kernel's is the same.
    public func matmulCeilings(_ prediction: RunPrediction, of program: Program) -> [Double] {
        prediction.kernels.map { kernel in
            program.kernels.first { $0.name == kernel.name }.map(matmulFlopsPerSecond) ?? matmulFlopsPerSecond
        }
    }
}
