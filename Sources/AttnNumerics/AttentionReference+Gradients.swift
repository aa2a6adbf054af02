extension AttentionReference {
    /// Gradients of the loss <dO, O> with O = softmax(scale Q K^T) V, in float64:
    ///
    ///     dV = P^T dO,  dP = dO V^T,  D_i = sum_c dO_ic O_ic,
    ///     dS = P o (dP - D),  dQ = scale dS K,  dK = scale dS^T Q
    ///
    /// (Dao 2023, Section 2.2; for GQA the key/value gradients of a group's query heads
    /// add up). Returns dQ [batch*heads, N, d], dK and dV [batch*kv_heads, Nkv, d].
    ///
    /// Blocks of `gradientRows` query rows go through float64 matrix products
    /// (`ReferenceProduct`) over the keys the mask can show them (a causal or windowed
    /// block skips the keys no row of it sees); query heads run on all cores, each adding
    /// its own dK and dV, and the heads of a group are summed in head order. The sums are
    /// the formulas', regrouped, so the gradients agree with the row-by-row scalar
    /// formulas to float64 rounding (tested to 1e-12 of each gradient's largest
    /// magnitude).
    public static func gradients(
        _ problem: ProblemShape, q: HostTensor, k: HostTensor, v: HostTensor, dO: HostTensor, mask: Mask = .none
    ) -> (dQ: [Double], dK: [Double], dV: [Double]) {
        let n = problem.queryLength, nkv = problem.keyLength, d = problem.headDim
        let heads = problem.batch * problem.heads
        let stride = (d + 3) / 4 * 4
        var dQ = [Double](repeating: 0, count: heads * n * d)
        var dK = [Double](repeating: 0, count: problem.batch * problem.kvHeads * nkv * d)
        var dV = dK
        guard n > 0, nkv > 0, d > 0 else { return (dQ, dK, dV) }
        // Per query head, its dK then its dV: 2 x Nkv rows of `stride`.
        var partial = [Double](repeating: 0, count: heads * 2 * nkv * stride)
        dQ.withUnsafeMutableBufferPointer { dqBuffer in
            partial.withUnsafeMutableBufferPointer { partialBuffer in
                guard let dqBase = dqBuffer.baseAddress, let partialBase = partialBuffer.baseAddress else { return }
                let dq = SharedDoubles(base: dqBase)
                let sums = SharedDoubles(base: partialBase)
                ReferenceProduct.parallel(heads) { bh in
                    GradientHead(problem: problem, q: q, k: k, v: v, dO: dO, mask: mask, bh: bh, stride: stride)
                        .run(dQ: dq, keyValue: sums.base + bh * 2 * nkv * stride)
                }
            }
        }
        for bh in 0..<heads {
            let kvBase = problem.kvHead(forQueryHead: bh) * nkv * d
            for j in 0..<nkv {
                for c in 0..<d {
                    dK[kvBase + j * d + c] += partial[(bh * 2 * nkv + j) * stride + c]
                    dV[kvBase + j * d + c] += partial[(bh * 2 * nkv + nkv + j) * stride + c]
                }
            }
        }
        return (dQ, dK, dV)
    }

    /// Query rows per block of `gradients`.
    static let gradientRows = 64
}

/// One query head of `AttentionReference.gradients`.
private struct GradientHead {
    let problem: ProblemShape
    let q: HostTensor, k: HostTensor, v: HostTensor, dO: HostTensor
    let mask: AttentionReference.Mask
    let bh: Int
    /// Row stride of the head's dK and dV (d padded to whole panels).
    let stride: Int

    /// Writes the head's dQ rows into `dQ` and its dK, dV (Nkv rows of `stride` each) at
    /// `keyValue`.
    func run(dQ: SharedDoubles, keyValue: UnsafeMutablePointer<Double>) {
        let n = problem.queryLength, nkv = problem.keyLength
        let offset = nkv - n  // query i's key position is i + offset
        var first = 0
        while first < n {
            let rows = min(AttentionReference.gradientRows, n - first)
            // The keys some row of the block may see: none after the last row's position
            // (causal), none at or before the first row's position less the window.
            var keys = 0..<nkv
            if mask.causal { keys = 0..<max(0, min(nkv, first + rows + offset)) }
            if let window = mask.window { keys = max(0, min(keys.upperBound, first + offset - window + 1))..<keys.upperBound }
            if !keys.isEmpty { block(rows: first..<(first + rows), keys: keys, dQ: dQ, keyValue: keyValue) }
            first += rows
        }
    }

