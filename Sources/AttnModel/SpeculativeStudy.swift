import AttnHardware
import AttnNumerics
import Workload

/// One context of speculative decoding against plain decoding, per step of the batch.
public struct SpeculativeSummary: Sendable, Equatable {
    public var context: Int
    public var batch: Int
    /// Expected tokens a step produces per sequence (`SpeculativeDecoding.expectedTokens`).
    public var expectedTokens: Double
    /// The drafter's passes of one step (a draft model's or EAGLE's one per tree depth,
    /// Medusa's heads in one).
    public var draftSteps: [StepPrediction]
    /// The target's forward over the tree's tokens (the last accepted token and the drafts).
    public var verify: StepPrediction
    /// One plain decode step of the target at this context.
    public var plain: StepPrediction
    /// Weight bytes per GPU the drafter adds (a draft model's; EAGLE's FC and decoder
    /// layer; Medusa's heads; the embedding and LM head EAGLE shares are not counted again).
    public var draftWeightBytes: Int
    /// The largest batch whose weights and KV caches (target's and drafter's) fit one GPU at
    /// this context (`SpeculativeStudy.maxBatch`).
    public var maxBatch: Int

    public var draftSeconds: Double { draftSteps.reduce(0) { $0 + $1.seconds } }
    public var verifySeconds: Double { verify.seconds }
    /// Draft plus verify: one speculative step.
    public var stepSeconds: Double { draftSeconds + verifySeconds }
    /// Time per output token: the step's time over the tokens it is expected to produce.
    public var tpotSeconds: Double { stepSeconds / expectedTokens }
    /// Plain decoding's time per output token (one decode step).
    public var plainTPOTSeconds: Double { plain.seconds }
    /// Plain TPOT over speculative TPOT (above 1: speculation pays).
    public var speedup: Double { tpotSeconds > 0 ? plainTPOTSeconds / tpotSeconds : 0 }
    /// Output tokens per second of the batch: batch x expected tokens / step time.
    public var tokensPerSecond: Double { stepSeconds > 0 ? Double(batch) * expectedTokens / stepSeconds : 0 }
}

/// Speculative decoding on a target model: each context's draft and verify steps, from
/// the same predictor as plain decoding (tile programs through the pipeline and the cost
/// model), and the batch where speculation stops paying (docs/model.md, "Speculative
/// decoding").
public struct SpeculativeStudy {
    public let speculation: SpeculativeDecoding
    public private(set) var target: ModelPredictor
    /// The draft model, or EAGLE's head as a one-layer model of the target's shape; nil for Medusa.
    public private(set) var drafter: ModelPredictor?
    /// Medusa's heads: the target's shape in the drafter's precision (they read its last
    /// hidden state); nil for a draft model or EAGLE.
    private var heads: ModelPredictor?

    public init(architecture: Architecture, hardware: HardwareProfile, options: ModelRunOptions, speculation: SpeculativeDecoding) throws(ModelShapeError) {
        self.speculation = speculation
        target = try ModelPredictor(architecture: architecture, hardware: hardware, options: options)
        try target.checkVerifiable()
        let draftOptions = Self.drafterOptions(options, format: speculation.draftFormat)
        try Self.checkDraftFormat(speculation.draftFormat, options: draftOptions, hardware: hardware)
        /// The drafter's predictor; an error names the drafter's own format when it has one.
        func predictor(_ model: Architecture) throws(ModelShapeError) -> ModelPredictor {
            do {
                return try ModelPredictor(architecture: model, hardware: hardware, options: draftOptions)
            } catch {
                guard let format = speculation.draftFormat else { throw error }
                throw ModelShapeError("the drafter in \(format) (dtype=\(format)): \(error.message)")
            }
        }
        switch speculation.drafter {
        case .model(let draft):
            guard draft.decoder.vocabSize == architecture.decoder.vocabSize else {
                throw ModelShapeError(SpeculativeDecodingError.vocabulary(draft: draft.decoder.vocabSize, target: architecture.decoder.vocabSize).description)
            }
            drafter = try predictor(draft)
        case .eagle:
            drafter = try predictor(try Self.eagleHead(architecture))
        case .medusa:
            drafter = nil
            heads = speculation.draftFormat == nil ? target : try predictor(architecture)
        }
        try drafter?.checkVerifiable()
    }

