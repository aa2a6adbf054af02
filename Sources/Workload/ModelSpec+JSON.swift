import AttnJSON
import AttnNumerics
import Foundation

/// Why a model could not be had.
public enum ModelError: Error, Sendable, CustomStringConvertible {
    case unknown(name: String, known: [String])
    case unreadable(file: String, reason: String)
    case invalid(JSONInputError)

    public var description: String {
        switch self {
        case .unknown(let name, let known):
            return "unknown model '\(name)'; built-in models: \(known.joined(separator: ", ")), or a path to a model .json file"
        case .unreadable(let file, let reason): return "\(file): cannot read model: \(reason)"
        case .invalid(let error): return error.description
        }
    }
}

extension ModelSpec {
    /// The largest layer count, head count, head size, SSM state size or convolution
    /// width a model may declare: 65,536. With `maxHiddenSize` and the dtype's 4 bytes
    /// at most, bytes per token (layers x 2 x kv_heads x head_dim x 4) stay below 2^51
    /// and SSM state bytes per sequence below 2^59, so footprints are exact in 64 bits.
    public static let maxDimension = 1 << 16
    /// The largest hidden size or SSM inner dimension: 2^24.
    public static let maxHiddenSize = 1 << 24
    /// The largest weight parameter count: 2^50 (about 1.1e15).
    public static let maxParameters = 1 << 50
    /// The largest max_context or sliding_window: 2^40 tokens.
    public static let maxContext = 1 << 40

