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
                forEachRowGroup(problem, q: q, k: k, v: v, mask: mask, transform: transform) { head, bh, i, count in
                    for r in 0..<count {
                        target.lse[bh * n + i + r] = head.logSumExp[r]
                        let sum = head.sums[r]
                        let outBase = (bh * n + i + r) * d
                        for c in 0..<d { target.out[outBase + c] = sum > 0 ? head.output[r * head.paddedDim + c] / sum : 0 }
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
            forEachRowGroup(problem, q: q, k: k, v: nil, mask: mask, transform: transform) { head, bh, i, count in
                for r in 0..<count { target.lse[bh * n + i + r] = head.logSumExp[r] }
            }
        }
        return out
    }

    /// The output buffers the row blocks fill in parallel: each writes only its own rows.
    private struct SharedRows: @unchecked Sendable {
        let out: UnsafeMutableBufferPointer<Double>
        let lse: UnsafeMutableBufferPointer<Double>
    }

    /// Computes every group of up to four query rows of every head with `HeadPanels`
    /// (their output too when `v` is given) and calls `store(head, bh, firstRow, count)`
    /// with each group's results, on all cores. The rows go in blocks: rows of every query
    /// head that reads one key/value head (packed once per block), at least 32 blocks in
    /// all (work for every core of a common machine) where there are enough rows, each of
    /// at least 16 rows per query head.
    private static func forEachRowGroup(
        _ problem: ProblemShape, q: HostTensor, k: HostTensor, v: HostTensor?, mask: Mask, transform: ScoreTransform,
        _ store: @Sendable (HeadPanels, Int, Int, Int) -> Void
    ) {
        let n = problem.queryLength
        // Query heads b heads + g G ..< + G read key/value head b kv_heads + g (G = heads /
        // kv_heads); a shape whose heads are not a multiple of kv_heads goes head by head.
        let group = problem.kvHeads > 0 && problem.heads % problem.kvHeads == 0 ? problem.heads / problem.kvHeads : 1
        let units = problem.batch * problem.heads / group
        guard n > 0, units > 0 else { return }
        let perUnit = max(1, (32 + units - 1) / units)
        let chunk = max(16, (n + perUnit - 1) / perUnit)
        let chunks = (n + chunk - 1) / chunk
        DispatchQueue.concurrentPerform(iterations: units * chunks) { item in
            let firstHead = item / chunks * group, rows = item % chunks * chunk..<min(n, (item % chunks + 1) * chunk)
            var head = HeadPanels(problem, k: k, v: v, kvh: problem.kvHead(forQueryHead: firstHead), transform: transform)
            for bh in firstHead..<(firstHead + group) {
                var i = rows.lowerBound
                while i < rows.upperBound {
                    let count = min(HeadPanels.blockRows, rows.upperBound - i)
                    head.rowBlock(problem, q: q, bh: bh, firstRow: i, count: count, mask: mask, withOutput: v != nil)
                    store(head, bh, i, count)
                    i += count
                }
            }
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

/// One key/value head in float64, laid out for blocked loops, and the scratch of a block
/// of up to sixteen query rows of one head computed together: four groups of four rows.
/// A group's rows share every load of K and V (four rows x four keys of dot products stay
/// in registers), and the groups share each panel of K and tile of V while it is in the
/// core's cache, so K and V are read from memory once per block.
///
/// K is packed in panels of four keys, each d x 4 (keys fastest), so the score loop reads
/// a panel in order while four rows x four keys of dot products stay in SIMD registers;
/// V is packed in panels of four columns, each Nkv x 4. Every dot product q_i . k_j is
/// summed over c = 0, 1, ... in order, every output column over j = 0, 1, ... in order,
/// so a row's results do not depend on which rows share its group or block. Padding keys (to a
/// multiple of four) score -inf; padding columns are zero. With RoPE, K rows are rotated
/// once as they are packed (key j at position j) and the group's query rows as they are
/// loaded (query i at position i + Nkv - N).
struct HeadPanels {
    typealias D2 = SIMD2<Double>
    static let groupRows = 4
    /// Groups per block.
    static let blockGroups = 4
    /// Rows per block.
    static let blockRows = groupRows * blockGroups
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
    /// The block's rows of Q, each value twice (a ready two-lane splat):
    /// [blockGroups][dim][groupRows][2].
    private var queries: [Double]
    /// `exponentials`, each value twice, for the P.V loop: [blockGroups][paddedKeys][groupRows][2].
    private var weightPairs: [Double]
    /// exp(s_ij - max_i) per key j and row i, key-major in each group
    /// ([blockGroups][paddedKeys][groupRows]), 0 where masked.
    private var exponentials: [Double]
    /// Per row of the block: sum_j of `exponentials`, and the log-sum-exp (max + log(sum);
    /// -inf for a row that sees no key).
    private(set) var sums: [Double]
    private(set) var logSumExp: [Double]
    /// Per row of the block: sum_j exponentials_ij v_j, blockRows x paddedDim (not yet
    /// divided by the sum).
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
        queries = [Double](repeating: 0, count: Self.blockRows * d * 2)
        weightPairs = [Double](repeating: 0, count: paddedKeys * Self.blockRows * 2)
        exponentials = [Double](repeating: 0, count: paddedKeys * Self.blockRows)
        sums = [Double](repeating: 0, count: Self.blockRows)
        logSumExp = sums
        output = [Double](repeating: 0, count: Self.blockRows * paddedDim)
    }

    /// Computes `count` (1 to 16) query rows from `firstRow` of head `bh`: their sums and
    /// log-sum-exps, and with `withOutput` their unnormalised outputs (row r of the block
    /// at index r).
    mutating func rowBlock(
        _ problem: ProblemShape, q: HostTensor, bh: Int, firstRow: Int, count: Int, mask: AttentionReference.Mask, withOutput: Bool
    ) {
        let n = problem.queryLength, d = dim
        let g = Self.groupRows
        let groups = (count + g - 1) / g
        // Missing rows of a short group repeat its last row (their results are ignored).
        // Row r of group k: rowOf[k g + r].
        let rowOf = (0..<(groups * g)).map { firstRow + $0 / g * g + min($0 % g, count - $0 / g * g - 1) }
        for group in 0..<groups {
            for r in 0..<g {
                let row = rowOf[group * g + r]
                let base = (bh * n + row) * d
                for c in 0..<d { rotation[c] = Double(q.values[base + c]) }
                transform.rotary?.rotate(&rotation, position: row + keys - n, frequencies: frequencies)
                for c in 0..<d {
                    queries[((group * d + c) * g + r) * 2] = rotation[c]
                    queries[((group * d + c) * g + r) * 2 + 1] = rotation[c]
                }
            }
        }
        let terms = AttentionReference.ScoreTerms(mask: mask, transform: transform, head: bh, problem: problem)
        scores(problem, groups: groups, rowOf: rowOf, mask: mask, terms: terms)
        for group in 0..<groups { softmax(group: group) }
        if withOutput { accumulateOutput(groups: groups, masked: mask.hidesKeys, scattered: mask.blocks != .dense || terms.sinks > 0) }
    }

    /// Fills `exponentials` with the scores of `groups` groups of rows, group k's rows
    /// `rowOf[4 k ..< 4 k + 4]` (-inf where masked or past the last key). Each panel of
    /// four keys serves every group in turn.
    private mutating func scores(_ problem: ProblemShape, groups: Int, rowOf: [Int], mask: AttentionReference.Mask, terms: AttentionReference.ScoreTerms) {
        let d = dim, nkv = keys, padded = paddedKeys
        let scale = problem.effectiveScale
        let masked = terms.masked
        // A softcap or bias changes every score: no block takes the scale-only store.
        let plainScores = !terms.changesScores
        // With a block pattern, each group's block row when all four rows share one.
        let blockRows = (0..<groups).map { k in
            mask.blocks != .dense && rowOf[4 * k] / mask.blockRows == rowOf[4 * k + 3] / mask.blockRows ? rowOf[4 * k] / mask.blockRows : nil
        }
        var unpatterned = mask
        unpatterned.blocks = .dense
        queries.withUnsafeBufferPointer { qBuffer in
            kPanels.withUnsafeBufferPointer { kBuffer in
                exponentials.withUnsafeMutableBufferPointer { sBuffer in
                    rowOf.withUnsafeBufferPointer { rowBuffer in
                        guard let qBase = qBuffer.baseAddress, let kp = kBuffer.baseAddress, let sBase = sBuffer.baseAddress,
                            let rows = rowBuffer.baseAddress, rowBuffer.count >= 4 * groups,
                            qBuffer.count >= 8 * d * groups, kBuffer.count >= padded * d, sBuffer.count >= padded * 4 * groups
                        else { return }
                        /// Group's 4 x 4 scores of keys j0 ..< j0 + 4 at `out` (key-major).
                        func score(j0: Int, rowOf: UnsafePointer<Int>, blockRow: Int?, qp: UnsafePointer<Double>, out: UnsafeMutablePointer<Double>) {
                            // Whether any, and whether all, of the 4 x 4 scores are visible (none:
                            // skip the dots; all, with plain scores: store them without a
                            // per-score test). Sinks show keys the mask hides.
                            var visible = j0 + 3 < nkv && !masked
                            var allVisible = visible
                            if !visible {
                                allVisible = j0 + 3 < nkv
                                // A block of the pattern holding all 16 scores decides them with one
                                // test: hidden (and no sink among the keys), or shown, leaving only
                                // the causal and window conditions to test per score.
                                var test = mask
                                if let blockRow, j0 / mask.blockColumns == (j0 + 3) / mask.blockColumns {
                                    if mask.blocks.allows(blockRow, j0 / mask.blockColumns) {
                                        test = unpatterned
                                    } else if terms.sinks <= j0 {
                                        for e in 0..<16 { out[e] = -.infinity }
                                        return
                                    }
                                }
                                for r in 0..<4 {
                                    for jj in 0..<4 where j0 + jj < nkv {
                                        if terms.sees(query: rowOf[r], key: j0 + jj, mask: test, problem: problem) {
                                            visible = true
                                        } else {
                                            allVisible = false
                                        }
                                    }
                                }
                            }
                            if !visible {
                                for e in 0..<16 { out[e] = -.infinity }
                                return
                            }
                            // Row r's dots with keys j0 ..< j0 + 4 in s_r.
                            let (s0, s1, s2, s3) = ReferenceProduct.dots(depth: d, rows: qp, panel: kp + j0 * d)
                            if allVisible && plainScores {
                                // A fully visible block: scale, and transpose two lanes at a time.
                                let factor = D2(repeating: scale)
                                func put(_ x: D2, _ y: D2, at index: Int) {
                                    UnsafeMutableRawPointer(out + index).storeBytes(of: x * factor, as: D2.self)
                                    UnsafeMutableRawPointer(out + index + 2).storeBytes(of: y * factor, as: D2.self)
                                }
                                put(D2(s0[0], s1[0]), D2(s2[0], s3[0]), at: 0)
                                put(D2(s0[1], s1[1]), D2(s2[1], s3[1]), at: 4)
                                put(D2(s0[2], s1[2]), D2(s2[2], s3[2]), at: 8)
                                put(D2(s0[3], s1[3]), D2(s2[3], s3[3]), at: 12)
                                return
                            }
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
                        }
                        for j0 in stride(from: 0, to: padded, by: 4) {
                            for group in 0..<groups {
                                score(j0: j0, rowOf: rows + 4 * group, blockRow: blockRows[group], qp: qBase + group * 8 * d, out: sBase + (group * padded + j0) * 4)
                            }
                        }
                    }
                }
            }
        }
    }

    /// Turns group `group`'s scores in `exponentials` into exp(s - row max), copies them in
    /// pairs to `weightPairs`, and fills its rows' `sums` and `logSumExp`. The four rows of
    /// a key are adjacent, so each step handles all four; each row's sum still runs over
    /// j = 0, 1, ... in order.
    private mutating func softmax(group: Int) {
        let nkv = keys, padded = paddedKeys
        typealias D4 = SIMD4<Double>
        var rowMax = D4(repeating: -.infinity)
        var sumLow = SIMD2<Double>(), sumHigh = SIMD2<Double>()
        exponentials.withUnsafeMutableBufferPointer { buffer in
            weightPairs.withUnsafeMutableBufferPointer { pairs in
                guard let base = buffer.baseAddress, let pairBase = pairs.baseAddress,
                    buffer.count >= (group + 1) * padded * 4, pairs.count >= (group + 1) * 8 * padded
                else { return }
                let e = base + group * padded * 4, w = pairBase + group * padded * 8
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
            sums[group * Self.groupRows + r] = rowMax[r] == -.infinity ? 0 : sum[r]
            logSumExp[group * Self.groupRows + r] = rowMax[r] == -.infinity ? -.infinity : rowMax[r] + _log(sum[r])
        }
    }

    /// output_i = sum_j exponentials_ij v_j, in j order, for the rows of the first `groups`
    /// groups. With a mask (`masked`) only the keys from a group's first to its last
    /// nonzero weight are walked (the others would add zeros); with `scattered` zeros
    /// between them (a block-sparse pattern, or sinks apart from a window) steps where all
    /// four weights are zero are skipped too. The keys go in tiles of `keyTile`: each
    /// four-column slice of a tile of V serves every group while it is in the first-level
    /// cache, and each sum continues from the tile before, so the order is the same.
    private mutating func accumulateOutput(groups: Int, masked: Bool, scattered: Bool) {
        let nkv = keys, pd = paddedDim, padded = paddedKeys
        weightPairs.withUnsafeBufferPointer { eBuffer in
            vPanels.withUnsafeBufferPointer { vBuffer in
                output.withUnsafeMutableBufferPointer { oBuffer in
                    guard let eBase = eBuffer.baseAddress, let vp = vBuffer.baseAddress, let op = oBuffer.baseAddress,
                        eBuffer.count >= groups * padded * 8, vBuffer.count >= pd * nkv, oBuffer.count >= groups * 4 * pd
                    else { return }
                    // Each group's keys [first, end) from its first to its last nonzero weight.
                    var ranges: [Range<Int>] = []
                    for group in 0..<groups {
                        let ep = eBase + group * padded * 8
                        var first = 0, end = nkv
                        if masked {
                            func zero(_ j: Int) -> Bool { ep[8 * j] == 0 && ep[8 * j + 2] == 0 && ep[8 * j + 4] == 0 && ep[8 * j + 6] == 0 }
                            while first < end && zero(first) { first += 1 }
                            while end > first && zero(end - 1) { end -= 1 }
                        }
                        ranges.append(first..<end)
                    }
                    op.update(repeating: 0, count: groups * 4 * pd)
                    typealias D4 = SIMD4<Double>
                    func load(_ at: Int) -> D4 { UnsafeRawPointer(op + at).loadUnaligned(as: D4.self) }
                    func store(_ x: D4, _ at: Int) { UnsafeMutableRawPointer(op + at).storeBytes(of: x, as: D4.self) }
                    let lo = ranges.map(\.lowerBound).min() ?? 0, hi = ranges.map(\.upperBound).max() ?? 0
                    var tile = lo
                    while tile < hi {
                        let tileEnd = min(hi, tile + Self.keyTile)
                        for c0 in stride(from: 0, to: pd, by: 4) {
                            for group in 0..<groups {
                                let start = max(tile, ranges[group].lowerBound), stop = min(tileEnd, ranges[group].upperBound)
                                guard start < stop else { continue }
                                let rows = eBase + group * padded * 8 + 8 * start, panel = vp + c0 * nkv + 4 * start
                                let at = group * 4 * pd + c0
                                let initial = (load(at), load(at + pd), load(at + 2 * pd), load(at + 3 * pd))
                                let (o0, o1, o2, o3) = scattered
                                    ? ReferenceProduct.dots(depth: stop - start, rows: rows, panel: panel, skippingZeros: true, initial: initial)
                                    : ReferenceProduct.dots(depth: stop - start, rows: rows, panel: panel, initial: initial)
                                store(o0, at)
                                store(o1, at + pd)
                                store(o2, at + 2 * pd)
                                store(o3, at + 3 * pd)
                            }
                        }
                        tile = tileEnd
                    }
                }
            }
        }
    }

    /// Keys per tile of `accumulateOutput`: four groups' weights of 64 keys are 16 KiB.
    static let keyTile = 64
}
