import Dispatch

/// Float64 reference implementations of attention, the ground truth for every algorithm.
///
/// Tensors are laid out as the tile programs see them: Q is [batch*heads, N, d], K and V
/// are [batch*kv_heads, Nkv, d]. Query head h of batch b reads key/value head
/// b*kv_heads + h / (heads / kv_heads) (grouped-query attention; MHA when equal).
public enum AttentionReference {
    /// Which keys each query may attend to. Query i sits at key position i + (Nkv - N)
    /// (bottom-right alignment, so a decode step's single query sees the whole cache).
    public struct Mask: Sendable, Equatable {
        /// Keys after the query's position are hidden.
        public var causal: Bool
        /// With `causal`, keys `window` or more positions before the query are hidden too
        /// (a sliding window of `window` keys, the query's own included).
        public var window: Int?
        /// Block-sparse pattern over blocks of `blockRows` queries x `blockColumns` keys.
        public var blocks: BlockPattern
        public var blockRows: Int
        public var blockColumns: Int

        public init(causal: Bool = false, window: Int? = nil, blocks: BlockPattern = .dense, blockRows: Int = 1, blockColumns: Int = 1) {
            self.causal = causal
            self.window = window
            self.blocks = blocks
            self.blockRows = blockRows
            self.blockColumns = blockColumns
        }

        public static let none = Mask()

        /// Whether some key is hidden from some query: causal, a window or a sparse block
        /// pattern (block sizes alone, with the dense pattern, hide nothing).
        public var hidesKeys: Bool { causal || window != nil || blocks != .dense }

        /// Whether query row i may see key j.
        @inlinable
        public func allows(query i: Int, key j: Int, queryLength: Int, keyLength: Int) -> Bool {
            if blocks != .dense && !blocks.allows(i / blockRows, j / blockColumns) { return false }
            guard causal || window != nil else { return true }
            let position = i + keyLength - queryLength
            if causal && j > position { return false }
            if let window, j <= position - window { return false }
            return true
        }
    }

    /// O = softmax(scale * Q K^T) V per head, in float64; returns [batch*heads, N, d].
    public static func output(
        _ problem: ProblemShape, q: HostTensor, k: HostTensor, v: HostTensor, mask: Mask = .none
    ) -> [Double] {
        outputAndLogSumExp(problem, q: q, k: k, v: v, mask: mask).output
    }

    /// O (as `output`) and LSE (as `logSumExp`) from one pass over the scores: each row's
    /// scores and exponentials are computed once and serve both. `transform` (RoPE, ALiBi,
    /// softcap, sinks) changes the scores as `ScoreTransform` describes; a row that sees no
    /// key has O = 0 and LSE = -inf.
    public static func outputAndLogSumExp(
        _ problem: ProblemShape, q: HostTensor, k: HostTensor, v: HostTensor, mask: Mask = .none, transform: ScoreTransform = .identity
    ) -> (output: [Double], logSumExp: [Double]) {
        let n = problem.queryLength, d = problem.headDim
        let heads = problem.batch * problem.heads
        var out = [Double](repeating: 0, count: heads * n * d)
        var lse = [Double](repeating: 0, count: heads * n)
        // Rows are independent: blocks of rows of every head run on all cores, each
        // writing its own rows, so the result is the same whatever the schedule.
        out.withUnsafeMutableBufferPointer { outBuffer in
            lse.withUnsafeMutableBufferPointer { lseBuffer in
                let target = SharedRows(out: outBuffer, lse: lseBuffer)
                forEachRowChunk(problem) { bh, rows in
                    var head = HeadPanels(problem, k: k, v: v, kvh: problem.kvHead(forQueryHead: bh), transform: transform)
                    var i = rows.lowerBound
                    while i < rows.upperBound {
                        let count = min(HeadPanels.groupRows, rows.upperBound - i)
                        head.rowGroup(problem, q: q, bh: bh, firstRow: i, count: count, mask: mask, withOutput: true)
                        for r in 0..<count {
                            target.lse[bh * n + i + r] = head.logSumExp[r]
                            let sum = head.sums[r]
                            let outBase = (bh * n + i + r) * d
                            for c in 0..<d { target.out[outBase + c] = sum > 0 ? head.output[r * head.paddedDim + c] / sum : 0 }
                        }
                        i += count
                    }
                }
            }
        }
        return (out, lse)
    }

