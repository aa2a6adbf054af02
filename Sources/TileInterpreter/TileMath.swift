import AttnNumerics

/// The numeric kernels behind tile operations, in fp32 (accumulation included).
enum TileMath {
    static func transpose(_ x: [Float], rows: Int, cols: Int) -> [Float] {
        var out = [Float](repeating: 0, count: x.count)
        for r in 0..<rows {
            for c in 0..<cols { out[c * rows + r] = x[r * cols + c] }
        }
        return out
    }

    /// C = A B with A (m x k) and B (k x n), row-major, fp32 accumulation in k order.
    ///
    /// Each output row accumulates a_ip x (row p of B) for p = 0, 1, ...: the inner loop
    /// runs over contiguous columns, eight at a time in SIMD registers. The order of the
    /// additions into each c_ij is the same as a scalar i-p-j loop's (k order), so results
    /// do not depend on the vector width. Indices are proven in bounds by the shapes, so
    /// the hot loop uses unchecked pointer arithmetic.
    static func matmul(_ a: [Float], _ b: [Float], m: Int, k: Int, n: Int) -> [Float] {
        var c = [Float](repeating: 0, count: m * n)
        guard a.count >= m * k, b.count >= k * n, m > 0, n > 0, k > 0 else { return c }
        let vectorColumns = n / 8 * 8
        a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                c.withUnsafeMutableBufferPointer { pc in
                    guard let aBase = pa.baseAddress, let bBase = pb.baseAddress, let cBase = pc.baseAddress else { return }
                    for i in 0..<m {
                        let out = cBase + i &* n
                        let aRow = aBase + i &* k
                        for p in 0..<k {
                            let x = aRow[p]
                            let splat = SIMD8<Float>(repeating: x)
                            let row = bBase + p &* n
                            var j = 0
                            while j < vectorColumns {
                                let bv = UnsafeRawPointer(row + j).loadUnaligned(as: SIMD8<Float>.self)
                                let cv = UnsafeRawPointer(out + j).loadUnaligned(as: SIMD8<Float>.self)
                                UnsafeMutableRawPointer(out + j).storeBytes(of: cv + splat * bv, as: SIMD8<Float>.self)
                                j &+= 8
                            }
                            while j < n {
                                out[j] += x * row[j]
                                j &+= 1
                            }
                        }
                    }
                }
            }
        }
        return c
    }

    /// Elementwise f over two row-major tiles, broadcasting dimensions of size 1.
    static func broadcast(
        _ x: [Float], rows xr: Int, cols xc: Int, _ y: [Float], rows yr: Int, cols yc: Int,
        outRows: Int, outCols: Int, _ f: (Float, Float) -> Float
    ) -> [Float] {
        var out = [Float](repeating: 0, count: outRows * outCols)
        for r in 0..<outRows {
            let xRow = (xr == 1 ? 0 : r) * xc, yRow = (yr == 1 ? 0 : r) * yc
            for c in 0..<outCols {
                out[r * outCols + c] = f(x[xRow + (xc == 1 ? 0 : c)], y[yRow + (yc == 1 ? 0 : c)])
            }
        }
        return out
    }

    static func reduceRows(_ x: [Float], rows: Int, cols: Int, max: Bool) -> [Float] {
        var out = [Float](repeating: 0, count: rows)
        for r in 0..<rows {
            var acc = x[r * cols]
            for c in 1..<Swift.max(cols, 1) {
                let v = x[r * cols + c]
                acc = max ? Swift.max(acc, v) : acc + v
            }
            out[r] = acc
        }
        return out
    }

    /// Visits the flat offsets of a slice in row-major tile order (kept dimensions
    /// beyond two flatten into rows).
    private static func forEachOffset(_ strides: [Int], _ s: BlockExecutor.Slice, _ body: (Int, Int) -> Void) {
        var base = 0
        for axis in s.starts.indices { base += s.starts[axis] * strides[axis] }
        let lengths = s.kept.map { s.lengths[$0] }
        let steps = s.kept.map { strides[$0] }
        var index = Array(repeating: 0, count: lengths.count)
        var offset = base
        for element in 0..<s.count {
            body(element, offset)
            // Odometer over the kept dimensions, last fastest.
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

    static func gather(_ tensor: HostTensor, _ s: BlockExecutor.Slice) -> [Float] {
        var out = [Float](repeating: 0, count: s.count)
        forEachOffset(tensor.strides, s) { i, offset in out[i] = tensor.values[offset] }
        return out
    }

    static func scatter(_ data: [Float], into tensor: inout HostTensor, _ s: BlockExecutor.Slice, dtype: DType, written: inout [Bool]) {
        let track = !written.isEmpty
        forEachOffset(tensor.strides, s) { i, offset in
            tensor.values[offset] = dtype.round(data[i])
            if track { written[offset] = true }
        }
    }
}
