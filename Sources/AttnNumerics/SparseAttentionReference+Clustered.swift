extension SparseAttentionReference {
    /// Reformer's LSH attention, one hash round (Kitaev et al. 2020, Section 2): token x of
    /// head h falls in bucket argmax([x R_h ; -x R_h]); tokens sorted by (bucket, position)
    /// are cut into chunks of m, and a token attends, within its bucket (and not after
    /// itself when `causal`), to the tokens of its chunk and of the chunk before, keys
    /// normalized (x_j / |x_j|), itself scored -1e5.
    ///
    /// qk [BH, N, d]; v [BH, N, d]; rotations [heads, d, nb / 2]; buckets [BH, N, 1]
    /// (recorded). Returns O [BH, N, d]. A bucket's score is a dot product of d terms,
    /// within `dotSlack` of d terms of sum_c |x_c R_cb|.
    public static func lsh(
        qk: HostTensor, v: HostTensor, rotations: HostTensor, buckets: HostTensor, shape: ProblemShape, chunk m: Int, causal: Bool
    ) throws(SparseReferenceFailure) -> [Double] {
        let (d, n, bh, heads) = (shape.headDim, shape.queryLength, shape.batch * shape.heads, shape.heads)
        guard m > 0, n == shape.keyLength, qk.count == bh * n * d, v.count == qk.count, rotations.shape.count == 3,
            rotations.shape[0] == heads, rotations.shape[1] == d, buckets.count == bh * n
        else {
            throw .layout("attention_lsh expects QK and V [batch*heads, N, d] (N = Nkv), R [heads, d, buckets / 2], BKT [batch*heads, N, 1] and a positive chunk")
        }
        let half = rotations.shape[2], scale = shape.effectiveScale
        var out = [Double](repeating: 0, count: bh * n * d)
        for head in 0..<bh {
            let h = head % heads
            let x = (0..<n).map { row(qk, (head * n + $0) * d, d) }
            var bucket = [Int](repeating: 0, count: n)
            for t in 0..<n {
                var scores = [Double](repeating: 0, count: 2 * half), slack = scores
                for b in 0..<half {
                    var s = 0.0, magnitude = 0.0
                    for c in 0..<d {
                        let term = x[t][c] * Double(rotations.values[(h * d + c) * half + b])
                        s += term
                        magnitude += abs(term)
                    }
                    (scores[b], scores[half + b]) = (s, -s)
                    slack[b] = TopKSelection.dotSlack(terms: d, magnitude: magnitude)
                    slack[half + b] = slack[b]
                }
                bucket[t] = try recorded(buckets, row: head * n + t, k: 1, scores: scores, slack: slack, what: "head \(head), token \(t)")[0]
            }
            let sorted = (0..<n).sorted { (bucket[$0], $0) < (bucket[$1], $1) }
            let norms = x.map { dot($0, $0).squareRoot() }
            for place in 0..<n {
                let i = sorted[place], c = place / m
                var keys: [Int] = [], scores: [Double] = []
                for other in (Swift.max(0, c - 1) * m)..<Swift.min(n, (c + 1) * m) {
                    let j = sorted[other]
                    guard bucket[j] == bucket[i], !causal || j <= i else { continue }
                    keys.append(j)
                    scores.append(j == i ? -1e5 : dot(x[i], x[j]) / norms[j] * scale)
                }
                let o = softmax(scores, columns: d) { key, col in Double(v.values[(head * n + keys[key]) * d + col]) }
                out.replaceSubrange(((head * n + i) * d)..<((head * n + i + 1) * d), with: o)
            }
        }
        return out
    }

    /// Routing Transformer attention (Roy et al. 2021, Section 4): query i of head h
    /// attends to the keys of its cluster, the one whose centroid mu_c is nearest its
    /// direction (argmax q_i / |q_i| . mu_c); cluster c holds the w keys nearest mu_c (top w
    /// of k_j / |k_j| . mu_c). With `causal`, only keys at or before the query (none: 0).
    ///
    /// q [BH, N, d]; k, v [BH, Nkv, d]; centroids [heads, nc, d]; queryClusters [BH, N, 1]
    /// and clusterKeys [BH, nc, w] (recorded). Returns O [BH, N, d]. A routing score is a
    /// dot product of d terms with a normalized vector (a sum of d squares, a square root
    /// and a division more): within `dotSlack` of 2 d + 6 terms of sum_c |x_c mu_c| / |x|.
    public static func routing(
        q: HostTensor, k: HostTensor, v: HostTensor, centroids: HostTensor, queryClusters: HostTensor, clusterKeys: HostTensor,
        shape: ProblemShape, causal: Bool
    ) throws(SparseReferenceFailure) -> [Double] {
        let (d, n, nkv, bh, heads) = (shape.headDim, shape.queryLength, shape.keyLength, shape.batch * shape.heads, shape.heads)
        guard shape.kvHeads == heads, q.count == bh * n * d, k.count == bh * nkv * d, v.count == k.count, centroids.shape.count == 3,
            centroids.shape[0] == heads, centroids.shape[2] == d, queryClusters.count == bh * n, clusterKeys.shape.count == 3,
            clusterKeys.shape[1] == centroids.shape[1], clusterKeys.count == bh * centroids.shape[1] * clusterKeys.shape[2]
        else {
            throw .layout("attention_routing expects Q [batch*heads, N, d], K and V [batch*heads, Nkv, d], MU [heads, clusters, d], QC [batch*heads, N, 1] and KIDX [batch*heads, clusters, w]")
        }
        let clusters = centroids.shape[1], w = clusterKeys.shape[2], scale = shape.effectiveScale
        /// Routing scores of a vector against the head's centroids, with their slack.
        func route(_ x: [Double], head h: Int) -> (scores: [Double], slack: [Double]) {
            let norm = dot(x, x).squareRoot()
            var scores: [Double] = [], slack: [Double] = []
            for c in 0..<clusters {
                let mu = row(centroids, (h * clusters + c) * d, d)
                scores.append(dot(x, mu) / norm)
                slack.append(TopKSelection.dotSlack(terms: 2 * d + 6, magnitude: absoluteDot(x, mu) / norm))
            }
            return (scores, slack)
        }
        var out = [Double](repeating: 0, count: bh * n * d)
        for head in 0..<bh {
            let h = head % heads
            let keys = (0..<nkv).map { row(k, (head * nkv + $0) * d, d) }
            let keyRoutes = keys.map { route($0, head: h) }
            var members: [[Int]] = []
            for c in 0..<clusters {
                let scores = keyRoutes.map { $0.scores[c] }, slack = keyRoutes.map { $0.slack[c] }
                members.append(try recorded(clusterKeys, row: head * clusters + c, k: w, scores: scores, slack: slack, what: "head \(head), cluster \(c)"))
            }
            for i in 0..<n {
                let query = row(q, (head * n + i) * d, d)
                let routed = route(query, head: h)
                let cluster = try recorded(queryClusters, row: head * n + i, k: 1, scores: routed.scores, slack: routed.slack, what: "head \(head), query \(i)")[0]
                let position = i + nkv - n
                let visible = members[cluster].filter { !causal || $0 <= position }
                let scores = visible.map { dot(query, keys[$0]) * scale }
                let o = softmax(scores, columns: d) { key, col in Double(v.values[(head * nkv + visible[key]) * d + col]) }
                out.replaceSubrange(((head * n + i) * d)..<((head * n + i + 1) * d), with: o)
            }
        }
        return out
    }
}
