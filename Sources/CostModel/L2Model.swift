import TileInterpreter
import TileLanguage

/// Filters a kernel's tile-level traffic through an L2 of the profile's size.
///
/// The measurement convention (../shared/calibration/README.md): each kernel starts with
/// a cold L2, and writes still dirty in L2 when the kernel ends are not DRAM writes.
///
/// Reads. For each tensor, the grid axes its loads depend on are known
/// (`GridDependence`); thread blocks that differ only along the other axes read the same
/// data: n_r readers per datum. Blocks launch in grid order, the last axis fastest, and
/// C = blocks per SM x SMs run at once. Readers whose launch positions fall in one window
/// of C blocks share one DRAM read. A datum's readers span g (n_r - 1) + 1 launch
/// positions, g being the launch stride of the fastest reader axis, so they fall in
/// passes = ceil(g n_r / C) windows (n_r when g >= C). A later pass finds the datum still
/// in L2 when the distinct bytes moved since the previous pass fit in the L2: over a
/// window of w = max(g, C) consecutive blocks, each tensor's tile bytes per block x w
/// divided by the readers among them that share a datum, min(n_r, w / g); otherwise it
/// reads it again:
///
///     dram_read(t) = U_t x (1 if the datum survives, else passes_t)
///
/// with U_t the distinct bytes: the tensor's size when its tile reads cover it (every
/// byte is read: causal masks read early keys more often, but all of them), else tile
/// reads of t / n_r (re-reads inside one block are taken to hit).
///
/// Writes. Written data stays dirty until evicted; at the end the L2 still holds the
/// most recent writes, their share of half the L2 (`dirtyShare`) in proportion to the
/// write share of the traffic: dram_write = max(0, W - L2/2 x W / (dram_read + W)).
struct L2Model {
    let l2Bytes: Int

    /// Share of the L2 that holds dirty lines at a kernel's end: one half. The Hopper and
    /// Ampere L2 is two partitions, each caching for its half of the SMs, and reads fill
    /// both; the measured write-backs of FlashAttention-2 outputs (docs/data: 10.8 MB of a
    /// 16.8 MB output beside 50 MB of reads at N = 4K; 30.6 of 33.5 MB at 8K) leave
    /// 6 MB and 3 MB dirty, as this share predicts (6.3 MB, 6.3 MB) and the full L2 does not
    /// (12.6 MB, 12.5 MB).
    static let dirtyShare = 0.5

    func dram(
        kernel: KernelDecl, in bound: BoundProgram, extents: [Int], counters: Counters, tensorBytes: [Int], concurrentBlocks: Int
    ) -> (read: Int, write: Int) {
        let blocks = extents.reduce(1, *)
        guard blocks > 0 else { return (0, 0) }
        let dependence = GridDependence.loadedTensorAxes(kernel, in: bound)
        let tileBytes = counters.hbmReadBytes + counters.hbmWriteBytes
        let bytesPerBlock = Double(tileBytes) / Double(blocks)
        // Launch stride of each axis: the product of the extents of faster axes.
        var strides = Array(repeating: 1, count: extents.count)
        for axis in stride(from: extents.count - 2, through: 0, by: -1) { strides[axis] = strides[axis + 1] * extents[axis + 1] }
        // Per read tensor: readers per datum, the launch gap between them, distinct bytes.
        struct Reads { var bytes: Double; var readers: Int; var gap: Int; var distinct: Double }
        var reads: [Reads] = []
        for (tensor, traffic) in counters.tensors.enumerated() where traffic.readBytes > 0 {
            let axes = dependence[tensor] ?? []
            let readerAxes = extents.indices.filter { !axes.contains($0) && extents[$0] > 1 }
            var readers = readerAxes.reduce(1) { $0 * extents[$1] }
            var gap = readerAxes.max().map { strides[$0] } ?? 1
            // Every byte of a tensor read at least its size is taken to be read (a causal
            // mask reads the first keys more often than the last, but reads them all).
            let bytes = Double(traffic.readBytes), size = Double(tensorBytes[tensor])
            let distinct = bytes >= size ? size : bytes / Double(readers)
            // Aliased readers: the loads depend on every axis but an index maps several
            // blocks to one datum (GQA's kv head = head / group), so each byte is read
            // a = bytes / size times. The aliasing index is the outermost one the loads
            // depend on (the head axis in every program): its launch stride is the gap.
            // Only a true index aliasing qualifies: the outer axis has a times as many
            // values as the tensor's leading dimension (heads against kv heads).
            let aliases = size > 0 ? Int((bytes / size).rounded(.down)) : 1
            if readers == 1, aliases >= 2, let outer = axes.filter({ extents.indices.contains($0) && extents[$0] > 1 }).min(),
               let leading = bound.tensorShapes[tensor].first, leading * aliases == extents[outer] {
                readers = aliases
                gap = strides[outer]
            }
            reads.append(Reads(bytes: bytes, readers: readers, gap: gap, distinct: distinct))
        }
        let writesPerBlock = Double(counters.hbmWriteBytes) / Double(blocks)
        /// Distinct bytes W consecutive blocks move: per tensor, their tile bytes over the
        /// readers among them that share a datum.
        func distinctBytes(window: Int) -> Double {
            reads.reduce(Double(window) * writesPerBlock) { total, t in
                let sharers = Double(min(t.readers, max(1, window / t.gap)))
                return total + t.bytes / Double(blocks) * Double(window) / sharers
            }
        }
        var read = 0.0
        for t in reads {
            guard t.readers > 1 else {
                read += t.distinct
                continue
            }
            let passes = t.gap >= concurrentBlocks ? t.readers : min(t.readers, Int((Double(t.gap * t.readers) / Double(concurrentBlocks)).rounded(.up)))
            let reuseDistance = distinctBytes(window: max(t.gap, concurrentBlocks))
            let survives = passes <= 1 || reuseDistance <= Double(l2Bytes)
            read += t.distinct * Double(survives ? 1 : passes)
        }
        let written = Double(counters.hbmWriteBytes)
        let dirtyAtEnd = written > 0 ? Double(l2Bytes) * L2Model.dirtyShare * written / (read + written) : 0
        return (Int(read.rounded()), Int(max(0, written - dirtyAtEnd).rounded()))
    }
}
