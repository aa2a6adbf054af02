/// A storage data type of a tensor in memory.
///
/// Arithmetic always happens in fp32 (as on tensor cores with fp32 accumulation); the
/// storage dtype decides how many bytes an element occupies and how a value is rounded
/// when it is stored. Rounding is round-to-nearest-even, as the hardware's conversion
/// instructions do (`cvt.rn.f16.f32`, `cvt.rn.bf16.f32`).
public enum DType: String, Sendable, CaseIterable, Codable {
    case fp32
    case fp16
    case bf16

    /// Bytes one element occupies in memory.
    public var bytes: Int {
        switch self {
        case .fp32: return 4
        case .fp16, .bf16: return 2
        }
    }

    /// Unit roundoff u = 2^-p of the format (p = fraction bits + 1): the largest relative
    /// error of one round-to-nearest conversion. fp32 2^-24, fp16 2^-11, bf16 2^-8.
    public var unitRoundoff: Double {
        switch self {
        case .fp32: return 0x1p-24
        case .fp16: return 0x1p-11
        case .bf16: return 0x1p-8
        }
    }

    /// Parses a user-facing name, accepting a few common spellings.
    public init?(name: String) {
        switch name.lowercased() {
        case "fp32", "float32", "f32": self = .fp32
        case "fp16", "float16", "f16", "half": self = .fp16
        case "bf16", "bfloat16": self = .bf16
        default: return nil
        }
    }

    /// Rounds an fp32 value to this storage type and returns it widened back to fp32.
    @inlinable
    public func round(_ x: Float) -> Float {
        switch self {
        case .fp32: return x
        case .fp16: return Float(Float16(x))
        case .bf16: return DType.roundToBFloat16(x)
        }
    }

    /// Round-to-nearest-even from fp32 to bfloat16 (the upper 16 bits of an fp32).
    ///
    /// Adds 0x7FFF plus the lowest kept bit, then truncates: ties go to the even
    /// neighbour. NaN stays NaN (its payload is kept quiet); infinities are exact.
    @inlinable
    public static func roundToBFloat16(_ x: Float) -> Float {
        if x.isNaN { return .nan }
        let bits = x.bitPattern
        let lsb = (bits >> 16) & 1
        let rounded = bits &+ 0x7FFF &+ lsb
        return Float(bitPattern: rounded & 0xFFFF_0000)
    }
}
