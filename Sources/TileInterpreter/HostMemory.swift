import AttnNumerics
import TileLanguage

/// HBM as a numeric run holds it: every tensor's values (rounded to its dtype when
/// stored), which elements of each output have been written, and, in a worker of the
/// parallel replay, the stores it holds back for the coordinator to apply in block order.
/// A count-mode run holds nothing.
struct HostMemory {
    var tensors: [HostTensor]
    /// Per tensor, which elements have been written (outputs only; empty for the others).
    var written: [[Bool]]
    /// When set, stores are appended here instead of written (`ParallelReplay`).
    var pendingStores: [PendingStore]?

    init(tensors: [HostTensor] = [], written: [[Bool]] = []) {
        self.tensors = tensors
        self.written = written
    }

    /// The values a slice of `tensor` holds, in row-major tile order.
    func gather(_ tensor: Int, _ slice: TensorSlice) -> [Float] {
        TileMath.gather(tensors[tensor], slice)
    }

    /// The element at the start of a slice of an i32 tensor, truncated to an integer; nil
    /// when it is not a finite number of 64 bits (a program stored something else there).
    func integer(_ tensor: Int, at slice: TensorSlice) -> Int? {
        let host = tensors[tensor]
        var offset = 0
        for axis in slice.starts.indices { offset += slice.starts[axis] * host.strides[axis] }
        let value = host.values[offset]
        // 2^63 is the first Float past Int.max.
        guard value.isFinite, value > -0x1p63 - 1, value < 0x1p63 else { return nil }
        return Int(value)
    }

    /// Writes a tile's values into a slice of `tensor`, rounded to `dtype` (or holds the
    /// store back).
    mutating func store(_ data: [Float], into tensor: Int, _ slice: TensorSlice, dtype: DType) {
        if pendingStores != nil {
            pendingStores?.append(PendingStore(tensor: tensor, slice: slice, data: data))
        } else {
            TileMath.scatter(data, into: &tensors[tensor], slice, dtype: dtype, written: &written[tensor])
        }
    }

    /// Writes held-back stores in their order, as `store` would have.
    mutating func apply(_ stores: [PendingStore], dtypes: [DType]) {
        for pending in stores {
            TileMath.scatter(pending.data, into: &tensors[pending.tensor], pending.slice, dtype: dtypes[pending.tensor], written: &written[pending.tensor])
        }
    }
}

/// A numeric store held back by a worker of the parallel replay, applied later in block
/// order (`HostMemory.apply`).
struct PendingStore {
    var tensor: Int
    var slice: TensorSlice
    var data: [Float]
}
