import AttnHardware
import AttnNumerics
import CostModel
import Workload

extension ModelPredictor {
    /// Sequences one GPU runs per forward pass: the batch, over the expert-parallel GPUs
    /// when attention is data parallel, over the micro-batches under pipeline parallelism.
    public var localBatch: Int {
        options.batch / (options.attentionDataParallel ? options.expertParallel : 1) / options.microbatches
    }

    /// Checks expert and pipeline parallelism against the model and the GPUs: the
    /// experts split evenly, attention says how it runs beside them, the batch splits
    /// over data-parallel GPUs and micro-batches, a link joins the GPUs.
    static func checkParallelism(_ a: Architecture, hardware: HardwareProfile, options o: ModelRunOptions) throws(ModelShapeError) {
        guard o.expertParallel >= 1, o.pipelineParallel >= 1, o.microbatches >= 1 else {
            throw ModelShapeError("expert parallelism, pipeline parallelism and micro-batches must be at least 1")
        }
        if (o.expertParallel > 1 || o.pipelineParallel > 1) && hardware.interconnect == nil {
            throw ModelShapeError(advice:
                "hardware '\(hardware.id)' has no interconnect object (link bandwidth and latency, docs/hardware.md), so it models one GPU; use \(Remedy.expertParallel(1)) \(Remedy.pipelineParallel(1)) or add one to the profile")
        }
        // The collectives are timed on the profile's link, which joins `domainGPUs` GPUs;
        // beyond them traffic crosses a scale-out network no profile models (tensor
        // parallelism's all-reduces too: NVLS over 16 B200s would be one switch that is not).
        let gpus = o.pipelineParallel * max(o.tensorParallel, o.expertParallel)
        if gpus > 1, let domain = hardware.interconnect?.domainGPUs, gpus > domain {
            throw ModelShapeError(
                "\(gpus) GPUs (pipeline stages x tensor or expert parallel) exceed \(hardware.id)'s \(hardware.interconnect?.name ?? "link") domain of \(domain) GPUs; traffic beyond it crosses a network no profile models")
        }
        if let f = o.expertImbalance {
            guard f >= 1, f.isFinite else { throw ModelShapeError("the expert imbalance (busiest GPU over the mean) must be a number of at least 1, found \(f)") }
            guard o.expertParallel > 1 else { throw ModelShapeError(advice: "an expert imbalance needs expert parallelism (\(Remedy.expertParallel(nil)) above 1)") }
        }
        if o.attentionDataParallel && o.expertParallel == 1 {
            throw ModelShapeError(advice: "data-parallel attention runs beside expert parallelism; give \(Remedy.expertParallel(nil)) G as well")
        }
        let g = o.expertParallel
        if g > 1 {
            var moe = false
            for (index, layer) in a.layers.enumerated() {
                guard case .moe(let experts, _, _, _) = layer.ffn else { continue }
                moe = true
                guard experts % g == 0 else { throw ModelShapeError(advice: "\(Remedy.expertParallel(g)): layer \(index)'s \(experts) experts do not split evenly") }
            }
            guard moe else { throw ModelShapeError(advice: "\(Remedy.expertParallel(g)): \(a.id) has no MoE layers to split") }
            guard o.contextParallel == 1 else { throw ModelShapeError(advice: "expert parallelism beside context parallelism is not modelled; use \(Remedy.contextParallel(1))") }
            if o.attentionDataParallel {
                guard o.tensorParallel == 1 else { throw ModelShapeError(advice: "data-parallel attention (\(Remedy.attentionDataParallel)) runs whole on each GPU; use \(Remedy.tensorParallel(1))") }
                guard o.batch % g == 0 else { throw ModelShapeError(advice: "batch \(o.batch) does not split evenly over \(g) data-parallel attention GPUs (\(Remedy.expertParallel(nil)) with \(Remedy.attentionDataParallel))") }
            } else if o.tensorParallel != g {
                throw ModelShapeError(advice: "\(Remedy.expertParallel(g)): say how attention runs on the same GPUs: \(Remedy.tensorParallel(g)) (tensor parallel) or \(Remedy.attentionDataParallel) (data parallel)")
            }
        }
        if o.pipelineParallel > 1 {
            guard o.pipelineParallel <= a.layers.count else {
                throw ModelShapeError(advice: "\(Remedy.pipelineParallel(o.pipelineParallel)): \(a.id) has only \(a.layers.count) layers to split into stages")
            }
            guard o.contextParallel == 1 else { throw ModelShapeError(advice: "pipeline parallelism beside context parallelism is not modelled; use \(Remedy.contextParallel(1))") }
        }
        let share = o.batch / (o.attentionDataParallel ? g : 1)
        guard o.microbatches <= share, share % o.microbatches == 0 else {
            throw ModelShapeError("batch \(share)\(o.attentionDataParallel ? " per GPU" : "") does not split evenly into \(o.microbatches) micro-batches")
        }
        if o.microbatches > 1 && o.pipelineParallel == 1 { throw ModelShapeError(advice: "micro-batches split the batch for a pipeline; give \(Remedy.pipelineParallel(nil)) P as well") }
    }

