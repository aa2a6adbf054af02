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
    /// scores are computed once and serve both.
    public static func outputAndLogSumExp(
        _ problem: ProblemShape, q: HostTensor, k: HostTensor, v: HostTensor, mask: Mask = .none
    ) -> (output: [Double], logSumExp: [Double]) {
        let n = problem.queryLength, nkv = problem.keyLength, d = problem.headDim
        let heads = problem.batch * problem.heads
        var out = [Double](repeating: 0, count: heads * n * d)
        var lse = [Double](repeating: 0, count: heads * n)
        // Heads are independent: they run on all cores, each writing its own rows, so the
        // result is the same whatever the schedule.
        out.withUnsafeMutableBufferPointer { outBuffer in
            lse.withUnsafeMutableBufferPointer { lseBuffer in
                let target = SharedRows(out: outBuffer, lse: lseBuffer)
                DispatchQueue.concurrentPerform(iterations: heads) { bh in
                    let kvh = problem.kvHead(forQueryHead: bh)
                    var p = [Double](repeating: 0, count: nkv)
                    var o = [Double](repeating: 0, count: d)
                    for i in 0..<n {
                        target.lse[bh * n + i] = outputRow(problem, q: q, k: k, v: v, bh: bh, kvh: kvh, row: i, mask: mask, p: &p, o: &o)
                        let outBase = (bh * n + i) * d
                        for c in 0..<d { target.out[outBase + c] = o[c] }
                    }
                }
            }
        }
        return (out, lse)
    }

    /// The output buffers the heads fill in parallel: each head writes only its own rows.
    private struct SharedRows: @unchecked Sendable {
        let out: UnsafeMutableBufferPointer<Double>
        let lse: UnsafeMutableBufferPointer<Double>
    }

    /// Row i of head bh: `p` gets its attention probabilities (0 where masked) and `o` its
    /// output sum_j p_j v_j; returns the row's log-sum-exp. A row that sees no key has no
    /// distribution: p and o are 0 and the log-sum-exp is -inf.
    @discardableResult
    private static func outputRow(
        _ problem: ProblemShape, q: HostTensor, k: HostTensor, v: HostTensor, bh: Int, kvh: Int, row i: Int, mask: Mask,
        p: inout [Double], o: inout [Double]
    ) -> Double {
        let nkv = problem.keyLength, d = problem.headDim
        let lse = scores(problem, q: q, k: k, bh: bh, kvh: kvh, row: i, mask: mask, into: &p)
        for j in 0..<nkv { p[j] = lse == -.infinity ? 0 : _exp(p[j] - lse) }
        for c in 0..<d { o[c] = 0 }
        v.values.withUnsafeBufferPointer { vValues in
            o.withUnsafeMutableBufferPointer { out in
                guard let vPointer = vValues.baseAddress, let oPointer = out.baseAddress,
                    vValues.count >= (kvh * nkv + nkv) * d, out.count >= d
                else { return }
                for j in 0..<nkv where p[j] != 0 {
                    let vRow = vPointer + (kvh &* nkv &+ j) &* d
                    let weight = p[j]
                    for c in 0..<d { oPointer[c] += weight * Double(vRow[c]) }
                }
            }
        }
        return lse
    }

    /// LSE_i = log sum_j exp(scale * q_i . k_j) per head, in float64; [batch*heads, N].
    public static func logSumExp(_ problem: ProblemShape, q: HostTensor, k: HostTensor, mask: Mask = .none) -> [Double] {
        let n = problem.queryLength
        var out = [Double](repeating: 0, count: problem.batch * problem.heads * n)
        var row = [Double](repeating: 0, count: problem.keyLength)
        for bh in 0..<(problem.batch * problem.heads) {
            let kvh = problem.kvHead(forQueryHead: bh)
            for i in 0..<n {
                out[bh * n + i] = scores(problem, q: q, k: k, bh: bh, kvh: kvh, row: i, mask: mask, into: &row)
            }
        }
        return out
    }

    /// Gradients of the loss <dO, O> with O = softmax(scale Q K^T) V, in float64:
    ///
    ///     dV = P^T dO,  dP = dO V^T,  D_i = sum_c dO_ic O_ic,
    ///     dS = P o (dP - D),  dQ = scale dS K,  dK = scale dS^T Q
    ///
    /// (Dao 2023, Section 2.2; for GQA the key/value gradients of a group's query heads
    /// add up). Returns dQ [batch*heads, N, d], dK and dV [batch*kv_heads, Nkv, d].
    public static func gradients(
        _ problem: ProblemShape, q: HostTensor, k: HostTensor, v: HostTensor, dO: HostTensor, mask: Mask = .none
    ) -> (dQ: [Double], dK: [Double], dV: [Double]) {
        let n = problem.queryLength, nkv = problem.keyLength, d = problem.headDim
        let scale = problem.effectiveScale
        var dQ = [Double](repeating: 0, count: problem.batch * problem.heads * n * d)
        var dK = [Double](repeating: 0, count: problem.batch * problem.kvHeads * nkv * d)
        var dV = dK
        var p = [Double](repeating: 0, count: nkv)
        var o = [Double](repeating: 0, count: d)
        for bh in 0..<(problem.batch * problem.heads) {
            let kvh = problem.kvHead(forQueryHead: bh)
            for i in 0..<n {
                outputRow(problem, q: q, k: k, v: v, bh: bh, kvh: kvh, row: i, mask: mask, p: &p, o: &o)
                let rowBase = (bh * n + i) * d
                var dSum = 0.0
                for c in 0..<d { dSum += Double(dO.values[rowBase + c]) * o[c] }
                for j in 0..<nkv where p[j] != 0 {
                    let kvBase = (kvh * nkv + j) * d
                    var dp = 0.0
                    for c in 0..<d {
                        let g = Double(dO.values[rowBase + c])
                        dp += g * Double(v.values[kvBase + c])
                        dV[kvBase + c] += p[j] * g
                    }
                    let ds = p[j] * (dp - dSum) * scale
                    for c in 0..<d {
                        dQ[rowBase + c] += ds * Double(k.values[kvBase + c])
                        dK[kvBase + c] += ds * Double(q.values[rowBase + c])
                    }
                }
            }
        }
        return (dQ, dK, dV)
    }

    /// sum_c a_c b_c in float64, as four interleaved partial sums (c mod 4) added at the
    /// end: the order differs from a left-to-right sum by rounding in float64 only (about
    /// 1e-16 relative), far below any tolerance it is compared against, and the partial
    /// sums run in parallel in SIMD registers.
    @inline(__always)
    static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ count: Int) -> Double {
        var partial = SIMD4<Double>(repeating: 0)
        var c = 0
        while c &+ 4 <= count {
            let x = SIMD4<Double>(Double(a[c]), Double(a[c &+ 1]), Double(a[c &+ 2]), Double(a[c &+ 3]))
            let y = SIMD4<Double>(Double(b[c]), Double(b[c &+ 1]), Double(b[c &+ 2]), Double(b[c &+ 3]))
            partial += x * y
            c &+= 4
        }
        var sum = (partial[0] + partial[1]) + (partial[2] + partial[3])
        while c < count {
            sum += Double(a[c]) * Double(b[c])
            c &+= 1
        }
        return sum
    }

    /// Fills `row` with scale * q_i . k_j (-inf where masked) and returns the row's
    /// log-sum-exp (-inf when every key is masked).
    private static func scores(
        _ problem: ProblemShape, q: HostTensor, k: HostTensor, bh: Int, kvh: Int, row i: Int,
        mask: Mask, into row: inout [Double]
    ) -> Double {
        let n = problem.queryLength, nkv = problem.keyLength, d = problem.headDim
        let qBase = (bh * n + i) * d
        let scale = problem.effectiveScale
        let masked = mask != .none
        var rowMax = -Double.infinity
        // The dot products read both tensors through unchecked pointers (the shapes bound
        // every index).
        q.values.withUnsafeBufferPointer { qValues in
            k.values.withUnsafeBufferPointer { kValues in
                row.withUnsafeMutableBufferPointer { out in
                    guard let qPointer = qValues.baseAddress, let kPointer = kValues.baseAddress, let outPointer = out.baseAddress,
                        qValues.count >= qBase + d, kValues.count >= (kvh * nkv + nkv) * d, out.count >= nkv
                    else { return }
                    let qRow = qPointer + qBase
                    for j in 0..<nkv {
                        if masked && !mask.allows(query: i, key: j, queryLength: n, keyLength: nkv) {
                            outPointer[j] = -.infinity
                            continue
                        }
                        let kRow = kPointer + (kvh &* nkv &+ j) &* d
                        outPointer[j] = Self.dot(qRow, kRow, d) * scale
                        rowMax = max(rowMax, outPointer[j])
                    }
                }
            }
        }
        if rowMax == -.infinity { return -.infinity }
        var sum = 0.0
        for j in 0..<nkv { sum += _exp(row[j] - rowMax) }
        return rowMax + _log(sum)
    }
}

#if canImport(Glibc)
import Glibc
@usableFromInline func _exp(_ x: Double) -> Double { Glibc.exp(x) }
#elseif canImport(Musl)
import Musl
@usableFromInline func _exp(_ x: Double) -> Double { Musl.exp(x) }
#else
import Darwin
@usableFromInline func _exp(_ x: Double) -> Double { Darwin.exp(x) }
#endif
