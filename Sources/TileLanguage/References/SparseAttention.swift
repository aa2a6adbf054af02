import AttnNumerics

/// Data-dependent sparse attention (`SparseAttentionReference`): each reference recomputes
/// its algorithm's selection in float64 from the same rounded inputs, checks the selection
/// the program recorded (an i32 temp, its last argument or arguments) against it up to
/// ties within the kernels' rounding (`TopKSelection`), and attends over the recorded
/// selection in float64. A selection that is not a top-k up to ties is an error naming the
/// row and the two candidates.
extension ReferenceKind {
    static let sparseAttention: [ReferenceKind] = [.attentionQuest, .attentionMoBA, .attentionDSA, .attentionNSA, .attentionLSH, .attentionRouting]

    /// The references of data-dependent sparse attention (`attnsim list`'s family).
    public static var sparseAttentionFamily: [ReferenceKind] { sparseAttention }

    /// attention_quest(Q, K, V, KMIN, KMAX, IDX): Quest's page selection by the upper bound
    /// sum_c max(q_c min_c, q_c max_c), then attention over the chosen pages. Q [BH, N, d],
    /// K, V [BHkv, pages, P, d], KMIN, KMAX [BHkv, pages, d], IDX [BH, N, kp] (recorded).
    /// n = d + min(Nkv, kp P): a dot product, a sum over the kp pages' keys.
    public static let attentionQuest = ReferenceKind(
        "attention_quest", arguments: ["Q", "K", "V", "KMIN", "KMAX", "IDX"], recordedArguments: [5],
        reductionLength: { $0.shape.headDim + Swift.min($0.shape.keyLength, $0.lastDimension(5) * blockSize($0, 1)) },
        compute: { call throws(Diagnostic) in
            let x = call.inputs
            return try sparse(call) { () throws(SparseReferenceFailure) in
                try SparseAttentionReference.quest(q: x[0], k: x[1], v: x[2], keyMin: x[3], keyMax: x[4], selection: x[5], shape: call.shape)
            }
        })

    /// attention_moba(Q, K, V, KM, IDX): MoBA's gate q . mean(K_block) over the blocks before
    /// the query's, the top k - 1 of them and the query's own block, causally. Q [BH, N, d],
    /// K, V [BHkv, blocks, B, d], KM [BHkv, blocks, d], IDX [BH, N, k - 1] (recorded).
    /// n = d + min(Nkv, k B).
    public static let attentionMoBA = ReferenceKind(
        "attention_moba", arguments: ["Q", "K", "V", "KM", "IDX"], recordedArguments: [4],
        reductionLength: { $0.shape.headDim + Swift.min($0.shape.keyLength, ($0.lastDimension(4) + 1) * blockSize($0, 1)) },
        compute: { call throws(Diagnostic) in
            let x = call.inputs
            return try sparse(call) { () throws(SparseReferenceFailure) in
                try SparseAttentionReference.moba(q: x[0], k: x[1], v: x[2], keyMean: x[3], selection: x[4], shape: call.shape)
            }
        })

    /// attention_dsa(QN, QR, C, KR, WUK, WUV, QI, KI, WI, IDX, causal: c): DeepSeek Sparse
    /// Attention, the lightning indexer's top k tokens per query (IDX [batch, N, k],
    /// recorded), absorbed MLA over them. Layouts as `SparseAttentionReference.dsa`.
    /// n = 2 dc + d + dR + min(Nkv, k): as `attention_mla` over k keys.
    public static let attentionDSA = ReferenceKind(
        "attention_dsa", arguments: ["QN", "QR", "C", "KR", "WUK", "WUV", "QI", "KI", "WI", "IDX"], options: [ReferenceOption("causal")],
        recordedArguments: [9],
        reductionLength: {
            2 * $0.lastDimension(2) + $0.lastDimension(4) + $0.lastDimension(3) + Swift.min($0.shape.keyLength, $0.lastDimension(9))
        },
        compute: { call throws(Diagnostic) in
            let x = call.inputs
            var causal = false
            for option in call.options where option.name == "causal" { causal = try call.integer(option) != 0 }
            return try sparse(call) { () throws(SparseReferenceFailure) in
                try SparseAttentionReference.dsa(
                    qNope: x[0], qRope: x[1], latent: x[2], ropeKey: x[3], wUK: x[4], wUV: x[5], indexQuery: x[6], indexKey: x[7],
                    indexWeight: x[8], selection: x[9], shape: call.shape, causal: causal)
            }
        })

