import AttnHardware
import AttnNumerics
import KVCache
import Workload

extension ModelPredictor {
    /// Which weights a GEMM multiplies: the decoder layers' linear layers, the routed
    /// experts, or a matrix kept at the run's dtype (embedding-tied LM head, router, and
    /// the products of two activations: the indexer's scores, DeltaNet's chunks).
    enum WeightRole {
        case weights
        case experts
        case unquantized
    }

    /// The routed experts' format: `--experts`, else the model's `moe.expert_dtype`
    /// (gpt-oss: MXFP4), else the weights'.
    var expertFormat: TensorFormat? {
        options.precision.experts ?? architecture.decoder.moe?.expertDType.map(TensorFormat.init) ?? options.precision.weights
    }

    /// How a GEMM of `role` runs; nil: gemm.tile at the run's dtype. X is quantized when
    /// the activations' format is W's (FP8 with FP8 weights, NVFP4 or MXFP4 with the same
    /// format); otherwise the GEMM is weight-only (W dequantized on chip). `check` has
    /// refused every other pairing the options name, so only experts whose format comes
    /// from the model (gpt-oss's MXFP4 under --dtype fp8) fall back to weight-only.
    func gemmPrecision(_ role: WeightRole) -> GEMMPrecision? {
        let format: TensorFormat?
        switch role {
        case .unquantized: return nil
        case .weights: format = options.precision.weights
        case .experts: format = expertFormat
        }
        guard let format, format.isQuantized else { return nil }
        let activations = options.precision.activations.flatMap { Self.multiplies($0, format) ? $0 : nil }
        return GEMMPrecision(weights: format, activations: activations)
    }

    /// sage3.tile's `fmt` for prefill attention: 4 with NVFP4 activations, 5 with MXFP4,
    /// on a GPU whose profile gives an FP4 rate (`matmul_flops_per_second.fp4e2m1`: B200,
    /// B300, GB200, MI355X); nil otherwise (flash2 at the run's dtype). SageAttention3
    /// (Zhang et al. 2025, arXiv 2505.11594) quantizes Q, K, V and P to NVFP4 and runs
    /// both attention GEMMs on Blackwell's FP4 tensor cores, as the GEMMs' X already is.
    static func fp4AttentionFormat(_ precision: ModelPrecision, hardware: HardwareProfile) -> Int? {
        guard hardware.matmulFlopsPerSecond[.fp4e2m1] != nil else { return nil }
        switch precision.activations {
        case .nvfp4?: return 4
        case .mxfp4?: return 5
        default: return nil
        }
    }

    /// The prefill attention kernel's name in the operator table: flash2, or sage3 with
    /// its format.
    var prefillKernel: String {
        switch fp4PrefillAttention?.format {
        case 4?: return "sage3 nvfp4"
        case 5?: return "sage3 mxfp4"
        default: return "flash2"
        }
    }

    /// Whether the MMA multiplies X in `activations` by W in `weights` as they are: FP8 by
    /// FP8 (either of E4M3 and E5M2), NVFP4 by NVFP4, MXFP4 by MXFP4.
    static func multiplies(_ activations: TensorFormat, _ weights: TensorFormat) -> Bool {
        switch (activations, weights) {
        case (.fp8, .fp8), (.fp8Block128, .fp8Block128), (.nvfp4, .nvfp4), (.mxfp4, .mxfp4): return true
        default: return false
        }
    }

    /// Bytes of one cached vector of `elements` (a head's key or value, an MLA latent) in
    /// the KV cache's format, scales included.
    func kvVectorBytes(_ elements: Int) -> Int {
        options.precision.kv?.vectorBytes(elements) ?? elements * e
    }

    /// The FP8 format an FP8 KV cache is read in by the absorbed MLA decode; nil for a KV
    /// cache at the run's dtype.
    var latentKVDType: DType? {
        if case .fp8(let format)? = options.precision.kv { return format == .e4m3 ? .fp8e4m3 : .fp8e5m2 }
        return nil
    }

    /// flash-decoding-quant's `quant` and `group` for the KV cache's format; nil when the
    /// cache is at a float dtype (flash-decoding reads it).
    var kvQuantParameters: [String: Int]? {
        switch options.precision.kv {
        case .fp8(let format)?: return ["quant": format == .e4m3 ? 0 : 1]
        case .int8(let group)?: return ["quant": 2, "group": Self.groupElements(group, headDim: architecture.headDim)]
        case .int4(let group)?: return ["quant": 3, "group": Self.groupElements(group, headDim: architecture.headDim)]
        case .nvfp4?: return ["quant": 4]
        case .mxfp4?: return ["quant": 5]
        default: return nil
        }
    }

