import AttnHardware
import TileLanguage

extension BoundProgram {
    /// Why a kernel's `cluster(c: n)` cannot run on `hardware`, or nil. n is 1 to the GPU's
    /// cluster size (`HardwareProfile.maxClusterCTAs`, the portable 8 on sm_90 and later);
    /// the grid's extent along c is a multiple of n (a cluster launch's grid is whole
    /// clusters: CUDA C++ Programming Guide, "Thread Block Clusters"); and n > 1 needs a
    /// GPU with clusters.
    static func clusterFailure(_ ctas: Int, of kernel: KernelDecl, extents: [Int], hardware: HardwareProfile, source: SourceFile) -> Diagnostic? {
        guard let axis = kernel.clusterAxis else { return nil }
        let limit = hardware.maxClusterCTAs
        guard ctas >= 1 && (ctas <= limit || !hardware.hasThreadBlockClusters) else {
            let expected = hardware.hasThreadBlockClusters
                ? "expected 1 to \(limit) CTAs (\(hardware.id)'s cluster size, max_cluster_ctas)"
                : "expected 1 CTA (\(hardware.id) launches no clusters)"
            return Diagnostic(.bounds, source, axis.extent.location, "kernel '\(kernel.name)' has cluster(\(axis.name): \(ctas)); \(expected)")
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
    /// The built-in profiles whose GPUs launch thread-block clusters, in `builtInNames`'
    /// order (for the error that refuses a cluster elsewhere).
    static var builtInProfilesWithClusters: [String] {
        builtInNames.filter { (try? HardwareProfile.named($0))?.hasThreadBlockClusters ?? false }
    }
}