    /// LSE_i = log sum_j exp(scale * q_i . k_j) per head (scores changed by `transform`),
    /// in float64; [batch*heads, N]. The same operations as `outputAndLogSumExp`'s, so the
    /// two agree exactly.
    public static func logSumExp(
        _ problem: ProblemShape, q: HostTensor, k: HostTensor, mask: Mask = .none, transform: ScoreTransform = .identity
    ) -> [Double] {
        let n = problem.queryLength
        var out = [Double](repeating: 0, count: problem.batch * problem.heads * n)
        out.withUnsafeMutableBufferPointer { buffer in
            let target = SharedRows(out: buffer, lse: buffer)
            forEachRowChunk(problem) { bh, rows in
                var head = HeadPanels(problem, k: k, v: nil, kvh: problem.kvHead(forQueryHead: bh), transform: transform)
                var i = rows.lowerBound
                while i < rows.upperBound {
                    let count = min(HeadPanels.groupRows, rows.upperBound - i)
                    head.rowGroup(problem, q: q, bh: bh, firstRow: i, count: count, mask: mask, withOutput: false)
                    for r in 0..<count { target.lse[bh * n + i + r] = head.logSumExp[r] }
                    i += count
                }
            }
        }
        return out
    }

    /// The output buffers the row blocks fill in parallel: each writes only its own rows.
    private struct SharedRows: @unchecked Sendable {
        let out: UnsafeMutableBufferPointer<Double>
        let lse: UnsafeMutableBufferPointer<Double>
    }

    /// Calls `body(head, rows)` for blocks of query rows of every head, on all cores: at
    /// least 32 blocks in all (work for every core of a common machine), each of at least
    /// 16 rows (a block packs its head's K and V once).
    private static func forEachRowChunk(_ problem: ProblemShape, _ body: @Sendable (Int, Range<Int>) -> Void) {
        let n = problem.queryLength
        let heads = problem.batch * problem.heads
        guard n > 0, heads > 0 else { return }
        let perHead = max(1, (32 + heads - 1) / heads)
        let chunk = max(16, (n + perHead - 1) / perHead)
        let chunks = (n + chunk - 1) / chunk
        DispatchQueue.concurrentPerform(iterations: heads * chunks) { item in
            let bh = item / chunks, first = item % chunks * chunk
            body(bh, first..<min(n, first + chunk))
        }
    }

    /// The score of query row i and key j: s = scale * q_i . k_j, then softcapped,
    /// s = c tanh(s / c), then biased, s += slope (j - position_i); -inf where the mask
    /// hides key j and no sink shows it.
    @inline(__always)
    static func score(dot: Double, scale: Double, query i: Int, key j: Int, mask: Mask, terms: ScoreTerms, problem: ProblemShape) -> Double {
        if terms.masked && !terms.sees(query: i, key: j, mask: mask, problem: problem) { return -.infinity }
        var s = dot * scale
        if let cap = terms.softcap { s = cap * _tanh(s / cap) }
        if let slope = terms.slope { s += slope * Double(j - (i + problem.keyLength - problem.queryLength)) }
        return s
    }

    /// What a score needs besides its dot product: the mask's visibility test (widened by
    /// sinks) and a `ScoreTransform`'s per-score terms for one head.
    struct ScoreTerms {
        /// Whether the mask hides any key (else every key is visible, sinks or not).
        let masked: Bool
        /// Keys 0 ..< sinks are visible to queries at or after them.
        let sinks: Int
        let softcap: Double?
        /// The head's ALiBi slope (nil: no bias).
        let slope: Double?

        init(mask: Mask, transform: ScoreTransform, head: Int, problem: ProblemShape) {
            masked = mask.hidesKeys
            sinks = masked ? transform.sinks : 0
            softcap = transform.softcap
            slope = transform.alibi ? ALiBi.slope(head: head % problem.heads, heads: problem.heads) ?? 0 : nil
        }

        /// Whether some score is more than scale * dot (a softcap or a bias).
        var changesScores: Bool { softcap != nil || slope != nil }

        /// Whether query row i sees key j: the mask allows it, or it is a sink at or before
        /// the query's position.
        @inline(__always)
        func sees(query i: Int, key j: Int, mask: Mask, problem: ProblemShape) -> Bool {
            if !masked || mask.allows(query: i, key: j, queryLength: problem.queryLength, keyLength: problem.keyLength) { return true }
            return j < sinks && j <= i + problem.keyLength - problem.queryLength
        }
    }
}

