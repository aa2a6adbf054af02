import AttnHardware
import TileLanguage

extension BoundProgram {
    /// The most CTAs of a portable thread-block cluster: 8 (CUDA C++ Programming Guide,
    /// "Thread Block Clusters": "a maximum of 8 thread blocks in a cluster is supported as
    /// a portable cluster size").
    static let portableClusterCTAs = 8

    /// Why a kernel's `cluster(c: n)` cannot run on `hardware`, or nil. n is 1 to 8 (the
    /// portable cluster size); the grid's extent along c is a multiple of n (a cluster
    /// launch's grid is whole clusters: CUDA C++ Programming Guide, "Thread Block
    /// Clusters"); and n > 1 needs a GPU with clusters (`HardwareProfile.hasThreadBlockClusters`).
    static func clusterFailure(_ ctas: Int, of kernel: KernelDecl, extents: [Int], hardware: HardwareProfile, source: SourceFile) -> Diagnostic? {
        guard let axis = kernel.clusterAxis else { return nil }
        guard ctas >= 1 && ctas <= portableClusterCTAs else {
            return Diagnostic(.bounds, source, axis.extent.location, "kernel '\(kernel.name)' has cluster(\(axis.name): \(ctas)); expected 1 to \(portableClusterCTAs) CTAs (the portable cluster size)")
        }
        guard ctas > 1 else { return nil }
        if !hardware.hasThreadBlockClusters {
            return Diagnostic(
                .bounds, source, axis.extent.location,
                "kernel '\(kernel.name)' runs clusters of \(ctas) CTAs (cluster(\(axis.name): \(ctas))), which \(hardware.id) cannot (thread-block clusters and TMA multicast need sm_90 or later)",
                notes: ["the built-in profiles with clusters: \(HardwareProfile.builtInProfilesWithClusters.joined(separator: ", ")); or run cluster(\(axis.name): 1)"])
        }
        let extent = kernel.axes.firstIndex { $0.name == axis.name }.map { extents[$0] } ?? 0
        guard extent % ctas == 0 else {
            return Diagnostic(
                .bounds, source, axis.extent.location,
                "kernel '\(kernel.name)' has \(extent) block\(extent == 1 ? "" : "s") along grid axis '\(axis.name)', not a multiple of its cluster of \(ctas) CTAs",
                notes: ["a cluster launch's grid is whole clusters (CUDA C++ Programming Guide, \"Thread Block Clusters\")"])
        }
        return nil
    }
}

extension HardwareProfile {
    /// Whether the GPU launches thread-block clusters, whose CTAs the TMA can multicast a
    /// tile to (`cp.async.bulk.tensor ... .multicast::cluster`): compute capability 9.0 and
    /// later (CUDA C++ Programming Guide, "Thread Block Clusters"; PTX ISA 8.0, sm_90a).
    /// The profiles say so by the asynchronous MMA that came with them: Hopper's warp-group
    /// `wgmma` (`mma_rows_per_warp_group`, sm_90a) or Blackwell's CTA-wide `tcgen05.mma`
    /// (`mma_rows_per_cta`, sm_100a); Ampere, Ada and AMD's GPUs have neither.
    public var hasThreadBlockClusters: Bool { mmaRowsPerWarpGroup > 0 || mmaRowsPerCTA > 0 }

    /// The built-in profiles whose GPUs launch thread-block clusters, in `builtInNames`'
    /// order (for the error that refuses a cluster elsewhere).
    static var builtInProfilesWithClusters: [String] {
        builtInNames.filter { (try? HardwareProfile.named($0))?.hasThreadBlockClusters ?? false }
    }
}
