/// Multi-head latent attention (MLA) in float64, from the latent cache up (DeepSeek-V2,
/// arXiv 2405.04434, Section 2.1): per head h and cached token j,
///
///     k_j = [c_j W_UK,h ; k^R_j],   v_j = c_j W_UV,h,   q = [q^C ; q^R]
///     o = softmax(q . k_j / sqrt(d + d^R)) v
///
/// c_j [d_c] is the latent of token j, shared by every head, and k^R_j [d^R] its decoupled
/// RoPE key, also shared. Every query sees every cached token.
///
/// The products are associated whichever way costs fewer multiply-adds for the shape, as
/// the paper's Section 2.1.3 allows: q^C . (c_j W_UK,h) = (q^C W_UK,h^T) . c_j and
/// sum_j p_j (c_j W_UV,h) = (sum_j p_j c_j) W_UV,h. With few queries per head (decoding)
/// the weights are absorbed into the query and the output, and every head attends over
/// the latents, which all heads share; with many, each head's keys and values are
/// decompressed once. Both orders compute the same sums of the same products, so they
/// agree to float64 rounding (tested to 1e-12 of the output's largest magnitude against
/// a direct scalar implementation of the definition), far below the fp32 and fp16 errors
/// the reference judges; which order a program uses does not matter to it.
///
/// Products are float64, blocked (`ReferenceProduct`), and spread over all cores.
public enum LatentAttentionReference {
    /// How the products are associated (`output` picks the cheaper; tests pick either).
    enum Order {
        /// q W_UK^T against the latents, the latent output times W_UV.
        case absorbed
        /// Keys c W_UK and values c W_UV per head, then attention.
        case decompressed
    }

    /// Tensors in row-major order (any shape with these elements will do):
    /// qNope [batch*heads, N, d], qRope [batch*heads, N, dR], latent [batch, Nkv, dc] and
    /// ropeKey [batch, Nkv, dR], wUK [heads, dc, d], wUV [heads, dc, dv]; d, dR, dc and dv
    /// are the last dimensions of wUK, ropeKey, latent and wUV. Returns O
    /// [batch*heads, N, dv], or nil when the element counts do not fit together.
    public static func output(
        qNope: HostTensor, qRope: HostTensor, latent: HostTensor, ropeKey: HostTensor, wUK: HostTensor, wUV: HostTensor,
        batch: Int, heads: Int
    ) -> [Double]? {
        output(qNope: qNope, qRope: qRope, latent: latent, ropeKey: ropeKey, wUK: wUK, wUV: wUV, batch: batch, heads: heads, order: nil)
    }

