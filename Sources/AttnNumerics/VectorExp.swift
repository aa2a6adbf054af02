/// e^x on a few lanes at once: the exponentials of the float64 reference's softmax and of
/// the replay's `exp`, the hottest elementwise work of a numeric run.
///
/// Both use the two-lane float64 and four-lane fp32 vectors of a baseline x86-64 build
/// (Swift lowers wider SIMD types lane by lane there), and each lane's result depends on
/// that lane alone, so a value does not depend on which values share its vector.
public enum VectorExp {
    public typealias D2 = SIMD2<Double>
    public typealias F4 = SIMD4<Float>

    /// 2^(j/64) for j = 0 ..< 64, from libm's `exp2` (correctly rounded at these points
    /// in glibc and in Apple's libm; 2^0 = 1 exactly).
    public static let powers: [Double] = (0..<64).map { _exp2(Double($0) / 64) }

    /// Calls `body` with `powers` as a buffer, for loops that call `exp` many times.
    @inlinable
    public static func withPowers<R>(_ body: (UnsafeBufferPointer<Double>) -> R) -> R {
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
    @inlinable @inline(__always)
    public static func exp(_ x: D2, powers: UnsafeBufferPointer<Double>) -> D2 {
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

#if canImport(Glibc)
import Glibc
@usableFromInline func _exp2(_ x: Double) -> Double { Glibc.exp2(x) }
@usableFromInline func _expf(_ x: Float) -> Float { Glibc.expf(x) }
#elseif canImport(Musl)
import Musl
@usableFromInline func _exp2(_ x: Double) -> Double { Musl.exp2(x) }
@usableFromInline func _expf(_ x: Float) -> Float { Musl.expf(x) }
#else
import Darwin
@usableFromInline func _exp2(_ x: Double) -> Double { Darwin.exp2(x) }
@usableFromInline func _expf(_ x: Float) -> Float { Darwin.expf(x) }
#endif
