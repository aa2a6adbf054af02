import Foundation

/// Data-dependent sparse attention in float64: each algorithm's selection recomputed from
/// the same rounded inputs, the selection the kernels recorded checked against it
/// (`TopKSelection`: equal up to ties within the kernels' rounding), then softmax
/// attention over the recorded selection.
///
/// Following the recorded selection (once it is shown to be a float64 top-k up to ties)
/// keeps a tie decided the other way from moving the output by a whole key's weight,
/// which no tolerance on the output could tell from a bug; a selection that is not a
/// top-k is a failure of its own, named with the two candidates.
///
/// Query i sits at key position i + Nkv - N (bottom-right alignment: a decode step sees
/// the whole cache). Blocked key layouts [heads, blocks, B, d] hold Nkv tokens; the slots
/// past Nkv are padding no query sees.
public enum SparseAttentionReference {
    /// Quest (Tang et al. 2024, "Quest: Query-Aware Sparsity for Efficient Long-Context
    /// LLM Inference", Section 3): page j's score is the upper bound
    /// sum_c max(q_c min_c, q_c max_c) of q . k over its keys, from the page's elementwise
    /// minimum and maximum key; the top pages by that bound are attended.
    ///
    /// q [BH, N, d]; k, v [BHkv, pages, P, d]; keyMin, keyMax [BHkv, pages, d]; selection
    /// [BH, N, kp] (page indices). Pages that start after the query are not candidates.
    /// Returns O [BH, N, d].
    public static func quest(
        q: HostTensor, k: HostTensor, v: HostTensor, keyMin: HostTensor, keyMax: HostTensor, selection: HostTensor, shape: ProblemShape
    ) throws(SparseReferenceFailure) -> [Double] {
        let layout = try BlockedKV(k: k, v: v, shape: shape, what: "K and V")
        let (d, n, bh) = (shape.headDim, shape.queryLength, shape.batch * shape.heads)
        guard q.count == bh * n * d, keyMin.count == layout.heads * layout.blocks * d, keyMax.count == keyMin.count,
            let kp = selection.shape.last, kp > 0, selection.count == bh * n * kp
        else {
            throw .layout("attention_quest expects Q [batch*heads, N, d], K and V [batch*kv_heads, pages, P, d], KMIN and KMAX [batch*kv_heads, pages, d] and IDX [batch*heads, N, pages kept]")
        }
        let scale = shape.effectiveScale
        var out = [Double](repeating: 0, count: bh * n * d)
        for head in 0..<bh {
            let kvh = shape.kvHead(forQueryHead: head)
            for i in 0..<n {
                let position = i + shape.keyLength - n
                let query = row(q, (head * n + i) * d, d)
                var scores = [Double](repeating: -.infinity, count: layout.blocks), slack = scores
                for page in 0..<layout.blocks where page * layout.size <= position {
                    var sum = 0.0, magnitude = 0.0
                    for c in 0..<d {
                        let base = (kvh * layout.blocks + page) * d + c
                        let a = query[c] * Double(keyMin.values[base]), b = query[c] * Double(keyMax.values[base])
                        sum += Swift.max(a, b)
                        magnitude += Swift.max(abs(a), abs(b))
                    }
                    scores[page] = sum
                    slack[page] = TopKSelection.dotSlack(terms: d, magnitude: magnitude)
                }
                let chosen = try recorded(selection, row: head * n + i, k: kp, scores: scores, slack: slack, what: "query head \(head), query \(i)")
                var keys: [Int] = []
                for page in chosen {
                    for slot in 0..<layout.size where page * layout.size + slot <= position { keys.append(page * layout.size + slot) }
                }
                let o = layout.attend(query, head: kvh, keys: keys, scale: scale)
                out.replaceSubrange(((head * n + i) * d)..<((head * n + i + 1) * d), with: o)
            }
        }
        return out
    }

    /// MoBA (Lu et al. 2025, "MoBA: Mixture of Block Attention for Long-Context LLMs",
    /// Section 2.2): the query scores each block by q . mean(K_block) (the blocks entirely
    /// before its own), keeps the top k - 1 and always its own block (causally masked).
    ///
    /// q [BH, N, d]; k, v [BHkv, blocks, B, d]; keyMean [BHkv, blocks, d]; selection
    /// [BH, N, k - 1] (block indices). Returns O [BH, N, d].
    public static func moba(
        q: HostTensor, k: HostTensor, v: HostTensor, keyMean: HostTensor, selection: HostTensor, shape: ProblemShape
    ) throws(SparseReferenceFailure) -> [Double] {
        let layout = try BlockedKV(k: k, v: v, shape: shape, what: "K and V")
        let (d, n, bh) = (shape.headDim, shape.queryLength, shape.batch * shape.heads)
        guard q.count == bh * n * d, keyMean.count == layout.heads * layout.blocks * d, let ks = selection.shape.last, ks > 0,
            selection.count == bh * n * ks
        else {
            throw .layout("attention_moba expects Q [batch*heads, N, d], K and V [batch*kv_heads, blocks, B, d], KM [batch*kv_heads, blocks, d] and IDX [batch*heads, N, blocks chosen]")
        }
        let scale = shape.effectiveScale, size = layout.size
        var out = [Double](repeating: 0, count: bh * n * d)
        for head in 0..<bh {
            let kvh = shape.kvHead(forQueryHead: head)
            for i in 0..<n {
                let position = i + shape.keyLength - n
                let current = position / size
                let query = row(q, (head * n + i) * d, d)
                var scores = [Double](repeating: -.infinity, count: layout.blocks), slack = scores
                for block in 0..<current {
                    let mean = row(keyMean, (kvh * layout.blocks + block) * d, d)
                    scores[block] = dot(query, mean)
                    slack[block] = TopKSelection.dotSlack(terms: d, magnitude: absoluteDot(query, mean))
                }
                let chosen = try recorded(selection, row: head * n + i, k: ks, scores: scores, slack: slack, what: "query head \(head), query \(i)")
                // The chosen earlier blocks, then the query's own block up to the query.
                var keys: [Int] = []
                for block in chosen where block < current { keys.append(contentsOf: (block * size)..<((block + 1) * size)) }
                keys.append(contentsOf: (current * size)...position)
                let o = layout.attend(query, head: kvh, keys: keys, scale: scale)
                out.replaceSubrange(((head * n + i) * d)..<((head * n + i + 1) * d), with: o)
            }
        }
        return out
    }

