import AttnAlgorithms
import AttnHardware
import AttnNumerics
import AttnPipeline
import CostModel
import Foundation
import KVCache
import TileInterpreter
import TileLanguage
import Workload

/// How a model is run: batch, storage dtype and parallelism.
public struct ModelRunOptions: Sendable, Equatable {
    public var batch: Int
    public var dtype: DType
    /// Tensor parallelism: heads, FFN intermediate, vocabulary and SSM channels split over
    /// this many GPUs, two all-reduces per layer (Shoeybi et al. 2019, Megatron-LM).
    public var tensorParallel: Int
    /// Context parallelism (prefill): the prompt split over this many GPUs, K/V blocks
    /// passed around a ring (Liu et al. 2023, Ring Attention).
    public var contextParallel: Int
    /// The units of work (`WorkBudget`) the tile programs' count runs spend between them,
    /// one budget for the whole prediction: a GEMM or attention whose blocks cannot be
    /// proven alike stops there; nil: none.
    public var budgetUnits: Int?
    /// Expert parallelism: every MoE layer's routed experts split over this many GPUs
    /// (E / G whole experts each), tokens dispatched to their experts' GPUs and combined
    /// back (`ModelPredictor+ExpertParallel.swift`).
    public var expertParallel = 1
    /// Beside expert parallelism, attention and the dense layers data parallel: each of
    /// the G GPUs runs them whole for batch / G sequences (DeepSeek-V3's deployment,
    /// Section 3.4; SGLang's DP attention); false: tensor parallel over the same G GPUs
    /// (`tensorParallel` = G).
    public var attentionDataParallel = false
    /// The busiest expert-parallel GPU's token-expert pairs over the mean (at least 1);
    /// nil: the expected maximum under uniform routing (`ExpertRouting`).
    public var expertImbalance: Double?
    /// Pipeline parallelism: the layers split into this many stages, one GPU (or tensor-
    /// parallel group) each (`ModelPredictor+Pipeline.swift`).
    public var pipelineParallel = 1
    /// Micro-batches the batch splits into for the pipeline (batch / M sequences each).
    public var microbatches = 1
    /// Formats of the weights, experts, GEMM inputs and KV cache beside `dtype` (the run's
    /// compute dtype); empty: everything at `dtype`.
    public var precision: ModelPrecision

    public init(
        batch: Int = 1, dtype: DType = .fp16, tensorParallel: Int = 1, contextParallel: Int = 1, budgetUnits: Int? = nil,
        precision: ModelPrecision = ModelPrecision()
    ) {
        self.batch = batch
        self.dtype = dtype
        self.precision = precision
        self.tensorParallel = tensorParallel
        self.contextParallel = contextParallel
        self.budgetUnits = budgetUnits
    }
}

/// Builds the operator list of a decoder model's forward step and predicts each
/// operator's time: GEMMs and attention are tile programs run through the `Pipeline`
/// (count mode) and the cost model, as `roofline` runs attention; norms, RoPE, residual
/// adds and activations are streaming formulas (docs/model.md).
public struct ModelPredictor {
    public let architecture: Architecture
    /// The architecture one GPU holds under tensor parallelism.
    public let local: Architecture
    public let hardware: HardwareProfile
    public let options: ModelRunOptions
    public let interconnect: Interconnect?
    let pipeline: Pipeline
    /// Picks each GEMM's tiling from gemm.tile's declared space (`# @tune`).
    let tuner: Tuner
    let costModel: CostModel
    let gemmProgram: Program
    /// gemm-quant.tile: quantized weights (and FP8/FP4 inputs).
    let quantGemmProgram: Program
    /// flash-decoding-quant.tile: decode over a quantized KV cache.
    let quantDecodeAttention: Program
    let prefillAttention: Program
    /// sage3.tile and its `fmt` (4 NVFP4, 5 MXFP4): prefill attention on the FP4 tensor
    /// cores when the GEMMs' activations are FP4 (`fp4AttentionFormat`); nil: flash2.
    let fp4PrefillAttention: (program: Program, format: Int)?
    let decodeAttention: Program
    /// mla-decode-absorbed.tile, for models with multi-head latent attention.
    let latentDecode: Program?
    private var gemmCache: [GEMMShape: Evaluated] = [:]
    private var quantGemmCache: [GEMMKey: Evaluated] = [:]
    struct GEMMKey: Hashable {
        var shape: GEMMShape
        var precision: GEMMPrecision
    }
    private var attentionCache: [[Int]: Evaluated] = [:]