/// One key/value head in float64, laid out for blocked loops, and the scratch of a group
/// of up to four query rows computed together (they share every load of K and V).
///
/// K is packed in panels of four keys, each d x 4 (keys fastest), so the score loop reads
/// a panel in order while four rows x four keys of dot products stay in SIMD registers;
/// V is packed in panels of four columns, each Nkv x 4. Every dot product q_i . k_j is
/// summed over c = 0, 1, ... in order, every output column over j = 0, 1, ... in order,
/// so a row's results do not depend on which rows share its group. Padding keys (to a
/// multiple of four) score -inf; padding columns are zero. With RoPE, K rows are rotated
/// once as they are packed (key j at position j) and the group's query rows as they are
/// loaded (query i at position i + Nkv - N).
struct HeadPanels {
    typealias D2 = SIMD2<Double>
    static let groupRows = 4
    let keys: Int
    let dim: Int
    let paddedKeys: Int
    let paddedDim: Int
    let kvh: Int
    let transform: ScoreTransform
    /// The rotary embedding's frequencies (empty without RoPE).
    private let frequencies: [Double]
    /// One row of d values on its way into a panel (rotated there with RoPE).
    private var rotation: [Double]
    private var kPanels: [Double]
    private var vPanels: [Double]
    /// The group's rows of Q, each value twice (a ready two-lane splat): [dim][groupRows][2].
    private var queries: [Double]
    /// `exponentials`, each value twice, for the P.V loop: [paddedKeys][groupRows][2].
    private var weightPairs: [Double]
    /// exp(s_ij - max_i) per key j and row i (key-major: [paddedKeys][groupRows]), 0
    /// where masked.
    private(set) var exponentials: [Double]
    /// Per row: sum_j of `exponentials`, and the log-sum-exp (max + log(sum); -inf for a
    /// row that sees no key).
    private(set) var sums: [Double]
    private(set) var logSumExp: [Double]
    /// Per row: sum_j exponentials_ij v_j, groupRows x paddedDim (not yet divided by the sum).
    private(set) var output: [Double]

    init(_ problem: ProblemShape, k: HostTensor, v: HostTensor?, kvh: Int, transform: ScoreTransform = .identity) {
        let nkv = problem.keyLength, d = problem.headDim
        keys = nkv
        dim = d
        paddedKeys = (nkv + 3) / 4 * 4
        paddedDim = (d + 3) / 4 * 4
        self.kvh = kvh
        self.transform = transform
        frequencies = transform.rotary?.frequencies(headDim: d) ?? []
        rotation = [Double](repeating: 0, count: d)
        kPanels = [Double](repeating: 0, count: paddedKeys * d)
        let base = kvh * nkv * d
        for j in 0..<nkv {
            let panel = j / 4 * d * 4 + j % 4
            for c in 0..<d { rotation[c] = Double(k.values[base + j * d + c]) }
            transform.rotary?.rotate(&rotation, position: j, frequencies: frequencies)
            for c in 0..<d { kPanels[panel + c * 4] = rotation[c] }
        }
        if let v {
            vPanels = [Double](repeating: 0, count: paddedDim * nkv)
            for j in 0..<nkv {
                for c in 0..<d { vPanels[c / 4 * nkv * 4 + j * 4 + c % 4] = Double(v.values[base + j * d + c]) }
            }
        } else {
            vPanels = []
        }
        queries = [Double](repeating: 0, count: Self.groupRows * d * 2)
        weightPairs = [Double](repeating: 0, count: paddedKeys * Self.groupRows * 2)
        exponentials = [Double](repeating: 0, count: paddedKeys * Self.groupRows)
        sums = [Double](repeating: 0, count: Self.groupRows)
        logSumExp = sums
        output = [Double](repeating: 0, count: Self.groupRows * paddedDim)
    }

