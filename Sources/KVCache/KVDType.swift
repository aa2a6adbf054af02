/// The storage type of cached keys and values.
public enum KVDType: Sendable, Equatable, Hashable, CustomStringConvertible {
    case fp32
    case fp16
    case bf16
    /// FP8 (E4M3 or E5M2): one byte; a per-tensor scale is negligible and not counted.
    case fp8
    /// 4-bit integers in groups of `groupSize` along the head dimension, each group with
    /// an fp16 scale and an fp16 zero point (asymmetric quantization as in KIVI, Liu et
    /// al. 2024): 4 bytes of metadata per group.
    case int4(groupSize: Int)

    /// The int4 group size used when none is given.
    public static let defaultInt4GroupSize = 64

    public init?(name: String, int4GroupSize: Int = KVDType.defaultInt4GroupSize) {
        switch name.lowercased() {
        case "fp32", "float32": self = .fp32
        case "fp16", "float16", "half": self = .fp16
        case "bf16", "bfloat16": self = .bf16
        case "fp8", "float8", "e4m3", "e5m2": self = .fp8
        case "int4": self = .int4(groupSize: int4GroupSize)
        default: return nil
        }
    }

    public var description: String {
        switch self {
        case .fp32: return "fp32"
        case .fp16: return "fp16"
        case .bf16: return "bf16"
        case .fp8: return "fp8"
        case .int4: return "int4"
        }
    }

    /// Bytes to store one vector of `length` elements (one head's key or value of one
    /// token), metadata included.
    public func vectorBytes(_ length: Int) -> Int {
        switch self {
        case .fp32: return 4 * length
        case .fp16, .bf16: return 2 * length
        case .fp8: return length
        case .int4(let group):
            // A group size below 1 is rejected by `KVStudy`/`PagedStudy`; counted as 1 here.
            let groups = Checked.ceilDiv(length, max(1, group))
            return (length + 1) / 2 + 4 * groups
        }
    }
}
