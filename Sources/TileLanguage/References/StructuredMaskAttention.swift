import AttnNumerics

/// Softmax attention under a structured mask, by its definition
/// (`VisibilityAttentionReference`): a speculative-decoding verify step over a draft tree,
/// a prefix-LM (image tokens before text) and Swin's shifted windows. All read Q
/// [batch*heads, N, d] and K, V [batch*kv_heads, Nkv, d] (any shapes with these elements
/// in row-major order). n = d + Nkv (a dot product, a sum over keys).
extension ReferenceKind {
    static let structuredMaskAttention: [ReferenceKind] = [.attentionTree, .attentionPrefix, .attentionSwin]

    /// attention_tree(Q, K, V, tree_width: w): the N queries are the draft nodes of
    /// `DraftTree(width: w)` (query i is node i), the keys the Nkv - N cached tokens then the
    /// N draft nodes in order; query i sees every cached key and the draft keys of its
    /// ancestors and itself.
    public static let attentionTree = ReferenceKind(
        "attention_tree", arguments: ["Q", "K", "V"], options: [ReferenceOption("tree_width")], reductionLength: headAndKeys,
        compute: { call throws(Diagnostic) in
            var width = 1
            for option in call.options { width = try call.integer(option) }
            guard let tree = DraftTree(width: width) else { throw call.error("'tree_width' must be positive, found \(width)") }
            let prefix = call.shape.keyLength - call.shape.queryLength
            guard prefix >= 0 else { throw call.error("'attention_tree' needs Nkv >= N: the cached prefix, then one key per draft node") }
            return try structured(call) { i, j in j < prefix || tree.isAncestor(j - prefix, ofOrSelf: i) }
        })

    /// attention_prefix(Q, K, V, prefix: p): query i at position i + Nkv - N sees key j when
    /// j < p (the bidirectional prefix) or j is at or before its position (causal text).
    public static let attentionPrefix = ReferenceKind(
        "attention_prefix", arguments: ["Q", "K", "V"], options: [ReferenceOption("prefix")], reductionLength: headAndKeys,
        compute: { call throws(Diagnostic) in
            var given = 0
            for option in call.options { given = try call.integer(option) }
            let prefix = given, offset = call.shape.keyLength - call.shape.queryLength
            return try structured(call) { i, j in j < prefix || j <= i + offset }
        })

    /// attention_swin(Q, K, V, grid_w: w, window_size: M, shift: s): N = Nkv tokens of an
    /// (N / w) x w grid in the shifted layout, each seeing the tokens of its window of the
    /// shifted partition (`ShiftedWindows`).
    public static let attentionSwin = ReferenceKind(
        "attention_swin", arguments: ["Q", "K", "V"],
        options: [ReferenceOption("grid_w"), ReferenceOption("window_size"), ReferenceOption("shift")], reductionLength: headAndKeys,
        compute: { call throws(Diagnostic) in
            var values = ["grid_w": 0, "window_size": 0, "shift": 0]
            for option in call.options { values[option.name] = try call.integer(option) }
            let n = call.shape.queryLength, width = values["grid_w"] ?? 0
            guard n == call.shape.keyLength, width > 0, n % width == 0,
                let windows = ShiftedWindows(gridHeight: n / width, gridWidth: width, window: values["window_size"] ?? 0, shift: values["shift"] ?? 0)
            else {
                throw call.error("'attention_swin' expects N = Nkv tokens on a grid of grid_w columns, both sides multiples of window_size, 0 <= shift < window_size")
            }
            return try structured(call) { i, j in windows.sameWindow(i, j) }
        })

    /// Float64 attention of the call's Q, K, V under `sees(query row, key)`.
    private static func structured(_ call: ReferenceCall, sees: @escaping @Sendable (Int, Int) -> Bool) throws(Diagnostic) -> [Double] {
        let problem = call.shape
        let (q, k, v) = (call.inputs[0], call.inputs[1], call.inputs[2])
        let expectedKV = problem.batch * problem.kvHeads * problem.keyLength * problem.headDim
        guard q.count == problem.batch * problem.heads * problem.queryLength * problem.headDim, k.count == expectedKV, v.count == expectedKV,
            problem.heads % problem.kvHeads == 0
        else {
            throw call.error("'\(call.check.reference.rawValue)' expects Q as [batch*heads, N, d] and K, V as [batch*kv_heads, Nkv, d]")
        }
        return VisibilityAttentionReference.output(problem, q: q, k: k, v: v, sees: sees)
    }
}
