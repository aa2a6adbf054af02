import Dispatch

/// Float64 matrix products for the references, blocked as the attention reference's
/// `HeadPanels` are: the left operand packed in groups of four rows (each value twice, a
/// ready two-lane splat), the right one in panels of four columns, and a 4 x 4 block of
/// results kept in eight two-lane accumulators (the registers of a baseline x86-64
/// build) while the product's depth is walked.
///
/// Every result is sum_p a_ip b_pj with one running sum over p = 0, 1, ... in order, so a
/// value does not depend on which rows or columns are computed with it, nor on how the
/// work is split over threads.
enum ReferenceProduct {
    typealias D2 = SIMD2<Double>

    /// The left operand of a product, `count` rows of `depth` values, packed in groups of
    /// four rows: [group][depth][4 rows][2 copies]. Rows past `count` are zero.
    struct Rows {
        let count: Int
        let depth: Int
        private(set) var values: [Double]

        /// Rows with element (row, p) = `element(row, p)`.
        init(count: Int, depth: Int, _ element: (_ row: Int, _ p: Int) -> Double) {
            self.count = count
            self.depth = depth
            values = ReferenceProduct.pack(count: count, depth: depth, copies: 2, element)
        }

        /// Rows copied from a row-major matrix: element (row, p) = matrix[row * stride + p].
        init(count: Int, depth: Int, matrix: UnsafePointer<Double>, stride: Int) {
            self.init(count: count, depth: depth) { row, p in matrix[row * stride + p] }
        }

        var groups: Int { (count + 3) / 4 }
    }

    /// The right operand of a product, `count` columns of `depth` values, packed in panels
    /// of four columns: [panel][depth][4 columns]. Columns past `count` are zero.
    struct Columns {
        let count: Int
        let depth: Int
        private(set) var values: [Double]

        /// Columns with element (p, column) = `element(p, column)`.
        init(count: Int, depth: Int, _ element: (_ p: Int, _ column: Int) -> Double) {
            self.count = count
            self.depth = depth
            values = ReferenceProduct.pack(count: count, depth: depth, copies: 1) { column, p in element(p, column) }
        }

        var panels: Int { (count + 3) / 4 }
        /// `count` rounded up to a whole panel: the row stride a product's output needs.
        var paddedCount: Int { panels * 4 }
    }

    /// `count` vectors of `depth` values, `element(index, p)`, packed in groups of four:
    /// [group][depth][4][copies], zero past `count` (`Rows` with two copies, `Columns` with one).
    private static func pack(count: Int, depth: Int, copies: Int, _ element: (Int, Int) -> Double) -> [Double] {
        let step = 4 * copies
        var values = [Double](repeating: 0, count: (count + 3) / 4 * depth * step)
        values.withUnsafeMutableBufferPointer { buffer in
            for index in 0..<count {
                var at = index / 4 * depth * step + index % 4 * copies
                for p in 0..<depth {
                    let x = element(index, p)
                    for copy in 0..<copies { buffer[at + copy] = x }
                    at += step
                }
            }
        }
        return values
    }

    /// out[i * rowStride + j] = sum_p a(i, p) b(p, j) (added to what is there with
    /// `accumulate`) for every row i of `a` and column j of `b`; `rowStride` >= the
    /// columns rounded up to a multiple of four, whose padding columns get zeros (or keep
    /// their value with `accumulate`), and `out` holds `a.count` rows of it.
    ///
    /// Blocked by columns: a tile of panels small enough for the core's cache serves every
    /// group of rows before the next tile is read.
    static func multiply(_ a: Rows, _ b: Columns, into out: UnsafeMutablePointer<Double>, rowStride: Int, accumulate: Bool = false) {
        precondition(a.depth == b.depth && rowStride >= b.paddedCount, "product shapes do not fit")
        let depth = a.depth
        guard depth > 0 else {
            if !accumulate {
                for i in 0..<a.count { (out + i * rowStride).update(repeating: 0, count: b.paddedCount) }
            }
            return
        }
        // About 256 KiB of panels a tile.
        let tile = max(1, 8192 / depth)
        a.values.withUnsafeBufferPointer { aBuffer in
            b.values.withUnsafeBufferPointer { bBuffer in
                guard let ap = aBuffer.baseAddress, let bp = bBuffer.baseAddress else { return }
                var first = 0
                while first < b.panels {
                    let last = min(b.panels, first + tile)
                    for group in 0..<a.groups {
                        let rows = ap + group * depth * 8
                        let valid = min(4, a.count - group * 4)
                        for panel in first..<last {
                            block(depth: depth, rows: rows, panel: bp + panel * depth * 4, validRows: valid,
                                  into: out + group * 4 * rowStride + panel * 4, rowStride: rowStride, accumulate: accumulate)
                        }
                    }
                    first = last
                }
            }
        }
    }

