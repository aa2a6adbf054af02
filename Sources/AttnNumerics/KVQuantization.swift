/// How a quantized KV cache stores its keys and values, as the quantized decode kernels
/// read them (`flash-decoding-quant`, `paged-decode-quant`; docs/algorithms.md).
///
/// Codes are bytes (the `u8` storage dtype). FP8 codes are the format's bit patterns
/// (vLLM keeps its fp8 cache as `uint8` and converts on load) with one per-tensor scale of
/// 1, vLLM's default `k_scale`/`v_scale`; integer codes are unsigned, asymmetric, with a
/// scale and a zero point per group of elements along the head dimension (KIVI, Liu et
/// al. 2024): x ~ code * scale + zero. int4 packs two codes per byte, element 2c in the
/// low nibble and 2c + 1 in the high one, so a row of d elements is d / 2 bytes and no
/// count ever holds half a byte.
public enum KVQuantFormat: Int, Sendable, CaseIterable {
    case fp8e4m3 = 0
    case fp8e5m2 = 1
    case int8 = 2
    case int4 = 3
    /// FP4 E2M1 codes, two per byte (element 2c in the low nibble), each block's values
    /// code value x scale: the element of NVFP4 (blocks of 16, E4M3 scale) and MXFP4 (OCP
    /// Microscaling v1.0: blocks of 32, E8M0 scale). Symmetric: the zero point is 0.
    case fp4e2m1 = 4

    /// Codes per stored byte: 2 for int4 and FP4, else 1.
    public var codesPerByte: Int { self == .int4 || self == .fp4e2m1 ? 2 : 1 }

    /// The integer formats' largest code, 2^bits - 1 (nil for FP8).
    public var maxCode: Int? {
        switch self {
        case .int8: return 255
        case .int4: return 15
        case .fp8e4m3, .fp8e5m2, .fp4e2m1: return nil
        }
    }

    /// The FP8 format of an FP8 code (nil for the integer formats).
    public var fp8: FP8Format? {
        switch self {
        case .fp8e4m3: return .e4m3
        case .fp8e5m2: return .e5m2
        case .int8, .int4, .fp4e2m1: return nil
        }
    }

    /// The largest error of one dequantized element relative to the largest magnitude in
    /// its group (FP8: relative to the element itself): FP8 the unit roundoff (2^-4, 2^-3);
    /// b-bit integers half a step of (max - min) / (2^b - 1) <= 2 max|x| / (2^b - 1), so
    /// 1 / (2^b - 1) (int8 1/255, int4 1/15).
    public var relativeStep: Double {
        if let fp8 { return fp8.unitRoundoff }
        // FP4: a block's largest magnitude maps to 6; the widest quantum, 2 (in [4, 6]), errs
        // by at most 1, 1/6 of that magnitude.
        if self == .fp4e2m1 { return 1.0 / 6 }
        return 1 / Double(maxCode ?? 1)
    }

    /// Dequantizes one stored byte's code (`code` 0 ..< 256; for int4 one nibble 0 ..< 16).
    @inlinable
    public func value(code: Int, scale: Float, zero: Float) -> Float {
        switch self {
        case .fp8e4m3: return FP8Format.e4m3.decode(UInt8(truncatingIfNeeded: code)) * scale + zero
        case .fp8e5m2: return FP8Format.e5m2.decode(UInt8(truncatingIfNeeded: code)) * scale + zero
        case .int8, .int4: return Float(code) * scale + zero
        case .fp4e2m1: return DType.decodeE2M1(code) * scale + zero
        }
    }

