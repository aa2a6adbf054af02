import AttnNumerics
import TileLanguage

/// The zoo's `check` options (`rope`, `rope_base`, `rope_scaling`, `rope_factor`,
/// `rope_original`, `alibi`, `softcap`, `sinks`), gathered into a `ScoreTransform`.
struct ZooCheckOptions {
    static let names: Set<String> = ["rope", "rope_base", "rope_scaling", "rope_factor", "rope_original", "alibi", "softcap", "sinks"]

    var rope = 0
    var base = 10_000.0
    var scaling = 0
    var factor = 1.0
    var original = 4096
    var alibi = 0
    var softcap = 0.0
    var sinks = 0

    /// Takes `value` for the option `name`; false when the option is not a zoo option.
    mutating func accept(_ name: String, _ value: ScalarValue, source: SourceFile, at location: SourceLocation) throws(Diagnostic) -> Bool {
        guard Self.names.contains(name) else { return false }
        func integer() throws(Diagnostic) -> Int {
            guard case .int(let i) = value else { throw Diagnostic(.numeric, source, location, "'\(name)' must be an integer") }
            return i
        }
        switch name {
        case "rope": rope = try integer()
        case "rope_base": base = value.asDouble
        case "rope_scaling": scaling = try integer()
        case "rope_factor": factor = value.asDouble
        case "rope_original": original = try integer()
        case "alibi": alibi = try integer()
        case "softcap": softcap = value.asDouble
        default:
            sinks = try integer()
            guard sinks >= 0 else { throw Diagnostic(.numeric, source, location, "'sinks' must be 0 or positive, found \(sinks)") }
        }
        return true
    }

    /// The transform the options describe (`rope: 1` turns the rotary embedding on).
    func transform(source: SourceFile, at location: SourceLocation) throws(Diagnostic) -> ScoreTransform {
        var transform = ScoreTransform(alibi: alibi != 0, softcap: softcap > 0 ? softcap : nil, sinks: sinks)
        if rope != 0 {
            switch RotaryEmbedding.make(base: base, scalingCode: scaling, factor: factor, originalContext: original) {
            case .success(let rotary): transform.rotary = rotary
            case .failure(let failure): throw Diagnostic(.numeric, source, location, failure.description)
            }
        }
        return transform
    }
}

extension Verifier {
    /// The reference of a `linear_attention` or `linformer` check; nil for other references.
    func zooReference(_ check: CheckDecl) throws(Diagnostic) -> [Double]? {
        guard [.linearAttention, .linformer, .attentionCascade, .attentionCascadeLSE].contains(check.reference) else { return nil }
        let problem = bound.shape
        let source = bound.program.source
        if check.reference == .attentionCascade || check.reference == .attentionCascadeLSE { return try cascadeReference(check) }
        let q = tensors[check.arguments[0]], k = tensors[check.arguments[1]], v = tensors[check.arguments[2]]
        let expectedQ = problem.batch * problem.heads * problem.queryLength * problem.headDim
        let expectedKV = problem.batch * problem.kvHeads * problem.keyLength * problem.headDim
        guard q.count == expectedQ, k.count == expectedKV, v.count == expectedKV, problem.heads % problem.kvHeads == 0 else {
            throw Diagnostic(.numeric, source, check.location, "'\(check.reference.rawValue)' expects Q as [batch*heads, N, d] and K, V as [batch*kv_heads, Nkv, d]")
        }
        if check.reference == .linearAttention {
            return LinearAttentionReference.causalLinear(problem, q: q, k: k, v: v)
        }
        guard let reference = LinearAttentionReference.linformer(problem, q: q, k: k, v: v, e: tensors[check.arguments[3]], f: tensors[check.arguments[4]]) else {
            throw Diagnostic(.numeric, source, check.location, "'linformer' expects the projections E and F as [k, Nkv], both the same shape")
        }
        return reference
    }