    /// Refuses a drafter format whose GEMM inputs the GPU's tensor cores do not multiply
    /// (FP8 without an FP8 rate, FP4 without an FP4 rate), naming the drafter's formats
    /// that do run: the target's `--activations` cannot make the drafter weight-only.
    static func checkDraftFormat(_ format: TensorFormat?, options: ModelRunOptions, hardware: HardwareProfile) throws(ModelShapeError) {
        guard let format, let x = options.precision.activations else { return }
        let mma = GEMMPrecision(weights: x, activations: x).mmaDType(run: options.dtype)
        guard hardware.matmulFlopsPerSecond[mma] == nil && hardware.measuredMatmulFlopsPerSecond[mma] == nil else { return }
        throw ModelShapeError(
            "the drafter's dtype=\(format) multiplies \(x) inputs, and \(hardware.id) has no \(mma) tensor-core rate (matmul_flops_per_second.\(mma)); "
                + "give the drafter int8 or int4 (weight-only: dequantized on chip, on every GPU) or a float dtype")
    }

    /// The drafter's run options: the target's batch, parallelism and budget, with the
    /// precision `--dtype format` would give a model (`ModelPrecision.uniform`: its run
    /// dtype, weights, GEMM inputs and KV cache); the target's options when nil.
    public static func drafterOptions(_ options: ModelRunOptions, format: TensorFormat?) -> ModelRunOptions {
        guard let format else { return options }
        var o = options
        (o.dtype, o.precision) = ModelPrecision.uniform(format)
        return o
    }

    /// EAGLE's draft head as a model: the target's first attention layer (global, its
    /// window dropped: EAGLE's head attends to every cached feature), the target's
    /// embedding, norms and LM head.
    static func eagleHead(_ target: Architecture) throws(ModelShapeError) -> Architecture {
        guard var layer = target.layers.first(where: { if case .attention = $0.mixer { return true } else { return false } }) else {
            throw ModelShapeError("EAGLE's head is a decoder layer of the target's attention shape; \(target.id) has no attention layer")
        }
        layer.window = nil
        layer.chunk = nil
        var head = target
        head.id = target.id + "-eagle"
        head.name = "EAGLE head of " + target.name
        head.layers = [layer]
        return head
    }

    /// Draft, verify and plain decode steps at `context` (tokens cached, the last
    /// accepted one included, as a decode step's context).
    ///
    /// Drafting: a draft model or EAGLE's head runs once per tree depth d over the nodes
    /// of depth d - 1 (one token: a decode step; more: a pass over them with the tree
    /// mask, as the verify step); EAGLE adds its FC layer (2h -> h) over the same tokens,
    /// and its LM head GEMM is the target's (the shared head, in the target's format).
    /// Medusa runs its `depth` heads once over the last hidden state: per head an h x h
    /// GEMM, SiLU and the residual, and an h x V GEMM. The verify step is the target over
    /// the tree's `drafts + 1` tokens at context + drafts keys.
    public mutating func summary(context: Int) throws(ModelShapeError) -> SpeculativeSummary {
        let s = speculation
        let plain = try target.step(.decode, context: context)
        let b = target.options.batch
        let verify = try target.verifyStep(context: context + s.drafts, tokens: s.verifyTokens, width: s.width)
        var drafts: [StepPrediction] = []
        let frontiers = [1] + Array(s.levels.dropLast())
        if var model = drafter {
            for frontier in frontiers {
                var step = frontier == 1
                    ? try model.step(.decode, context: context)
                    : try model.verifyStep(context: context + frontier - 1, tokens: frontier, width: s.width)
                if s.drafter == .eagle {
                    let h = model.local.hiddenSize
                    step.operators.insert(try model.gemmOperator("eagle_fc", GEMMShape(m: b * frontier, k: 2 * h, n: h), role: .weights), at: 1)
                    // The LM head is the target's, stored once in the target's format (its
                    // run dtype): the head's logits GEMM reads those weights, whatever the
                    // drafter's own dtype.
                    if let at = step.operators.firstIndex(where: { $0.name == "lm_head" }) {
                        step.operators[at] = try target.gemmOperator(
                            "lm_head", GEMMShape(m: b * frontier, k: h, n: target.local.decoder.vocabSize), role: .unquantized)
                    }
                }
                drafts.append(step)
            }
            drafter = model
        } else if var model = heads {
            drafts.append(try model.medusaHeads(s.depth, context: context))
            heads = model
        }
        return SpeculativeSummary(
            context: context, batch: b, expectedTokens: s.expectedTokens, draftSteps: drafts, verify: verify, plain: plain,
            draftWeightBytes: draftWeightBytes(), maxBatch: try maxBatch(context: context))
    }