    /// One 4 x 4 block of results: four packed rows (`depth` x 4 x 2) times one panel
    /// (`depth` x 4), written to the first `validRows` rows at `out`.
    @inline(__always)
    private static func block(
        depth: Int, rows: UnsafePointer<Double>, panel: UnsafePointer<Double>, validRows: Int,
        into out: UnsafeMutablePointer<Double>, rowStride: Int, accumulate: Bool
    ) {
        let results = dots(depth: depth, rows: rows, panel: panel)
        func put(_ x: SIMD4<Double>, row: Int) {
            let target = UnsafeMutableRawPointer(out + row * rowStride)
            target.storeBytes(of: accumulate ? target.loadUnaligned(as: SIMD4<Double>.self) + x : x, as: SIMD4<Double>.self)
        }
        put(results.0, row: 0)
        if validRows > 1 { put(results.1, row: 1) }
        if validRows > 2 { put(results.2, row: 2) }
        if validRows > 3 { put(results.3, row: 3) }
    }

    /// The 4 x 4 products of four packed rows (`depth` x 4 x 2: each value twice, as
    /// `Rows` packs them) and one panel of four columns (`depth` x 4, as `Columns`):
    /// row r's four results are the r-th vector, each summed over the depth in order.
    /// With `skippingZeros`, a step where all four rows' values are zero is skipped (the
    /// same sums: it would add zeros), for rows with long runs of zeros (masked weights).
    /// The sums start from `initial` (a product walked in pieces gets the same sums).
    @inline(__always)
    static func dots(
        depth: Int, rows: UnsafePointer<Double>, panel: UnsafePointer<Double>, skippingZeros: Bool = false,
        initial: (SIMD4<Double>, SIMD4<Double>, SIMD4<Double>, SIMD4<Double>) = (.zero, .zero, .zero, .zero)
    ) -> (SIMD4<Double>, SIMD4<Double>, SIMD4<Double>, SIMD4<Double>) {
        // Row r's results for columns 0, 1 in a_r, for columns 2, 3 in b_r (two-lane
        // vectors: the registers of a baseline x86-64 build).
        var a0 = initial.0.lowHalf, b0 = initial.0.highHalf, a1 = initial.1.lowHalf, b1 = initial.1.highHalf
        var a2 = initial.2.lowHalf, b2 = initial.2.highHalf, a3 = initial.3.lowHalf, b3 = initial.3.highHalf
        var column = panel
        var pairs = rows
        for _ in 0..<depth {
            if !skippingZeros || pairs[0] != 0 || pairs[2] != 0 || pairs[4] != 0 || pairs[6] != 0 {
                let low = UnsafeRawPointer(column).loadUnaligned(as: D2.self)
                let high = UnsafeRawPointer(column + 2).loadUnaligned(as: D2.self)
                let x0 = UnsafeRawPointer(pairs).loadUnaligned(as: D2.self)
                let x1 = UnsafeRawPointer(pairs + 2).loadUnaligned(as: D2.self)
                a0 = a0 + x0 * low
                b0 = b0 + x0 * high
                a1 = a1 + x1 * low
                b1 = b1 + x1 * high
                let x2 = UnsafeRawPointer(pairs + 4).loadUnaligned(as: D2.self)
                let x3 = UnsafeRawPointer(pairs + 6).loadUnaligned(as: D2.self)
                a2 = a2 + x2 * low
                b2 = b2 + x2 * high
                a3 = a3 + x3 * low
                b3 = b3 + x3 * high
            }
            column += 4
            pairs += 8
        }
        return (SIMD4(lowHalf: a0, highHalf: b0), SIMD4(lowHalf: a1, highHalf: b1), SIMD4(lowHalf: a2, highHalf: b2), SIMD4(lowHalf: a3, highHalf: b3))
    }

