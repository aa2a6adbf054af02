import Foundation

extension SparseAttentionReference {
    /// The sizes of Native Sparse Attention's three branches.
    public struct NSAConfiguration: Sendable {
        /// Compression block length l and stride s (compressed block c covers tokens
        /// c s ..< c s + l, visible once the query has passed c s + l - 1).
        public var block: Int
        public var stride: Int
        /// The sliding window w (keys p - w + 1 ... p).
        public var window: Int

        public init(block: Int, stride: Int, window: Int) {
            self.block = block
            self.stride = stride
            self.window = window
        }
    }

    /// Native Sparse Attention (Yuan et al. 2025, Section 3), per query token and GQA group
    /// of g heads: the compressed branch over the compressed keys visible to the query;
    /// the selected branch over the chosen blocks of l' tokens, a block's importance being
    /// the compressed probabilities of the a = l' / s compressed blocks that start in it,
    /// summed over the group's heads, the first block and the two local blocks forced; the
    /// window over the last w tokens; o = g_cmp o_cmp + g_slc o_slc + g_win o_win.
    ///
    /// q [BHkv, g, N, d]; k, v [BHkv, blocks, l', d]; keyC, valueC [BHkv, blocks a, d];
    /// gates [BHkv, g, N, 3]; selection [BHkv, N, kn]. Returns O [BHkv, g, N, d].
    ///
    /// A block's importance is a sum of exp(s_c - lse_h) over a compressed blocks and g
    /// heads; each score s_c is within `dotSlack` of d terms of the float64 value, each
    /// log-sum-exp within the largest of those plus (visible + 4) u, and each exponential
    /// and sum adds a few u: the slack is sum p_c (slack_c + slack_lse + (a + g + 8) u).
    public static func nsa(
        q: HostTensor, k: HostTensor, v: HostTensor, keyC: HostTensor, valueC: HostTensor, gates: HostTensor, selection: HostTensor,
        shape: ProblemShape, configuration: NSAConfiguration
    ) throws(SparseReferenceFailure) -> [Double] {
        let layout = try BlockedKV(k: k, v: v, shape: shape, what: "K and V")
        let (d, n, g) = (shape.headDim, shape.queryLength, shape.heads / shape.kvHeads)
        let (l, s, w) = (configuration.block, configuration.stride, configuration.window)
        let size = layout.size
        guard l > 0, s > 0, w > 0, size % s == 0, q.count == layout.heads * g * n * d, keyC.shape.count == 3,
            keyC.shape[0] == layout.heads, keyC.shape[2] == d, valueC.shape == keyC.shape, gates.count == layout.heads * g * n * 3,
            let kn = selection.shape.last, kn > 0, selection.count == layout.heads * n * kn
        else {
            throw .layout("attention_nsa expects Q [batch*kv_heads, g, N, d], K and V [batch*kv_heads, blocks, l', d] with the stride dividing l', KC and VC [batch*kv_heads, compressed, d], G [batch*kv_heads, g, N, 3] and IDX [batch*kv_heads, N, n]")
        }
        let a = size / s, compressed = keyC.shape[1]
        let scale = shape.effectiveScale, u = 0x1p-24
        var out = [Double](repeating: 0, count: layout.heads * g * n * d)
        for kvh in 0..<layout.heads {
            for i in 0..<n {
                let p = i + shape.keyLength - n
                let current = p / size
                let offset = p - l + 1
                let lastCompressed = Swift.min(compressed - 1, offset >= 0 ? offset / s : -((-offset + s - 1) / s))  // floor((p - l + 1) / s)
                let queries = (0..<g).map { row(q, ((kvh * g + $0) * n + i) * d, d) }
                // Compressed branch and the importance of each selection block.
                var importance = [Double](repeating: 0, count: layout.blocks), slack = importance
                var compressedOutputs: [[Double]] = []
                for query in queries {
                    let visible = lastCompressed >= 0 ? Array(0...lastCompressed) : []
                    var scores: [Double] = [], scoreSlack: [Double] = []
                    for c in visible {
                        let key = row(keyC, (kvh * compressed + c) * d, d)
                        scores.append(dot(query, key) * scale)
                        scoreSlack.append(TopKSelection.dotSlack(terms: d, magnitude: absoluteDot(query, key) * scale))
                    }
                    compressedOutputs.append(softmax(scores, columns: d) { key, col in Double(valueC.values[(kvh * compressed + visible[key]) * d + col]) })
                    guard let top = scores.max() else { continue }
                    let lse = top + log(scores.reduce(0) { $0 + exp($1 - top) })
                    let lseSlack = (scoreSlack.max() ?? 0) + Double(visible.count + 4) * u
                    for (index, c) in visible.enumerated() where c / a < layout.blocks {
                        let probability = exp(scores[index] - lse)
                        importance[c / a] += probability
                        slack[c / a] += probability * (scoreSlack[index] + lseSlack + Double(a + g + 8) * u)
                    }
                }
                // Forced (+inf) and later (-inf) blocks.
                var scores = importance
                for j in 0..<layout.blocks {
                    if j > current {
                        scores[j] = -.infinity
                    } else if current < 3 || j == 0 || j >= current - 1 {
                        scores[j] = .infinity
                    }
                }
                let chosen = try recorded(selection, row: kvh * n + i, k: kn, scores: scores, slack: slack, what: "KV head \(kvh), query \(i)")
                var selectedKeys: [Int] = []
                for block in chosen {
                    for slot in 0..<size where block * size + slot <= p { selectedKeys.append(block * size + slot) }
                }
                let windowKeys = Array(Swift.max(0, p - w + 1)...p)
                for (h, query) in queries.enumerated() {
                    let selected = layout.attend(query, head: kvh, keys: selectedKeys, scale: scale)
                    let window = layout.attend(query, head: kvh, keys: windowKeys, scale: scale)
                    let gateBase = ((kvh * g + h) * n + i) * 3
                    let (g0, g1, g2) = (Double(gates.values[gateBase]), Double(gates.values[gateBase + 1]), Double(gates.values[gateBase + 2]))
                    let base = ((kvh * g + h) * n + i) * d
                    for c in 0..<d { out[base + c] = g0 * compressedOutputs[h][c] + g1 * selected[c] + g2 * window[c] }
                }
            }
        }
        return out
    }
}