    /// Decodes and validates a model file (format in docs/kv-cache.md). Each figure is
    /// checked against the limits above; an error names the file and the field.
    public init(jsonText: String, file: String) throws(JSONInputError) {
        var r = try JSONObjectReader(try JSONParser.parse(jsonText, file: file), file: file, path: "")
        func need(_ key: String, minimum: Int = 1, maximum: Int = ModelSpec.maxDimension) throws(JSONInputError) -> Int {
            guard let v = try r.integer(key, minimum: minimum, maximum: maximum) else {
                throw r.error(key, "is required (an integer from \(minimum) to \(maximum))")
            }
            return v
        }
        guard let id = try r.string("id") else { throw r.error("id", "is required") }
        self.id = id
        name = try r.string("name") ?? id
        layers = try need("layers")
        hiddenSize = try need("hidden_size", maximum: ModelSpec.maxHiddenSize)
        heads = try need("heads")
        kvHeads = try r.integer("kv_heads", minimum: 1, maximum: ModelSpec.maxDimension) ?? heads
        guard heads % kvHeads == 0 else { throw r.error("kv_heads", "expected a divisor of heads (\(heads)), found \(kvHeads)") }
        if let dim = try r.integer("head_dim", minimum: 1, maximum: ModelSpec.maxDimension) {
            headDim = dim
        } else {
            guard hiddenSize / heads >= 1, hiddenSize / heads <= ModelSpec.maxDimension else {
                throw r.error("head_dim", "is required when hidden_size / heads (\(hiddenSize) / \(heads)) is not from 1 to \(ModelSpec.maxDimension)")
            }
            headDim = hiddenSize / heads
        }
        parameters = try need("parameters", minimum: 0, maximum: ModelSpec.maxParameters)
        maxContext = try r.integer("max_context", minimum: 1, maximum: ModelSpec.maxContext)
        slidingWindow = try r.integer("sliding_window", minimum: 1, maximum: ModelSpec.maxContext)
        slidingWindowPattern = try r.integer("sliding_window_pattern", minimum: 1, maximum: ModelSpec.maxDimension)
        if slidingWindowPattern != nil && slidingWindow == nil {
            throw r.error("sliding_window_pattern", "needs sliding_window (the window of the local layers)")
        }
        if let windows = try r.array("layer_windows") {
            guard slidingWindow == nil else {
                throw r.error("layer_windows", "replaces sliding_window; give one of them")
            }
            guard windows.count == layers else {
                throw r.error("layer_windows", "expected one entry per layer (\(layers)), found \(windows.count)")
            }
            var parsed: [Int?] = []
            for (index, value) in windows.enumerated() {
                switch value {
                case .null: parsed.append(nil)
                case .integer(let w) where w >= 1 && w <= ModelSpec.maxContext: parsed.append(w)
                default:
                    throw JSONInputError(
                        file: file, path: r.path("layer_windows") + "[\(index)]",
                        message: "expected a window from 1 to \(ModelSpec.maxContext) tokens or null (a global layer), found \(value.summary)")
                }
            }
            layerWindows = parsed
        } else {
            layerWindows = nil
        }
        attentionChunkSize = try r.integer("attention_chunk_size", minimum: 1, maximum: ModelSpec.maxContext)
        attentionChunkPattern = try r.integer("attention_chunk_pattern", minimum: 1, maximum: ModelSpec.maxDimension)
        if attentionChunkPattern != nil && attentionChunkSize == nil {
            throw r.error("attention_chunk_pattern", "needs attention_chunk_size (the chunk of the chunked layers)")
        }
        if attentionChunkSize != nil && (slidingWindow != nil || layerWindows != nil) {
            throw r.error("attention_chunk_size", "cannot be combined with sliding_window or layer_windows: a layer is windowed or chunked, not both")
        }
        attentionSinks = try r.integer("attention_sinks", minimum: 0, maximum: ModelSpec.maxContext)
        if let sinks = attentionSinks, sinks > 0, slidingWindow == nil, !(layerWindows ?? []).contains(where: { $0 != nil }) {
            throw r.error("attention_sinks", "needs a window (sliding_window or layer_windows): sinks are kept beside a window")
        }
        if var m = try r.object("mla") {
            func needM(_ key: String) throws(JSONInputError) -> Int {
                guard let v = try m.integer(key, minimum: 1, maximum: ModelSpec.maxDimension) else {
                    throw m.error(key, "is required (an integer from 1 to \(ModelSpec.maxDimension))")
                }
                return v
            }
            mla = LatentAttention(
                kvLoraRank: try needM("kv_lora_rank"), qkRopeHeadDim: try needM("qk_rope_head_dim"),
                qkNopeHeadDim: try needM("qk_nope_head_dim"), vHeadDim: try needM("v_head_dim"),
                qLoraRank: try m.integer("q_lora_rank", minimum: 1, maximum: ModelSpec.maxHiddenSize))
            try m.finish()
        } else {
            mla = nil
        }
        if var x = try r.object("indexer") {
            guard mla != nil else { throw r.error("indexer", "needs mla: the lightning indexer selects keys for multi-head latent attention (DeepSeek-V3.2)") }
            func needX(_ key: String, maximum: Int = ModelSpec.maxDimension) throws(JSONInputError) -> Int {
                guard let v = try x.integer(key, minimum: 1, maximum: maximum) else {
                    throw x.error(key, "is required (an integer from 1 to \(maximum))")
                }
                return v
            }
            let heads = try needX("index_n_heads"), headDim = try needX("index_head_dim"), topK = try needX("index_topk", maximum: ModelSpec.maxContext)
            var fp8Keys = false
            if let dtype = try x.string("key_dtype") {
                guard dtype == "fp8" || dtype == "kv" else {
                    throw x.error("key_dtype", "expected \"fp8\" (E4M3 with an fp32 scale per 128 elements) or \"kv\" (the KV cache's dtype), found \"\(dtype)\"")
                }
                fp8Keys = dtype == "fp8"
            }
            indexer = LightningIndexer(heads: heads, headDim: headDim, topK: topK, fp8Keys: fp8Keys)
            try x.finish()
        } else {
            indexer = nil
        }
        if var c = try r.object("cross_attention") {
            guard let states = try c.integer("encoder_states", minimum: 1, maximum: ModelSpec.maxContext) else {
                throw c.error("encoder_states", "is required (an integer from 1 to \(ModelSpec.maxContext))")
            }
            crossAttention = CrossAttention(encoderStates: states)
            try c.finish()
        }
        if let kinds = try r.array("layer_kinds") {
            guard kinds.count == layers else {
                throw r.error("layer_kinds", "expected one entry per layer (\(layers)), found \(kinds.count)")
            }
            var parsed: [LayerKind] = []
            for (index, value) in kinds.enumerated() {
                guard case .string(let text) = value, let kind = LayerKind(rawValue: text) else {
                    throw JSONInputError(
                        file: file, path: r.path("layer_kinds") + "[\(index)]", message: "expected \"attention\", \"ssm\" or \"deltanet\", found \(value.summary)")
                }
                parsed.append(kind)
            }
            layerKinds = parsed
        } else {
            layerKinds = Array(repeating: .attention, count: layers)
        }
        if var s = try r.object("ssm") {
            func needS(_ key: String, maximum: Int = ModelSpec.maxDimension) throws(JSONInputError) -> Int {
                guard let v = try s.integer(key, minimum: 1, maximum: maximum) else {
                    throw s.error(key, "is required (an integer from 1 to \(maximum))")
                }
                return v
            }
            ssm = SSMState(
                innerDim: try needS("inner_dim", maximum: ModelSpec.maxHiddenSize), stateDim: try needS("state_dim"),
                convWidth: try needS("conv_width"))
            try s.finish()
        } else {
            ssm = nil
        }
        if layerKinds.contains(.ssm) && ssm == nil {
            throw r.error("ssm", "is required when layer_kinds has \"ssm\" layers: {\"inner_dim\", \"state_dim\", \"conv_width\"}")
        }
        if var d = try r.object("deltanet") {
            func needD(_ key: String) throws(JSONInputError) -> Int {
                guard let v = try d.integer(key, minimum: 1, maximum: ModelSpec.maxDimension) else {
                    throw d.error(key, "is required (an integer from 1 to \(ModelSpec.maxDimension))")
                }
                return v
            }
            let state = DeltaNetState(
                keyHeads: try needD("linear_num_key_heads"), valueHeads: try needD("linear_num_value_heads"),
                keyHeadDim: try needD("linear_key_head_dim"), valueHeadDim: try needD("linear_value_head_dim"),
                convWidth: try needD("linear_conv_kernel_dim"))
            guard state.valueHeads % state.keyHeads == 0 else {
                throw d.error("linear_num_value_heads", "expected a multiple of linear_num_key_heads (\(state.keyHeads)), found \(state.valueHeads)")
            }
            deltanet = state
            try d.finish()
        } else {
            deltanet = nil
        }
        if layerKinds.contains(.deltanet) && deltanet == nil {
            throw r.error(
                "deltanet", "is required when layer_kinds has \"deltanet\" layers: {\"linear_num_key_heads\", \"linear_num_value_heads\", "
                    + "\"linear_key_head_dim\", \"linear_value_head_dim\", \"linear_conv_kernel_dim\"}")
        }
        decoder = try DecoderBlock.optional(in: &r, key: "decoder", layers: layers, heads: heads, kvHeads: kvHeads, hiddenSize: hiddenSize)
        var sources: [String: String] = [:]
        if var s = try r.object("sources") {
            for key in s.keys { sources[key] = try s.string(key) }
            try s.finish()
        }
        self.sources = sources
        try r.finish()
    }