    /// The busiest GPU's load of the MoE layers when the GPUs route `localTokens` tokens
    /// each (all of them the same tokens under tensor-parallel attention); nil without
    /// expert parallelism. Every MoE layer has the same experts and top-k in the presets;
    /// the first one's are used.
    func expertLoad(tokens localTokens: Int) throws(ModelShapeError) -> ExpertLoad? {
        let g = options.expertParallel
        guard g > 1, let (experts, topK) = local.layers.lazy.compactMap({ layer -> (Int, Int)? in
            if case .moe(let e, let k, _, _) = layer.ffn { return (e, k) }
            return nil
        }).first else { return nil }
        return expertLoad(tokens: localTokens, experts: experts, topK: topK)
    }

    /// The load of one MoE layer of `experts` and `topK` (see `expertLoad(tokens:)`).
    func expertLoad(tokens localTokens: Int, experts: Int, topK: Int) -> ExpertLoad {
        let g = options.expertParallel
        let tokens = options.attentionDataParallel ? localTokens * g : localTokens
        let mean = Double(tokens) * Double(topK) / Double(g)
        let busiest = options.expertImbalance.map { $0 * mean }
            ?? ExpertRouting.expectedMaxLoad(tokens: tokens, experts: experts, topK: topK, ranks: g)
        // Never more pairs than the tokens can send one GPU (each at most min(k, E/G) of them).
        let most = tokens * min(topK, experts / g)
        return ExpertLoad(tokens: tokens, meanPairs: mean, busiestPairs: min(most, Int((busiest - 1e-9).rounded(.up))))
    }

    /// An MoE layer under expert parallelism (Lepikhin et al. 2020, GShard; DeepSeek-V3,
    /// Section 3.4): the router over this GPU's tokens; with data-parallel attention, the
    /// dispatch all-to-all that sends each token to its k experts' GPUs, a share (G - 1)/G
    /// of them elsewhere, r bytes per token row (`dispatchRowBytes`: h e, or FP8 codes with
    /// their scales):
    ///
    ///     sent per GPU = (T / G) k r (G - 1) / G,   received by the busiest = L_max r (G - 1) / G
    ///
    /// (with tensor-parallel attention every GPU holds every token and nothing moves; the
    /// layer's all-reduce combines the outputs); the busiest GPU's L_max token-expert
    /// pairs through its E / G whole experts as one grouped GEMM per matrix (over the
    /// experts they reach, E/G (1 - (1 - G/E)^L_max)); the combine all-to-all, the same
    /// rows back at the run's dtype (r = h e); the shared experts on this GPU's tokens.
    mutating func expertParallelFFN(
        experts: Int, topK: Int, shared: Int, intermediate: Int, _ site: LayerSite, into pass: inout ForwardPass
    ) throws(ModelShapeError) {
        let g = options.expertParallel, n = site.layers, h = local.hiddenSize
        let tokens = pass.tokens
        try gemm("router", site, n, .ffn, GEMMShape(m: tokens, k: h, n: experts), role: .unquantized, into: &pass)
        let load = expertLoad(tokens: tokens, experts: experts, topK: topK)
        let pairs = load.busiestPairs
        // The dispatch moves each token's row as the experts' GEMMs read it (FP8 codes and
        // their 1 x 128 scales when they multiply FP8 inputs), the combine their outputs at
        // the run's dtype: DeepEP's FP8 dispatch and BF16 combine.
        let dispatchRow = dispatchRowBytes(hidden: h), combineRow = h * e
        func allToAll(_ name: String, row: Int, into pass: inout ForwardPass) {
            guard options.attentionDataParallel, let link = interconnect else { return }
            let send = Self.dispatchBytes(tokens: tokens, topK: topK, rowBytes: row, gpus: g)
            let receive = pairs * row * (g - 1) / g
            guard send > 0 || receive > 0 else { return }
            let choice = costModel.allToAll(sendBytes: send, receiveBytes: receive, gpus: g, over: link)
            self.link(name, site, n, CollectiveShape(.allToAll, bytes: max(send, receive), gpus: g), seconds: choice?.seconds ?? 0, choice: choice, into: &pass)
        }
        allToAll("ep_dispatch", row: dispatchRow, into: &pass)
        if pairs > 0 {
            let active = Self.activeExperts(experts: experts / g, topK: 1, tokens: pairs)
            let rows = (pairs + active - 1) / active
            // The expert intermediate stays whole: tensor parallelism's split is undone.
            try denseFFN("expert", site, repeats: n * active, rows: rows, intermediate: intermediate * options.tensorParallel, grouped: active, role: .experts, into: &pass)
        }
        allToAll("ep_combine", row: combineRow, into: &pass)
        if shared > 0 { try denseFFN("shared_expert", site, repeats: n, rows: tokens, intermediate: shared * intermediate, into: &pass) }
    }

