/// A storage data type of a tensor in memory.
///
/// Arithmetic always happens in fp32 (as on tensor cores with fp32 accumulation); the
/// storage dtype decides how many bytes an element occupies and how a value is rounded
/// when it is stored. Rounding is round-to-nearest-even, as the hardware's conversion
/// instructions do (`cvt.rn.f16.f32`, `cvt.rn.bf16.f32`, `cvt.rn.satfinite.e4m3x2.f32`).
public enum DType: String, Sendable, CaseIterable, Codable {
    case fp32
    case fp16
    case bf16
    /// FP8 E4M3 (one byte; `FP8Format.e4m3`: saturating at 448).
    case fp8e4m3
    /// FP8 E5M2 (one byte; `FP8Format.e5m2`: saturating at 57,344).
    case fp8e5m2
    /// Unsigned 8-bit codes of a quantized KV cache (`KVQuantFormat`): one byte; stores
    /// round to the nearest integer (ties to even) in 0 ... 255. Only a tensor's dtype.
    case u8
    /// FP4 E2M1, the element of NVFP4 (Blackwell: blocks of 16 with an E4M3 scale) and of
    /// MXFP4 (OCP Microscaling v1.0, CDNA 4 and Blackwell: blocks of 32 with an E8M0 scale):
    /// a tensor-core input format, the key of its rate in a hardware profile
    /// (`matmul_flops_per_second.fp4e2m1`). Not a storage dtype of the tile language (packed
    /// FP4 data are u8 codes two to a byte): `DType(name:)` does not parse it, and `bytes`
    /// is 1 only because it is an integer (`bits` is 4). Values: 0, 0.5, 1, 1.5, 2, 3, 4, 6.
    case fp4e2m1
    /// E8M0, the shared scale of an MXFP4 (and any MX) block (OCP Microscaling Formats
    /// v1.0, Section 5.4: 8 exponent bits, bias 127, no sign or mantissa): one byte holding a
    /// power of two from 2^-127 to 2^127. A storage dtype of scale tensors only.
    case e8m0

    /// Bytes one element occupies in memory.
    public var bytes: Int {
        switch self {
        case .fp32: return 4
        case .fp16, .bf16: return 2
        case .fp8e4m3, .fp8e5m2, .u8, .fp4e2m1, .e8m0: return 1
        }
    }

    /// Bits one element occupies: 8 x `bytes`, except FP4's 4 (two to a byte when packed).
    public var bits: Int { self == .fp4e2m1 ? 4 : bytes * 8 }

    /// Unit roundoff u = 2^-p of the format (p = fraction bits + 1): the largest relative
    /// error of one round-to-nearest conversion in the normal range. fp32 2^-24, fp16
    /// 2^-11, bf16 2^-8, fp8e4m3 2^-4, fp8e5m2 2^-3, fp4e2m1 2^-2; u8 2^-1 (half a code: an absolute, not a relative,
    /// error, so a tolerance that counts a u8 output or temp is loose); e8m0 1/3 (powers of two only).
    public var unitRoundoff: Double {
        switch self {
        case .fp32: return 0x1p-24
        case .fp16: return 0x1p-11
        case .bf16: return 0x1p-8
        case .fp8e4m3: return FP8Format.e4m3.unitRoundoff
        case .fp8e5m2: return FP8Format.e5m2.unitRoundoff
        case .u8: return 0x1p-1
        case .fp4e2m1: return 0x1p-2
        // The nearest power of two is off by at most (1.5 - 1) / 1.5 = 1/3 of the value.
        case .e8m0: return 1.0 / 3
        }
    }

    /// The names `DType(name:)` accepts, for messages.
    public static let names = "fp32, fp16, bf16, fp8e4m3, fp8e5m2, u8 or e8m0"

    /// Parses a user-facing name, accepting a few common spellings.
    public init?(name: String) {
        switch name.lowercased() {
        case "fp32", "float32", "f32": self = .fp32
        case "fp16", "float16", "f16", "half": self = .fp16
        case "bf16", "bfloat16": self = .bf16
        case "fp8e4m3", "fp8-e4m3", "fp8_e4m3", "e4m3": self = .fp8e4m3
        case "fp8e5m2", "fp8-e5m2", "fp8_e5m2", "e5m2": self = .fp8e5m2
        case "u8", "uint8": self = .u8
        case "e8m0", "ue8m0": self = .e8m0
        default: return nil
        }
    }

    /// The dtype a key of a hardware profile's `matmul_flops_per_second` names: a storage
    /// dtype `DType(name:)` parses (u8 codes excepted: no tensor core multiplies them) or
    /// FP4 (`fp4e2m1`, also `fp4`: NVFP4 and MXFP4 share the E2M1 element and its rate).
    public init?(matmulRateKey name: String) {
        switch name.lowercased() {
        case "fp4e2m1", "fp4", "e2m1": self = .fp4e2m1
        default:
            guard let dtype = DType(name: name), dtype != .u8, dtype != .e8m0 else { return nil }
            self = dtype
        }
    }

    /// The keys `DType(matmulRateKey:)` accepts, for messages.
    public static let matmulRateKeys = "fp32 (TF32), fp16, bf16, fp8e4m3, fp8e5m2 or fp4e2m1"

