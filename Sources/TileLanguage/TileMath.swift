import AttnNumerics

/// The numeric kernels behind tile operations, in fp32 (accumulation included).
package enum TileMath {
    /// The cols x rows transpose of a row-major rows x cols tile.
    package static func transpose(_ x: [Float], rows: Int, cols: Int) -> [Float] {
        guard x.count == rows * cols else {
            // Shapes the caller never passes (a tile's data matches its shape); the
            // indexed loop traps on a bad one rather than reading past the buffer.
            var out = [Float](repeating: 0, count: x.count)
            for r in 0..<rows {
                for c in 0..<cols { out[c * rows + r] = x[r * cols + c] }
            }
            return out
        }
        return [Float](unsafeUninitializedCapacity: x.count) { out, initialized in
            x.withUnsafeBufferPointer { input in
                guard let from = input.baseAddress, let to = out.baseAddress else { return }
                // Indices proven in bounds by count == rows * cols.
                for r in 0..<rows {
                    let row = from + r &* cols
                    var target = to + r
                    for c in 0..<cols {
                        target.initialize(to: row[c])
                        target += rows
                    }
                }
            }
            initialized = x.count
        }
    }

    /// C = A B with A (m x k) and B (k x n), row-major, fp32 accumulation in k order.
    ///
    /// Register-blocked: four rows by eight columns of C stay in SIMD registers while p
    /// runs over k, each step adding a_ip x (columns of row p of B). Every c_ij is still
    /// 0 + a_i0 b_0j + a_i1 b_1j + ... in k order (a multiply then an add, no fused
    /// multiply-add), as a scalar i-p-j loop computes it, so results do not depend on
    /// the blocking or the vector width. Indices are proven in bounds by the shapes
    /// (checked once up front), so the hot loop uses unchecked pointer arithmetic.
    package static func matmul(_ a: [Float], _ b: [Float], m: Int, k: Int, n: Int) -> [Float] {
        guard a.count >= m * k, b.count >= k * n, m > 0, n > 0, k > 0 else { return [Float](repeating: 0, count: max(0, m * n)) }
        // The kernel writes every element of C, so C starts uninitialised (no zeroing pass).
        return [Float](unsafeUninitializedCapacity: m * n) { pc, initialized in
            a.withUnsafeBufferPointer { pa in
                b.withUnsafeBufferPointer { pb in
                    guard let aBase = pa.baseAddress, let bBase = pb.baseAddress, let cBase = pc.baseAddress else { return }
                    matmulKernel(aBase, bBase, cBase, m: m, k: k, n: n)
                }
            }
            initialized = m * n
        }
    }

    private typealias V8 = SIMD8<Float>
    private typealias V4 = SIMD4<Float>

    @inline(__always)
    private static func load8(_ p: UnsafePointer<Float>) -> V8 {
        UnsafeRawPointer(p).loadUnaligned(as: V8.self)
    }

    @inline(__always)
    private static func store8(_ v: V8, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: V8.self)
    }

    private static func matmulKernel(
        _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ c: UnsafeMutablePointer<Float>, m: Int, k: Int, n: Int
    ) {
        let vectorColumns = n / 8 * 8
        // The four rows' a_ip, each splatted to four lanes once ([p][row]), so the inner
        // loop loads them ready to multiply (the four-lane registers of a baseline x86-64
        // build) instead of splatting each again for every eight columns.
        let splats = UnsafeMutablePointer<V4>.allocate(capacity: 4 * k)
        defer { splats.deallocate() }
        var i = 0
        // Four rows at a time.
        while i &+ 4 <= m {
            let a0 = a + i &* k, a1 = a0 + k, a2 = a1 + k, a3 = a2 + k
            let c0 = c + i &* n, c1 = c0 + n, c2 = c1 + n, c3 = c2 + n
            for p in 0..<k {
                (splats + 4 * p).initialize(to: V4(repeating: a0[p]))
                (splats + (4 * p + 1)).initialize(to: V4(repeating: a1[p]))
                (splats + (4 * p + 2)).initialize(to: V4(repeating: a2[p]))
                (splats + (4 * p + 3)).initialize(to: V4(repeating: a3[p]))
            }
            var j = 0
            while j < vectorColumns {
                // Row r's columns j ..< j + 4 in l_r, j + 4 ..< j + 8 in h_r.
                var l0 = V4(), h0 = V4(), l1 = V4(), h1 = V4(), l2 = V4(), h2 = V4(), l3 = V4(), h3 = V4()
                var row = b + j
                var x = UnsafePointer(splats)
                for _ in 0..<k {
                    let low = UnsafeRawPointer(row).loadUnaligned(as: V4.self)
                    let high = UnsafeRawPointer(row + 4).loadUnaligned(as: V4.self)
                    let x0 = x[0], x1 = x[1]
                    l0 = l0 + x0 * low
                    h0 = h0 + x0 * high
                    l1 = l1 + x1 * low
                    h1 = h1 + x1 * high
                    let x2 = x[2], x3 = x[3]
                    l2 = l2 + x2 * low
                    h2 = h2 + x2 * high
                    l3 = l3 + x3 * low
                    h3 = h3 + x3 * high
                    row += n
                    x += 4
                }
                store8(V8(lowHalf: l0, highHalf: h0), c0 + j)
                store8(V8(lowHalf: l1, highHalf: h1), c1 + j)
                store8(V8(lowHalf: l2, highHalf: h2), c2 + j)
                store8(V8(lowHalf: l3, highHalf: h3), c3 + j)
                j &+= 8
            }
            while j < n {
                var s0: Float = 0, s1: Float = 0, s2: Float = 0, s3: Float = 0
                var row = b + j
                for p in 0..<k {
                    let x = row.pointee
                    s0 = s0 + a0[p] * x
                    s1 = s1 + a1[p] * x
                    s2 = s2 + a2[p] * x
                    s3 = s3 + a3[p] * x
                    row += n
                }
                c0[j] = s0
                c1[j] = s1
                c2[j] = s2
                c3[j] = s3
                j &+= 1
            }
            i &+= 4
        }
        // The last rows, one at a time.
        while i < m {
            let aRow = a + i &* k, cRow = c + i &* n
            var j = 0
            while j < vectorColumns {
                var s = V8()
                var row = b + j
                for p in 0..<k {
                    s = s + V8(repeating: aRow[p]) * load8(row)
                    row += n
                }
                store8(s, cRow + j)
                j &+= 8
            }
            while j < n {
                var s: Float = 0
                var row = b + j
                for p in 0..<k {
                    s = s + aRow[p] * row.pointee
                    row += n
                }
                cRow[j] = s
                j &+= 1
            }
            i &+= 1
        }
    }

    /// The binary elementwise operations with kernels of their own (the hot ones of an
    /// attention inner loop); others go through a closure.
    package enum Binary: String {
        case add, sub, mul, div, min, max

        @inline(__always)
        package func apply(_ x: Float, _ y: Float) -> Float {
            switch self {
            case .add: return x + y
            case .sub: return x - y
            case .mul: return x * y
            case .div: return x / y
            case .min: return Swift.min(x, y)
            case .max: return Swift.max(x, y)
            }
        }
    }

    /// Elementwise f over two row-major tiles, broadcasting dimensions of size 1.
    package static func broadcast(
        _ x: [Float], rows xr: Int, cols xc: Int, _ y: [Float], rows yr: Int, cols yc: Int,
        outRows: Int, outCols: Int, _ f: (Float, Float) -> Float
    ) -> [Float] {
        broadcastLoop(x, rows: xr, cols: xc, y, rows: yr, cols: yc, outRows: outRows, outCols: outCols, f)
    }

    /// `broadcast` for one of the `Binary` operations: the same values, from a loop
    /// specialised to the operation (one switch per tile, not per element).
    package static func broadcast(
        _ op: Binary, _ x: [Float], rows xr: Int, cols xc: Int, _ y: [Float], rows yr: Int, cols yc: Int,
        outRows: Int, outCols: Int
    ) -> [Float] {
        switch op {
        case .add: return broadcastLoop(x, rows: xr, cols: xc, y, rows: yr, cols: yc, outRows: outRows, outCols: outCols) { $0 + $1 }
        case .sub: return broadcastLoop(x, rows: xr, cols: xc, y, rows: yr, cols: yc, outRows: outRows, outCols: outCols) { $0 - $1 }
        case .mul: return broadcastLoop(x, rows: xr, cols: xc, y, rows: yr, cols: yc, outRows: outRows, outCols: outCols) { $0 * $1 }
        case .div: return broadcastLoop(x, rows: xr, cols: xc, y, rows: yr, cols: yc, outRows: outRows, outCols: outCols) { $0 / $1 }
        case .min: return broadcastLoop(x, rows: xr, cols: xc, y, rows: yr, cols: yc, outRows: outRows, outCols: outCols) { Swift.min($0, $1) }
        case .max: return broadcastLoop(x, rows: xr, cols: xc, y, rows: yr, cols: yc, outRows: outRows, outCols: outCols) { Swift.max($0, $1) }
        }
    }

    /// f(x_i, s) (or f(s, x_i) with `scalarFirst`) for every element, specialised to `op`.
    package static func map(_ op: Binary, _ x: [Float], scalar: Float, scalarFirst: Bool) -> [Float] {
        switch (op, scalarFirst) {
        case (.add, _): return mapLoop(x) { $0 + scalar }
        case (.sub, false): return mapLoop(x) { $0 - scalar }
        case (.sub, true): return mapLoop(x) { scalar - $0 }
        case (.mul, _): return mapLoop(x) { $0 * scalar }
        case (.div, false): return mapLoop(x) { $0 / scalar }
        case (.div, true): return mapLoop(x) { scalar / $0 }
        case (.min, false): return mapLoop(x) { Swift.min($0, scalar) }
        case (.min, true): return mapLoop(x) { Swift.min(scalar, $0) }
        case (.max, false): return mapLoop(x) { Swift.max($0, scalar) }
        case (.max, true): return mapLoop(x) { Swift.max(scalar, $0) }
        }
    }

    /// e^x of every element: four at a time through `VectorMath` (fp32 results within one
    /// unit in the last place, as a GPU's fast `expf`), the last few one by one through
    /// the same kernel, so an element's value does not depend on its position.
    package static func exp(_ x: [Float]) -> [Float] {
        [Float](unsafeUninitializedCapacity: x.count) { out, initialized in
            x.withUnsafeBufferPointer { input in
                guard let from = input.baseAddress, let to = out.baseAddress else { return }
                let count = input.count
                var i = 0
                while i &+ 4 <= count {
                    let y = VectorMath.exp(UnsafeRawPointer(from + i).loadUnaligned(as: VectorMath.F4.self))
                    UnsafeMutableRawPointer(to + i).storeBytes(of: y, as: VectorMath.F4.self)
                    i &+= 4
                }
                while i < count {
                    (to + i).initialize(to: VectorMath.exp(VectorMath.F4(repeating: from[i]))[0])
                    i &+= 1
                }
            }
            initialized = x.count
        }
    }

    /// f of every element, through unchecked pointers (the loop vectorises).
    @inline(__always)
    package static func mapLoop(_ x: [Float], _ f: (Float) -> Float) -> [Float] {
        [Float](unsafeUninitializedCapacity: x.count) { out, initialized in
            x.withUnsafeBufferPointer { input in
                guard let from = input.baseAddress, let to = out.baseAddress else { return }
                for i in 0..<input.count { (to + i).initialize(to: f(from[i])) }
            }
            initialized = x.count
        }
    }

    /// The broadcasting loop: rows of the output, each from a row of x and a row of y (or
    /// their only row), each column from a column (or the only value) of either.
    @inline(__always)
    private static func broadcastLoop(
        _ x: [Float], rows xr: Int, cols xc: Int, _ y: [Float], rows yr: Int, cols yc: Int,
        outRows: Int, outCols: Int, _ f: (Float, Float) -> Float
    ) -> [Float] {
        guard x.count >= xr * xc, y.count >= yr * yc, xr == 1 || xr == outRows, yr == 1 || yr == outRows,
            xc == 1 || xc == outCols, yc == 1 || yc == outCols
        else {
            // Shapes the caller never passes (it checks them); the indexed loop traps on a bad one.
            var out = [Float](repeating: 0, count: outRows * outCols)
            for r in 0..<outRows {
                let xRow = (xr == 1 ? 0 : r) * xc, yRow = (yr == 1 ? 0 : r) * yc
                for c in 0..<outCols {
                    out[r * outCols + c] = f(x[xRow + (xc == 1 ? 0 : c)], y[yRow + (yc == 1 ? 0 : c)])
                }
            }
            return out
        }
        // Every element is written below, so the result starts uninitialised.
        return [Float](unsafeUninitializedCapacity: outRows * outCols) { po, initialized in
            x.withUnsafeBufferPointer { px in
                y.withUnsafeBufferPointer { py in
                    guard let xb = px.baseAddress, let yb = py.baseAddress, let ob = po.baseAddress else { return }
                    for r in 0..<outRows {
                        let xRow = xb + (xr == 1 ? 0 : r &* xc), yRow = yb + (yr == 1 ? 0 : r &* yc)
                        let oRow = ob + r &* outCols
                        switch (xc == 1 && outCols > 1, yc == 1 && outCols > 1) {
                        case (false, false):
                            for c in 0..<outCols { oRow[c] = f(xRow[c], yRow[c]) }
                        case (false, true):
                            let b = yRow[0]
                            for c in 0..<outCols { oRow[c] = f(xRow[c], b) }
                        case (true, false):
                            let a = xRow[0]
                            for c in 0..<outCols { oRow[c] = f(a, yRow[c]) }
                        case (true, true):
                            let v = f(xRow[0], yRow[0])
                            for c in 0..<outCols { oRow[c] = v }
                        }
                    }
                }
            }
            initialized = outRows * outCols
        }
    }

    /// Row maxima or row sums, each row reduced left to right. Four rows run side by
    /// side (independent chains, so additions overlap); each row's order is unchanged.
    package static func reduceRows(_ x: [Float], rows: Int, cols: Int, max: Bool) -> [Float] {
        var out = [Float](repeating: 0, count: rows)
        guard rows > 0, cols > 0, x.count >= rows * cols else { return out }
        x.withUnsafeBufferPointer { px in
            out.withUnsafeMutableBufferPointer { po in
                guard let base = px.baseAddress, let target = po.baseAddress else { return }
                var r = 0
                while r &+ 4 <= rows {
                    let r0 = base + r &* cols, r1 = r0 + cols, r2 = r1 + cols, r3 = r2 + cols
                    var a0 = r0[0], a1 = r1[0], a2 = r2[0], a3 = r3[0]
                    if max {
                        for c in 1..<cols {
                            a0 = Swift.max(a0, r0[c]); a1 = Swift.max(a1, r1[c])
                            a2 = Swift.max(a2, r2[c]); a3 = Swift.max(a3, r3[c])
                        }
                    } else {
                        for c in 1..<cols {
                            a0 = a0 + r0[c]; a1 = a1 + r1[c]
                            a2 = a2 + r2[c]; a3 = a3 + r3[c]
                        }
                    }
                    target[r] = a0; target[r &+ 1] = a1; target[r &+ 2] = a2; target[r &+ 3] = a3
                    r &+= 4
                }
                while r < rows {
                    let row = base + r &* cols
                    var acc = row[0]
                    if max {
                        for c in 1..<cols { acc = Swift.max(acc, row[c]) }
                    } else {
                        for c in 1..<cols { acc = acc + row[c] }
                    }
                    target[r] = acc
                    r &+= 1
                }
            }
        }
        return out
    }
}
