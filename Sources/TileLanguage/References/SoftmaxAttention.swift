import AttnNumerics

/// Softmax attention softmax(scale Q K^T + mask) V per head (GQA-aware), its row
/// log-sum-exp, its gradients, and the same over a paged KV cache. All read Q [batch*heads,
/// N, d] and K, V [batch*kv_heads, Nkv, d] (any shape with those elements in row-major
/// order), a mask (causal, window, block-sparse) and a score transform (RoPE, ALiBi,
/// softcapping, sinks) from the check's options (`AttentionReference`).
extension ReferenceKind {
    static let softmaxAttention: [ReferenceKind] = [.attention, .attentionLSE, .attentionDQ, .attentionDK, .attentionDV, .attentionPaged]

    /// Every option of softmax attention: the mask's, the paged layout's and the score
    /// transform's.
    static let softmaxOptions: [ReferenceOption] = [
        "causal", "window", "page_size", "block_pattern", "block_local", "block_stride", "block_density", "block_seed", "block_rows", "block_cols",
    ].map { ReferenceOption($0) } + ScoreTransformOptions.options

    /// softmax(scale Q K^T) V. n = d + Nkv (a dot product, a sum over keys).
    public static let attention = ReferenceKind(
        "attention", arguments: ["Q", "K", "V"], options: softmaxOptions, reductionLength: headAndKeys,
        compute: { call throws(Diagnostic) in try forward(call, paged: false) })

    /// The row log-sum-exp of scale Q K^T. n = d + Nkv.
    public static let attentionLSE = ReferenceKind(
        "attention_lse", arguments: ["Q", "K"], options: softmaxOptions, reductionLength: headAndKeys,
        compute: { call throws(Diagnostic) in
            let problem = try SoftmaxProblem(call, paged: false)
            // One float64 pass of an attention check on the same Q, K and mask gave it.
            let key = lseKey(call.check, problem.mask) + "|\(problem.transform)"
            let reference = call.cache.values[key]
                ?? AttentionReference.logSumExp(call.shape, q: problem.q, k: problem.k, mask: problem.mask, transform: problem.transform)
            call.cache.values[key] = reference
            return reference
        })

    /// The gradient of <dO, attention(Q, K, V)> with respect to Q: attention_dq(Q, K, V, dO).
    /// n = d + N + Nkv (sums over queries and keys).
    public static let attentionDQ = gradient("attention_dq", part: 0)
    /// With respect to K.
    public static let attentionDK = gradient("attention_dk", part: 1)
    /// With respect to V.
    public static let attentionDV = gradient("attention_dv", part: 2)

    /// Attention over a paged KV cache: keys and values gathered from page pools
    /// Kp, Vp [pages, kv_heads, page_size, d] through the block table BT [batch, pages
    /// per sequence] (option `page_size`). n = d + Nkv.
    public static let attentionPaged = ReferenceKind(
        "attention_paged", arguments: ["Q", "Kp", "Vp", "BT"], options: softmaxOptions, reductionLength: headAndKeys,
        compute: { call throws(Diagnostic) in try forward(call, paged: true) })

    /// The output of attention (plain or paged), and its log-sum-exp kept for an LSE check
    /// of the same Q, K and mask.
    private static func forward(_ call: ReferenceCall, paged: Bool) throws(Diagnostic) -> [Double] {
        let problem = try SoftmaxProblem(call, paged: paged)
        let v = problem.pagedV ?? call.inputs[2]
        guard v.count == problem.expectedKV.reduce(1, *) else {
            throw call.error("the reference expects V as \(problem.expectedKV); found \(v.shape)")
        }
        let both = AttentionReference.outputAndLogSumExp(call.shape, q: problem.q, k: problem.k, v: v, mask: problem.mask, transform: problem.transform)
        call.cache.values[lseKey(call.check, problem.mask) + "|\(problem.transform)"] = both.logSumExp
        return both.output
    }

    /// One of the three gradients; one float64 backward pass serves all three checks of
    /// the same tensors and mask.
    private static func gradient(_ name: String, part: Int) -> ReferenceKind {
        ReferenceKind(
            name, arguments: ["Q", "K", "V", "dO"], options: softmaxOptions,
            reductionLength: { $0.shape.headDim + $0.shape.queryLength + $0.shape.keyLength },
            compute: { call throws(Diagnostic) in
                let problem = try SoftmaxProblem(call, paged: false)
                let v = call.inputs[2], dO = call.inputs[3]
                guard problem.transform.isIdentity else {
                    throw call.error("the gradient references take no rope, alibi, softcap or sinks options")
                }
                guard v.count == problem.expectedKV.reduce(1, *), dO.count == problem.expectedQ.reduce(1, *) else {
                    throw call.error("the gradient reference expects V as \(problem.expectedKV) and dO as \(problem.expectedQ)")
                }
                let key = call.check.argumentNames.joined(separator: ",") + "|\(problem.mask.causal)|\(problem.mask.window ?? 0)"
                let parts = ["|dq", "|dk", "|dv"]
                if let cached = call.cache.values[key + parts[part]] { return cached }
                let gradients = AttentionReference.gradients(call.shape, q: problem.q, k: problem.k, v: v, dO: dO, mask: problem.mask)
                for (suffix, values) in zip(parts, [gradients.dQ, gradients.dK, gradients.dV]) { call.cache.values[key + suffix] = values }
                return [gradients.dQ, gradients.dK, gradients.dV][part]
            })
    }