    /// `output` with the products associated in `order` (nil: the cheaper for the shape).
    static func output(
        qNope: HostTensor, qRope: HostTensor, latent: HostTensor, ropeKey: HostTensor, wUK: HostTensor, wUV: HostTensor,
        batch: Int, heads: Int, order: Order?
    ) -> [Double]? {
        guard batch > 0, heads > 0, let dc = latent.shape.last, let dr = ropeKey.shape.last, let d = wUK.shape.last,
            let dv = wUV.shape.last, dc > 0, dr > 0, d > 0, dv > 0,
            latent.count % (batch * dc) == 0, wUK.count == heads * dc * d, wUV.count == heads * dc * dv
        else { return nil }
        let nkv = latent.count / (batch * dc)
        guard nkv > 0, ropeKey.count == batch * nkv * dr, qNope.count % (batch * heads * d) == 0 else { return nil }
        let n = qNope.count / (batch * heads * d)
        guard qRope.count == batch * heads * n * dr else { return nil }
        let inputs = Inputs(
            qNope: qNope, qRope: qRope, latent: latent, ropeKey: ropeKey, wUK: wUK, wUV: wUV,
            heads: heads, n: n, nkv: nkv, d: d, dr: dr, dc: dc, dv: dv)
        var out = [Double](repeating: 0, count: batch * heads * n * dv)
        out.withUnsafeMutableBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return }
            let target = SharedDoubles(base: base)
            for b in 0..<batch {
                switch order ?? inputs.cheaperOrder {
                case .absorbed: absorbed(inputs, batch: b, into: target)
                case .decompressed: decompressed(inputs, batch: b, into: target)
                }
            }
        }
        return out
    }

    /// The tensors and sizes of one reference computation.
    private struct Inputs: Sendable {
        let qNope: HostTensor, qRope: HostTensor, latent: HostTensor, ropeKey: HostTensor, wUK: HostTensor, wUV: HostTensor
        let heads: Int, n: Int, nkv: Int, d: Int, dr: Int, dc: Int, dv: Int

        /// Multiply-adds per head and sequence: absorbed, N (dc d + Nkv (2 dc + dR) + dc dv)
        /// (the absorbed query, the scores and the weighted latents over dc + dR and dc,
        /// the up-projection); decompressed, Nkv dc (d + dv) + N Nkv (d + dR + dv).
        var cheaperOrder: Order {
            let absorbedCost = n * (dc * d + nkv * (2 * dc + dr) + dc * dv)
            let decompressedCost = nkv * dc * (d + dv) + n * nkv * (d + dr + dv)
            return absorbedCost <= decompressedCost ? .absorbed : .decompressed
        }

        /// Query rows (head h, query i) = (b heads + h) N + i of qNope and qRope.
        func queryRow(batch b: Int, head h: Int, query i: Int) -> Int { (b * heads + h) * n + i }
    }

    /// Rows per block of queries: the keys and values are streamed once per block.
    private static let blockRows = 32

    /// One sequence, absorbed: every head's queries q^C W_UK,h^T (with q^R appended) attend
    /// over the shared keys [c_j ; k^R_j] and values c_j, and each latent output is
    /// multiplied by its head's W_UV. Blocks of (head, query) rows run on all cores.
    private static func absorbed(_ x: Inputs, batch b: Int, into target: SharedDoubles) {
        let keys = ReferenceProduct.Columns(count: x.nkv, depth: x.dc + x.dr) { p, j in
            p < x.dc ? Double(x.latent.values[(b * x.nkv + j) * x.dc + p]) : Double(x.ropeKey.values[(b * x.nkv + j) * x.dr + p - x.dc])
        }
        let values = ReferenceProduct.Columns(count: x.dc, depth: x.nkv) { j, c in Double(x.latent.values[(b * x.nkv + j) * x.dc + c]) }
        let rows = x.heads * x.n
        let blocks = (rows + blockRows - 1) / blockRows
        ReferenceProduct.parallel(blocks) { block in
            let first = block * blockRows, count = min(blockRows, rows - first)
            let width = (x.dc + 3) / 4 * 4
            // The block's absorbed queries, then its latent outputs: count x dc (stride width).
            var latentRows = [Double](repeating: 0, count: count * width)
            latentRows.withUnsafeMutableBufferPointer { buffer in
                guard let lat = buffer.baseAddress else { return }
                forEachHead(x, rows: first..<(first + count)) { h, queries, offset in
                    let nope = ReferenceProduct.Rows(count: queries.count, depth: x.d) { r, c in
                        Double(x.qNope.values[x.queryRow(batch: b, head: h, query: queries.lowerBound + r) * x.d + c])
                    }
                    let wUKT = ReferenceProduct.Columns(count: x.dc, depth: x.d) { c, r in Double(x.wUK.values[(h * x.dc + r) * x.d + c]) }
                    ReferenceProduct.multiply(nope, wUKT, into: lat + offset * width, rowStride: width)
                }
                let queries = ReferenceProduct.Rows(count: count, depth: x.dc + x.dr) { r, p in
                    if p < x.dc { return lat[r * width + p] }
                    let row = first + r
                    return Double(x.qRope.values[x.queryRow(batch: b, head: row / x.n, query: row % x.n) * x.dr + p - x.dc])
                }
                ReferenceProduct.softmaxAttention(
                    queries: queries, keys: keys, values: values, scale: 1 / Double(x.d + x.dr).squareRoot(), into: lat, rowStride: width)
                forEachHead(x, rows: first..<(first + count)) { h, queries, offset in
                    let latentOut = ReferenceProduct.Rows(count: queries.count, depth: x.dc, matrix: lat + offset * width, stride: width)
                    let wUV = ReferenceProduct.Columns(count: x.dv, depth: x.dc) { r, c in Double(x.wUV.values[(h * x.dc + r) * x.dv + c]) }
                    var o = [Double](repeating: 0, count: queries.count * wUV.paddedCount)
                    o.withUnsafeMutableBufferPointer { result in
                        guard let op = result.baseAddress else { return }
                        ReferenceProduct.multiply(latentOut, wUV, into: op, rowStride: wUV.paddedCount)
                        for r in 0..<queries.count {
                            let row = x.queryRow(batch: b, head: h, query: queries.lowerBound + r)
                            for c in 0..<x.dv { target.base[row * x.dv + c] = op[r * wUV.paddedCount + c] }
                        }
                    }
                }
            }
        }
    }

    /// Calls `body(head, queries, offset)` for each head whose rows (head, query) = head N +
    /// query fall in `rows`: its queries there, and the first one's offset in `rows`.
    private static func forEachHead(_ x: Inputs, rows: Range<Int>, _ body: (Int, Range<Int>, Int) -> Void) {
        var row = rows.lowerBound
        while row < rows.upperBound {
            let h = row / x.n, i = row % x.n
            let end = min(rows.upperBound, (h + 1) * x.n)
            body(h, i..<(i + end - row), row - rows.lowerBound)
            row = end
        }
    }

    /// One sequence, decompressed: per head (on all cores), keys [c_j W_UK,h ; k^R_j] and
    /// values c_j W_UV,h, then attention of the head's queries [q^C ; q^R] over them.
    private static func decompressed(_ x: Inputs, batch b: Int, into target: SharedDoubles) {
        let latents = ReferenceProduct.Rows(count: x.nkv, depth: x.dc) { j, r in Double(x.latent.values[(b * x.nkv + j) * x.dc + r]) }
        ReferenceProduct.parallel(x.heads) { h in
            let wUK = ReferenceProduct.Columns(count: x.d, depth: x.dc) { r, c in Double(x.wUK.values[(h * x.dc + r) * x.d + c]) }
            let wUV = ReferenceProduct.Columns(count: x.dv, depth: x.dc) { r, c in Double(x.wUV.values[(h * x.dc + r) * x.dv + c]) }
            var k = [Double](repeating: 0, count: x.nkv * wUK.paddedCount)
            var v = [Double](repeating: 0, count: x.nkv * wUV.paddedCount)
            k.withUnsafeMutableBufferPointer { buffer in
                guard let kp = buffer.baseAddress else { return }
                ReferenceProduct.multiply(latents, wUK, into: kp, rowStride: wUK.paddedCount)
            }
            v.withUnsafeMutableBufferPointer { buffer in
                guard let vp = buffer.baseAddress else { return }
                ReferenceProduct.multiply(latents, wUV, into: vp, rowStride: wUV.paddedCount)
            }
            let keys = ReferenceProduct.Columns(count: x.nkv, depth: x.d + x.dr) { p, j in
                p < x.d ? k[j * wUK.paddedCount + p] : Double(x.ropeKey.values[(b * x.nkv + j) * x.dr + p - x.d])
            }
            let values = ReferenceProduct.Columns(count: x.dv, depth: x.nkv) { j, c in v[j * wUV.paddedCount + c] }
            var first = 0
            while first < x.n {
                let count = min(blockRows, x.n - first)
                let queries = ReferenceProduct.Rows(count: count, depth: x.d + x.dr) { r, p in
                    let row = x.queryRow(batch: b, head: h, query: first + r)
                    return p < x.d ? Double(x.qNope.values[row * x.d + p]) : Double(x.qRope.values[row * x.dr + p - x.d])
                }
                let row = x.queryRow(batch: b, head: h, query: first)
                ReferenceProduct.softmaxAttention(
                    queries: queries, keys: keys, values: values, scale: 1 / Double(x.d + x.dr).squareRoot(),
                    into: target.base + row * x.dv, rowStride: x.dv)
                first += count
            }
        }
    }
}
