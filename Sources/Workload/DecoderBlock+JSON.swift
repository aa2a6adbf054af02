import AttnJSON

extension DecoderBlock {
    /// The largest vocabulary, intermediate size or expert count a model may declare: 2^24.
    public static let maxSize = 1 << 24

    /// Reads the optional `key` object of a model file (format in docs/model.md), checking
    /// each field and that per-layer lists have one entry per layer; nil when absent.
    public static func optional(
        in reader: inout JSONObjectReader, key: String, layers: Int, heads: Int, kvHeads: Int, hiddenSize: Int
    ) throws(JSONInputError) -> DecoderBlock? {
        guard var r = try reader.object(key) else { return nil }
        let block = try DecoderBlock(reader: &r, layers: layers, heads: heads, kvHeads: kvHeads, hiddenSize: hiddenSize)
        try r.finish()
        return block
    }

    init(reader r: inout JSONObjectReader, layers: Int, heads: Int, kvHeads: Int, hiddenSize: Int) throws(JSONInputError) {
        func need(_ key: String, in r: inout JSONObjectReader, minimum: Int = 1, maximum: Int = DecoderBlock.maxSize) throws(JSONInputError) -> Int {
            guard let v = try r.integer(key, minimum: minimum, maximum: maximum) else {
                throw r.error(key, "is required (an integer from \(minimum) to \(maximum))")
            }
            return v
        }
        func choice<T: RawRepresentable & CaseIterable>(_ key: String, _: T.Type, default value: T?) throws(JSONInputError) -> T where T.RawValue == String {
            guard let text = try r.string(key) else {
                guard let value else { throw r.error(key, "is required (\(T.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", ")))") }
                return value
            }
            guard let parsed = T(rawValue: text) else {
                throw r.error(key, "expected one of \(T.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", ")), found \"\(text)\"")
            }
            return parsed
        }
        func choiceIn<T: RawRepresentable & CaseIterable>(_ r: inout JSONObjectReader, _ key: String, _: T.Type) throws(JSONInputError) -> T? where T.RawValue == String {
            guard let text = try r.string(key) else { return nil }
            guard let parsed = T(rawValue: text) else {
                throw r.error(key, "expected one of \(T.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", ")), found \"\(text)\"")
            }
            return parsed
        }
        intermediateSize = try need("intermediate_size", in: &r)
        activation = try choice("activation", Activation.self, default: nil)
        vocabSize = try need("vocab_size", in: &r)
        norm = try choice("norm", Norm.self, default: nil)
        normsPerLayer = try r.integer("norms_per_layer", minimum: 0, maximum: 8) ?? 2
        finalNorm = try r.bool("final_norm") ?? true
        tiedEmbeddings = try r.bool("tied_embeddings") ?? false
        bias = try r.bool("bias") ?? false
        positions = try choice("positions", Positions.self, default: .rope)
        if positions == .learned {
            positionEmbeddings = try need("position_embeddings", in: &r)
        } else {
            if try r.integer("position_embeddings", minimum: 0) != nil {
                throw r.error("position_embeddings", "is only for \"positions\": \"learned\"")
            }
            positionEmbeddings = 0
        }
        noRopeLayerInterval = try r.integer("no_rope_layer_interval", minimum: 1, maximum: layers)
        if noRopeLayerInterval != nil && positions != .rope {
            throw r.error("no_rope_layer_interval", "applies to \"positions\": \"rope\" (it names the layers without RoPE)")
        }
        qkNorm = try r.bool("qk_norm") ?? false
        sinkLogits = try r.bool("sink_logits") ?? false
        attentionOutputGate = try r.bool("attention_output_gate") ?? false
        if var m = try r.object("moe") {
            let experts = try need("experts", in: &m, maximum: 1 << 16)
            let topK = try need("top_k", in: &m, maximum: experts)
            moe = MoE(
                experts: experts, topK: topK, sharedExperts: try m.integer("shared_experts", minimum: 0, maximum: 1 << 16) ?? 0,
                expertIntermediateSize: try m.integer("expert_intermediate_size", minimum: 1, maximum: DecoderBlock.maxSize) ?? intermediateSize,
                every: try m.integer("every", minimum: 1, maximum: layers) ?? 1, offset: try m.integer("offset", minimum: 0, maximum: layers - 1) ?? 0,
                firstDenseLayers: try m.integer("first_dense_layers", minimum: 0, maximum: layers) ?? 0,
                routerBias: try m.bool("router_bias") ?? false, sharedExpertGate: try m.bool("shared_expert_gate") ?? false,
                expertDType: try choiceIn(&m, "expert_dtype", ExpertDType.self))
            if moe?.sharedExpertGate == true && moe?.sharedExperts == 0 {
                throw m.error("shared_expert_gate", "needs shared_experts (the gate scales the shared experts' output)")
            }
            try m.finish()
        } else {
            moe = nil
        }
        ssmDtRank = try r.integer("ssm_dt_rank", minimum: 1, maximum: DecoderBlock.maxSize)
        func perLayer(_ key: String, maximum: Int) throws(JSONInputError) -> [Int]? {
            guard let values = try r.array(key) else { return nil }
            guard values.count == layers else { throw r.error(key, "expected one entry per layer (\(layers)), found \(values.count)") }
            var out: [Int] = []
            for (index, value) in values.enumerated() {
                out.append(try JSONObjectReader.integer(value, minimum: 1, maximum: maximum, file: r.file, path: r.path(key) + "[\(index)]"))
            }
            return out
        }
        layerHeads = try perLayer("layer_heads", maximum: ModelSpec.maxDimension)
        layerKVHeads = try perLayer("layer_kv_heads", maximum: ModelSpec.maxDimension)
        layerIntermediateSizes = try perLayer("layer_intermediate_sizes", maximum: DecoderBlock.maxSize)
        for index in 0..<layers {
            let h = layerHeads?[index] ?? heads
            let kv = layerKVHeads?[index] ?? min(kvHeads, h)
            guard h % kv == 0 else {
                throw JSONInputError(
                    file: r.file, path: r.path(layerKVHeads == nil ? "layer_heads" : "layer_kv_heads") + "[\(index)]",
                    message: "layer \(index): \(kv) KV heads do not divide \(h) query heads")
            }
        }
    }

    /// Query heads of layer `index` (the model's unless pruned per layer).
    public func heads(layer index: Int, model: ModelSpec) -> Int { layerHeads?[index] ?? model.heads }

    /// KV heads of layer `index`: the per-layer list, else the model's (capped at the
    /// layer's query heads when only those were pruned).
    public func kvHeads(layer index: Int, model: ModelSpec) -> Int {
        layerKVHeads?[index] ?? min(model.kvHeads, heads(layer: index, model: model))
    }

    /// Intermediate size of layer `index`'s dense FFN.
    public func intermediateSize(layer index: Int) -> Int { layerIntermediateSizes?[index] ?? intermediateSize }

    /// Whether attention layer `index` applies RoPE (`positions` rope and not a NoPE layer).
    public func appliesRoPE(layer index: Int) -> Bool {
        guard positions == .rope else { return false }
        if let interval = noRopeLayerInterval, interval > 0, (index + 1) % interval == 0 { return false }
        return true
    }
}
