import TileInterpreter
import TileLanguage

/// Filters a kernel's tile-level traffic through an L2 of the profile's size.
///
/// The measurement convention (docs/data/README.md): each kernel starts with
/// a cold L2, and writes still dirty in L2 when the kernel ends are not DRAM writes.
///
/// Reads. For each tensor, the grid axes its loads depend on are known
/// (`GridDependence`); thread blocks that differ only along the other axes (its reader
/// axes) read the same data: n_r readers per datum. Blocks launch in grid order, the last
/// axis fastest, and C = blocks per SM x SMs run at once; the grid's axis order is the
/// program's statement of its launch order (a GEMM that groups its row blocks, as
/// gemm.tile does, says so in its grid). Along a reader axis of n readers g launch
/// positions apart, readers whose positions fall in one window of C blocks share one DRAM
/// read: they fall in passes = ceil(g n / C) windows (n when g >= C). A later pass finds
/// the datum still in L2 when the distinct bytes moved since the previous pass fit in the
/// L2: over a window of w = max(g, C) consecutive blocks, each tensor's tile bytes per
/// block x w divided by the readers among them that share a datum (min(n, w / g) along
/// each reader axis); otherwise it reads it again. Over the reader axes:
///
///     dram_read(t) = U_t x product over reader axes of (1 if the datum survives, else passes)
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
        kernel: KernelDecl, in bound: BoundProgram, extents: [Int], counters: Counters, tensorBytes: [Int], concurrentBlocks: Int,
        localMemoryBytes: Int = 0
    ) -> (read: Int, write: Int) {
        let blocks = extents.reduce(1, *)
        guard blocks > 0 else { return (0, 0) }
        let dependence = GridDependence.loadedTensorAxes(kernel, in: bound)
        // Launch stride of each axis: the product of the extents of faster axes.
        var strides = Array(repeating: 1, count: extents.count)
        for axis in stride(from: extents.count - 2, through: 0, by: -1) { strides[axis] = strides[axis + 1] * extents[axis + 1] }
        // Per read tensor: its reader axes (the launch gap between neighbouring readers
        // along each, and how many there are), the readers per datum, distinct bytes.
        struct Reads { var bytes: Double; var axes: [(gap: Int, count: Int)]; var distinct: Double; var readers: Int }
        var reads: [Reads] = []
        for (tensor, traffic) in counters.tensors.enumerated() where traffic.readBytes > 0 {
            let axes = dependence[tensor] ?? []
            let readerAxes = extents.indices.filter { !axes.contains($0) && extents[$0] > 1 }
            var readers = readerAxes.reduce(1) { $0 * extents[$1] }
            var spread = readerAxes.map { (gap: strides[$0], count: extents[$0]) }.sorted { $0.gap < $1.gap }
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
                spread = [(gap: strides[outer], count: aliases)]
            }
            reads.append(Reads(bytes: bytes, axes: spread, distinct: distinct, readers: readers))
        }
        let writesPerBlock = Double(counters.hbmWriteBytes) / Double(blocks)
        /// Distinct bytes W consecutive blocks move: per tensor, their tile bytes over the
        /// readers among them that share a datum (along each reader axis, min(count,
        /// W / gap) of them, W / gap unrounded: 108 blocks at a gap of 32 hold 32 data,
        /// each read 3.375 times, not 36 read 3 times).
        let localPerBlock = Double(localMemoryBytes) / Double(blocks)
        func distinctBytes(window: Int) -> Double {
            reads.reduce(Double(window) * writesPerBlock) { total, t in
                let sharers = t.axes.reduce(1.0) { $0 * min(Double($1.count), max(1, Double(window) / Double($1.gap))) }
                return total + t.bytes / Double(blocks) * Double(window) / sharers
            }
        }
        var read = 0.0
        for t in reads {
            guard t.readers > 1 else {
                read += t.distinct
                continue
            }
            // Along each reader axis, from the fastest: its readers share one read when
            // they run in one window or the bytes moved between them fit in the L2; else
            // each pass of that axis over the launch order reads the datum again.
            var passes = 1.0
            for axis in t.axes {
                let span = axis.gap * axis.count
                let window = max(axis.gap, concurrentBlocks)
                if span <= concurrentBlocks {
                    // Straddlers: the readers of a datum fall in one window of C blocks,
                    // but a share (g n - 1) / C of the data has readers on both sides of a
                    // window's edge, the later ones a block-lifetime after the first. They
                    // read it again when the local-memory traffic of that window (spill
                    // stores and the reloads that reach the L2) passes the L2's size.
                    if span > 1, localPerBlock * Double(window) > Double(l2Bytes) {
                        passes *= 1 + Double(span - 1) / Double(concurrentBlocks)
                    }
                    continue
                }
                let axisPasses = axis.gap >= concurrentBlocks
                    ? axis.count : min(axis.count, Int((Double(span) / Double(concurrentBlocks)).rounded(.up)))
                let survives = axisPasses <= 1 || distinctBytes(window: window) <= Double(l2Bytes)
                if !survives { passes *= Double(axisPasses) }
            }
            read += t.distinct * passes
        }
        let written = Double(counters.hbmWriteBytes)
        let dirtyAtEnd = written > 0 ? Double(l2Bytes) * L2Model.dirtyShare * written / (read + written) : 0
        return (Int(read.rounded()), Int(max(0, written - dirtyAtEnd).rounded()))
    }
}