    /// Computes `count` (1 to 4) query rows from `firstRow` of head `bh`: their
    /// exponentials, sums and log-sum-exps, and with `withOutput` their unnormalised outputs.
    mutating func rowGroup(
        _ problem: ProblemShape, q: HostTensor, bh: Int, firstRow: Int, count: Int, mask: AttentionReference.Mask, withOutput: Bool
    ) {
        let n = problem.queryLength, d = dim
        let g = Self.groupRows
        // Missing rows of a short group repeat its last row (their results are ignored).
        for r in 0..<g {
            let row = firstRow + min(r, count - 1)
            let base = (bh * n + row) * d
            for c in 0..<d { rotation[c] = Double(q.values[base + c]) }
            transform.rotary?.rotate(&rotation, position: row + keys - n, frequencies: frequencies)
            for c in 0..<d {
                queries[(c * g + r) * 2] = rotation[c]
                queries[(c * g + r) * 2 + 1] = rotation[c]
            }
        }
        let terms = AttentionReference.ScoreTerms(mask: mask, transform: transform, head: bh, problem: problem)
        scores(problem, firstRow: firstRow, count: count, mask: mask, terms: terms)
        softmax()
        if withOutput { accumulateOutput(skipZeros: mask.hidesKeys) }
    }

    /// Fills `exponentials` with the scores (-inf where masked or past the last key).
    private mutating func scores(_ problem: ProblemShape, firstRow: Int, count: Int, mask: AttentionReference.Mask, terms: AttentionReference.ScoreTerms) {
        let d = dim, nkv = keys
        let scale = problem.effectiveScale
        let masked = terms.masked
        // A softcap or bias changes every score: no block takes the scale-only store.
        let plainScores = !terms.changesScores
        let rowOf = (0..<Self.groupRows).map { firstRow + min($0, count - 1) }
        queries.withUnsafeBufferPointer { qBuffer in
            kPanels.withUnsafeBufferPointer { kBuffer in
                exponentials.withUnsafeMutableBufferPointer { sBuffer in
                    guard let qp = qBuffer.baseAddress, let kp = kBuffer.baseAddress, let sp = sBuffer.baseAddress,
                        qBuffer.count >= 8 * d, kBuffer.count >= paddedKeys * d, sBuffer.count >= paddedKeys * 4
                    else { return }
                    var j0 = 0
                    while j0 < paddedKeys {
                        let out = sp + j0 * 4
                        // Whether any, and whether all, of the 4 x 4 scores are visible (none:
                        // skip the dots; all, with plain scores: store them without a
                        // per-score test). Sinks show keys the mask hides.
                        var visible = j0 + 3 < nkv && !masked
                        var allVisible = visible
                        if !visible {
                            allVisible = j0 + 3 < nkv
                            for r in 0..<4 {
                                for jj in 0..<4 where j0 + jj < nkv {
                                    if terms.sees(query: rowOf[r], key: j0 + jj, mask: mask, problem: problem) {
                                        visible = true
                                    } else {
                                        allVisible = false
                                    }
                                }
                            }
                        }
                        if !visible {
                            for e in 0..<16 { out[e] = -.infinity }
                            j0 += 4
                            continue
                        }
                        // Row r's dots with keys j0, j0 + 1 in a_r, with j0 + 2, j0 + 3 in b_r
                        // (two-lane vectors: the registers of a baseline x86-64 build).
                        var a0 = D2(), b0 = D2(), a1 = D2(), b1 = D2(), a2 = D2(), b2 = D2(), a3 = D2(), b3 = D2()
                        var panel = kp + j0 * d
                        var pairs = qp
                        for _ in 0..<d {
                            let low = UnsafeRawPointer(panel).loadUnaligned(as: D2.self)
                            let high = UnsafeRawPointer(panel + 2).loadUnaligned(as: D2.self)
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
                            panel += 4
                            pairs += 8
                        }
                        if allVisible && plainScores {
                            // A fully visible block: scale, and transpose two lanes at a time.
                            let factor = D2(repeating: scale)
                            func put(_ x: D2, _ y: D2, at index: Int) {
                                UnsafeMutableRawPointer(out + index).storeBytes(of: x * factor, as: D2.self)
                                UnsafeMutableRawPointer(out + index + 2).storeBytes(of: y * factor, as: D2.self)
                            }
                            put(D2(a0[0], a1[0]), D2(a2[0], a3[0]), at: 0)
                            put(D2(a0[1], a1[1]), D2(a2[1], a3[1]), at: 4)
                            put(D2(b0[0], b1[0]), D2(b2[0], b3[0]), at: 8)
                            put(D2(b0[1], b1[1]), D2(b2[1], b3[1]), at: 12)
                            j0 += 4
                            continue
                        }
                        let s0 = SIMD4(lowHalf: a0, highHalf: b0), s1 = SIMD4(lowHalf: a1, highHalf: b1)
                        let s2 = SIMD4(lowHalf: a2, highHalf: b2), s3 = SIMD4(lowHalf: a3, highHalf: b3)
                        // Transposed into key-major order: out[jj * 4 + r].
                        func put(_ dots: SIMD4<Double>, row r: Int) {
                            for jj in 0..<4 {
                                out[jj * 4 + r] = j0 + jj < nkv
                                    ? AttentionReference.score(dot: dots[jj], scale: scale, query: rowOf[r], key: j0 + jj, mask: mask, terms: terms, problem: problem)
                                    : -.infinity
                            }
                        }
                        put(s0, row: 0)
                        put(s1, row: 1)
                        put(s2, row: 2)
                        put(s3, row: 3)
                        j0 += 4
                    }
                }
            }
        }
    }

