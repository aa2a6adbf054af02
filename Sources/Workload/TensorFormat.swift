import AttnNumerics

/// How a matrix operand of a linear layer is stored: its weights, or the activations a
/// GEMM reads. Codes and scales are counted byte for byte:
///
/// | format | element | scale per block (along the inner dimension) | per tensor | bits per element |
/// |---|---|---|---|---|
/// | fp32, fp16, bf16 | 32, 16 bits | none | none | 32, 16 |
/// | fp8 (e4m3, e5m2) | 8 bits | none | one fp32 | 8 |
/// | fp8-block128 (weights) | E4M3, 8 bits | fp32 per 128 x 128 block | none | 8 + 32 / 16,384 |
/// | fp8-block128 (activations) | E4M3, 8 bits | fp32 per 1 x 128 tile | none | 8.25 |
/// | nvfp4 | E2M1, 4 bits | E4M3 (1 byte) per 16 | one fp32 | 4.5 |
/// | mxfp4 | E2M1, 4 bits | E8M0 (1 byte) per 32 | none | 4.25 |
/// | int8-gN (W8A16) | 8 bits | fp16 per N | none | 8 + 16 / N |
/// | int4-gN (W4A16) | 4 bits | fp16 per N | none | 4 + 16 / N (g128: 4.125) |
///
/// Sources: OCP Microscaling Formats (MX) v1.0 (2023), Sections 5.2 and 6.3 (MXFP4: k = 32,
/// E8M0 shared scale, E2M1 elements); NVIDIA's NVFP4 (Blackwell; "Introducing NVFP4 for
/// efficient and accurate low-precision inference", NVIDIA technical blog, 2025: 16-value
/// micro-blocks with an FP8 E4M3 scale and a second-level FP32 per-tensor scale); FP8 with
/// a per-tensor scale as TensorRT-LLM's and vLLM's FP8 checkpoints; int4/int8 with one fp16
/// scale per group of 128 as GPTQ (Frantar et al. 2023) and AWQ (Lin et al. 2024) store
/// them, symmetric (GPTQ's sym layout as Marlin reads it; AWQ's 4-bit zero points, 4 / N
/// bits more, are not counted); FP8 with fp32 scales per 128 x 128 weight block and per
/// 1 x 128 activation tile as DeepSeek-V3 (technical report, arXiv 2412.19437, Section
/// 3.3.1, "fine-grained quantization") stores and runs it (its checkpoint's
/// `weight_scale_inv`: one fp32 per block of 128 output rows and 128 input columns).
public enum TensorFormat: Sendable, Equatable, Hashable, CustomStringConvertible {
    /// A floating-point dtype without scales: fp32, fp16 or bf16.
    case float(DType)
    case fp8(FP8Format)
    /// DeepSeek-V3's block-scaled FP8: E4M3 codes, one fp32 scale per 128 x 128 weight
    /// block and per 1 x 128 activation tile (`fp8-block128`).
    case fp8Block128
    case nvfp4
    case mxfp4
    /// 8-bit integer codes with an fp16 scale per group of this many elements (W8A16).
    case int8(group: Int)
    /// 4-bit integer codes, two per byte, with an fp16 scale per group (W4A16).
    case int4(group: Int)

    /// The group of int8 and int4 weights when none is given: 128, GPTQ's and AWQ's default.
    public static let defaultGroup = 128

    /// The names `TensorFormat(name:)` accepts, for messages.
    public static let names = "fp32, fp16, bf16, fp8 (= fp8e4m3), fp8e5m2, fp8-block128, nvfp4, mxfp4, int8 or int4 (int8-gN, int4-gN: N per fp16 scale, default 128)"

    /// Parses a user-facing name: a float dtype, `fp8`/`fp8e4m3`/`fp8e5m2`, `nvfp4`,
    /// `mxfp4`, `int8`, `int4`, `int8-g64`, `int4-g128`; nil otherwise.
    public init?(name: String) {
        let text = name.lowercased()
        for (prefix, int4) in [("int4", true), ("int8", false)] where text.hasPrefix(prefix) {
            let rest = text.dropFirst(prefix.count)
            var group = Self.defaultGroup
            if !rest.isEmpty {
                guard rest.hasPrefix("-g"), let n = Int(rest.dropFirst(2)), n >= 1 else { return nil }
                group = n
            }
            self = int4 ? .int4(group: group) : .int8(group: group)
            return
        }
        switch text {
        case "fp8", "float8", "e4m3", "fp8e4m3", "fp8-e4m3", "fp8_e4m3": self = .fp8(.e4m3)
        case "e5m2", "fp8e5m2", "fp8-e5m2", "fp8_e5m2": self = .fp8(.e5m2)
        case "fp8-block128", "fp8_block128": self = .fp8Block128
        case "nvfp4": self = .nvfp4
        case "mxfp4": self = .mxfp4
        default:
            guard let dtype = DType(name: text), dtype.bytes >= 2 else { return nil }
            self = .float(dtype)
        }
    }

    /// `bf16`, `fp8e4m3`, `nvfp4`, `mxfp4`, `int4-g128`, ...
    public var description: String {
        switch self {
        case .float(let dtype): return dtype.rawValue
        case .fp8(let format): return "fp8\(format.rawValue)"
        case .fp8Block128: return "fp8-block128"
        case .nvfp4: return "nvfp4"
        case .mxfp4: return "mxfp4"
        case .int8(let group): return "int8-g\(group)"
        case .int4(let group): return "int4-g\(group)"
        }
    }