    /// A tile program's predicted run, without the per-call overhead (a whole model runs
    /// as one graph of kernels, not one framework call per operator).
    struct Evaluated {
        var flops: Int
        var dramBytes: Int
        var seconds: Double
        var bound: KernelPrediction.Bound?
        /// Kernels the program launched (each counted with the cost model's launch overhead).
        var kernels: Int = 1
    }

    public init(architecture: Architecture, hardware: HardwareProfile, options: ModelRunOptions) throws(ModelShapeError) {
        guard options.batch >= 1, options.tensorParallel >= 1, options.contextParallel >= 1 else {
            throw ModelShapeError("batch, tensor parallelism and context parallelism must be at least 1")
        }
        self.architecture = architecture
        self.hardware = hardware
        self.options = options
        local = try architecture.sharded(tensorParallel: options.tensorParallel)
        interconnect = hardware.interconnect
        if (options.tensorParallel > 1 || options.contextParallel > 1) && interconnect == nil {
            throw ModelShapeError(advice:
                "hardware '\(hardware.id)' has no interconnect object (link bandwidth and latency, docs/hardware.md), so it models one GPU; use \(Remedy.oneGPU) or add one to the profile")
        }
        try Self.checkParallelism(architecture, hardware: hardware, options: options)
        pipeline = Pipeline(hardware: hardware, budget: options.budgetUnits.map { WorkBudget(limitUnits: $0) })
        tuner = Tuner(pipeline: pipeline)
        costModel = CostModel(hardware: hardware, dtype: options.dtype)
        try Self.check(options.precision, dtype: options.dtype, architecture: architecture, hardware: hardware)
        do {
            gemmProgram = try ModelProgramLibrary.gemm()
            quantGemmProgram = try ModelProgramLibrary.gemmQuant()
            quantDecodeAttention = try Pipeline.load("flash-decoding-quant")
            prefillAttention = try Pipeline.load("flash2")
            fp4PrefillAttention = try Self.fp4AttentionFormat(options.precision, hardware: hardware).map { (try Pipeline.load("sage3"), $0) }
            decodeAttention = try Pipeline.load("flash-decoding")
            latentDecode = architecture.mla == nil ? nil : try Pipeline.load("mla-decode-absorbed")
        } catch {
            throw ModelShapeError("cannot load a program: \(error)")
        }
    }

    var e: Int { options.dtype.bytes }

    // MARK: Evaluating tile programs

    private func evaluated(_ prediction: RunPrediction) -> Evaluated {
        let slowest = prediction.kernels.max { $0.seconds < $1.seconds }
        return Evaluated(
            flops: prediction.kernels.reduce(0) { $0 + $1.flopsMatmul + $1.flopsOther },
            dramBytes: prediction.dramReadBytes + prediction.dramWriteBytes,
            seconds: prediction.kernels.reduce(0) { $0 + $1.seconds }, bound: slowest?.bound, kernels: prediction.kernels.count)
    }