    /// Rounds an fp32 value to this storage type and returns it widened back to fp32.
    @inlinable
    public func round(_ x: Float) -> Float {
        switch self {
        case .fp32: return x
        case .fp16: return Float(Float16(x))
        case .bf16: return DType.roundToBFloat16(x)
        case .fp8e4m3: return FP8Format.e4m3.round(x)
        case .fp8e5m2: return FP8Format.e5m2.round(x)
        case .u8: return x.isNaN ? 0 : Swift.min(Swift.max(x.rounded(.toNearestOrEven), 0), 255)
        case .fp4e2m1: return DType.roundToE2M1(x)
        case .e8m0: return DType.roundToE8M0(x)
        }
    }

    /// The nearest power of two to |x| from 2^-127 to 2^127 (E8M0 has no sign, zero or
    /// infinity: 0 gives 2^-127, infinity 2^127; ties between 2^e and 2^(e+1), at 1.5 x 2^e,
    /// go up). NaN stays NaN (E8M0's 0xFF).
    @inlinable
    public static func roundToE8M0(_ x: Float) -> Float {
        if x.isNaN { return .nan }
        let magnitude = x.magnitude
        guard magnitude.isFinite else { return Float(sign: .plus, exponent: 127, significand: 1) }
        guard magnitude > 0 else { return Float(sign: .plus, exponent: -127, significand: 1) }
        let exponent = Int(magnitude.exponent) + (magnitude.significand >= 1.5 ? 1 : 0)
        return Float(sign: .plus, exponent: Swift.min(Swift.max(exponent, -127), 127), significand: 1)
    }

    /// Round-to-nearest-even from fp32 to FP4 E2M1 (1 sign, 2 exponent bits with bias 1, 1
    /// mantissa bit; OCP Microscaling Formats v1.0, Section 5.3.3), saturating at 6 as the
    /// conversion with saturation does (E2M1 has no infinity or NaN; NaN gives NaN here).
    /// The quantum at x's binade (0.5 below 2, the subnormal 0.5 included; 1 in [2, 4);
    /// 2 in [4, 6]) is a power of two, so the only rounding is the one to an integer.
    @inlinable
    public static func roundToE2M1(_ x: Float) -> Float {
        if x.isNaN { return .nan }
        if x == 0 { return x }
        let magnitude = Swift.min(x.magnitude, 6)
        let exponent = Swift.max(Int(magnitude.exponent), 0)
        let quantum = Float(sign: .plus, exponent: exponent - 1, significand: 1)
        let rounded = Swift.min((magnitude / quantum).rounded(.toNearestOrEven) * quantum, 6)
        return x < 0 ? -rounded : rounded
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

/// The two 8-bit floating-point formats of NVIDIA Hopper and the OCP FP8 specification
/// (Micikevicius et al. 2022, "FP8 Formats for Deep Learning"), emulated exactly: a value
/// rounds to the nearest representable one, ties to even. Used to size and round FP8 KV
/// caches; storage in the tile language stays fp32/fp16/bf16.
///
/// | format | exponent bits, bias | mantissa bits | largest finite | smallest normal | smallest subnormal |
/// |---|---|---|---|---|---|
/// | E4M3 (`e4m3fn`) | 4, 7 | 3 | 448 | 2^-6 | 2^-9 |
/// | E5M2 | 5, 15 | 2 | 57,344 | 2^-14 | 2^-16 |
///
/// Out-of-range values saturate to the largest finite value (the SATFINITE conversion of
/// `cvt.rn.satfinite.e4m3x2.f32`, which KV caches use with a scale); NaN stays NaN.
public enum FP8Format: String, Sendable, CaseIterable, Codable {
    case e4m3
    case e5m2

    /// Stored mantissa (fraction) bits.
    public var mantissaBits: Int { self == .e4m3 ? 3 : 2 }

    /// The exponent of the smallest normal number, 1 - bias.
    public var minExponent: Int { self == .e4m3 ? -6 : -14 }

    /// The largest finite value: 448 (E4M3: S.1111.110) or 57,344 (E5M2: S.11110.11).
    public var maxFinite: Float { self == .e4m3 ? 448 : 57_344 }

    /// Unit roundoff of a normal number, 2^-(mantissa bits + 1): E4M3 2^-4, E5M2 2^-3.
    public var unitRoundoff: Double { self == .e4m3 ? 0x1p-4 : 0x1p-3 }

    /// Rounds an fp32 value to this format (nearest, ties to even, saturating) and
    /// returns it widened back to fp32. Exact: the quantum at x's binade (or the
    /// subnormal quantum below the smallest normal) is a power of two, so dividing by it
    /// and multiplying back are exact in fp32 and the only rounding is the one to an
    /// integer.
    @inlinable
    public func round(_ x: Float) -> Float {
        if x.isNaN { return .nan }
        if x.isInfinite { return x < 0 ? -maxFinite : maxFinite }
        if x == 0 { return x }
        let magnitude = x.magnitude
        let exponent = max(Int(magnitude.exponent), minExponent)
        let quantum = Float(sign: .plus, exponent: exponent - mantissaBits, significand: 1)
        let rounded = min((magnitude / quantum).rounded(.toNearestOrEven) * quantum, maxFinite)
        return x < 0 ? -rounded : rounded
    }
}