    // MARK: Shared pieces

    /// The recorded selection of one row (k indices, stored as exact integers), checked
    /// against the float64 scores; a disagreement names the row.
    static func recorded(
        _ selection: HostTensor, row: Int, k: Int, scores: [Double], slack: [Double], what: @autoclosure () -> String
    ) throws(SparseReferenceFailure) -> [Int] {
        let chosen = (0..<k).map { Int(selection.values[row * k + $0]) }
        if let disagreement = TopKSelection.disagreement(chosen: chosen, scores: scores, slack: slack) {
            throw .selection(row: what(), disagreement)
        }
        return chosen
    }

    /// `count` values of a tensor from `offset`, as float64.
    static func row(_ t: HostTensor, _ offset: Int, _ count: Int) -> [Double] {
        (0..<count).map { Double(t.values[offset + $0]) }
    }

    static func dot(_ a: [Double], _ b: [Double]) -> Double {
        var s = 0.0
        for i in a.indices { s += a[i] * b[i] }
        return s
    }

    static func absoluteDot(_ a: [Double], _ b: [Double]) -> Double {
        var s = 0.0
        for i in a.indices { s += abs(a[i] * b[i]) }
        return s
    }

    /// softmax(scores) . values: the weighted sum of the value rows, zeros when no score is
    /// finite (a query that sees nothing).
    static func softmax(_ scores: [Double], columns: Int, value: (Int, Int) -> Double) -> [Double] {
        var out = [Double](repeating: 0, count: columns)
        guard let top = scores.max(), top.isFinite else { return out }
        let weights = scores.map { ($0 - top).isNaN ? 0 : exp($0 - top) }
        let total = weights.reduce(0, +)
        for (key, w) in weights.enumerated() where w > 0 {
            for c in 0..<columns { out[c] += w / total * value(key, c) }
        }
        return out
    }
}

/// Why a sparse reference has no output: the tensors do not have its layout, or the
/// recorded selection of a row is not a top-k of the float64 scores up to ties.
public enum SparseReferenceFailure: Error, Sendable, Equatable {
    case layout(String)
    case selection(row: String, SelectionDisagreement)
}

/// Keys and values in a blocked layout [heads, blocks, B, d] (Quest's pages, MoBA's and
/// NSA's blocks): token t of a head at block t / B, slot t % B.
struct BlockedKV {
    let k: HostTensor
    let v: HostTensor
    let heads: Int
    let blocks: Int
    let size: Int
    let d: Int

    init(k: HostTensor, v: HostTensor, shape: ProblemShape, what: String) throws(SparseReferenceFailure) {
        guard k.shape.count == 4, v.shape == k.shape, k.shape[0] == shape.batch * shape.kvHeads, k.shape[3] == shape.headDim,
            k.shape[1] * k.shape[2] >= shape.keyLength, k.shape[2] > 0
        else {
            throw .layout("\(what) are [batch*kv_heads, blocks, B, d] holding Nkv = \(shape.keyLength) tokens; found \(k.shape) and \(v.shape)")
        }
        (self.k, self.v, heads, blocks, size, d) = (k, v, k.shape[0], k.shape[1], k.shape[2], k.shape[3])
    }

    /// Offset of token t of head h.
    func offset(_ h: Int, _ t: Int) -> Int { ((h * blocks + t / size) * size + t % size) * d }

    /// softmax(scale q . k_t) v_t over the tokens `keys` of head h.
    func attend(_ query: [Double], head h: Int, keys: [Int], scale: Double) -> [Double] {
        let scores = keys.map { t -> Double in
            let base = offset(h, t)
            var s = 0.0
            for c in 0..<d { s += query[c] * Double(k.values[base + c]) }
            return s * scale
        }
        return SparseAttentionReference.softmax(scores, columns: d) { key, c in Double(v.values[offset(h, keys[key]) + c]) }
    }
}
