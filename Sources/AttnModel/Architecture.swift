import AttnNumerics
import Workload

/// Why a model cannot be modelled as a whole.
public struct ModelShapeError: AdvisedError, Sendable, Equatable {
    /// The message, with the settings it names as values (`Remedy`).
    public var advice: Advice
    public init(_ message: String) { advice = Advice(message) }
    public init(advice: Advice) { self.advice = advice }
    public var message: String { advice.description }
    public var description: String { message }
}

/// One decoder layer as `attnsim model` sees it: its mixer (attention with its own head
/// counts, a Mamba SSM or a Gated DeltaNet) and its FFN (dense, or a mixture of experts).
public struct LayerShape: Sendable, Equatable, Hashable {
    public enum Mixer: Sendable, Equatable, Hashable {
        case attention(heads: Int, kvHeads: Int)
        case ssm
        /// Gated DeltaNet linear attention (the model's `deltanet` state sizes).
        case deltanet
    }

    public enum FFN: Sendable, Equatable, Hashable {
        case dense(intermediate: Int)
        case moe(experts: Int, topK: Int, shared: Int, intermediate: Int)
    }

    public var mixer: Mixer
    public var ffn: FFN
    /// An attention layer's sliding window (nil: global attention over the whole context),
    /// from the model file's `sliding_window`, `sliding_window_pattern` or `layer_windows`:
    /// Gemma 2's local and global layers alternate.
    public var window: Int?
    /// An attention layer's chunk (Llama 4's chunked local attention; nil: none).
    public var chunk: Int? = nil
    /// Whether an attention layer applies RoPE (false: a NoPE layer, or no RoPE in the model).
    public var rope: Bool = true

    public init(mixer: Mixer, ffn: FFN, window: Int? = nil, chunk: Int? = nil, rope: Bool = true) {
        self.mixer = mixer
        self.ffn = ffn
        self.window = window
        self.chunk = chunk
        self.rope = rope
    }
}

/// A decoder-only model resolved layer by layer from a model file's `decoder` object
/// (and pruned, if asked): everything the parameter count and the operator list need.
public struct Architecture: Sendable, Equatable {
    public var id: String
    public var name: String
    public var hiddenSize: Int
    public var headDim: Int
    public var layers: [LayerShape]
    public var decoder: DecoderBlock
    public var ssm: ModelSpec.SSMState?
    /// The state sizes of Gated DeltaNet layers (Qwen3-Next).
    public var deltanet: ModelSpec.DeltaNetState?
    /// DeepSeek Sparse Attention's lightning indexer (with MLA; DeepSeek-V3.2).
    public var indexer: ModelSpec.LightningIndexer?
    /// Multi-head latent attention (DeepSeek-V2/V3): every attention layer projects
    /// through the latent ranks of the file's `mla` object instead of Q, K and V.
    public var mla: ModelSpec.LatentAttention?
    /// The model file's `sliding_window` (which layers have it: `LayerShape.window`).
    public var slidingWindow: Int?
    public var maxContext: Int?
    /// The file's stated parameter count (what `parameters` in the model file says).
    public var statedParameters: Int

    /// The layers of `model`; fails when the file has no `decoder` object.
    public init(model: ModelSpec) throws(ModelShapeError) {
        guard let decoder = model.decoder else {
            throw ModelShapeError("model '\(model.id)' has no \"decoder\" object (FFN size, activation, vocabulary, norms); docs/model.md lists its fields")
        }
        if model.layerKinds.contains(.ssm) && model.ssm == nil {
            throw ModelShapeError("model '\(model.id)' has SSM layers but no \"ssm\" state")
        }
        if model.layerKinds.contains(.deltanet) && model.deltanet == nil {
            throw ModelShapeError("model '\(model.id)' has Gated DeltaNet layers but no \"deltanet\" state")
        }
        id = model.id
        name = model.name
        hiddenSize = model.hiddenSize
        headDim = model.headDim
        self.decoder = decoder
        ssm = model.ssm
        deltanet = model.deltanet
        indexer = model.indexer
        mla = model.mla
        slidingWindow = model.slidingWindow
        maxContext = model.maxContext
        statedParameters = model.parameters
        layers = model.layerKinds.enumerated().map { index, kind in
            let mixer: LayerShape.Mixer
            switch kind {
            case .ssm: mixer = .ssm
            case .deltanet: mixer = .deltanet
            case .attention: mixer = .attention(heads: decoder.heads(layer: index, model: model), kvHeads: decoder.kvHeads(layer: index, model: model))
            }
            let ffn: LayerShape.FFN
            if let moe = decoder.moe, moe.appliesTo(layer: index) {
                ffn = .moe(experts: moe.experts, topK: moe.topK, shared: moe.sharedExperts, intermediate: moe.expertIntermediateSize)
            } else {
                ffn = .dense(intermediate: decoder.intermediateSize(layer: index))
            }
            guard kind == .attention else { return LayerShape(mixer: mixer, ffn: ffn) }
            return LayerShape(
                mixer: mixer, ffn: ffn, window: model.window(layer: index), chunk: model.chunk(layer: index), rope: decoder.appliesRoPE(layer: index))
        }
        guard upperBoundParameters < Architecture.maxParameters else {
            throw ModelShapeError("model '\(model.id)' is too large to count: about \(upperBoundParameters) parameters (at most 2^50)")
        }
    }

    /// The largest parameter count `attnsim model` handles: 2^50, so every byte and FLOP
    /// count derived from it stays far inside 64 bits.
    public static let maxParameters = Double(1 << 50)