    /// Which LSE reference a check can share: the same Q and K tensors and mask (a paged
    /// check's keys are gathered through its block table, so it shares with no plain one).
    static func lseKey(_ check: CheckDecl, _ mask: AttentionReference.Mask) -> String {
        let family = check.reference == .attentionPaged ? "paged" : "plain"
        return family + "|" + check.argumentNames.prefix(2).joined(separator: ",") + "|\(mask)"
    }
}

/// What a softmax-attention check reads: Q, K (and for a paged check V) in the reference's
/// layout, the mask and the score transform of its options.
private struct SoftmaxProblem {
    var q: HostTensor
    var k: HostTensor
    var pagedV: HostTensor?
    var mask = AttentionReference.Mask()
    var transform: ScoreTransform
    let expectedQ: [Int]
    let expectedKV: [Int]

    init(_ call: ReferenceCall, paged: Bool) throws(Diagnostic) {
        let problem = call.shape
        q = call.inputs[0]
        k = call.inputs[1]
        let bh = problem.batch * problem.heads, bhkv = problem.batch * problem.kvHeads
        expectedQ = [bh, problem.queryLength, problem.headDim]
        expectedKV = [bhkv, problem.keyLength, problem.headDim]
        // Any shape with the reference layout's elements in row-major order will do (the
        // grouped GQA schedule splits the head axis: [batch*kv_heads, group, N, d]).
        guard q.count == expectedQ.reduce(1, *), q.shape.last == problem.headDim else {
            throw call.error("the reference expects Q as \(expectedQ) and K, V as \(expectedKV); found \(q.shape) and \(k.shape)")
        }
        guard problem.heads % problem.kvHeads == 0 else {
            throw call.error("heads (\(problem.heads)) must be a multiple of kv_heads (\(problem.kvHeads))")
        }
        var block = (pattern: 0, local: 1, stride: 0, density: 1000, seed: 1)
        var pageSize = 0
        var scores = ScoreTransformOptions()
        for option in call.options {
            if try scores.accept(option, call) { continue }
            let i = try call.integer(option)
            switch option.name {
            case "causal": mask.causal = i != 0
            case "window":
                if i > 0 {
                    mask.window = i
                    mask.causal = true
                }
            case "block_pattern": block.pattern = i
            case "block_local": block.local = i
            case "block_stride": block.stride = i
            case "block_density": block.density = i
            case "block_seed": block.seed = i
            case "page_size": pageSize = i
            case "block_rows": mask.blockRows = max(1, i)
            default: mask.blockColumns = max(1, i)
            }
        }
        guard let pattern = BlockPattern(code: block.pattern, local: block.local, stride: block.stride, densityPermille: block.density, seed: block.seed) else {
            throw call.error("block_pattern \(block.pattern) is not 0 (dense), 1 (local + strided) or 2 (random)")
        }
        mask.blocks = pattern
        if paged {
            guard pageSize > 0 else { throw call.error("'attention_paged' needs the option page_size") }
            let table = call.inputs[3]
            k = try PagedLayout.gather(k, table: table, problem: problem, pageSize: pageSize, source: call.source, at: call.check.location)
            pagedV = try PagedLayout.gather(call.inputs[2], table: table, problem: problem, pageSize: pageSize, source: call.source, at: call.check.location)
        }
        guard k.count == expectedKV.reduce(1, *) else {
            throw call.error("the reference expects K, V as \(expectedKV); found \(k.shape)")
        }
        transform = try scores.transform(call)
    }
}

/// The score-transform options (`rope`, `rope_base`, `rope_scaling`, `rope_factor`,
/// `rope_original`, `alibi`, `softcap`, `sinks`), gathered into a `ScoreTransform`.
private struct ScoreTransformOptions {
    static let options: [ReferenceOption] = [
        ReferenceOption("rope"), ReferenceOption("rope_base", number: true), ReferenceOption("rope_scaling"),
        ReferenceOption("rope_factor", number: true), ReferenceOption("rope_original"), ReferenceOption("alibi"),
        ReferenceOption("softcap", number: true), ReferenceOption("sinks"),
    ]
    static let names = Set(options.map(\.name))

    var rope = 0
    var base = 10_000.0
    var scaling = 0
    var factor = 1.0
    var original = 4096
    var alibi = 0
    var softcap = 0.0
    var sinks = 0

    /// Takes `option`; false when it is not a score-transform option.
    mutating func accept(_ option: ReferenceOptionValue, _ call: ReferenceCall) throws(Diagnostic) -> Bool {
        guard Self.names.contains(option.name) else { return false }
        switch option.name {
        case "rope": rope = try call.integer(option)
        case "rope_base": base = option.value.number
        case "rope_scaling": scaling = try call.integer(option)
        case "rope_factor": factor = option.value.number
        case "rope_original": original = try call.integer(option)
        case "alibi": alibi = try call.integer(option)
        case "softcap": softcap = option.value.number
        default:
            sinks = try call.integer(option)
            guard sinks >= 0 else { throw Diagnostic(.numeric, call.source, option.location, "'sinks' must be 0 or positive, found \(sinks)") }
        }
        return true
    }

    /// The transform the options describe (`rope: 1` turns the rotary embedding on).
    func transform(_ call: ReferenceCall) throws(Diagnostic) -> ScoreTransform {
        var transform = ScoreTransform(alibi: alibi != 0, softcap: softcap > 0 ? softcap : nil, sinks: sinks)
        if rope != 0 {
            switch RotaryEmbedding.make(base: base, scalingCode: scaling, factor: factor, originalContext: original) {
            case .success(let rotary): transform.rotary = rotary
            case .failure(let failure): throw call.error(failure.description)
            }
        }
        return transform
    }
}
