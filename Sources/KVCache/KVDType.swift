import AttnNumerics

/// The storage type of cached keys and values.
public enum KVDType: Sendable, Equatable, Hashable, CustomStringConvertible {
    case fp32
    case fp16
    case bf16
    /// FP8, E4M3 or E5M2 (`FP8Format`): one byte per element; a per-tensor scale is
    /// negligible and not counted.
    case fp8(FP8Format)
    /// 8-bit integers with an fp16 scale and an fp16 zero point per group (asymmetric
    /// quantization): 4 bytes of metadata per group.
    case int8(QuantGroup)
    /// 4-bit integers, two per byte, with an fp16 scale and an fp16 zero point per group
    /// (asymmetric quantization as in KIVI, Liu et al. 2024): 4 bytes of metadata per group.
    case int4(QuantGroup)
    /// NVFP4 (NVIDIA Blackwell): E2M1 codes, two per byte, with an E4M3 scale (one byte) per
    /// block of 16 elements; the per-tensor fp32 scale is not counted. 4.5 bits an element.
    case nvfp4
    /// MXFP4 (OCP Microscaling Formats v1.0, Section 6.3): E2M1 codes, two per byte, with an
    /// E8M0 scale (one byte) per block of 32 elements. 4.25 bits an element.
    case mxfp4

    /// The elements that share one scale and zero point.
    public enum QuantGroup: Sendable, Equatable, Hashable, CustomStringConvertible {
        /// Groups of this many elements along the head dimension (the last one ragged).
        case elements(Int)
        /// One group per stored vector: per token and KV head (per token for an MLA latent).
        case token

        public var description: String {
            switch self {
            case .elements(let n): return "g\(n)"
            case .token: return "token"
            }
        }

        /// Parses `N` (a positive group size) or `token`; nil otherwise.
        public init?(name: String) {
            if name.lowercased() == "token" {
                self = .token
            } else if let n = Int(name), n >= 1 {
                self = .elements(n)
            } else {
                return nil
            }
        }
    }

    /// The int4 group size used when none is given.
    public static let defaultInt4GroupSize = 64

    /// The group of a dtype when none is given: 64 elements for int4, per token for int8.
    public static func defaultGroup(int8: Bool) -> QuantGroup { int8 ? .token : .elements(defaultInt4GroupSize) }

    /// The names `--dtype` and scenario files accept.
    public static let names = "fp32, fp16, bf16, fp8 (= fp8e4m3), fp8e5m2, int8, int4, nvfp4 or mxfp4"

    /// Parses a name; `group` (nil: the dtype's default) applies to int8 and int4.
    public init?(name: String, group: QuantGroup? = nil) {
        switch name.lowercased() {
        case "fp32", "float32": self = .fp32
        case "fp16", "float16", "half": self = .fp16
        case "bf16", "bfloat16": self = .bf16
        case "fp8", "float8", "e4m3", "fp8-e4m3", "fp8e4m3", "fp8_e4m3": self = .fp8(.e4m3)
        case "e5m2", "fp8-e5m2", "fp8e5m2", "fp8_e5m2": self = .fp8(.e5m2)
        case "int8": self = .int8(group ?? KVDType.defaultGroup(int8: true))
        case "int4": self = .int4(group ?? KVDType.defaultGroup(int8: false))
        case "nvfp4": self = .nvfp4
        case "mxfp4": self = .mxfp4
        default: return nil
        }
    }

    /// A name as `description` writes it with its group (`int4-g64`, `int8-token`), or as
    /// `init(name:)` reads it; nil otherwise.
    public static func named(_ text: String) -> KVDType? {
        let parts = text.split(separator: "-", maxSplits: 1).map(String.init)
        guard parts.count == 2 else { return KVDType(name: text) }
        let groupText = parts[1].hasPrefix("g") ? String(parts[1].dropFirst()) : parts[1]
        guard let group = QuantGroup(name: groupText), let dtype = KVDType(name: parts[0], group: group), dtype.group != nil else { return nil }
        return dtype
    }

    /// `fp16`, `fp8e4m3`, `int4-g64`, `int8-token`, ...
    public var description: String {
        switch self {
        case .fp32: return "fp32"
        case .fp16: return "fp16"
        case .bf16: return "bf16"
        case .fp8(let format): return "fp8\(format.rawValue)"
        case .int8(let group): return "int8-\(group)"
        case .int4(let group): return "int4-\(group)"
        case .nvfp4: return "nvfp4"
        case .mxfp4: return "mxfp4"
        }
    }

    /// The quantization group, for int8 and int4.
    public var group: QuantGroup? {
        switch self {
        case .int8(let group), .int4(let group): return group
        default: return nil
        }
    }

    /// Bytes to store one vector of `length` elements (one head's key or value of one
    /// token, or one MLA latent), scales and zero points included.
    public func vectorBytes(_ length: Int) -> Int {
        func groups(_ group: QuantGroup) -> Int {
            switch group {
            case .token: return 1
            // A group size below 1 is rejected by `KVStudy`/`PagedStudy`; counted as 1 here.
            case .elements(let size): return Checked.ceilDiv(length, max(1, size))
            }
        }
        switch self {
        case .fp32: return 4 * length
        case .fp16, .bf16: return 2 * length
        case .fp8: return length
        case .int8(let group): return length + 4 * groups(group)
        case .int4(let group): return (length + 1) / 2 + 4 * groups(group)
        case .nvfp4: return (length + 1) / 2 + Checked.ceilDiv(length, 16)
        case .mxfp4: return (length + 1) / 2 + Checked.ceilDiv(length, 32)
        }
    }
}