    /// The parameter count in floating point, with every per-layer term at its largest:
    /// computed before the exact integer count so that it cannot overflow.
    var upperBoundParameters: Double {
        let h = Double(hiddenSize), dh = Double(headDim)
        var total = 2 * Double(decoder.vocabSize) * h + Double(decoder.positionEmbeddings) * h
        for layer in layers {
            switch layer.mixer {
            case .attention(let heads, let kv):
                // Q (and its output gate), K, V, O and their biases, norms and sinks.
                total += h * Double(3 * heads + 2 * kv) * dh + 4 * h + Double(heads) + 4 * dh
                if let x = indexer {
                    total += Double(x.heads * x.headDim) * (h + Double(mla?.qLoraRank ?? 0)) + h * Double(x.headDim + x.heads) + 2 * Double(x.headDim)
                }
            case .deltanet:
                if let d = deltanet {
                    let qkvz = Double(2 * d.keyHeads * d.keyHeadDim + 2 * d.valueHeads * d.valueHeadDim)
                    total += h * (qkvz + 2 * Double(d.valueHeads)) + Double(d.convChannels * d.convWidth) + 2 * Double(d.valueHeads)
                        + Double(d.valueHeadDim) + Double(d.valueHeads * d.valueHeadDim) * h
                }
            case .ssm:
                if let s = ssm {
                    let inner = Double(s.innerDim)
                    total += inner * (3 * h + Double(s.convWidth) + 2 * Double(ssmDtRank) + 2 * Double(s.stateDim) + 4)
                }
            }
            switch layer.ffn {
            case .dense(let i): total += 3 * h * Double(i) + 2 * Double(i) + h
            case .moe(let e, _, let shared, let i): total += Double(e + shared) * (3 * h * Double(i) + 2 * Double(i) + h) + h * Double(e + 1) + Double(e)
            }
            total += 16 * h
        }
        return total
    }

    /// Mamba's dt rank: the file's `ssm_dt_rank`, else ceil(hidden / 16) (Gu and Dao 2023,
    /// the reference implementation's default).
    public var ssmDtRank: Int { decoder.ssmDtRank ?? (hiddenSize + 15) / 16 }

    /// The distinct layer shapes, in order of first appearance, each with the indices of
    /// the layers that have it (a layer's time does not depend on its position).
    public var layerGroups: [(shape: LayerShape, indices: [Int])] {
        var groups: [(shape: LayerShape, indices: [Int])] = []
        for (index, layer) in layers.enumerated() {
            if let at = groups.firstIndex(where: { $0.shape == layer }) {
                groups[at].indices.append(index)
            } else {
                groups.append((layer, [index]))
            }
        }
        return groups
    }

    /// Layer indices as ranges: [0, 1, 2, 5, 7, 8] -> "0-2,5,7-8".
    public static func formatIndices(_ indices: [Int]) -> String {
        var parts: [String] = []
        var start = indices.first
        var previous = indices.first
        for index in indices.dropFirst() + [Int.min] {
            guard let s = start, let p = previous else { break }
            if index == p + 1 { previous = index; continue }
            parts.append(s == p ? "\(s)" : "\(s)-\(p)")
            start = index
            previous = index
        }
        return parts.joined(separator: ",")
    }
}

extension Architecture {
    /// What one of `gpus` GPUs holds under tensor parallelism (Megatron-LM): query heads,
    /// FFN and expert intermediate sizes, SSM channels and the vocabulary split G ways;
    /// KV heads split too, or replicated when there are fewer than G (one per GPU).
    public func sharded(tensorParallel gpus: Int) throws(ModelShapeError) -> Architecture {
        guard gpus > 1 else { return self }
        var a = self
        for (index, layer) in layers.enumerated() {
            switch layer.mixer {
            case .attention(let heads, let kvHeads):
                guard heads % gpus == 0 else { throw ModelShapeError(advice: "\(Remedy.tensorParallel(gpus)): layer \(index)'s \(heads) query heads do not split evenly") }
                guard kvHeads % gpus == 0 || gpus % kvHeads == 0 else {
                    throw ModelShapeError(advice: "\(Remedy.tensorParallel(gpus)): layer \(index)'s \(kvHeads) KV heads neither split evenly nor replicate evenly")
                }
                a.layers[index].mixer = .attention(heads: heads / gpus, kvHeads: max(1, kvHeads / gpus))
            case .ssm, .deltanet:
                break
            }
            switch layer.ffn {
            case .dense(let i):
                guard i % gpus == 0 else { throw ModelShapeError(advice: "\(Remedy.tensorParallel(gpus)): layer \(index)'s FFN intermediate size \(i) does not split evenly") }
                a.layers[index].ffn = .dense(intermediate: i / gpus)
            case .moe(let experts, let topK, let shared, let i):
                guard i % gpus == 0 else { throw ModelShapeError(advice: "\(Remedy.tensorParallel(gpus)): layer \(index)'s expert intermediate size \(i) does not split evenly") }
                a.layers[index].ffn = .moe(experts: experts, topK: topK, shared: shared, intermediate: i / gpus)
            }
        }
        if var state = ssm {
            guard state.innerDim % gpus == 0 else { throw ModelShapeError(advice: "\(Remedy.tensorParallel(gpus)): SSM inner size \(state.innerDim) does not split evenly") }
            state.innerDim /= gpus
            a.ssm = state
        }
        if var state = deltanet, layers.contains(where: { $0.mixer == .deltanet }) {
            guard state.keyHeads % gpus == 0, state.valueHeads % gpus == 0 else {
                throw ModelShapeError(advice: "\(Remedy.tensorParallel(gpus)): Gated DeltaNet's \(state.keyHeads) key and \(state.valueHeads) value heads do not split evenly")
            }
            state.keyHeads /= gpus
            state.valueHeads /= gpus
            a.deltanet = state
        }
        a.decoder.vocabSize = (decoder.vocabSize + gpus - 1) / gpus
        return a
    }
}