    /// Y[m, n] = X[m, k] W[k, n] through gemm.tile, with the fastest of the tilings the
    /// program declares for this M (`# @tune`: 128 x 128, 128 x 256 and 256 x 128 tiles,
    /// and for short M (decode) 16- or 64-row tiles with split-K), as a GEMM library's
    /// heuristic picks one. Tilings over this GPU's SRAM or registers are skipped; any
    /// other failure is reported. With a quantized `precision`, gemm-quant.tile (the same
    /// tilings) at the dtype whose tensor-core rate its MMA takes.
    mutating func gemmRun(_ shape: GEMMShape, precision: GEMMPrecision? = nil) throws(ModelShapeError) -> Evaluated {
        if let precision {
            if let hit = quantGemmCache[GEMMKey(shape: shape, precision: precision)] { return hit }
        } else if let hit = gemmCache[shape] {
            return hit
        }
        var binding = ModelProgramLibrary.gemmBinding(shape)
        var program = gemmProgram
        var dtype = options.dtype
        if let precision {
            program = quantGemmProgram
            dtype = precision.mmaDType(run: options.dtype)
            for (name, value) in ModelProgramLibrary.quantBinding(precision.weights, mode: precision.mode) { binding.parameters[name] = value }
        }
        let search: Tuner.Search
        do {
            search = try tuner.tune(program, shape: binding.shape, dtype: dtype, fixed: binding.parameters)
        } catch {
            throw ModelShapeError("gemm \(shape): \(error)")
        }
        var candidates = search.trials.compactMap { $0.prediction.map(evaluated) }
        // Launch groups (the raster a GEMM library picks, gemm.tile's G): besides the
        // program's default of 8 row blocks, as many as keep the group's X panels in half
        // and in three quarters of the L2 (one W read per group; the L2 model says whether
        // the panels and a wave's W panels still fit), for each tiling that fits.
        if shape.m >= 256, let l2 = hardware.l2Bytes {
            for trial in search.trials where trial.prediction != nil {
                let bm = trial.parameters["BM"] ?? 128
                let panel = precision?.inputBytes(rows: bm, columns: shape.k, run: options.dtype) ?? bm * shape.k * e
                for share in [l2 / 2, l2 / 4 * 3] {
                    // The most row blocks per group that fit the share and divide the row
                    // blocks, so the grid launches no empty blocks (32 row blocks, 18 fit:
                    // groups of 16, not 18 and 14 with 4 idle, which the cost model would
                    // count as work in its waves).
                    let rows = (shape.m + bm - 1) / bm
                    let most = min(rows, max(1, share / max(panel, 1)))
                    let group = (1...most).last { rows % $0 == 0 } ?? 1
                    guard group > 8 else { continue }
                    var parameters = binding.parameters
                    for (name, value) in trial.parameters { parameters[name] = .int(value) }
                    parameters["G"] = .int(group)
                    do {
                        candidates.append(evaluated(try tuner.pipeline.evaluate(
                            program, shape: binding.shape, dtype: dtype, parameters: parameters).prediction))
                    } catch {
                        if error.isOverCapacity { continue }
                        throw ModelShapeError("gemm \(shape): \(error)")
                    }
                }
            }
        }
        // The fastest tiling (kernel time; the per-call overhead is left out, see
        // `Evaluated`); of those within 1% of it, the one that moves the fewest DRAM bytes (a
        // library's swizzle that keeps its panels in the L2 costs no time when the GEMM is
        // compute-bound, but it is what the GPU runs).
        let fastest = candidates.map(\.seconds).min() ?? .infinity
        guard let best = candidates.filter({ $0.seconds <= fastest * 1.01 }).min(by: { $0.dramBytes < $1.dramBytes }) else {
            throw ModelShapeError("gemm \(shape): no tiling fits \(hardware.id)'s shared memory and registers")
        }
        if let precision { quantGemmCache[GEMMKey(shape: shape, precision: precision)] = best } else { gemmCache[shape] = best }
        return best
    }

