/// Elementary functions on a few lanes at once, for the hottest elementwise work of a
/// numeric run: e^x for the float64 reference's softmax and the replay's `exp`, and the
/// logarithm, sine and cosine of the Box-Muller transform that draws the random inputs.
///
/// They use the two-lane float64 and four-lane fp32 vectors of a baseline x86-64 build
/// (Swift lowers wider SIMD types lane by lane there), and each lane's result depends on
/// that lane alone, so a value does not depend on which values share its vector.
public enum VectorMath {
    /// Two float64 lanes: one SSE2 register.
    public typealias D2 = SIMD2<Double>
    /// Four fp32 lanes: one SSE2 register.
    public typealias F4 = SIMD4<Float>

    /// 2^(j/64) for j = 0 ..< 64, from libm's `exp2` (correctly rounded at these points
    /// in glibc and in Apple's libm; 2^0 = 1 exactly).
    static let powers: [Double] = (0..<64).map { _exp2(Double($0) / 64) }

    /// Calls `body` with `powers` as a buffer, for loops that call `exp` many times (the
    /// only way to get the buffer `exp(_:powers:)` indexes without a bounds check).
    static func withPowers<R>(_ body: (UnsafeBufferPointer<Double>) -> R) -> R {
        powers.withUnsafeBufferPointer(body)
    }

    /// e^x in float64, within a few units in the last place of libm's `exp` (two
    /// measured, four tested), given `powers` (from `withPowers`).
    ///
    /// Tang's table method (Tang 1989, ACM TOMS 15(2)): x = (64 m + j) ln2/64 + r with
    /// |r| <= ln2/128, so e^x = 2^m 2^(j/64) e^r. ln2/64 is split in two parts (Cody and
    /// Waite 1980) so that n times the first is exact for |n| < 2^17. e^r is its Taylor
    /// series to r^6: the rest, r^7/7! < 3e-20, is far below float64's unit. Lanes
    /// outside [-708, 709] (where 2^m leaves the normal range) take libm's `exp`, except
    /// those below -746 and -inf, whose exponential rounds to 0.
    @inline(__always)
    static func exp(_ x: D2, powers: UnsafeBufferPointer<Double>) -> D2 {
        let inRange = (x .>= -708) .& (x .<= 709)
        let reduced = x.replacing(with: 0, where: .!inRange)
        let magic = D2(repeating: 6_755_399_441_055_744)  // 1.5 * 2^52: adding it rounds to an integer
        let t = reduced * D2(repeating: 64 * 1.442_695_040_888_963_4) + magic
        let n = t - magic
        // ln 2 = 0.693147180369123816490 (32 significant bits) + 1.90821492927058770002e-10.
        let r = (reduced - n * D2(repeating: 6.931_471_803_691_238_164_90e-01 / 64))
            - n * D2(repeating: 1.908_214_929_270_587_700_02e-10 / 64)
        var p = D2(repeating: 1.0 / 720)
        p = p * r + D2(repeating: 1.0 / 120)
        p = p * r + D2(repeating: 1.0 / 24)
        p = p * r + D2(repeating: 1.0 / 6)
        p = p * r + D2(repeating: 0.5)
        p = p * r + D2(repeating: 1)
        p = p * r + D2(repeating: 1)
        // t's bits are magic's plus n = 64 m + j.
        let k = unsafeBitCast(t, to: SIMD2<Int64>.self) &- SIMD2<Int64>(repeating: Int64(bitPattern: magic[0].bitPattern))
        let j = k & 63, m = k &>> 6
        let table = D2(powers[Int(truncatingIfNeeded: j[0])], powers[Int(truncatingIfNeeded: j[1])])
        var y = p * (table * unsafeBitCast((m &+ 1023) &<< 52, to: D2.self))
        if !all(inRange) {
            for lane in 0..<2 where !inRange[lane] { y[lane] = x[lane] < -746 ? 0 : _exp(x[lane]) }
        }
        return y
    }

