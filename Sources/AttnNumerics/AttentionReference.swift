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

        public init(causal: Bool = false, window: Int? = nil) {
            self.causal = causal
            self.window = window
        }

        public static let none = Mask()

        /// Whether query row i may see key j.
        @inlinable
        public func allows(query i: Int, key j: Int, queryLength: Int, keyLength: Int) -> Bool {
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
        let n = problem.queryLength, nkv = problem.keyLength, d = problem.headDim
        var out = [Double](repeating: 0, count: problem.batch * problem.heads * n * d)
        var row = [Double](repeating: 0, count: nkv)
        for bh in 0..<(problem.batch * problem.heads) {
            let kvh = problem.kvHead(forQueryHead: bh)
            for i in 0..<n {
                let lse = scores(problem, q: q, k: k, bh: bh, kvh: kvh, row: i, mask: mask, into: &row)
                // A row that sees no key has no distribution; its output is zero.
                for j in 0..<nkv { row[j] = lse == -.infinity ? 0 : _exp(row[j] - lse) }
                let outBase = (bh * n + i) * d
                for j in 0..<nkv {
                    let vBase = (kvh * nkv + j) * d
                    let p = row[j]
                    for c in 0..<d { out[outBase + c] += p * Double(v.values[vBase + c]) }
                }
            }
        }
        return out
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

    /// Fills `row` with scale * q_i . k_j (-inf where masked) and returns the row's
    /// log-sum-exp (-inf when every key is masked).
    private static func scores(
        _ problem: ProblemShape, q: HostTensor, k: HostTensor, bh: Int, kvh: Int, row i: Int,
        mask: Mask, into row: inout [Double]
    ) -> Double {
        let n = problem.queryLength, nkv = problem.keyLength, d = problem.headDim
        let qBase = (bh * n + i) * d
        var rowMax = -Double.infinity
        for j in 0..<nkv {
            guard mask.allows(query: i, key: j, queryLength: n, keyLength: nkv) else {
                row[j] = -.infinity
                continue
            }
            let kBase = (kvh * nkv + j) * d
            var dot = 0.0
            for c in 0..<d { dot += Double(q.values[qBase + c]) * Double(k.values[kBase + c]) }
            row[j] = dot * problem.effectiveScale
            rowMax = max(rowMax, row[j])
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