    /// Causal attention through flash2 (prefill, N = Nkv = q) or flash-decoding (decode,
    /// N = 1); `causal` 0 gives a full block (ring attention's off-diagonal steps).
    mutating func attentionRun(
        phase: ModelPhase, batch: Int, heads: Int, kvHeads: Int, queries: Int, keys: Int, causal: Bool, window: Int? = nil
    ) throws(ModelShapeError) -> Evaluated {
        let key = [phase == .prefill ? 0 : 1, batch, heads, kvHeads, queries, keys, causal ? 1 : 0, window ?? 0]
        if let hit = attentionCache[key] { return hit }
        let shape = ProblemShape(batch: batch, heads: heads, kvHeads: kvHeads, queryLength: queries, keyLength: keys, headDim: architecture.headDim)
        var parameters: [String: ScalarValue] = [:]
        if causal {
            if let window, window < keys { parameters["window"] = .int(window) } else { parameters["causal"] = .int(1) }
        }
        var program = phase == .prefill ? prefillAttention : decodeAttention
        // FP4 activations on a GPU with an FP4 rate: prompts through SageAttention3's
        // kernel (Q, K, V and P in FP4, both GEMMs at the FP4 rate).
        if phase == .prefill, let fp4 = fp4PrefillAttention {
            program = fp4.program
            parameters["fmt"] = .int(fp4.format)
        }
        // A decode step over a quantized KV cache reads its codes (flash-decoding-quant:
        // K and V dequantized on chip, the MMA at the run's dtype).
        if phase == .decode, let quant = kvQuantParameters {
            program = quantDecodeAttention
            for (name, value) in quant { parameters[name] = .int(value) }
        }
        // The program's default tiles first; when they do not fit the SRAM or registers (a
        // head size of 256, fp32, a smaller GPU), smaller ones, as FlashAttention-2 picks its
        // tiles by head size.
        var firstError: PipelineError?
        for tiles in Self.attentionTiles(phase, headDim: architecture.headDim, hardware: hardware) {
            var attempt = parameters
            for (name, value) in tiles { attempt[name] = .int(value) }
            do {
                let result = evaluated(
                    try pipeline.evaluate(program, shape: shape, dtype: options.dtype, parameters: attempt).prediction)
                attentionCache[key] = result
                return result
            } catch {
                if firstError == nil { firstError = error }
                if !error.isOverCapacity { break }
            }
        }
        throw ModelShapeError("attention \(phase.rawValue) at \(keys) keys: \(firstError.map { "\($0)" } ?? "no tiling fits")")
    }

    /// MLA decode through mla-decode-absorbed.tile (DeepSeek-V2, Section 2.1.3: W_UK folded
    /// into the query, W_UV into the output; FlashMLA's schedule): `batch` sequences of one
    /// query each over `keys` cached latents, `heads` heads of d_nope = d_v.
    mutating func latentDecodeRun(batch: Int, heads: Int, keys: Int) throws(ModelShapeError) -> Evaluated {
        let key = [2, batch, heads, 0, 1, keys, 0, 0]
        if let hit = attentionCache[key] { return hit }
        guard let program = latentDecode, let mla = architecture.mla else { throw ModelShapeError("the model has no MLA fields") }
        let shape = ProblemShape(batch: batch, heads: heads, kvHeads: 1, queryLength: 1, keyLength: keys, headDim: mla.qkNopeHeadDim)
        let parameters: [String: ScalarValue] = ["rank": .int(mla.kvLoraRank), "rope": .int(mla.qkRopeHeadDim)]
        do {
            // An FP8 latent cache: the program at FP8 (latents, queries and outputs one byte,
            // the FP8 MMA), as FlashMLA's FP8 kernel reads DeepSeek-V3.2's cache.
            let result = evaluated(
                try pipeline.evaluate(program, shape: shape, dtype: latentKVDType ?? options.dtype, parameters: parameters).prediction)
            attentionCache[key] = result
            return result
        } catch {
            throw ModelShapeError("MLA decode at \(keys) keys: \(error)")
        }
    }

