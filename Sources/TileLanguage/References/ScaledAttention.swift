import AttnNumerics

/// Softmax attention over block-quantized inputs: FlashAttention-3's FP8 path (Shah et al.
/// 2024, Section 3.3, "block quantization") keeps Q, K and V as e4m3 codes with one fp32
/// scale per block of rows. The reference dequantizes them (code x its block's scale, in
/// float64, then held as the fp32 the kernel's arithmetic sees to within 2^-24) and is
/// `attention` / `attention_lse` of the result, so the check judges the kernel's
/// arithmetic (its fp32 sums and its rounding of P to e4m3), not the quantization of the
/// inputs.
extension ReferenceKind {
    static let scaledAttention: [ReferenceKind] = [.attentionScaled, .attentionScaledLSE]

    /// The block sizes of the scales, then softmax attention's options.
    static let scaledOptions: [ReferenceOption] = [ReferenceOption("block_q"), ReferenceOption("block_k")] + softmaxOptions

    /// attention_scaled(Q, QS, K, KS, V, VS, block_q: Br, block_k: Bc): softmax attention of
    /// Q [batch*heads, N, d] x QS [batch*heads, cdiv(N, Br)] (row n of head h scaled by
    /// QS[h, n / Br]), K and V [batch*kv_heads, Nkv, d] by KS and VS [batch*kv_heads,
    /// cdiv(Nkv, Bc)]. n = d + Nkv, as `attention`.
    public static let attentionScaled = ReferenceKind(
        "attention_scaled", arguments: ["Q", "QS", "K", "KS", "V", "VS"], options: scaledOptions, reductionLength: headAndKeys,
        compute: { call throws(Diagnostic) in
            try ReferenceKind.attention.compute(try dequantized(call, pairs: 3))
        })

    /// attention_scaled_lse(Q, QS, K, KS, block_q: Br, block_k: Bc): the row log-sum-exp
    /// of the dequantized scores. n = d + Nkv.
    public static let attentionScaledLSE = ReferenceKind(
        "attention_scaled_lse", arguments: ["Q", "QS", "K", "KS"], options: scaledOptions, reductionLength: headAndKeys,
        compute: { call throws(Diagnostic) in
            try ReferenceKind.attentionLSE.compute(try dequantized(call, pairs: 2))
        })

    /// The call as `attention`'s: each (codes, scales) pair of the check dequantized, the
    /// block options taken out.
    private static func dequantized(_ call: ReferenceCall, pairs: Int) throws(Diagnostic) -> ReferenceCall {
        var blockQ = 0, blockK = 0
        var rest: [ReferenceOptionValue] = []
        for option in call.options {
            switch option.name {
            case "block_q": blockQ = try call.integer(option)
            case "block_k": blockK = try call.integer(option)
            default: rest.append(option)
            }
        }
        guard blockQ > 0, blockK > 0 else {
            throw call.error("'\(call.check.reference.rawValue)' needs block_q and block_k, the rows each scale serves (positive)")
        }
        let shape = call.shape
        var inputs: [HostTensor] = []
        for pair in 0..<pairs {
            let codes = call.inputs[2 * pair], scales = call.inputs[2 * pair + 1]
            let heads = pair == 0 ? shape.batch * shape.heads : shape.batch * shape.kvHeads
            let length = pair == 0 ? shape.queryLength : shape.keyLength
            let block = pair == 0 ? blockQ : blockK
            let blocks = (length + block - 1) / block
            guard codes.count == heads * length * shape.headDim, scales.count == heads * blocks else {
                let names = call.check.argumentNames
                throw call.error(
                    "'\(call.check.reference.rawValue)' expects \(names[2 * pair]) as [\(heads), \(length), \(shape.headDim)] and \(names[2 * pair + 1]) as [\(heads), \(blocks)] (blocks of \(block) rows); found \(codes.shape) and \(scales.shape)")
            }
            var values = HostTensor(shape: [heads, length, shape.headDim], dtype: .fp32)
            for h in 0..<heads {
                for row in 0..<length {
                    let scale = Double(scales.values[h * blocks + row / block])
                    let base = (h * length + row) * shape.headDim
                    for c in 0..<shape.headDim { values.values[base + c] = Float(Double(codes.values[base + c]) * scale) }
                }
            }
            inputs.append(values)
        }
        return ReferenceCall(
            check: call.check, shape: shape, inputs: inputs, outputCount: call.outputCount, options: rest, source: call.source, cache: call.cache)
    }
}
