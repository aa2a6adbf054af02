import AttnAlgorithms
import AttnHardware
import AttnNumerics
import AttnPipeline
import CostModel
import Foundation
import KVCache
import TileInterpreter
import TileLanguage

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

    public init(batch: Int = 1, dtype: DType = .fp16, tensorParallel: Int = 1, contextParallel: Int = 1) {
        self.batch = batch
        self.dtype = dtype
        self.tensorParallel = tensorParallel
        self.contextParallel = contextParallel
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
    let costModel: CostModel
    let gemm: Program
    let prefillAttention: Program
    let decodeAttention: Program
    /// mla-decode-absorbed.tile, for models with multi-head latent attention.
    let latentDecode: Program?
    private var gemmCache: [[Int]: Evaluated] = [:]
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
            throw ModelShapeError(
                "hardware '\(hardware.id)' has no interconnect object (link bandwidth and latency, docs/hardware.md), so it models one GPU; use --tp 1 --cp 1 or add one to the profile")
        }
        pipeline = Pipeline(hardware: hardware)
        costModel = CostModel(hardware: hardware, dtype: options.dtype)
        do {
            gemm = try ModelProgramLibrary.gemm()
            prefillAttention = try Pipeline.load("flash2")
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

    /// Y[m, n] = X[m, k] W[k, n] through gemm.tile, with the fastest of a few tilings (as a
    /// GEMM library's heuristic picks one): 128 x 128, 128 x 256 and 256 x 128 tiles, and for
    /// short M (decode) 16- or 64-row tiles with split-K.
    mutating func gemmRun(m: Int, k: Int, n: Int) throws(ModelShapeError) -> Evaluated {
        if let hit = gemmCache[[m, k, n]] { return hit }
        var configs: [[String: Int]] = [["BM": 128, "BN": 128, "BK": 64, "S": 1]]
        if m >= 256 {
            // Wider tiles read each panel fewer times (CUTLASS's 128 x 256 and 256 x 128).
            configs += [["BM": 128, "BN": 256, "BK": 64, "S": 1], ["BM": 256, "BN": 128, "BK": 64, "S": 1]]
            // Launch groups (the raster a GEMM library picks, gemm.tile's G): the default 8
            // row blocks, and as many as keep the group's X panels in half the L2 (one W
            // read per group).
            let l2 = hardware.l2Bytes ?? 0
            for var config in configs {
                let panel = (config["BM"] ?? 128) * k * e
                let rows = (m + (config["BM"] ?? 128) - 1) / (config["BM"] ?? 128)
                let group = min(rows, max(1, l2 / 2 / max(panel, 1)))
                if group > 8 {
                    config["G"] = group
                    configs.append(config)
                }
            }
        } else {
            let bm = m <= 16 ? 16 : 64
            let slices = (k + 63) / 64
            for s in [1, 2, 4, 8, 16] where s <= slices {
                configs.append(["BM": bm, "BN": 64, "BK": 64, "S": s])
            }
        }
        var results: [Evaluated] = []
        let shape = ProblemShape(batch: 1, heads: 1, kvHeads: 1, queryLength: 1, keyLength: 1, headDim: 64)
        for config in configs {
            var parameters: [String: ScalarValue] = ["M": .int(m), "Kin": .int(k), "Nout": .int(n)]
            for (key, value) in config { parameters[key] = .int(value) }
            let result: Evaluated
            do {
                result = evaluated(try pipeline.evaluate(gemm, shape: shape, dtype: options.dtype, parameters: parameters).prediction)
            } catch {
                // A tiling over this GPU's SRAM or registers is skipped; any other failure is reported.
                if error.isOverCapacity { continue }
                throw ModelShapeError("gemm \(m) x \(k) x \(n): \(error)")
            }
            results.append(result)
        }
        // The fastest tiling; of those within 1% of it, the one that moves the fewest DRAM
        // bytes (a library's swizzle that keeps its panels in the L2 costs no time when
        // the GEMM is compute-bound, but it is what the GPU runs).
        let fastest = results.map(\.seconds).min() ?? .infinity
        let best = results.filter { $0.seconds <= fastest * 1.01 }.min { $0.dramBytes < $1.dramBytes }
        guard let best else { throw ModelShapeError("gemm \(m) x \(k) x \(n): no tiling fits \(hardware.id)'s shared memory and registers") }
        gemmCache[[m, k, n]] = best
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
        let program = phase == .prefill ? prefillAttention : decodeAttention
        // The program's default tiles first; when they do not fit the SRAM or registers (a
        // head size of 256, fp32, a smaller GPU), smaller ones, as FlashAttention-2 picks its
        // tiles by head size.
        var firstError: PipelineError?
        for tiles in Self.attentionTiles(phase, headDim: architecture.headDim, hardware: hardware) {
            var attempt = parameters
            for (name, value) in tiles { attempt[name] = .int(value) }
            do {
                let result = evaluated(try pipeline.evaluate(program, shape: shape, dtype: options.dtype, parameters: attempt).prediction)
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
            let result = evaluated(try pipeline.evaluate(program, shape: shape, dtype: options.dtype, parameters: parameters).prediction)
            attentionCache[key] = result
            return result
        } catch {
            throw ModelShapeError("MLA decode at \(keys) keys: \(error)")
        }
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
    func elementwise(bytes: Int, flops: Int, special: Int = 0) -> (seconds: Double, bound: KernelPrediction.Bound) {
        costModel.streamingOperator(bytes: bytes, flops: flops, special: special)
    }

    // MARK: The step

    /// Every operator of one forward step at `context` (per GPU).
    public mutating func step(_ phase: ModelPhase, context: Int) throws(ModelShapeError) -> StepPrediction {
        guard context >= 1 else { throw ModelShapeError("context must be at least 1") }
        let cp = options.contextParallel
        if cp > 1 {
            guard phase == .prefill else { throw ModelShapeError("context parallelism (ring attention) models prefill only; use --cp 1 for decode") }
            guard context % cp == 0 else { throw ModelShapeError("context \(context) does not split evenly over \(cp) GPUs (--cp)") }
        }
        let b = options.batch
        let q = phase == .prefill ? context / cp : 1
        guard !b.multipliedReportingOverflow(by: q).overflow else { throw ModelShapeError("batch x tokens overflows") }
        let load = phase == .prefill
            ? ForwardLoad(prefill: [ForwardLoad.Chunk(tokens: q, context: context, sequences: b)])
            : ForwardLoad(decode: [ForwardLoad.Decode(context: context, sequences: b)])
        let (operators, activation) = try forward(load)
        return StepPrediction(phase: phase, context: context, batch: b, operators: operators, activationBytes: activation)
    }

    /// One forward pass over a mixed batch (a serving iteration: prompt chunks and decode
    /// steps together, as Orca and vLLM schedule them): the linear layers run once over all
    /// its tokens, attention once per group of sequences alike. Not under `--cp`.
    public mutating func iteration(_ load: ForwardLoad) throws(ModelShapeError) -> StepPrediction {
        guard options.contextParallel == 1 else { throw ModelShapeError("a mixed iteration is not modelled under context parallelism") }
        let (operators, activation) = try forward(load)
        return StepPrediction(
            phase: load.prefill.isEmpty ? .decode : .prefill, context: load.longestContext, batch: load.sequences,
            operators: operators, activationBytes: activation)
    }

    /// The operators of a forward pass over `load` (per GPU) and its peak activation bytes.
    mutating func forward(_ load: ForwardLoad) throws(ModelShapeError) -> ([ModelOperator], Int) {
        let cp = options.contextParallel
        let tokens = try load.tokens()
        let sequences = load.sequences
        guard tokens > 0, sequences > 0 else { throw ModelShapeError("a forward pass needs at least one token") }
        try checkSize(tokens: tokens, sequences: sequences, context: load.longestContext)
        let h = local.hiddenSize
        let dh = local.headDim
        let d = local.decoder
        let e = self.e
        let tp = options.tensorParallel
        var ops: [ModelOperator] = []
        var peakActivation = 0

        func add(_ name: String, _ layers: String, _ repeats: Int, _ category: ModelOperator.Category, kernel: String, flops: Int,
                 weight: Int = 0, activation: Int, kv: Int = 0, link: Int = 0, dram: Int, bound: KernelPrediction.Bound?, seconds: Double) {
            ops.append(ModelOperator(
                name: name, layers: layers, repeats: repeats, category: category, kernel: kernel, flops: flops, weightBytes: weight,
                activationBytes: activation, kvBytes: kv, linkBytes: link, dramBytes: dram, bound: bound, seconds: seconds))
            peakActivation = max(peakActivation, activation)
        }
        // `grouped` experts share one launch per kernel (a grouped GEMM, as MoE kernels run
        // all active experts at once): each repeat carries 1/grouped of the launch overhead.
        let launch = costModel.calibration.kernelOverheadSeconds
        func gemmOp(
            _ name: String, _ layers: String, _ repeats: Int, _ category: ModelOperator.Category, m: Int, k: Int, n: Int, grouped: Int = 1
        ) throws(ModelShapeError) {
            guard m > 0, k > 0, n > 0 else { return }
            let r = try gemmRun(m: m, k: k, n: n)
            let shared = Double(r.kernels) * launch * (1 - 1 / Double(max(1, grouped)))
            add(name, layers, repeats, category, kernel: grouped > 1 ? "grouped gemm" : "gemm", flops: r.flops, weight: k * n * e,
                activation: (m * k + m * n) * e, dram: r.dramBytes, bound: r.bound, seconds: r.seconds - shared)
        }
        func streamOp(_ name: String, _ layers: String, _ repeats: Int, _ category: ModelOperator.Category,
                      read: Int, write: Int, weight: Int = 0, flops: Int, special: Int = 0, kv: Int = 0, grouped: Int = 1) {
            let bytes = read + write + weight + kv
            let t = elementwise(bytes: bytes, flops: flops, special: special)
            let shared = launch * (1 - 1 / Double(max(1, grouped)))
            add(name, layers, repeats, category, kernel: "elementwise", flops: flops + special, weight: weight, activation: read + write,
                kv: kv, dram: bytes, bound: t.bound, seconds: t.seconds - shared)
        }
        func linkOp(_ name: String, _ layers: String, _ repeats: Int, bytes: Int, seconds: Double) {
            add(name, layers, repeats, .link, kernel: interconnect?.name ?? "link", flops: 0, activation: 0, link: bytes, dram: 0, bound: nil, seconds: seconds)
        }
        let normFlops = d.norm == .rmsnorm ? 4 : 7
        let normWeight = d.norm.parametersPerElement * h * e
        let allReduceBytes = tokens * h * e
        func allReduce(_ name: String, _ layers: String, _ repeats: Int) {
            guard tp > 1, let link = interconnect else { return }
            linkOp(name, layers, repeats, bytes: Interconnect.allReduceBytesPerGPU(bytes: allReduceBytes, gpus: tp),
                   seconds: costModel.allReduceSeconds(bytes: allReduceBytes, gpus: tp, over: link))
        }

        /// MLA (DeepSeek-V2/V3): latent projections, then per job either the absorbed
        /// decode program or, for prompts, K and V decompressed by kv_b_proj over the
        /// context and causal flash2 (the query/key size d_nope + d_rope for V too).
        func latentAttention(_ mla: ModelSpec.LatentAttention, heads: Int, label: String, n: Int) throws(ModelShapeError) {
            let nope = mla.qkNopeHeadDim, rope = mla.qkRopeHeadDim, rank = mla.kvLoraRank
            if let qRank = mla.qLoraRank {
                try gemmOp("q_a_proj", label, n, .attention, m: tokens, k: h, n: qRank)
                streamOp("q_a_norm", label, n, .attention, read: tokens * qRank * e, write: tokens * qRank * e, weight: qRank * e, flops: 4 * tokens * qRank)
                try gemmOp("q_b_proj", label, n, .attention, m: tokens, k: qRank, n: heads * (nope + rope))
            } else {
                try gemmOp("q_proj", label, n, .attention, m: tokens, k: h, n: heads * (nope + rope))
            }
            try gemmOp("kv_a_proj", label, n, .attention, m: tokens, k: h, n: rank + rope)
            streamOp("kv_a_norm", label, n, .attention, read: tokens * rank * e, write: tokens * rank * e, weight: rank * e, flops: 4 * tokens * rank)
            let ropeElements = tokens * (heads + 1) * rope
            streamOp("rope", label, n, .attention, read: ropeElements * e, write: ropeElements * e, flops: 3 * ropeElements)
            let latent = tokens * (rank + rope)
            streamOp("kv_append", label, n, .attention, read: latent * e, write: 0, flops: 0, kv: latent * e)
            for job in load.attentionJobs {
                let (b, keys) = (job.sequences, job.keys)
                let kvRead = b * keys * (rank + rope) * e
                let qo = b * job.queries * heads * (nope + rope + mla.vHeadDim) * e
                if job.decode {
                    let r = try latentDecodeRun(batch: b, heads: heads, keys: keys)
                    add("attention", label, n, .attention, kernel: "mla-decode-absorbed", flops: r.flops, activation: qo, kv: kvRead,
                        dram: r.dramBytes, bound: r.bound, seconds: r.seconds)
                } else {
                    try gemmOp("kv_b_proj", label, n, .attention, m: b * keys, k: rank, n: heads * (nope + mla.vHeadDim))
                    let r = try attentionRun(phase: .prefill, batch: b, heads: heads, kvHeads: heads, queries: job.queries, keys: keys, causal: true)
                    add("attention", label, n, .attention, kernel: "flash2", flops: r.flops, activation: qo, kv: kvRead,
                        dram: r.dramBytes, bound: r.bound, seconds: r.seconds)
                }
            }
            try gemmOp("o_proj", label, n, .attention, m: tokens, k: heads * mla.vHeadDim, n: h)
            allReduce("all_reduce", label, n)
        }

        // The embedding gathers one row per token (plus a learned position row).
        let positionRead = d.positions == .learned ? tokens * h * e : 0
        streamOp("embedding", "model", 1, .other, read: tokens * h * e + positionRead, write: tokens * h * e, flops: d.positions == .learned ? tokens * h : 0)

        for group in local.layerGroups {
            let label = Architecture.formatIndices(group.indices)
            let n = group.indices.count
            let norms = d.normsPerLayer
            if norms > 0 {
                streamOp("norm", label, n * norms, .other, read: tokens * h * e, write: tokens * h * e, weight: normWeight, flops: normFlops * tokens * h)
            }
            switch group.shape.mixer {
            case .attention(let heads, _) where local.mla != nil:
                guard let mla = local.mla else { break }
                try latentAttention(mla, heads: heads, label: label, n: n)
            case .attention(let heads, let kvHeads):
                try gemmOp("qkv_proj", label, n, .attention, m: tokens, k: h, n: (heads + 2 * kvHeads) * dh)
                if d.positions == .rope {
                    let elements = tokens * (heads + kvHeads) * dh
                    streamOp("rope", label, n, .attention, read: elements * e, write: elements * e, flops: 3 * elements)
                }
                let kvElements = tokens * 2 * kvHeads * dh
                streamOp("kv_append", label, n, .attention, read: kvElements * e, write: 0, flops: 0, kv: kvElements * e)
                for job in load.attentionJobs {
                let (b, keys) = (job.sequences, job.keys)
                let window = group.shape.window
                let cached = min(keys, window ?? keys)
                let kvRead = b * cached * 2 * kvHeads * dh * e
                let qo = 2 * b * job.queries * heads * dh * e
                if cp > 1, let link = interconnect {
                    // Ring attention: the GPU with the last chunk computes its causal diagonal
                    // block, then G - 1 full blocks as K/V chunks arrive; each transfer overlaps
                    // the previous block's compute.
                    let chunk = job.queries
                    let diagonal = try attentionRun(
                        phase: .prefill, batch: b, heads: heads, kvHeads: kvHeads, queries: chunk, keys: chunk, causal: true, window: window)
                    let full = try attentionRun(phase: .prefill, batch: b, heads: heads, kvHeads: kvHeads, queries: chunk, keys: chunk, causal: false)
                    let blockBytes = Self.ringBlockBytes(batch: b, chunk: chunk, kvHeads: kvHeads, headDim: dh, elementBytes: e)
                    let transfer = costModel.transferSeconds(bytes: blockBytes, over: link)
                    let steps = cp - 1
                    add("attention", label, n, .attention, kernel: "flash2 (ring)", flops: diagonal.flops + steps * full.flops, activation: qo,
                        kv: kvRead, dram: diagonal.dramBytes + steps * full.dramBytes, bound: full.bound,
                        seconds: diagonal.seconds + Double(steps) * full.seconds)
                    linkOp("ring_kv", label, n, bytes: steps * blockBytes, seconds: Double(steps) * max(0, transfer - full.seconds))
                } else {
                    let phase: ModelPhase = job.decode ? .decode : .prefill
                    let r = try attentionRun(
                        phase: phase, batch: b, heads: heads, kvHeads: kvHeads, queries: job.queries, keys: keys, causal: true, window: window)
                    add("attention", label, n, .attention, kernel: job.decode ? "flash-decoding" : "flash2", flops: r.flops, activation: qo,
                        kv: kvRead, dram: r.dramBytes, bound: r.bound, seconds: r.seconds)
                }
                }
                try gemmOp("o_proj", label, n, .attention, m: tokens, k: heads * dh, n: h)
                allReduce("all_reduce", label, n)
            case .ssm:
                guard let ssm = local.ssm else { throw ModelShapeError("SSM layers need the model's \"ssm\" state") }
                let inner = ssm.innerDim, state = ssm.stateDim, rank = local.ssmDtRank
                try gemmOp("ssm_in_proj", label, n, .ssm, m: tokens, k: h, n: 2 * inner)
                streamOp("ssm_conv", label, n, .ssm, read: tokens * inner * e, write: tokens * inner * e, weight: inner * ssm.convWidth * e,
                         flops: 2 * ssm.convWidth * tokens * inner)
                try gemmOp("ssm_x_proj", label, n, .ssm, m: tokens, k: inner, n: rank + 2 * state)
                try gemmOp("ssm_dt_proj", label, n, .ssm, m: tokens, k: rank, n: inner)
                // The selective scan: x, dt, z in, y out, B and C per token; in decode the
                // fp32 state is read and written once per step.
                let stateBytes = 2 * load.decodeSequences * inner * state * 4
                streamOp("ssm_scan", label, n, .ssm, read: tokens * (3 * inner + 2 * state) * e, write: tokens * inner * e,
                         weight: 2 * inner * state * 4, flops: 6 * tokens * inner * state, special: tokens * inner * state, kv: stateBytes)
                try gemmOp("ssm_out_proj", label, n, .ssm, m: tokens, k: inner, n: h)
                allReduce("all_reduce", label, n)
            }
            streamOp("residual", label, n, .other, read: 2 * tokens * h * e, write: tokens * h * e, flops: tokens * h)
            let gated = d.activation.isGated
            func ffn(_ prefix: String, repeats: Int, rows: Int, intermediate: Int, grouped: Int = 1) throws(ModelShapeError) {
                guard rows > 0, repeats > 0 else { return }
                try gemmOp(prefix + (gated ? "_gate_up" : "_up"), label, repeats, .ffn, m: rows, k: h, n: (gated ? 2 : 1) * intermediate, grouped: grouped)
                let act = rows * intermediate
                streamOp(prefix + "_act", label, repeats, .ffn, read: (gated ? 2 : 1) * act * e, write: act * e, flops: (gated ? 5 : 4) * act,
                         special: act, grouped: grouped)
                try gemmOp(prefix + "_down", label, repeats, .ffn, m: rows, k: intermediate, n: h, grouped: grouped)
            }
            switch group.shape.ffn {
            case .dense(let intermediate):
                try ffn("ffn", repeats: n, rows: tokens, intermediate: intermediate)
            case .moe(let experts, let topK, let shared, let intermediate):
                try gemmOp("router", label, n, .ffn, m: tokens, k: h, n: experts)
                let active = Self.activeExperts(experts: experts, topK: topK, tokens: tokens)
                let rows = (tokens * topK + active - 1) / active
                // The active experts run as one grouped GEMM per matrix (one launch each).
                try ffn("expert", repeats: n * active, rows: rows, intermediate: intermediate, grouped: active)
                if shared > 0 { try ffn("shared_expert", repeats: n, rows: tokens, intermediate: shared * intermediate) }
            }
            allReduce("all_reduce", label, n)
            streamOp("residual", label, n, .other, read: 2 * tokens * h * e, write: tokens * h * e, flops: tokens * h)
        }
        if d.finalNorm {
            streamOp("final_norm", "model", 1, .other, read: tokens * h * e, write: tokens * h * e, weight: normWeight, flops: normFlops * tokens * h)
        }
        // Logits for the last position of each sequence only.
        try gemmOp("lm_head", "model", 1, .other, m: sequences, k: h, n: d.vocabSize)
        return (ops, peakActivation + sequences * local.decoder.vocabSize * 4)
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