    /// Bytes one GPU sends in expert parallelism's dispatch (and receives in the combine):
    /// its T_local tokens' k copies of h elements of e bytes, the (G - 1)/G of them whose
    /// expert is on another GPU (rounded down): T_local k h e (G - 1) / G.
    public static func dispatchBytes(tokens: Int, topK: Int, hidden: Int, elementBytes: Int, gpus: Int) -> Int {
        dispatchBytes(tokens: tokens, topK: topK, rowBytes: hidden * elementBytes, gpus: gpus)
    }

    /// Bytes one GPU sends in an all-to-all of rows of `rowBytes` each: T_local k rowBytes
    /// (G - 1) / G (rounded down).
    public static func dispatchBytes(tokens: Int, topK: Int, rowBytes: Int, gpus: Int) -> Int {
        gpus > 1 ? tokens * topK * rowBytes * (gpus - 1) / gpus : 0
    }

    /// The group of activation elements that share one fp32 scale in an FP8 dispatch:
    /// DeepEP's FP8 dispatch sends each token as FP8 codes with one fp32 scale per 128
    /// channels (the 1 x 128 tiles of DeepSeek-V3's FP8 activations, technical report
    /// Section 3.3.2), and combines in BF16 (DeepEP's README: "FP8 dispatching and BF16
    /// combining").
    public static let dispatchScaleGroup = 128

    /// Bytes of one token's row of `hidden` elements in the dispatch: with the routed
    /// experts' GEMMs multiplying FP8 inputs (W8A8), h FP8 codes and ceil(h / 128) fp32
    /// scales (DeepEP's FP8 dispatch); otherwise h elements at the run's dtype (the experts
    /// quantize their inputs after it, or read them as they are).
    func dispatchRowBytes(hidden h: Int) -> Int {
        switch gemmPrecision(.experts)?.activations {
        case .fp8?, .fp8Block128?: break
        default: return h * e
        }
        return h + (h + Self.dispatchScaleGroup - 1) / Self.dispatchScaleGroup * 4
    }

    /// Bytes of the weights one GPU holds: those of `model` (the layers it holds under
    /// tensor and pipeline parallelism) with the routed experts cut to E / G per MoE layer
    /// under expert parallelism; the experts' matrices in their own format when the model
    /// gives one.
    func expertParallelWeightBytes(_ model: Architecture) -> Int {
        let count = ParameterCount(model)
        let precision = options.precision
        // The linear layers and routed experts in their formats when any is set
        // (`ParameterCount.weightBytes(elementBytes:weights:experts:)`).
        let all = precision.isEmpty
            ? count.weightBytes(elementBytes: e) : count.weightBytes(elementBytes: e, weights: precision.weights, experts: expertFormat)
        let g = options.expertParallel
        guard g > 1 else { return all }
        let gated = local.decoder.activation.isGated
        var routed = 0
        for layer in model.layers {
            guard case .moe(let experts, _, _, let intermediate) = layer.ffn else { continue }
            let one = ParameterCount.ffn(hidden: model.hiddenSize, intermediate: intermediate, gated: gated, bias: model.decoder.bias)
            let matrices = (gated ? 3 : 2) * model.hiddenSize * intermediate
            let bytesOne = precision.isEmpty
                ? count.expertDType.map { $0.bytes(elements: matrices) + (one - matrices) * e } ?? one * e
                : expertFormat.map { $0.bytes(elements: matrices) + (one - matrices) * e } ?? one * e
            routed += experts * bytesOne
        }
        // Under tensor-parallel attention the experts were split G ways already
        // (`Architecture.sharded`): E whole experts / G hold as many bytes.
        return options.attentionDataParallel ? all - routed + routed / g : all
    }
}