    /// The largest batch whose weights (target and drafter) and KV caches (the target's
    /// and a draft model's or EAGLE head's, each at context + drafts tokens) fit one GPU's
    /// memory; 0 when one sequence does not. Activations are left out (a decode step's
    /// are megabytes).
    public func maxBatch(context: Int) throws(ModelShapeError) -> Int {
        var one = target.options
        one.batch = 1
        let tokens = context + speculation.drafts
        let memory = try ModelStudy(architecture: target.architecture, hardware: target.hardware, options: one).memory(context: tokens, activationBytes: 0)
        var perSequence = memory.kvBytes
        if let drafter {
            // The drafter's cache in its own format.
            var own = drafter.options
            own.batch = 1
            perSequence += try ModelStudy(architecture: drafter.architecture, hardware: target.hardware, options: own).memory(context: tokens, activationBytes: 0).kvBytes
        }
        let free = memory.capacityBytes - memory.weightBytes - draftWeightBytes()
        return free > 0 && perSequence > 0 ? free / perSequence : 0
    }

    /// Weight bytes per GPU the drafter adds, in the drafter's precision (its own format,
    /// else the target's): the decoder layers' linear layers (a draft model's, EAGLE's layer
    /// and FC, Medusa's residual blocks) in the weights' format with their scales, the
    /// embedding, LM heads and norms at the drafter's run dtype
    /// (`ParameterCount.weightBytes(elementBytes:weights:experts:)`).
    func draftWeightBytes() -> Int {
        let own = Self.drafterOptions(target.options, format: speculation.draftFormat)
        let e = own.dtype.bytes
        let h = target.local.hiddenSize
        let weights = own.precision.weights
        /// A linear layer's `n` weights in the weights' format (block scales included).
        func linear(_ n: Int) -> Int { weights?.bytes(elements: n) ?? n * e }
        switch speculation.drafter {
        case .model:
            return drafter.map { $0.expertParallelWeightBytes($0.local) } ?? 0
        case .eagle:
            guard let head = drafter else { return 0 }
            let p = ParameterCount(head.local)
            // The head's layer and norms, less the embedding and LM head it shares with the
            // target; the FC's 2h x h weights and h bias.
            return head.expertParallelWeightBytes(head.local) - (p.embedding + p.positionEmbedding + p.lmHead) * e + linear(2 * h * h) + h * e
        case .medusa:
            // Per head: h x h with its bias, and its h x V LM head (at the run's dtype, as the target's).
            return speculation.depth * (linear(h * h) + h * e + h * target.local.decoder.vocabSize * e)
        }
    }

    /// The largest batch the crossover search tries.
    public static let crossoverLimit = 4096

    /// The smallest batch (up to `limit`, and up to the largest batch that fits,
    /// `maxBatch`) at which speculation no longer pays (speedup at most 1) at `context`, by
    /// doubling then bisection; nil when it pays up to the limit.
    /// Speculation trades the drafter's steps and the verify step's extra tokens for
    /// fewer target steps: at small batch a decode step is bound by reading the weights,
    /// so checking k + 1 tokens costs about what one does; as the batch grows the step
    /// becomes compute-bound and the verify step's (k + 1)-fold GEMM work shows. At long
    /// contexts the KV cache dominates a large batch's step, and a verify step reads it
    /// once for all its tokens, so speculation can pay at every batch that fits (Chen et
    /// al. 2024, "MagicDec: Breaking the Latency-Throughput Tradeoff for Long Context
    /// Generation with Speculative Decoding").
    public static func batchCrossover(
        architecture: Architecture, hardware: HardwareProfile, options: ModelRunOptions, speculation: SpeculativeDecoding, context: Int,
        limit: Int = crossoverLimit
    ) throws(ModelShapeError) -> Int? {
        func pays(_ batch: Int) throws(ModelShapeError) -> Bool {
            var o = options
            o.batch = batch
            var study = try SpeculativeStudy(architecture: architecture, hardware: hardware, options: o, speculation: speculation)
            return try study.summary(context: context).speedup > 1
        }
        guard try pays(1) else { return 1 }
        let limit = min(limit, try SpeculativeStudy(architecture: architecture, hardware: hardware, options: options, speculation: speculation).maxBatch(context: context))
        guard limit > 1 else { return nil }
        var low = 1
        var high = 2
        while try pays(high) {
            low = high
            guard high < limit else { return nil }
            high = min(limit, high * 2)
        }
        while high - low > 1 {
            let middle = (low + high) / 2
            if try pays(middle) { low = middle } else { high = middle }
        }
        return high
    }
}