    /// attention_nsa(Q, K, V, KC, VC, G, IDX, block: l, stride: s, window: w): Native
    /// Sparse Attention's three gated branches, the selection blocks of l' (K's third
    /// dimension) chosen by compressed attention (IDX [batch*kv_heads, N, n], recorded).
    /// Layouts as `SparseAttentionReference.nsa`. n = d + (blocks l' / s) + min(Nkv, n l' + w):
    /// a dot product, and the sums over the compressed keys and over the selected and window
    /// keys.
    public static let attentionNSA = ReferenceKind(
        "attention_nsa", arguments: ["Q", "K", "V", "KC", "VC", "G", "IDX"],
        options: [ReferenceOption("block"), ReferenceOption("stride"), ReferenceOption("window")], recordedArguments: [6],
        reductionLength: { shapes in
            let compressed = shapes.arguments.count > 3 && shapes.arguments[3].count == 3 ? shapes.arguments[3][1] : shapes.shape.keyLength
            return shapes.shape.headDim + compressed + Swift.min(shapes.shape.keyLength, shapes.lastDimension(6) * blockSize(shapes, 1) + shapes.shape.keyLength)
        },
        compute: { call throws(Diagnostic) in
            let x = call.inputs
            var values: [String: Int] = [:]
            for option in call.options { values[option.name] = try call.integer(option) }
            guard let block = values["block"], let stride = values["stride"], let window = values["window"] else {
                throw call.error("attention_nsa needs the options block, stride and window")
            }
            return try sparse(call) { () throws(SparseReferenceFailure) in
                try SparseAttentionReference.nsa(
                    q: x[0], k: x[1], v: x[2], keyC: x[3], valueC: x[4], gates: x[5], selection: x[6], shape: call.shape,
                    configuration: .init(block: block, stride: stride, window: window))
            }
        })

    /// attention_lsh(QK, V, R, BKT, chunk: m, causal: c): Reformer's LSH attention, one hash
    /// round, the buckets recorded in BKT [batch*heads, N, 1]. Layouts as
    /// `SparseAttentionReference.lsh`. n = 2 d + N + 4: the dot product, the key's norm (d
    /// squares, a square root and a division), the sum over the keys (at most 2 m of the N;
    /// the chunk is an option, which the reduction length does not see, so N bounds it).
    public static let attentionLSH = ReferenceKind(
        "attention_lsh", arguments: ["QK", "V", "R", "BKT"], options: [ReferenceOption("chunk"), ReferenceOption("causal")],
        recordedArguments: [3],
        reductionLength: { 2 * $0.shape.headDim + $0.shape.keyLength + 4 },
        compute: { call throws(Diagnostic) in
            let x = call.inputs
            var values: [String: Int] = [:]
            for option in call.options { values[option.name] = try call.integer(option) }
            guard let chunk = values["chunk"] else { throw call.error("attention_lsh needs the option chunk") }
            return try sparse(call) { () throws(SparseReferenceFailure) in
                try SparseAttentionReference.lsh(
                    qk: x[0], v: x[1], rotations: x[2], buckets: x[3], shape: call.shape, chunk: chunk, causal: (values["causal"] ?? 0) != 0)
            }
        })

    /// attention_routing(Q, K, V, MU, QC, KIDX, causal: c): Routing Transformer attention,
    /// each query's cluster recorded in QC [batch*heads, N, 1] and each cluster's w keys in
    /// KIDX [batch*heads, clusters, w]. Layouts as `SparseAttentionReference.routing`.
    /// n = d + w: a dot product, a sum over the cluster's keys.
    public static let attentionRouting = ReferenceKind(
        "attention_routing", arguments: ["Q", "K", "V", "MU", "QC", "KIDX"], options: [ReferenceOption("causal")],
        recordedArguments: [4, 5],
        reductionLength: { $0.shape.headDim + $0.lastDimension(5) },
        compute: { call throws(Diagnostic) in
            let x = call.inputs
            var causal = false
            for option in call.options where option.name == "causal" { causal = try call.integer(option) != 0 }
            return try sparse(call) { () throws(SparseReferenceFailure) in
                try SparseAttentionReference.routing(
                    q: x[0], k: x[1], v: x[2], centroids: x[3], queryClusters: x[4], clusterKeys: x[5], shape: call.shape, causal: causal)
            }
        })

    /// The block (page) size of a blocked [heads, blocks, B, d] argument: its third
    /// dimension (1 when it has none).
    static func blockSize(_ shapes: ReferenceShapes, _ index: Int) -> Int {
        index < shapes.arguments.count && shapes.arguments[index].count == 4 ? shapes.arguments[index][2] : 1
    }

    /// Runs a sparse reference, turning its failure into a diagnostic at the check.
    static func sparse(_ call: ReferenceCall, _ body: () throws(SparseReferenceFailure) -> [Double]) throws(Diagnostic) -> [Double] {
        let reference: [Double]
        do {
            reference = try body()
        } catch {
            switch error {
            case .layout(let message):
                throw call.error(message)
            case .selection(let row, let disagreement):
                throw call.error("the selection the program recorded in '\(call.check.argumentNames[call.check.argumentNames.count - 1])' is not a float64 top-k up to ties at \(row): \(disagreement)")
            }
        }
        guard reference.count == call.outputCount else {
            throw call.error("'\(call.check.tensorName)' has \(call.outputCount) elements; \(call.check.reference.rawValue) gives \(reference.count)")
        }
        return reference
    }
}