    /// The built-in models, in the order `attnsim list` shows them.
    public static let builtInNames = [
        "gpt2-medium", "gpt3-175b", "opt-13b", "opt-66b", "opt-175b", "llama-2-7b", "llama-2-13b", "llama-2-70b",
        "llama-3-8b", "llama-3-70b", "mistral-7b", "mixtral-8x7b", "gemma-2-9b", "gemma-2-27b", "falcon-7b", "falcon-40b", "jamba-v0.1",
        "deepseek-v2-lite", "deepseek-v2", "deepseek-v3",
        "gpt-oss-20b", "gpt-oss-120b", "llama-4-scout", "llama-4-maverick", "gemma-3-1b", "gemma-3-12b", "gemma-3-27b",
        "qwen3-8b", "qwen3-32b", "qwen3-30b-a3b", "qwen3-235b-a22b", "qwen3-next-80b", "deepseek-v3.2", "kimi-k2", "whisper-large-v3",
    ]

    /// A built-in model by id, or a model file when `nameOrPath` ends in `.json`.
    public static func named(_ nameOrPath: String) throws(ModelError) -> ModelSpec {
        let file: String
        let text: String
        if nameOrPath.hasSuffix(".json") {
            file = nameOrPath
            do { text = try TextFile.read(nameOrPath) } catch {
                throw .unreadable(file: nameOrPath, reason: error.reason)
            }
        } else {
            guard builtInNames.contains(nameOrPath) else { throw .unknown(name: nameOrPath, known: builtInNames) }
            file = "Models/\(nameOrPath).json"
            guard let builtIn = BuiltinModels.sources[nameOrPath] else {
                throw .unreadable(file: file, reason: "not compiled in (run scripts/embed-resources.py)")
            }
            text = builtIn
        }
        do { return try ModelSpec(jsonText: text, file: file) } catch { throw .invalid(error) }
    }
}
