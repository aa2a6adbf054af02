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
/// in L2 when the bytes moved since the previous pass, max(g, C) x (tile bytes per
/// block), fit in the L2; otherwise it reads it again:
///
///     dram_read(t) = U_t x (1 if the datum survives, else passes_t)
///
/// with U_t = min(tile reads of t / n_r, bytes of t) the distinct bytes (re-reads inside
/// one block are taken to hit).
///
/// Writes. Written data stays dirty until evicted; at the end the L2 still holds the
/// most recent writes, their share of it in proportion to the write share of the
/// traffic: dram_write = max(0, W - L2 x W / (dram_read + W)).
struct L2Model {
    let l2Bytes: Int

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
        var read = 0.0
        for (tensor, traffic) in counters.tensors.enumerated() where traffic.readBytes > 0 {
            let axes = dependence[tensor] ?? []
            let readerAxes = extents.indices.filter { !axes.contains($0) && extents[$0] > 1 }
            let readers = readerAxes.reduce(1) { $0 * extents[$1] }
            let distinct = min(Double(traffic.readBytes) / Double(readers), Double(tensorBytes[tensor]))
            guard readers > 1, let fastest = readerAxes.max() else {
                read += distinct
                continue
            }
            let gap = strides[fastest]
            let passes = gap >= concurrentBlocks ? readers : Int((Double(gap * readers) / Double(concurrentBlocks)).rounded(.up))
            let reuseDistance = Double(max(gap, concurrentBlocks)) * bytesPerBlock
            let survives = passes <= 1 || reuseDistance <= Double(l2Bytes)
            read += distinct * Double(survives ? 1 : passes)
        }
        let written = Double(counters.hbmWriteBytes)
        let dirtyAtEnd = written > 0 ? Double(l2Bytes) * written / (read + written) : 0
        return (Int(read.rounded()), Int(max(0, written - dirtyAtEnd).rounded()))
    }
}