    /// Speculative decoding's verify attention through tree-verify.tile (EAGLE, Li et al.
    /// 2024, Section 4.2; a chain is width 1): `batch` sequences of `tokens` tree tokens
    /// over `keys` keys (the cached prefix, then the tree); over a quantized KV cache
    /// tree-verify-quant.tile (the codes dequantized on chip, as a decode step's
    /// flash-decoding-quant). The program's default tiles first, smaller blocks when they
    /// do not fit.
    mutating func treeVerifyRun(batch: Int, heads: Int, kvHeads: Int, tokens: Int, keys: Int, width: Int) throws(ModelShapeError) -> Evaluated {
        let key = [3, batch, heads, kvHeads, tokens, keys, width, 0]
        if let hit = attentionCache[key] { return hit }
        let shape = ProblemShape(batch: batch, heads: heads, kvHeads: kvHeads, queryLength: tokens, keyLength: keys, headDim: architecture.headDim)
        var firstError: Error?
        do {
            let quant = kvQuantParameters
            let program = quant == nil ? try Pipeline.load("tree-verify") : try ModelProgramLibrary.treeVerifyQuant()
            for tiles in [[:], ["Bc": 64], ["Bc": 32], ["Bt": 16, "Bc": 16]] as [[String: Int]] {
                var parameters: [String: ScalarValue] = ["width": .int(width), "splits": .int(0)]
                for (name, value) in quant ?? [:] { parameters[name] = .int(value) }
                for (name, value) in tiles { parameters[name] = .int(value) }
                do {
                    let result = evaluated(try pipeline.evaluate(program, shape: shape, dtype: options.dtype, parameters: parameters).prediction)
                    attentionCache[key] = result
                    return result
                } catch {
                    if firstError == nil { firstError = error }
                    if !error.isOverCapacity { break }
                }
            }
        } catch {
            firstError = error
        }
        throw ModelShapeError("tree verify of \(tokens) tokens at \(keys) keys: \(firstError.map { "\($0)" } ?? "no tiling fits")")
    }

    /// Tile sizes tried in order: for prefill, the forward tile FlashAttention-2's launch
    /// templates pick for the head size and GPU (`flashAttention2Tile`), then the program's
    /// defaults and smaller blocks; for decode the program's defaults (its split-KV tiles
    /// follow FlashAttention-2 already), then smaller blocks.
    static func attentionTiles(_ phase: ModelPhase, headDim: Int, hardware: HardwareProfile) -> [[String: Int]] {
        guard phase == .prefill else { return [[:], ["Bc": 64], ["Bc": 32], ["Br": 16, "Bc": 16]] }
        let template = flashAttention2Tile(headDim: headDim, hardware: hardware)
        return [template, [:], ["Br": 64, "Bc": 64], ["Br": 64, "Bc": 32], ["Br": 32, "Bc": 32], ["Br": 16, "Bc": 16]]
    }

    /// FlashAttention-2's forward tile (Br x Bc) for a head size, as its launch templates
    /// choose it (flash_fwd_launch_template.h, run_mha_fwd_hdimN): 128 x 128 up to 64,
    /// 128 x 64 up to 128 (128 x 32 on GPUs with at most 99 KB of shared memory per block,
    /// FA2's sm86/sm89 branch), 128 x 32 up to 160 (64 x 64 on those), 128 x 64 beyond (64 x
    /// 64 on those). The smaller-memory branch is decided by the profile's shared memory per
    /// block, the figure FA2's choice follows.
    static func flashAttention2Tile(headDim: Int, hardware: HardwareProfile) -> [String: Int] {
        let small = hardware.sharedMemoryBytesPerBlock <= 99 * 1024
        switch headDim {
        case ...64: return ["Br": 128, "Bc": 128]
        case ...128: return small ? ["Br": 128, "Bc": 32] : ["Br": 128, "Bc": 64]
        case ...160: return small ? ["Br": 64, "Bc": 64] : ["Br": 128, "Bc": 32]
        default: return small ? ["Br": 64, "Bc": 64] : ["Br": 128, "Bc": 64]
        }
    }

    /// A streaming operator's time: the cost model's (`CostModel.streamingOperator`).
    func elementwise(bytes: Int, flops: Int, special: Int = 0, shape: StreamingShape? = nil) -> (seconds: Double, bound: KernelPrediction.Bound) {
        costModel.streamingOperator(bytes: bytes, flops: flops, special: special, shape: shape)
    }

    // MARK: The step