    /// Plain float64 attention over each request's prefix followed by its suffix: K and V
    /// gathered from the shared Kp, Vp [kv_heads, P, d] and the request's Ks, Vs
    /// [batch*kv_heads, Nkv - P, d]; option `causal`. The output, or for
    /// `attention_cascade_lse` the row log-sum-exp.
    private func cascadeReference(_ check: CheckDecl) throws(Diagnostic) -> [Double] {
        let problem = bound.shape
        let source = bound.program.source
        var mask = AttentionReference.Mask()
        for option in check.options {
            let value = try ScalarEvaluator.evaluate(option.value, parameters: bound.parameterValues, source: source, names: bound.program.parameters.map(\.name))
            guard option.name == "causal", case .int(let i) = value else {
                throw Diagnostic(.numeric, source, option.value.location, "'attention_cascade' takes only the integer option causal")
            }
            mask.causal = i != 0
        }
        let q = tensors[check.arguments[0]]
        let (kp, vp, ks, vs) = (tensors[check.arguments[1]], tensors[check.arguments[2]], tensors[check.arguments[3]], tensors[check.arguments[4]])
        let d = problem.headDim, nkv = problem.keyLength, kvHeads = problem.kvHeads
        let prefix = kp.count / max(1, kvHeads * d)
        let suffix = nkv - prefix
        guard q.count == problem.batch * problem.heads * problem.queryLength * d, problem.heads % kvHeads == 0,
            vp.count == kp.count, kp.count == kvHeads * prefix * d, kp.shape.last == d, suffix >= 0,
            ks.count == problem.batch * kvHeads * suffix * d, vs.count == ks.count
        else {
            throw Diagnostic(.numeric, source, check.location, "'attention_cascade' expects Q as [batch*heads, N, d], Kp, Vp as [kv_heads, P, d] and Ks, Vs as [batch*kv_heads, Nkv - P, d]")
        }
        var k = HostTensor(shape: [problem.batch * kvHeads, nkv, d], dtype: ks.dtype)
        var v = k
        for b in 0..<problem.batch {
            for h in 0..<kvHeads {
                let to = (b * kvHeads + h) * nkv * d
                for i in 0..<(prefix * d) {
                    k.values[to + i] = kp.values[h * prefix * d + i]
                    v.values[to + i] = vp.values[h * prefix * d + i]
                }
                let from = (b * kvHeads + h) * suffix * d
                for i in 0..<(suffix * d) {
                    k.values[to + prefix * d + i] = ks.values[from + i]
                    v.values[to + prefix * d + i] = vs.values[from + i]
                }
            }
        }
        let both = AttentionReference.outputAndLogSumExp(problem, q: q, k: k, v: v, mask: mask)
        return check.reference == .attentionCascadeLSE ? both.logSumExp : both.output
    }

    /// The reduction length behind one element of a zoo check (`NumericTolerance`):
    /// d + Nkv for linear attention (a dot product of features, a sum over keys), and
    /// d + Nkv + k for Linformer (the projection's sum over Nkv, then attention over k rows).
    static func zooReductionLength(_ check: CheckDecl, bound: BoundProgram) -> Int {
        let shape = bound.shape
        var n = shape.headDim + shape.keyLength
        if check.reference == .linformer, check.arguments.count > 3, let rows = bound.tensorShapes[check.arguments[3]].first {
            n += rows
        }
        return n
    }

    /// The quantization term of a check's tolerance (`NumericTolerance`): for each of its
    /// inputs that a `quantize` initializer turned into codes, the square of the format's
    /// relative step (`KVQuantFormat.relativeStep`: fp8e4m3 2^-4, fp8e5m2 2^-3, int8
    /// 1/255, int4 1/15). The reference reads the unquantized values, so a quantized K or V
    /// perturbs the output as one more rounding of that size would: each element's error
    /// is at most the step times the magnitude of its group (a normwise relative error),
    /// unbiased and independent of the others, so it adds in quadrature with the storage
    /// roundings and the softmax amplifies it by the same factor 4. An unknown format
    /// counts as int4, the coarsest.
    static func quantizationSquares(_ check: CheckDecl, bound: BoundProgram) -> Double {
        var squares = 0.0
        for tensor in bound.program.tensors {
            guard case .quantize(let quantize) = tensor.initializer, check.arguments.contains(quantize.source) else { continue }
            var step = KVQuantFormat.int4.relativeStep
            if let value = try? ScalarEvaluator.evaluate(quantize.format, parameters: bound.parameterValues, source: bound.program.source),
                case .int(let code) = value, let format = KVQuantFormat(rawValue: code) {
                step = format.relativeStep
            }
            squares += step * step
        }
        return squares
    }
}
