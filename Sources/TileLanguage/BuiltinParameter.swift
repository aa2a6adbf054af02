/// Parameters every program can use without declaring them, bound from the run.
public enum BuiltinParameter: String, Sendable, CaseIterable {
    case batch, heads
    case kvHeads = "kv_heads"
    /// Query length.
    case N
    /// Key/value length.
    case Nkv
    /// Head dimension.
    case d
    /// Softmax scale, 1/sqrt(d) unless the run sets it.
    case scale
    /// Shared memory one thread block may use on the run's hardware.
    case sramBytes = "sram_bytes"
    /// Bytes per element of the run's storage dtype.
    case elemBytes = "elem_bytes"
    /// Streaming multiprocessors on the run's hardware.
    case smCount = "sm_count"

    public var type: ValueType { self == .scale ? .float : .int }

    public var summary: String {
        switch self {
        case .batch: return "batch size"
        case .heads: return "query heads"
        case .kvHeads: return "key/value heads (kv_heads < heads is GQA/MQA)"
        case .N: return "query length"
        case .Nkv: return "key/value length"
        case .d: return "head dimension"
        case .scale: return "softmax scale (default 1/sqrt(d))"
        case .sramBytes: return "shared memory per thread block on the hardware, bytes"
        case .elemBytes: return "bytes per element of the storage dtype"
        case .smCount: return "SM count of the hardware"
        }
    }
}
