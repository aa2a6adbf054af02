import AttnHardware
import AttnNumerics
import KVCache
import Workload

/// The storage formats of a model's components, beside the run's dtype (the compute
/// dtype: the residual stream, norms, attention's queries and outputs, and every tensor
/// not named here). Nil components take the run's dtype, so an empty precision is a
/// plain fp16/bf16/fp32 run.
///
/// - `weights`: the linear layers of the decoder layers (attention, MLA, SSM and
///   DeltaNet projections, dense FFNs, shared experts); the embedding, the LM head, the
///   routers and the norms stay at the run's dtype, as FP8, NVFP4, AWQ and GPTQ
///   checkpoints keep them.
/// - `experts`: the routed experts' matrices; nil: the model's `moe.expert_dtype`
///   (gpt-oss: MXFP4), else `weights`.
/// - `activations`: what those GEMMs read as X: nil (the run's dtype; with quantized
///   weights a weight-only GEMM, W dequantized on chip), FP8 (W8A8 with FP8 weights) or
///   NVFP4/MXFP4 (W4A4 with weights of the same format). The quantization of X is fused
///   into the operator before it, whose output is counted at the run's dtype.
/// - `kv`: the KV cache (appends, decode reads, memory); nil: the run's dtype.
public struct ModelPrecision: Sendable, Equatable {
    public var weights: TensorFormat?
    public var experts: TensorFormat?
    public var activations: TensorFormat?
    public var kv: KVDType?

    public init(weights: TensorFormat? = nil, experts: TensorFormat? = nil, activations: TensorFormat? = nil, kv: KVDType? = nil) {
        self.weights = weights
        self.experts = experts
        self.activations = activations
        self.kv = kv
    }

    /// `--dtype X` as the shorthand for every component: a float dtype is the run's dtype
    /// (an empty precision); FP8 (per tensor, or DeepSeek-V3's fp8-block128) quantizes
    /// weights, GEMM inputs and the KV cache, NVFP4 and
    /// MXFP4 weights and GEMM inputs with an FP8 KV cache (TensorRT-LLM's NVFP4 engines'
    /// default), int8 and int4 the weights alone (W8A16, W4A16); bf16 is the run's dtype, as
    /// TensorRT-LLM's FP8 and NVFP4 engines keep activations between kernels.
    public static func uniform(_ format: TensorFormat) -> (dtype: DType, precision: ModelPrecision) {
        switch format {
        case .float(let dtype): return (dtype, ModelPrecision())
        case .fp8(let f): return (.bf16, ModelPrecision(weights: format, activations: format, kv: .fp8(f)))
        case .fp8Block128: return (.bf16, ModelPrecision(weights: format, activations: format, kv: .fp8(.e4m3)))
        case .nvfp4, .mxfp4: return (.bf16, ModelPrecision(weights: format, activations: format, kv: .fp8(.e4m3)))
        case .int8, .int4: return (.bf16, ModelPrecision(weights: format))
        }
    }

    /// The run's dtype and precision of `--dtype` (nil: fp16) with the components given
    /// beside it: `dtype` sets every component (`uniform`); `activations` in a float dtype
    /// is the run's dtype, in FP8 or FP4 the GEMMs' X; `weights`, `experts` and `kv`
    /// replace theirs. Float weights or KV equal to the run's dtype are no component;
    /// float experts stay (they override a model's `expert_dtype`).
    /// `ModelPredictor` refuses pairings no kernel runs.
    public static func resolve(
        dtype: TensorFormat?, weights: TensorFormat? = nil, experts: TensorFormat? = nil, activations: TensorFormat? = nil, kv: KVDType? = nil
    ) -> (dtype: DType, precision: ModelPrecision) {
        var (run, precision) = uniform(dtype ?? .float(.fp16))
        if let activations {
            if case .float(let d) = activations {
                run = d
                precision.activations = nil
            } else {
                precision.activations = activations
            }
        }
        if let weights { precision.weights = weights }
        if let experts { precision.experts = experts }
        if let kv { precision.kv = kv }
        if precision.weights == .float(run) { precision.weights = nil }
        if let kv = precision.kv, kv.description == run.rawValue { precision.kv = nil }
        return (run, precision)
    }

    /// Whether every component is at the run's dtype.
    public var isEmpty: Bool { weights == nil && experts == nil && activations == nil && kv == nil }

    /// `weights bf16, experts mxfp4, activations bf16, kv fp8e4m3`-style summary of the
    /// components under run dtype `dtype` (the expert format as resolved for `model`).
    public func summary(dtype: DType, expertDType: DecoderBlock.ExpertDType?) -> String {
        let w = weights ?? .float(dtype)
        let ex = experts ?? expertDType.map(TensorFormat.init) ?? w
        var parts = ["weights \(w)"]
        if expertDType != nil || experts != nil { parts.append("experts \(ex)") }
        parts.append("activations \(activations ?? .float(dtype))")
        parts.append("kv \(kv?.description ?? dtype.rawValue)")
        return parts.joined(separator: ", ")
    }
}

/// How one GEMM runs under a `ModelPrecision`: its W format and what X it reads.
struct GEMMPrecision: Hashable {
    /// W's storage; a float format runs gemm.tile at the run's dtype.
    var weights: TensorFormat
    /// X's format when the MMA multiplies quantized inputs (FP8 or FP4); nil: X at the
    /// run's dtype.
    var activations: TensorFormat?

    /// gemm-quant.tile's `mode`: 0 weight-only, 1 FP8 MMA, 2 FP4 block-scaled MMA.
    var mode: Int {
        switch activations {
        case .fp8?, .fp8Block128?: return 1
        case .nvfp4?, .mxfp4?: return 2
        default: return 0
        }
    }

    /// The dtype the GEMM program runs at, whose tensor-core rate its MMA takes: the run's
    /// dtype (weight-only), the FP8 format, or fp4e2m1.
    func mmaDType(run: DType) -> DType {
        switch activations {
        case .fp8(let f)?: return f == .e4m3 ? .fp8e4m3 : .fp8e5m2
        case .fp8Block128?: return .fp8e4m3
        case .nvfp4?, .mxfp4?: return .fp4e2m1
        default: return run
        }
    }

    /// X's bytes for an M x K input: at the run's dtype, one byte (FP8; with fp8-block128
    /// one fp32 scale per 1 x 128 tile), or FP4 codes with their block scales.
    func inputBytes(rows m: Int, columns k: Int, run: DType) -> Int {
        guard let activations else { return m * k * run.bytes }
        return activations.activationBytes(rows: m, columns: k)
    }
}