    /// Quantizes `values`, rows of `columns` elements, in groups of `group` elements along
    /// each row. Returns the codes (rows of `columns / codesPerByte` bytes), and per group a
    /// scale and a zero point, rounded by `roundScale` and `roundZero` (their storage dtypes) before the codes are
    /// computed, so the codes are those of the stored scale and zero. FP8 takes scale 1,
    /// zero 0. Nil when `columns` or `group` do not divide as the format needs.
    public func quantize(_ values: [Float], columns: Int, group: Int, roundScale: (Float) -> Float, roundZero: (Float) -> Float) -> (codes: [Float], scales: [Float], zeros: [Float])? {
        guard columns > 0, group > 0, columns % group == 0, columns % codesPerByte == 0, values.count % columns == 0 else { return nil }
        let groups = values.count / group
        var codes = [Float](repeating: 0, count: values.count / codesPerByte)
        var scales = [Float](repeating: 1, count: groups)
        var zeros = [Float](repeating: 0, count: groups)
        if let fp8 {
            for (i, x) in values.enumerated() { codes[i] = Float(fp8.encode(x)) }
            return (codes, scales, zeros)
        }
        if self == .fp4e2m1 {
            // Each block's largest magnitude maps to E2M1's largest value, 6 (NVFP4's and
            // MXFP4's recipes; MXFP4 rounds the scale to a power of two, `roundScale`).
            var nibbles = [Int](repeating: 0, count: values.count)
            for g in 0..<groups {
                let slice = values[(g * group)..<((g + 1) * group)]
                var scale = roundScale((slice.map(\.magnitude).max() ?? 0) / 6)
                if !(scale > 0) || !scale.isFinite { scale = 1 }
                scales[g] = scale
                for i in (g * group)..<((g + 1) * group) { nibbles[i] = DType.encodeE2M1(values[i] / scale) }
            }
            for i in codes.indices { codes[i] = Float(nibbles[2 * i] + 16 * nibbles[2 * i + 1]) }
            return (codes, scales, zeros)
        }
        let maxCode = Float(self.maxCode ?? 1)
        var nibbles = [Int](repeating: 0, count: values.count)
        for g in 0..<groups {
            let slice = values[(g * group)..<((g + 1) * group)]
            let lo = slice.min() ?? 0, hi = slice.max() ?? 0
            var scale = roundScale((hi - lo) / maxCode)
            if !(scale > 0) || !scale.isFinite { scale = 1 }
            let zero = roundZero(lo)
            scales[g] = scale
            zeros[g] = zero
            for i in (g * group)..<((g + 1) * group) {
                let q = ((values[i] - zero) / scale).rounded(.toNearestOrEven)
                nibbles[i] = Int(Swift.min(Swift.max(q, 0), maxCode))
            }
        }
        if self == .int4 {
            for i in codes.indices { codes[i] = Float(nibbles[2 * i] + 16 * nibbles[2 * i + 1]) }
        } else {
            for i in codes.indices { codes[i] = Float(nibbles[i]) }
        }
        return (codes, scales, zeros)
    }
}

extension DType {
    /// The value of an FP4 E2M1 code (a nibble: sign bit 3, exponent bits 2-1 with bias
    /// 1, mantissa bit 0; OCP Microscaling v1.0, Section 5.3.3): 0, 0.5, 1, 1.5, 2, 3, 4, 6
    /// and their negatives.
    public static func decodeE2M1(_ code: Int) -> Float {
        let magnitudes: [Float] = [0, 0.5, 1, 1.5, 2, 3, 4, 6]
        let value = magnitudes[code & 7]
        return code & 8 != 0 ? -value : value
    }

    /// The nibble of `x` rounded to E2M1 (`roundToE2M1`: nearest, ties to even, saturating
    /// at 6); NaN gives the code of 0 (E2M1 has no NaN).
    public static func encodeE2M1(_ x: Float) -> Int {
        let r = roundToE2M1(x)
        guard !r.isNaN else { return 0 }
        let index: Int
        switch r.magnitude {
        case 0: index = 0
        case 0.5: index = 1
        case 1: index = 2
        case 1.5: index = 3
        case 2: index = 4
        case 3: index = 5
        case 4: index = 6
        default: index = 7
        }
        return index | (r.sign == .minus && r != 0 ? 8 : 0)
    }
}

extension FP8Format {
    /// The bits of `x` rounded to this format (sign, exponent field, mantissa), as a byte.
    /// NaN encodes as all ones below the sign (E4M3's only NaN; a NaN of E5M2).
    public func encode(_ x: Float) -> UInt8 {
        let r = round(x)
        if r.isNaN { return 0x7F }
        let sign: UInt8 = r.sign == .minus ? 0x80 : 0
        let magnitude = r.magnitude
        if magnitude == 0 { return sign }
        let m = mantissaBits
        let exponent = Int(magnitude.exponent)
        if exponent < minExponent {
            // Subnormal: mantissa = x / 2^(minExponent - m), exponent field 0.
            let mantissa = magnitude / Float(sign: .plus, exponent: minExponent - m, significand: 1)
            return sign | UInt8(mantissa)
        }
        let field = exponent - minExponent + 1
        let mantissa = magnitude / Float(sign: .plus, exponent: exponent - m, significand: 1) - Float(1 << m)
        return sign | UInt8(field << m) | UInt8(mantissa)
    }

    /// The value of the byte `bits` in this format (`encode`'s inverse); NaN codes
    /// (E4M3 S.1111.111, E5M2 S.11111.xx with a mantissa) give NaN, E5M2's infinities infinity.
    public func decode(_ bits: UInt8) -> Float {
        let m = mantissaBits
        let negative = bits & 0x80 != 0
        let field = Int((bits & 0x7F) >> m)
        let mantissa = Int(bits) & ((1 << m) - 1)
        let maxField = (1 << (7 - m)) - 1
        let magnitude: Float
        if self == .e4m3 && field == maxField && mantissa == (1 << m) - 1 {
            return .nan
        } else if self == .e5m2 && field == maxField {
            magnitude = mantissa == 0 ? .infinity : .nan
        } else if field == 0 {
            magnitude = Float(mantissa) * Float(sign: .plus, exponent: minExponent - m, significand: 1)
        } else {
            magnitude = Float((1 << m) + mantissa) * Float(sign: .plus, exponent: field - 1 + minExponent - m, significand: 1)
        }
        return negative ? -magnitude : magnitude
    }
}
