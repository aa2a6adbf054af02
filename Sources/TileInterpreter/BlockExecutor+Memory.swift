import AttnNumerics
import TileLanguage

/// The HBM edge: the slice an access selects, loads into SRAM or registers, stores back,
/// each counted per tensor at its dtype and traced.
extension BlockExecutor {
    func slice(_ access: TensorAccess) throws(Diagnostic) -> TensorSlice {
        let name = access.tensorName
        let shape = bound.tensorShapes[access.tensor]
        var slice = TensorSlice(starts: [], lengths: [], kept: [])
        for (axis, index) in access.indices.enumerated() {
            let extent = shape[axis]
            switch index {
            case .scalar(let e):
                let i = try integer(e)
                guard i >= 0 && i < extent else {
                    throw error("index \(i) is out of bounds for dimension \(axis) of '\(name)' (extent \(extent))", e.location)
                }
                slice.starts.append(i)
                slice.lengths.append(1)
            case .block(let b, let size, let location):
                let block = try integer(b), blockSize = try integer(size)
                guard blockSize > 0 else { throw error("block size must be positive, found \(blockSize)", size.location) }
                let (start, overflow) = block.multipliedReportingOverflow(by: blockSize)
                if overflow {
                    throw error(
                        "integer overflow in 'rows(\(render(b)), \(render(size)))': its first row \(block) * \(blockSize) does not fit in 64 bits",
                        location, kind: .overflow)
                }
                guard start >= 0 && start < extent else {
                    throw error("block \(block) of size \(blockSize) starts at \(start), outside dimension \(axis) of '\(name)' (extent \(extent))", location)
                }
                slice.starts.append(start)
                slice.lengths.append(Swift.min(blockSize, extent - start))
                if blockSize > extent - start { cutShort = true }
                slice.kept.append(axis)
            case .range(let a, let b, let location):
                let lo = try integer(a), hi = try integer(b)
                guard lo >= 0 && lo < hi && hi <= extent else {
                    throw error("range \(lo) ..< \(hi) is empty or outside dimension \(axis) of '\(name)' (extent \(extent))", location)
                }
                slice.starts.append(lo)
                slice.lengths.append(hi - lo)
                slice.kept.append(axis)
            case .all:
                slice.starts.append(0)
                slice.lengths.append(extent)
                slice.kept.append(axis)
            }
        }
        return slice
    }

    /// Reads one element of an i32 tensor into a register (4 bytes). Count-only mode has
    /// no data and reads 0; the value may only index tensors, so counts do not change.
    func loadInteger(_ access: TensorAccess, at location: SourceLocation) throws(Diagnostic) -> Int {
        let s = try slice(access)
        counters.tensors[access.tensor].hbmToRegisters = try sum(counters.tensors[access.tensor].hbmToRegisters, 4, "hbm->reg bytes of tensor \(access.tensor)")
        emit("load", edge: "hbm->reg", tensor: access.tensorName, bytes: 4, shape: [])
        guard isNumeric else { return 0 }
        guard let value = host.integer(access.tensor, at: s) else {
            throw error("the value read from '\(access.tensorName)' here is not an integer of 64 bits", location)
        }
        return value
    }

    /// Reads a tile from HBM into `level`, counting its bytes at the tensor's dtype.
    func load(_ access: TensorAccess, level: TileLevel, at location: SourceLocation) throws(Diagnostic) -> Tile {
        let s = try slice(access)
        let dtype = bound.tensorDTypes[access.tensor]
        var tile = Tile(rows: s.rows, cols: s.cols, rank: s.rank, level: level, elementBytes: dtype.bytes, data: nil)
        if isNumeric {
            tile.data = host.gather(access.tensor, s)
        }
        try countHBM(access, tile, level: level, loading: true)
        return tile
    }

    /// Writes a tile to HBM, rounding to the tensor's dtype.
    func store(_ access: TensorAccess, _ tile: Tile, from level: TileLevel, at location: SourceLocation) throws(Diagnostic) {
        let s = try slice(access)
        // A 1-D tile may fill a slice that keeps several dimensions, in row-major order.
        let flat = tile.rank == 1 && s.kept.count > 1 && tile.count == s.count
        guard flat || (tile.rank == s.rank && tile.rows == s.rows && tile.cols == s.cols) else {
            let sliceText = s.rank == 1 ? "\(s.rows)" : "\(s.rows)x\(s.cols)"
            throw error("the stored tile is \(tile.shapeText) but the slice of '\(access.tensorName)' is \(sliceText)", location)
        }
        let dtype = bound.tensorDTypes[access.tensor]
        if isNumeric, let data = tile.data {
            if bound.program.tensors[access.tensor].isInteger, let bad = data.first(where: { !($0 == $0.rounded() && abs($0) <= 0x1p24) }) {
                // i32 tensors hold exact integers in fp32 storage (|x| <= 2^24).
                throw error("'\(access.tensorName)' is an i32 tensor: its values are integers of at most 2^24 in magnitude (indices), found \(bad)", location)
            }
            host.store(data, into: access.tensor, s, dtype: dtype)
        }
        try countHBM(access, tile, level: level, loading: false)
    }

    /// Counts a tile crossing the HBM edge of `level` (a load into it, or a store from it)
    /// at the tensor's dtype, per tensor, and traces it.
    private func countHBM(_ access: TensorAccess, _ tile: Tile, level: TileLevel, loading: Bool) throws(Diagnostic) {
        let bytes = tile.count * bound.tensorDTypes[access.tensor].bytes
        let edge: String
        let t = access.tensor
        switch (loading, level) {
        case (true, .sram):
            edge = "hbm->sram"
            counters.tensors[t].hbmToSram = try sum(counters.tensors[t].hbmToSram, bytes, "\(edge) bytes of tensor \(t)")
            if access.multicast != nil {
                counters.tensors[t].multicastToSram = try sum(counters.tensors[t].multicastToSram, bytes, "multicast \(edge) bytes of tensor \(t)")
            }
        case (true, .registers), (true, .tensorMemory):  // no load goes to tensor memory (checked)
            edge = "hbm->reg"
            counters.tensors[t].hbmToRegisters = try sum(counters.tensors[t].hbmToRegisters, bytes, "\(edge) bytes of tensor \(t)")
        case (false, .sram):
            edge = "sram->hbm"
            counters.tensors[t].sramToHbm = try sum(counters.tensors[t].sramToHbm, bytes, "\(edge) bytes of tensor \(t)")
        case (false, .registers), (false, .tensorMemory):  // a tensor-memory tile is stored via registers
            edge = "reg->hbm"
            counters.tensors[t].registersToHbm = try sum(counters.tensors[t].registersToHbm, bytes, "\(edge) bytes of tensor \(t)")
        }
        emit(loading ? "load" : "store", edge: edge, tensor: access.tensorName, bytes: bytes, shape: tile.shape)
    }
}