    /// The gradients of query rows `rows` through keys `keys`.
    private func block(rows: Range<Int>, keys: Range<Int>, dQ: SharedDoubles, keyValue: UnsafeMutablePointer<Double>) {
        let n = problem.queryLength, nkv = problem.keyLength, d = problem.headDim
        let scale = problem.effectiveScale
        let qBase = bh * n * d, kvBase = problem.kvHead(forQueryHead: bh) * nkv * d
        let count = rows.count, keyCount = keys.count
        func rowsOf(_ x: HostTensor) -> ReferenceProduct.Rows {
            ReferenceProduct.Rows(count: count, depth: d) { r, c in Double(x.values[qBase + (rows.lowerBound + r) * d + c]) }
        }
        /// Key rows of x as columns of depth d (for products with query rows).
        func keyColumns(_ x: HostTensor) -> ReferenceProduct.Columns {
            ReferenceProduct.Columns(count: keyCount, depth: d) { c, j in Double(x.values[kvBase + (keys.lowerBound + j) * d + c]) }
        }
        /// x's d columns over the keys (for products with weights over the keys).
        func valueColumns(_ x: HostTensor) -> ReferenceProduct.Columns {
            ReferenceProduct.Columns(count: d, depth: keyCount) { j, c in Double(x.values[kvBase + (keys.lowerBound + j) * d + c]) }
        }
        /// The block's rows of x as d columns over its rows (for products with key rows).
        func queryColumns(_ x: HostTensor) -> ReferenceProduct.Columns {
            ReferenceProduct.Columns(count: d, depth: count) { r, c in Double(x.values[qBase + (rows.lowerBound + r) * d + c]) }
        }
        let width = (keyCount + 3) / 4 * 4
        var p = [Double](repeating: 0, count: count * width)
        var dP = p
        var o = [Double](repeating: 0, count: count * stride)
        let hides = mask.hidesKeys
        p.withUnsafeMutableBufferPointer { buffer in
            guard let s = buffer.baseAddress else { return }
            // P = softmax(scale Q K^T) over the visible keys.
            ReferenceProduct.multiply(rowsOf(q), keyColumns(k), into: s, rowStride: width)
            for r in 0..<count {
                let row = s + r * width
                for j in 0..<width {
                    let visible = j < keyCount
                        && (!hides || mask.allows(query: rows.lowerBound + r, key: keys.lowerBound + j, queryLength: n, keyLength: nkv))
                    row[j] = visible ? row[j] * scale : -.infinity
                }
                let sum = ReferenceProduct.exponentiate(row, count: width)
                if sum > 0 {
                    for j in 0..<keyCount { row[j] /= sum }
                }
            }
        }
        let weights = ReferenceProduct.Rows(count: count, depth: keyCount) { r, j in p[r * width + j] }
        o.withUnsafeMutableBufferPointer { buffer in
            guard let op = buffer.baseAddress else { return }
            ReferenceProduct.multiply(weights, valueColumns(v), into: op, rowStride: stride)
        }
        let gradientRows = rowsOf(dO)
        dP.withUnsafeMutableBufferPointer { buffer in
            guard let dp = buffer.baseAddress else { return }
            ReferenceProduct.multiply(gradientRows, keyColumns(v), into: dp, rowStride: width)
            // dS = scale P o (dP - D), D_r = dO_r . O_r, written over dP.
            for r in 0..<count {
                var dot = 0.0
                for c in 0..<d { dot += Double(dO.values[qBase + (rows.lowerBound + r) * d + c]) * o[r * stride + c] }
                for j in 0..<width { dp[r * width + j] = j < keyCount ? p[r * width + j] * (dp[r * width + j] - dot) * scale : 0 }
            }
        }
        let dS = dP
        // dQ = dS K.
        o.withUnsafeMutableBufferPointer { buffer in
            guard let op = buffer.baseAddress else { return }
            ReferenceProduct.multiply(
                ReferenceProduct.Rows(count: count, depth: keyCount) { r, j in dS[r * width + j] }, valueColumns(k), into: op, rowStride: stride)
            for r in 0..<count {
                for c in 0..<d { dQ.base[qBase + (rows.lowerBound + r) * d + c] = op[r * stride + c] }
            }
        }
        // dK += dS^T Q and dV += P^T dO over the block's keys.
        ReferenceProduct.multiply(
            ReferenceProduct.Rows(count: keyCount, depth: count) { j, r in dS[r * width + j] }, queryColumns(q),
            into: keyValue + keys.lowerBound * stride, rowStride: stride, accumulate: true)
        ReferenceProduct.multiply(
            ReferenceProduct.Rows(count: keyCount, depth: count) { j, r in p[r * width + j] }, queryColumns(dO),
            into: keyValue + (nkv + keys.lowerBound) * stride, rowStride: stride, accumulate: true)
    }
}