    /// Turns the scores in `exponentials` into exp(s - row max), copies them in pairs to
    /// `weightPairs`, and fills `sums` and `logSumExp`. The four rows of a key are
    /// adjacent, so each step handles all four; each row's sum still runs over
    /// j = 0, 1, ... in order.
    private mutating func softmax() {
        let nkv = keys, padded = paddedKeys
        typealias D4 = SIMD4<Double>
        var rowMax = D4(repeating: -.infinity)
        var sumLow = SIMD2<Double>(), sumHigh = SIMD2<Double>()
        exponentials.withUnsafeMutableBufferPointer { buffer in
            weightPairs.withUnsafeMutableBufferPointer { pairs in
                guard let e = buffer.baseAddress, let w = pairs.baseAddress, buffer.count >= padded * 4, pairs.count >= 8 * padded
                else { return }
                for j in 0..<nkv {
                    rowMax = pointwiseMax(rowMax, UnsafeRawPointer(e + 4 * j).loadUnaligned(as: D4.self))
                }
                // A row that sees no key has only -inf scores: subtracting 0 keeps them -inf,
                // whose exponential is 0 (as is every padding key's: padded is a multiple of 4).
                let shift = rowMax.replacing(with: 0, where: rowMax .== -.infinity)
                let low = shift.lowHalf, high = shift.highHalf
                VectorMath.withPowers { powers in
                    // Two keys a step (padded is a multiple of 4): four independent
                    // exponentials in flight. Rows' sums still add key j before key j + 1.
                    var j = 0
                    while j < padded {
                        let x = e + 4 * j
                        let y0 = VectorMath.exp(UnsafeRawPointer(x).loadUnaligned(as: SIMD2<Double>.self) - low, powers: powers)
                        let y1 = VectorMath.exp(UnsafeRawPointer(x + 2).loadUnaligned(as: SIMD2<Double>.self) - high, powers: powers)
                        let z0 = VectorMath.exp(UnsafeRawPointer(x + 4).loadUnaligned(as: SIMD2<Double>.self) - low, powers: powers)
                        let z1 = VectorMath.exp(UnsafeRawPointer(x + 6).loadUnaligned(as: SIMD2<Double>.self) - high, powers: powers)
                        UnsafeMutableRawPointer(x).storeBytes(of: y0, as: SIMD2<Double>.self)
                        UnsafeMutableRawPointer(x + 2).storeBytes(of: y1, as: SIMD2<Double>.self)
                        UnsafeMutableRawPointer(x + 4).storeBytes(of: z0, as: SIMD2<Double>.self)
                        UnsafeMutableRawPointer(x + 6).storeBytes(of: z1, as: SIMD2<Double>.self)
                        sumLow = sumLow + y0
                        sumHigh = sumHigh + y1
                        sumLow = sumLow + z0
                        sumHigh = sumHigh + z1
                        // Each weight twice, a ready two-lane splat for the P.V loop.
                        let pairs = w + 8 * j
                        UnsafeMutableRawPointer(pairs).storeBytes(of: SIMD2(y0[0], y0[0]), as: SIMD2<Double>.self)
                        UnsafeMutableRawPointer(pairs + 2).storeBytes(of: SIMD2(y0[1], y0[1]), as: SIMD2<Double>.self)
                        UnsafeMutableRawPointer(pairs + 4).storeBytes(of: SIMD2(y1[0], y1[0]), as: SIMD2<Double>.self)
                        UnsafeMutableRawPointer(pairs + 6).storeBytes(of: SIMD2(y1[1], y1[1]), as: SIMD2<Double>.self)
                        UnsafeMutableRawPointer(pairs + 8).storeBytes(of: SIMD2(z0[0], z0[0]), as: SIMD2<Double>.self)
                        UnsafeMutableRawPointer(pairs + 10).storeBytes(of: SIMD2(z0[1], z0[1]), as: SIMD2<Double>.self)
                        UnsafeMutableRawPointer(pairs + 12).storeBytes(of: SIMD2(z1[0], z1[0]), as: SIMD2<Double>.self)
                        UnsafeMutableRawPointer(pairs + 14).storeBytes(of: SIMD2(z1[1], z1[1]), as: SIMD2<Double>.self)
                        j += 2
                    }
                }
            }
        }
        let sum = D4(lowHalf: sumLow, highHalf: sumHigh)
        for r in 0..<Self.groupRows {
            sums[r] = rowMax[r] == -.infinity ? 0 : sum[r]
            logSumExp[r] = rowMax[r] == -.infinity ? -.infinity : rowMax[r] + _log(sum[r])
        }
    }