    static func groupElements(_ group: KVDType.QuantGroup, headDim: Int) -> Int {
        switch group {
        case .token: return headDim
        case .elements(let n): return n
        }
    }

    /// Refuses a precision the run cannot have, naming what to give instead: float weights
    /// or inputs at another dtype than the run's; quantized inputs without weights of their
    /// format; FP8 or FP4 inputs on a GPU whose profile has no rate for them (the tensor
    /// cores do not multiply them: a GEMM would not run, so it is an error rather than a
    /// silent fallback; weight-only runs anywhere, as Marlin and vLLM's MXFP4 kernels run
    /// on Ampere and Hopper); a KV cache format no decode kernel reads (an integer or FP4
    /// latent cache; an FP4 cache whose head dimension is not a multiple of its block).
    static func check(_ p: ModelPrecision, dtype: DType, architecture: Architecture, hardware: HardwareProfile) throws(ModelShapeError) {
        for (name, format) in [("weights", p.weights), ("experts", p.experts), ("activations", p.activations)] {
            if case .float(let d)? = format, d != dtype {
                throw ModelShapeError("\(name) in \(d) under a \(dtype) run: a float format is the run's dtype; give the dtype for the whole run")
            }
        }
        if let a = p.activations, a.isQuantized {
            if case .int8 = a { throw ModelShapeError("activations are fp8, nvfp4 or mxfp4 (integer formats are weight-only)") }
            if case .int4 = a { throw ModelShapeError("activations are fp8, nvfp4 or mxfp4 (integer formats are weight-only)") }
            let weights = p.weights ?? .float(dtype)
            guard multiplies(a, weights) else {
                throw ModelShapeError("\(a) activations multiply \(a) weights (W8A8 with fp8, W4A4 with the same FP4 format); found weights \(weights)")
            }
            if let experts = p.experts, !multiplies(a, experts), experts.isQuantized {
                throw ModelShapeError(advice: "\(a) activations multiply \(a) experts; found experts \(experts) (give \(Remedy.activations(dtype.rawValue)) for weight-only experts)")
            }
            let mma: DType
            switch a {
            case .fp8(let f): mma = f == .e4m3 ? .fp8e4m3 : .fp8e5m2
            case .fp8Block128: mma = .fp8e4m3
            default: mma = .fp4e2m1
            }
            guard hardware.matmulFlopsPerSecond[mma] != nil || hardware.measuredMatmulFlopsPerSecond[mma] != nil else {
                throw ModelShapeError(advice:
                    "\(hardware.id) has no \(mma) tensor-core rate (matmul_flops_per_second.\(mma)): its tensor cores do not multiply \(a) inputs; "
                        + "give \(Remedy.activations(dtype.rawValue)) for weight-only \(a) weights (dequantized on chip to \(dtype), as Marlin and vLLM's MXFP4 kernels run them)")
            }
        }
        switch p.kv {
        case nil, .fp32?, .fp16?, .bf16?:
            break
        case .fp8?:
            break
        case .int8?, .int4?:
            if architecture.mla != nil {
                throw ModelShapeError(advice: "an int8 or int4 latent cache is not modelled for MLA (the absorbed decode reads fp8 or the run's dtype); give \(Remedy.kvFormat("fp8"))")
            }
        case let fp4?:
            // flash-decoding-quant reads FP4 codes in whole blocks of the head dimension
            // (NVFP4 16 elements per scale, MXFP4 32).
            let block = fp4 == .nvfp4 ? 16 : 32
            if architecture.mla != nil {
                throw ModelShapeError(advice: "an FP4 latent cache is not modelled for MLA (the absorbed decode reads fp8 or the run's dtype); give \(Remedy.kvFormat("fp8"))")
            }
            if architecture.headDim % block != 0 {
                throw ModelShapeError(advice: "a \(fp4) cache keeps one scale per \(block) elements of a head; head_dim \(architecture.headDim) is not a multiple of \(block); give \(Remedy.kvFormat("fp8"))")
            }
        }
        if case let kv? = p.kv, [.fp32, .fp16, .bf16].contains(kv), kv.description != dtype.rawValue {
            throw ModelShapeError("kv in \(kv) under a \(dtype) run: a float KV cache is at the run's dtype")
        }
    }
}