    /// The format of gpt-oss's `moe.expert_dtype`.
    public init(_ expert: DecoderBlock.ExpertDType) {
        switch expert {
        case .mxfp4: self = .mxfp4
        }
    }

    /// Whether the format needs codes and scales (everything but a float dtype).
    public var isQuantized: Bool {
        if case .float = self { return false }
        return true
    }

    /// Bits of one element's code: the dtype's, 8 for FP8 and int8, 4 for FP4 and int4.
    public var codeBits: Int {
        switch self {
        case .float(let dtype): return dtype.bits
        case .fp8, .fp8Block128, .int8: return 8
        case .nvfp4, .mxfp4, .int4: return 4
        }
    }

    /// Elements that share one block scale along the inner dimension; nil without block
    /// scales (float, FP8). fp8-block128: 128 (an activation's 1 x 128 tile; a weight's
    /// block is 128 x 128, `weightBlockRows`).
    public var blockElements: Int? {
        switch self {
        case .float, .fp8: return nil
        case .fp8Block128: return 128
        case .nvfp4: return 16
        case .mxfp4: return 32
        case .int8(let group), .int4(let group): return group
        }
    }

    /// The dtype of a block scale: fp8e4m3 (NVFP4), e8m0 (MXFP4), fp16 (int8, int4); nil
    /// without block scales.
    public var scaleDType: DType? {
        switch self {
        case .float, .fp8: return nil
        case .fp8Block128: return .fp32
        case .nvfp4: return .fp8e4m3
        case .mxfp4: return .e8m0
        case .int8, .int4: return .fp16
        }
    }

    /// Whether a tensor carries one fp32 scale of its own (FP8; NVFP4's second level).
    public var hasTensorScale: Bool {
        switch self {
        case .fp8, .nvfp4: return true
        default: return false
        }
    }

    /// The codes' format as the tile programs name it (`KVQuantFormat`); nil for a float.
    public var codeFormat: KVQuantFormat? {
        switch self {
        case .float: return nil
        case .fp8(let format): return format == .e4m3 ? .fp8e4m3 : .fp8e5m2
        case .fp8Block128: return .fp8e4m3
        case .nvfp4, .mxfp4: return .fp4e2m1
        case .int8: return .int8
        case .int4: return .int4
        }
    }

    /// Bytes of a matrix of `rows` rows of `columns` elements, blocks along the rows:
    /// rows x (ceil(columns x bits / 8) + ceil(columns / block) x scale bytes), plus 4 for
    /// a per-tensor fp32 scale. A weight W[k, n] of nn.Linear is n rows of k.
    public func bytes(rows: Int, columns: Int) -> Int {
        guard rows > 0, columns > 0 else { return 0 }
        if let block = weightBlockRows, let size = blockElements {
            // One fp32 per block of `block` rows x `size` columns (partial blocks whole).
            return rows * columns + ceilDiv(rows, block) * ceilDiv(columns, size) * 4
        }
        let codes = ceilDiv(columns * codeBits, 8)
        let scales = blockElements.map { ceilDiv(columns, $0) * (scaleDType?.bytes ?? 0) } ?? 0
        return rows * (codes + scales) + (hasTensorScale ? 4 : 0)
    }

    /// Bytes of `elements` parameters in whole blocks (a model's totals: every matrix's
    /// inner dimension a multiple of the block, as in the released models):
    /// ceil(n x bits / 8) + ceil(n / block) x scale bytes. Per-tensor fp32 scales (4 bytes
    /// a matrix) are left out of totals.
    public func bytes(elements n: Int) -> Int {
        guard n > 0 else { return 0 }
        if let block = weightBlockRows, let size = blockElements { return n + ceilDiv(n, block * size) * 4 }
        let scales = blockElements.map { ceilDiv(n, $0) * (scaleDType?.bytes ?? 0) } ?? 0
        return ceilDiv(n * codeBits, 8) + scales
    }

    /// Rows (output channels) of a weight's block of scales when blocks are two-dimensional:
    /// 128 for fp8-block128 (128 x 128 blocks); nil when a block is one row's run of
    /// `blockElements`.
    public var weightBlockRows: Int? {
        if case .fp8Block128 = self { return 128 }
        return nil
    }

    /// A GEMM input's bytes, M x K in this format (activations: scales per row's block,
    /// fp8-block128's 1 x 128 tiles), without a per-tensor scale: M (ceil(K bits / 8) +
    /// ceil(K / block) x scale bytes).
    public func activationBytes(rows m: Int, columns k: Int) -> Int {
        guard m > 0, k > 0 else { return 0 }
        let scales = blockElements.map { ceilDiv(k, $0) * (scaleDType?.bytes ?? 0) } ?? 0
        return m * (ceilDiv(k * codeBits, 8) + scales)
    }

    /// Bits per element of a weight with its block scales: 16 (bf16), 8 (fp8), 4.5 (nvfp4),
    /// 4.25 (mxfp4), 4.125 (int4-g128), 8.002 (fp8-block128).
    public var bitsPerElement: Double {
        if let block = weightBlockRows, let size = blockElements { return Double(codeBits) + 32 / Double(block * size) }
        return Double(codeBits) + (blockElements.map { Double(8 * (scaleDType?.bytes ?? 0)) / Double($0) } ?? 0)
    }

    /// ceil(a / b) for a >= 0, b > 0.
    private func ceilDiv(_ a: Int, _ b: Int) -> Int { (a + b - 1) / b }
}