    /// e^x in fp32, within one unit in the last place of the correctly rounded value
    /// (as a GPU's fast `expf`: CUDA's `__expf` is within two).
    ///
    /// x = n ln2 + r with |r| <= ln2/2 (ln 2 split as 0.693145751953125, 16 significant
    /// bits, + 1.428606765330187e-6, so n times the first is exact), e^r by its Taylor
    /// series to r^7 (the rest is below 5.1e-9 relative, under a tenth of fp32's unit),
    /// times 2^n built in the exponent bits. Lanes outside [-87, 88] (where 2^n leaves
    /// fp32's normal range) take libm's `expf`, except those below -104 and -inf, whose
    /// exponential rounds to 0.
    @inlinable @inline(__always)
    public static func exp(_ x: F4) -> F4 {
        let inRange = (x .>= -87) .& (x .<= 88)
        let reduced = x.replacing(with: 0, where: .!inRange)
        let magic = F4(repeating: 12_582_912)  // 1.5 * 2^23
        let t = reduced * F4(repeating: 1.442_695_04) + magic
        let n = t - magic
        let r = (reduced - n * F4(repeating: 0.693_145_751_953_125)) - n * F4(repeating: 1.428_606_765_330_187e-06)
        var p = F4(repeating: 1.0 / 5_040)
        p = p * r + F4(repeating: 1.0 / 720)
        p = p * r + F4(repeating: 1.0 / 120)
        p = p * r + F4(repeating: 1.0 / 24)
        p = p * r + F4(repeating: 1.0 / 6)
        p = p * r + F4(repeating: 0.5)
        p = p * r + F4(repeating: 1)
        p = p * r + F4(repeating: 1)
        let exponent = unsafeBitCast(t, to: SIMD4<Int32>.self) &- SIMD4<Int32>(repeating: Int32(bitPattern: magic[0].bitPattern))
        var y = p * unsafeBitCast((exponent &+ 127) &<< 23, to: F4.self)
        if !all(inRange) {
            for lane in 0..<4 where !inRange[lane] { y[lane] = x[lane] < -104 ? 0 : _expf(x[lane]) }
        }
        return y
    }
}

extension VectorMath {
    /// log(x) in float64 for positive normal x, within a few units in the last place of
    /// libm's `log` (three measured, four tested).
    ///
    /// x = 2^e m with m in [sqrt(1/2), sqrt(2)); log m = 2 atanh(s) with s = (m - 1)/(m + 1),
    /// |s| <= 0.1716, by its series 2 (s + s^3/3 + ... + s^23/23) (the rest is below
    /// 1e-18 relative); log x = e ln2 + log m with ln 2 split in two parts so e times the
    /// first is exact. Lanes that are zero, negative, subnormal, infinite or NaN take
    /// libm's `log`.
    @inlinable @inline(__always)
    public static func log(_ x: D2) -> D2 {
        let normal = (x .>= D2(repeating: Double.leastNormalMagnitude)) .& (x .<= D2(repeating: Double.greatestFiniteMagnitude))
        let bits = unsafeBitCast(x.replacing(with: 1, where: .!normal), to: SIMD2<Int64>.self)
        // Exponent and mantissa; mantissas above sqrt(2) are halved (exponent + 1).
        var exponent = (bits &>> 52) &- 1023
        var m = unsafeBitCast((bits & 0x000F_FFFF_FFFF_FFFF) | 0x3FF0_0000_0000_0000, to: D2.self)
        let high = m .> D2(repeating: 1.414_213_562_373_095_1)
        m = m.replacing(with: m * 0.5, where: high)
        exponent = exponent.replacing(with: exponent &+ 1, where: high)
        let s = (m - 1) / (m + 1), s2 = s * s
        // 1 + s^2/3 + s^4/5 + ... + s^22/23, by Horner in s^2 (constants written out: a
        // loop computing 1/k is not unrolled, and its divisions cost more than the rest).
        var p = D2(repeating: 1.0 / 23)
        p = p * s2 + D2(repeating: 1.0 / 21)
        p = p * s2 + D2(repeating: 1.0 / 19)
        p = p * s2 + D2(repeating: 1.0 / 17)
        p = p * s2 + D2(repeating: 1.0 / 15)
        p = p * s2 + D2(repeating: 1.0 / 13)
        p = p * s2 + D2(repeating: 1.0 / 11)
        p = p * s2 + D2(repeating: 1.0 / 9)
        p = p * s2 + D2(repeating: 1.0 / 7)
        p = p * s2 + D2(repeating: 1.0 / 5)
        p = p * s2 + D2(repeating: 1.0 / 3)
        p = p * s2 + D2(repeating: 1)
        let e = D2(Double(exponent[0]), Double(exponent[1]))
        var y = e * D2(repeating: 6.931_471_803_691_238_164_90e-01)
            + (e * D2(repeating: 1.908_214_929_270_587_700_02e-10) + 2 * s * p)
        if !all(normal) {
            for lane in 0..<2 where !normal[lane] { y[lane] = _log(x[lane]) }
        }
        return y
    }

