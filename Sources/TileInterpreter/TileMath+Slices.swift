import AttnNumerics
import TileLanguage

/// Copies between HBM tensors and tiles: the slices a load reads and a store writes.
extension TileMath {
    /// Visits the flat offsets of a slice in row-major tile order (kept dimensions
    /// beyond two flatten into rows), as runs: `body(element, offset, length)` for
    /// `length` elements at consecutive offsets. Runs span the last kept dimension when it
    /// is contiguous in the tensor (stride 1), else they are single elements.
    private static func forEachRun(_ strides: [Int], _ s: TensorSlice, _ body: (Int, Int, Int) -> Void) {
        var base = 0
        for axis in s.starts.indices { base += s.starts[axis] * strides[axis] }
        var lengths = s.kept.map { s.lengths[$0] }
        var steps = s.kept.map { strides[$0] }
        var run = 1
        if let last = steps.last, last == 1, let length = lengths.last {
            run = length
            lengths.removeLast()
            steps.removeLast()
        }
        guard run > 0 else { return }
        var index = Array(repeating: 0, count: lengths.count)
        var offset = base
        var element = 0
        while element < s.count {
            body(element, offset, run)
            element += run
            // Odometer over the remaining kept dimensions, last fastest.
            var axis = lengths.count - 1
            while axis >= 0 {
                index[axis] += 1
                offset += steps[axis]
                if index[axis] < lengths[axis] { break }
                offset -= steps[axis] * lengths[axis]
                index[axis] = 0
                axis -= 1
            }
        }
    }

    /// Whether every offset of the slice lies in a tensor of `count` elements (the
    /// executor's slices always do: `BlockExecutor.slice` checks them).
    private static func fits(_ strides: [Int], _ s: TensorSlice, count: Int, data: Int) -> Bool {
        var low = 0, high = 0
        for axis in s.starts.indices {
            guard s.lengths[axis] > 0, strides[axis] >= 0 else { return false }
            low += s.starts[axis] * strides[axis]
            high += (s.starts[axis] + s.lengths[axis] - 1) * strides[axis]
        }
        return low >= 0 && high < count && data >= s.count
    }

    static func gather(_ tensor: HostTensor, _ s: TensorSlice) -> [Float] {
        var out = [Float](repeating: 0, count: s.count)
        guard fits(tensor.strides, s, count: tensor.count, data: out.count) else {
            // Checked subscripts: they stop on an offset outside the tensor.
            forEachRun(tensor.strides, s) { element, offset, run in
                for e in 0..<run { out[element + e] = tensor.values[offset + e] }
            }
            return out
        }
        tensor.values.withUnsafeBufferPointer { source in
            out.withUnsafeMutableBufferPointer { target in
                guard let from = source.baseAddress, let to = target.baseAddress else { return }
                forEachRun(tensor.strides, s) { element, offset, run in
                    (to + element).update(from: from + offset, count: run)
                }
            }
        }
        return out
    }

    static func scatter(_ data: [Float], into tensor: inout HostTensor, _ s: TensorSlice, dtype: DType, written: inout [Bool]) {
        let track = !written.isEmpty
        let strides = tensor.strides
        guard fits(strides, s, count: tensor.count, data: data.count), !track || written.count == tensor.count else {
            forEachRun(strides, s) { element, offset, run in
                for e in 0..<run {
                    tensor.values[offset + e] = dtype.round(data[element + e])
                    if track { written[offset + e] = true }
                }
            }
            return
        }
        data.withUnsafeBufferPointer { source in
            tensor.values.withUnsafeMutableBufferPointer { target in
                guard let from = source.baseAddress, let to = target.baseAddress else { return }
                forEachRun(strides, s) { element, offset, run in
                    if dtype == .fp32 {
                        (to + offset).update(from: from + element, count: run)
                    } else {
                        for e in 0..<run { to[offset + e] = dtype.round(from[element + e]) }
                    }
                }
            }
        }
        if track {
            written.withUnsafeMutableBufferPointer { flags in
                guard let base = flags.baseAddress else { return }
                forEachRun(strides, s) { _, offset, run in
                    (base + offset).update(repeating: true, count: run)
                }
            }
        }
    }
}