    /// output_i = sum_j exponentials_ij v_j, in j order.
    private mutating func accumulateOutput(skipZeros: Bool) {
        let nkv = keys, pd = paddedDim
        weightPairs.withUnsafeBufferPointer { eBuffer in
            vPanels.withUnsafeBufferPointer { vBuffer in
                output.withUnsafeMutableBufferPointer { oBuffer in
                    guard let ep = eBuffer.baseAddress, let vp = vBuffer.baseAddress, let op = oBuffer.baseAddress,
                        eBuffer.count >= nkv * 8, vBuffer.count >= pd * nkv, oBuffer.count >= 4 * pd
                    else { return }
                    var c0 = 0
                    while c0 < pd {
                        // Row r's columns c0, c0 + 1 in a_r, c0 + 2, c0 + 3 in b_r.
                        var a0 = D2(), b0 = D2(), a1 = D2(), b1 = D2(), a2 = D2(), b2 = D2(), a3 = D2(), b3 = D2()
                        var panel = vp + c0 * nkv
                        var weights = ep
                        for _ in 0..<nkv {
                            // Masked rows have runs of zero weights; unmasked ones none worth a test.
                            if !skipZeros || weights[0] != 0 || weights[2] != 0 || weights[4] != 0 || weights[6] != 0 {
                                let low = UnsafeRawPointer(panel).loadUnaligned(as: D2.self)
                                let high = UnsafeRawPointer(panel + 2).loadUnaligned(as: D2.self)
                                let w0 = UnsafeRawPointer(weights).loadUnaligned(as: D2.self)
                                let w1 = UnsafeRawPointer(weights + 2).loadUnaligned(as: D2.self)
                                a0 = a0 + w0 * low
                                b0 = b0 + w0 * high
                                a1 = a1 + w1 * low
                                b1 = b1 + w1 * high
                                let w2 = UnsafeRawPointer(weights + 4).loadUnaligned(as: D2.self)
                                let w3 = UnsafeRawPointer(weights + 6).loadUnaligned(as: D2.self)
                                a2 = a2 + w2 * low
                                b2 = b2 + w2 * high
                                a3 = a3 + w3 * low
                                b3 = b3 + w3 * high
                            }
                            panel += 4
                            weights += 8
                        }
                        UnsafeMutableRawPointer(op + c0).storeBytes(of: SIMD4(lowHalf: a0, highHalf: b0), as: SIMD4<Double>.self)
                        UnsafeMutableRawPointer(op + pd + c0).storeBytes(of: SIMD4(lowHalf: a1, highHalf: b1), as: SIMD4<Double>.self)
                        UnsafeMutableRawPointer(op + 2 * pd + c0).storeBytes(of: SIMD4(lowHalf: a2, highHalf: b2), as: SIMD4<Double>.self)
                        UnsafeMutableRawPointer(op + 3 * pd + c0).storeBytes(of: SIMD4(lowHalf: a3, highHalf: b3), as: SIMD4<Double>.self)
                        c0 += 4
                    }
                }
            }
        }
    }
}