    /// Turns a row of `count` scores into exp(s_j - max) in place (max over the row; a
    /// row of -inf scores, which sees no key, becomes zeros) and returns
    /// sum_j exp(s_j - max), summed over j = 0, 1, ... in order (0 for a row of -inf).
    /// `count` is a multiple of two; e^x is `VectorMath.exp` (within a few units in the
    /// last place of libm's).
    static func exponentiate(_ row: UnsafeMutablePointer<Double>, count: Int) -> Double {
        var top = -Double.infinity
        for j in 0..<count { top = Swift.max(top, row[j]) }
        let shift = D2(repeating: top == -.infinity ? 0 : top)
        var sum = 0.0
        VectorMath.withPowers { powers in
            var j = 0
            while j < count {
                let y = VectorMath.exp(UnsafeRawPointer(row + j).loadUnaligned(as: D2.self) - shift, powers: powers)
                UnsafeMutableRawPointer(row + j).storeBytes(of: y, as: D2.self)
                sum += y[0]
                sum += y[1]
                j += 2
            }
        }
        return top == -.infinity ? 0 : sum
    }

    /// softmax(scale q_i . k_j) over the keys, times the values, for each query row:
    /// out[i * rowStride + c] = sum_j e_ij v_jc / sum_j e_ij with e_ij = exp(s_ij - max_i)
    /// and s_ij = scale (q_i . k_j). `keys` holds the keys as columns (depth: the query
    /// dimension), `values` the values as columns (depth: the keys).
    static func softmaxAttention(
        queries: Rows, keys: Columns, values: Columns, scale: Double, into out: UnsafeMutablePointer<Double>, rowStride: Int
    ) {
        precondition(values.depth == keys.count, "one value per key")
        let width = keys.paddedCount, rows = queries.count
        var scores = [Double](repeating: 0, count: rows * width)
        var sums = [Double](repeating: 0, count: rows)
        scores.withUnsafeMutableBufferPointer { buffer in
            guard let s = buffer.baseAddress else { return }
            multiply(queries, keys, into: s, rowStride: width)
            for i in 0..<rows {
                let row = s + i * width
                // Padding keys score -inf: their weights are 0.
                for j in 0..<width { row[j] = j < keys.count ? row[j] * scale : -.infinity }
                sums[i] = exponentiate(row, count: width)
            }
        }
        let weights = Rows(count: rows, depth: keys.count) { i, j in scores[i * width + j] }
        var product = [Double](repeating: 0, count: rows * values.paddedCount)
        product.withUnsafeMutableBufferPointer { buffer in
            guard let p = buffer.baseAddress else { return }
            multiply(weights, values, into: p, rowStride: values.paddedCount)
            for i in 0..<rows {
                let sum = sums[i]
                for c in 0..<values.count { out[i * rowStride + c] = sum > 0 ? p[i * values.paddedCount + c] / sum : 0 }
            }
        }
    }

    /// Calls `body(task)` for tasks 0 ..< count on all cores.
    static func parallel(_ count: Int, _ body: @Sendable (Int) -> Void) {
        guard count > 0 else { return }
        DispatchQueue.concurrentPerform(iterations: count, execute: body)
    }
}

/// A buffer of doubles that tasks running in parallel fill, each its own elements.
struct SharedDoubles: @unchecked Sendable {
    let base: UnsafeMutablePointer<Double>
}