extension ModelPredictor {
    /// Refuses models whose verify step is not modelled: the tree-verify program covers
    /// attention layers with their own K and V heads (MHA, GQA, MQA, sliding windows), not
    /// MLA, chunked attention, SSM or Gated DeltaNet layers, over a float cache or one
    /// tree-verify-quant reads (fp8, int8, int4, nvfp4, mxfp4).
    func checkVerifiable() throws(ModelShapeError) {
        if local.mla != nil { throw ModelShapeError("speculative decoding's verify step is modelled for MHA, GQA and MQA attention; \(architecture.id) has MLA") }
        for layer in local.layers {
            switch layer.mixer {
            case .attention where layer.chunk == nil: continue
            case .attention: throw ModelShapeError("speculative decoding's verify step is not modelled for chunked attention layers (\(architecture.id))")
            case .ssm, .deltanet: throw ModelShapeError("speculative decoding's verify step is modelled for attention layers; \(architecture.id) has SSM or Gated DeltaNet layers")
            }
        }
    }

    /// The target's forward over a speculative step's `tokens` tree tokens per sequence
    /// (`ForwardLoad.Verify`) at `context` tokens (the tree included): every linear layer
    /// over batch x tokens rows, attention through tree-verify, logits for every token.
    public mutating func verifyStep(context: Int, tokens: Int, width: Int) throws(ModelShapeError) -> StepPrediction {
        let load = ForwardLoad(verify: [ForwardLoad.Verify(tokens: tokens, width: width, context: context, sequences: options.batch)])
        let (operators, activation) = try forward(load)
        return StepPrediction(phase: .decode, context: context, batch: options.batch, operators: operators, activationBytes: activation)
    }

    /// One GEMM of the drafter as an operator of the model, its weights in `role`'s
    /// format (gemm.tile, or gemm-quant.tile for quantized weights; tuned as every GEMM).
    mutating func gemmOperator(_ name: String, _ shape: GEMMShape, role: WeightRole) throws(ModelShapeError) -> ModelOperator {
        try gemmOperator(name, LayerSite(label: "model", layers: 1), 1, .other, shape, role: role)
    }

    /// Medusa's `heads` heads over the last hidden state of each sequence (Cai et al. 2024,
    /// Section 2.1.1: p_k = softmax(W2 (SiLU(W1 h) + h))): per head the h x h GEMM, SiLU
    /// and residual (read two rows, write one; SiLU's exp on the SFU), and the h x V GEMM;
    /// `context` labels the step (the heads do not read the cache).
    mutating func medusaHeads(_ heads: Int, context: Int) throws(ModelShapeError) -> StepPrediction {
        let b = options.batch, h = local.hiddenSize
        let rows = b * h
        let act = elementwise(bytes: 3 * rows * e, flops: 5 * rows, special: rows)
        let operators = [
            try gemmOperator("medusa_fc", GEMMShape(m: b, k: h, n: h), role: .weights),
            ModelOperator(
                name: "medusa_act", layers: "model", repeats: 1, category: .other, kernel: "elementwise", flops: 6 * rows, weightBytes: 0,
                activationBytes: 3 * rows * e, kvBytes: 0, linkBytes: 0, dramBytes: 3 * rows * e, bound: act.bound, seconds: act.seconds),
            try gemmOperator("medusa_lm_head", GEMMShape(m: b, k: h, n: local.decoder.vocabSize), role: .unquantized),
        ].map { op -> ModelOperator in
            var op = op
            op.repeats = heads
            op.layers = "heads 0-\(heads - 1)"
            return op
        }
        return StepPrediction(phase: .decode, context: context, batch: b, operators: operators, activationBytes: 0)
    }
}