    /// Every operator of one forward step at `context` (per GPU).
    public mutating func step(_ phase: ModelPhase, context: Int) throws(ModelShapeError) -> StepPrediction {
        guard context >= 1 else { throw ModelShapeError("context must be at least 1") }
        let cp = options.contextParallel
        if cp > 1 {
            guard phase == .prefill else { throw ModelShapeError(advice: "context parallelism (ring attention) models prefill only; use \(Remedy.contextParallel(1)) for decode") }
            guard context % cp == 0 else { throw ModelShapeError(advice: "context \(context) does not split evenly over \(cp) GPUs (\(Remedy.contextParallel(nil)))") }
        }
        let b = localBatch
        let q = phase == .prefill ? context / cp : 1
        guard !b.multipliedReportingOverflow(by: q).overflow else { throw ModelShapeError("batch x tokens overflows") }
        let load = phase == .prefill
            ? ForwardLoad(prefill: [ForwardLoad.Chunk(tokens: q, context: context, sequences: b)])
            : ForwardLoad(decode: [ForwardLoad.Decode(context: context, sequences: b)])
        let (operators, activation) = try forward(load)
        var step = StepPrediction(phase: phase, context: context, batch: options.batch, operators: operators, activationBytes: activation)
        step.expertLoad = try expertLoad(tokens: b * q)
        return step
    }

    /// One forward pass over a mixed batch (a serving iteration: prompt chunks and decode
    /// steps together, as Orca and vLLM schedule them): the linear layers run once over all
    /// its tokens, attention once per group of sequences alike. Not under `--cp`.
    public mutating func iteration(_ load: ForwardLoad) throws(ModelShapeError) -> StepPrediction {
        guard options.contextParallel == 1 else { throw ModelShapeError("a mixed iteration is not modelled under context parallelism") }
        guard options.expertParallel == 1, options.pipelineParallel == 1 else {
            throw ModelShapeError("a mixed iteration is not modelled under expert or pipeline parallelism")
        }
        let (operators, activation) = try forward(load)
        return StepPrediction(
            phase: load.prefill.isEmpty ? .decode : .prefill, context: load.longestContext, batch: load.sequences,
            operators: operators, activationBytes: activation)
    }

    /// The largest step `attnsim model` predicts: every activation, KV and FLOP count
    /// below 2^60, checked in floating point before any integer count is formed.
    func checkSize(tokens: Int, sequences: Int, context: Int) throws(ModelShapeError) {
        var widest = max(local.hiddenSize, local.decoder.vocabSize)
        var kvWidth = 0
        for layer in local.layers {
            switch layer.mixer {
            case .attention(let heads, let kv):
                widest = max(widest, (heads + 2 * kv) * local.headDim)
                kvWidth += 2 * kv * local.headDim
            case .ssm:
                widest = max(widest, 2 * (local.ssm?.innerDim ?? 0) * max(1, local.ssm?.stateDim ?? 1))
            case .deltanet:
                if let d = local.deltanet { widest = max(widest, 2 * d.convChannels + 2 * d.valueHeads * d.valueHeadDim, d.valueHeads * d.keyHeadDim * d.valueHeadDim) }
            }
            switch layer.ffn {
            case .dense(let i): widest = max(widest, 2 * i)
            case .moe(let e, _, let s, let i): widest = max(widest, 2 * i * max(1, s), e)
            }
        }
        let limit = Double(1 << 60)
        let activations = Double(tokens) * Double(widest) * 8 * Double(max(local.hiddenSize, local.headDim))
        let kv = Double(sequences) * Double(context) * Double(kvWidth) * 8
        guard activations < limit, kv < limit else {
            throw ModelShapeError("batch \(sequences) at context \(context) is too large to predict (counts past 2^60); use a smaller batch or context")
        }
    }

    /// Experts a batch of `tokens` reaches when each picks `topK` of `experts` uniformly:
    /// E (1 - (1 - k/E)^T), rounded up.
    public static func activeExperts(experts: Int, topK: Int, tokens: Int) -> Int {
        let missed = Double(experts) * pow(1 - Double(topK) / Double(experts), Double(tokens))
        return max(min(experts, topK), min(experts, Int((Double(experts) - missed).rounded(.up))))
    }

    /// Bytes of one K/V chunk ring attention passes to the next GPU: B x chunk x 2 x Hkv x dh x e.
    public static func ringBlockBytes(batch: Int, chunk: Int, kvHeads: Int, headDim: Int, elementBytes: Int) -> Int {
        batch * chunk * 2 * kvHeads * headDim * elementBytes
    }
}