    /// sin(2 pi u) and cos(2 pi u) in float64 for u in [0, 1], each within two units in the
    /// last place of libm's sin or cos of the same reduced argument (below), and within
    /// 1e-15 of libm's `sin(2 * .pi * u)` and `cos(2 * .pi * u)`, whose own rounding of
    /// 2 pi u moves them by up to 4.4e-16.
    ///
    /// u = q/4 + f with q = round(4u) and |f| <= 1/8 (exact: u is a multiple of 2^-53), so
    /// with t = 2 pi f in [-pi/4, pi/4], cos(2 pi u) is cos t, -sin t, -cos t, sin t and
    /// sin(2 pi u) is sin t, cos t, -sin t, -cos t for q mod 4 = 0, 1, 2, 3; cos t and sin t
    /// by their Taylor series to t^16 and t^17 (the rest is below 3e-18). Lanes outside
    /// [0, 1] take libm's `sin` and `cos`.
    @inlinable @inline(__always)
    public static func sinCosTwoPi(_ u: D2) -> (sin: D2, cos: D2) {
        let inRange = (u .>= 0) .& (u .<= 1)
        let x = u.replacing(with: 0, where: .!inRange)
        let magic = D2(repeating: 6_755_399_441_055_744)  // 1.5 * 2^52: adding it rounds to an integer
        let q = (x * 4 + magic) - magic
        let t = (x - q * 0.25) * (2 * Double.pi)
        let t2 = t * t
        // cos t = sum (-1)^k t^2k / (2k)!, sin t = t sum (-1)^k t^2k / (2k + 1)!, k <= 8.
        var c = D2(repeating: 1.0 / 20_922_789_888_000)  // 1/16!
        c = c * t2 - D2(repeating: 1.0 / 87_178_291_200)  // 1/14!
        c = c * t2 + D2(repeating: 1.0 / 479_001_600)
        c = c * t2 - D2(repeating: 1.0 / 3_628_800)
        c = c * t2 + D2(repeating: 1.0 / 40_320)
        c = c * t2 - D2(repeating: 1.0 / 720)
        c = c * t2 + D2(repeating: 1.0 / 24)
        c = c * t2 - D2(repeating: 0.5)
        c = c * t2 + D2(repeating: 1)
        var sine = D2(repeating: 1.0 / 355_687_428_096_000)  // 1/17!
        sine = sine * t2 - D2(repeating: 1.0 / 1_307_674_368_000)  // 1/15!
        sine = sine * t2 + D2(repeating: 1.0 / 6_227_020_800)
        sine = sine * t2 - D2(repeating: 1.0 / 39_916_800)
        sine = sine * t2 + D2(repeating: 1.0 / 362_880)
        sine = sine * t2 - D2(repeating: 1.0 / 5_040)
        sine = sine * t2 + D2(repeating: 1.0 / 120)
        sine = sine * t2 - D2(repeating: 1.0 / 6)
        sine = sine * t2 + D2(repeating: 1)
        sine = sine * t
        let quadrant = unsafeBitCast(q + magic, to: SIMD2<Int64>.self) & 3
        var cosine = c, sinus = sine
        cosine = cosine.replacing(with: -sine, where: quadrant .== 1)
        cosine = cosine.replacing(with: -c, where: quadrant .== 2)
        cosine = cosine.replacing(with: sine, where: quadrant .== 3)
        sinus = sinus.replacing(with: c, where: quadrant .== 1)
        sinus = sinus.replacing(with: -sine, where: quadrant .== 2)
        sinus = sinus.replacing(with: -c, where: quadrant .== 3)
        if !all(inRange) {
            for lane in 0..<2 where !inRange[lane] {
                cosine[lane] = _cos(2 * Double.pi * u[lane])
                sinus[lane] = _sin(2 * Double.pi * u[lane])
            }
        }
        return (sinus, cosine)
    }
}
