import AttnHardware
import KVCache

/// Memory one GPU needs for a model at a context, against its capacity.
public struct ModelMemory: Sendable, Equatable {
    /// Parameters this GPU holds x bytes per element (low-precision experts in their format).
    public var weightBytes: Int
    /// K/V of every attention layer (capped by a sliding window or an attention chunk), and
    /// SSM and Gated DeltaNet state, for the batch.
    public var kvBytes: Int
    /// The largest live activations of a prefill step (one operator's input and output) and the logits.
    public var activationBytes: Int
    public var capacityBytes: Int

    public var totalBytes: Int { weightBytes + kvBytes + activationBytes }
    public var fits: Bool { totalBytes <= capacityBytes }
}

/// One context length: the prefill and decode steps and what they give a user.
public struct ModelSummary: Sendable, Equatable {
    public var context: Int
    public var prefill: StepPrediction
    public var decode: StepPrediction?
    public var memory: ModelMemory
    /// Under pipeline parallelism, the prefill and decode steps through the stages
    /// (`prefill` and `decode` are then one micro-batch's step); nil otherwise.
    public var prefillPipeline: PipelineStep? = nil
    public var decodePipeline: PipelineStep? = nil

    /// Time to first token: the prefill of the whole prompt (batch included; through
    /// the pipeline's stages under pipeline parallelism).
    public var ttftSeconds: Double { prefillPipeline?.seconds ?? prefill.seconds }
    /// Time per output token: one decode step at this context (every micro-batch's,
    /// under pipeline parallelism).
    public var tpotSeconds: Double? { decodePipeline?.seconds ?? decode?.seconds }
    /// Decode throughput: batch / TPOT.
    public var decodeTokensPerSecond: Double? { tpotSeconds.map { $0 > 0 ? Double(prefill.batch) / $0 : 0 } }
    /// Prefill throughput: batch x context / TTFT.
    public var prefillTokensPerSecond: Double { ttftSeconds > 0 ? Double(prefill.batch * context) / ttftSeconds : 0 }
}

/// Runs a model at several contexts: summaries, the operator lists, and where attention's
/// time overtakes the FFN's.
public struct ModelStudy {
    public var predictor: ModelPredictor

    public init(architecture: Architecture, hardware: HardwareProfile, options: ModelRunOptions) throws(ModelShapeError) {
        predictor = try ModelPredictor(architecture: architecture, hardware: hardware, options: options)
    }

    /// Per-GPU memory at `context` (prefill activations); under pipeline parallelism the
    /// fullest stage's.
    public func memory(context: Int, activationBytes: Int) -> ModelMemory {
        guard predictor.options.pipelineParallel > 1 else { return memory(context: context, activationBytes: activationBytes, layers: nil) }
        let ranges = ModelPredictor.stageLayers(layers: predictor.local.layers.count, stages: predictor.options.pipelineParallel)
        let stages = ranges.map { memory(context: context, activationBytes: activationBytes, layers: $0) }
        return stages.max { $0.totalBytes < $1.totalBytes } ?? stages[0]
    }

    /// Per-GPU memory at `context` of the GPU holding `layers` (nil: all of them): its
    /// layers' weights and KV, the embedding on the first stage, the LM head on the last.
    func memory(context: Int, activationBytes: Int, layers range: Range<Int>?) -> ModelMemory {
        var local = predictor.local
        let e = predictor.options.dtype.bytes
        var dropped = 0
        if let range {
            let count = ParameterCount(local)
            if range.lowerBound > 0 { dropped += (count.embedding + count.positionEmbedding) * e }
            if range.upperBound < local.layers.count { dropped += count.lmHead * e }
            local.layers = Array(local.layers[range])
        }
        let b = predictor.options.batch / (predictor.options.attentionDataParallel ? predictor.options.expertParallel : 1)
        let cp = predictor.options.contextParallel
        let tokens = context / cp
        var kv = 0
        for layer in local.layers {
            switch layer.mixer {
            case .attention(_, let kvHeads):
                // A window keeps its last W tokens, a chunk at most C (the most a sequence
                // of this context held, `ModelSpec.AttentionSpan.cachedTokens`).
                let cached = min(tokens, layer.window ?? layer.chunk ?? tokens)
                // MLA keeps one latent and one RoPE key per token, whole on every GPU; the
                // lightning indexer one key (FP8 with its scales, as DeepSeek-V3.2 keeps it).
                let perToken = local.mla.map { predictor.kvVectorBytes($0.cachedElements) } ?? 2 * kvHeads * predictor.kvVectorBytes(local.headDim)
                let indexerBytes = local.indexer.map { $0.fp8Keys ? $0.fp8KeyBytes : $0.headDim * e } ?? 0
                kv += b * cached * (perToken + indexerBytes)
            case .ssm:
                if let s = local.ssm { kv += b * s.elements * e }
            case .deltanet:
                if let d = local.deltanet { kv += b * d.elements() * e }
            }
        }
        return ModelMemory(
            weightBytes: predictor.expertParallelWeightBytes(local) - dropped, kvBytes: kv, activationBytes: activationBytes,
            capacityBytes: predictor.hardware.hbmBytes)
    }

    /// Prefill and (unless context parallel) decode at each context.
    public mutating func summaries(contexts: [Int]) throws(ModelShapeError) -> [ModelSummary] {
        var out: [ModelSummary] = []
        for context in contexts {
            let prefill = try predictor.step(.prefill, context: context)
            let decode = predictor.options.contextParallel > 1 ? nil : try predictor.step(.decode, context: context)
            var summary = ModelSummary(context: context, prefill: prefill, decode: decode, memory: memory(context: context, activationBytes: prefill.activationBytes))
            if predictor.options.pipelineParallel > 1 {
                summary.prefillPipeline = predictor.pipeline(prefill)
                summary.decodePipeline = decode.map(predictor.pipeline)
            }
            out.append(summary)
        }
        return out
    }

    /// The shortest context (to 1%, at least 16 tokens) at which the attention sublayer's
    /// time reaches the FFN's in `phase`; nil when it does not by `limit` tokens.
    public mutating func crossover(_ phase: ModelPhase, limit: Int = 1 << 20) throws(ModelShapeError) -> Int? {
        func attentionLeads(_ context: Int) throws(ModelShapeError) -> Bool {
            let step = try predictor.step(phase, context: context)
            return step.seconds(.attention) >= step.seconds(.ffn)
        }
        let granule = max(1, predictor.options.contextParallel)
        var low = 0
        var high = 64 * granule
        while !(try attentionLeads(high)) {
            low = high
            guard high <= limit / 2 else { return nil }
            high *= 2
        }
        while high - low > max(16, high / 100) {
            let middle = (low + high) / 2 / granule * granule
            guard middle > low else { break }
            if try attentionLeads(middle) { high = middle } else { low = middle }
        }
        return high
    }
}
