/// A small, fast, seeded pseudo-random generator (SplitMix64, Steele, Lea and Flood,
/// "Fast Splittable Pseudorandom Number Generators", OOPSLA 2014).
///
/// Runs are reproducible: the same seed gives the same inputs on every platform.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) {
        state = seed
    }

    /// The SplitMix64 increment (Steele, Lea and Flood 2014): the state after k draws is
    /// seed + k * gamma, so skipping ahead costs one multiply.
    private static let gamma: UInt64 = 0x9E37_79B9_7F4A_7C15

    public mutating func next() -> UInt64 {
        state &+= Self.gamma
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Moves the generator past `draws` calls of `next()` at once (the same state as
    /// making them one by one).
    public mutating func skip(_ draws: UInt64) {
        state &+= Self.gamma &* draws
    }

    /// A uniform double in [0, 1) from the top 53 bits.
    public mutating func nextUnit() -> Double {
        Double(next() >> 11) * 0x1p-53
    }

    /// A standard normal deviate: the first output, sqrt(-2 log u1) cos(2 pi u2), of the
    /// Box-Muller transform of two draws.
    public mutating func nextNormal() -> Double {
        let u1 = max(nextUnit(), 0x1p-53), u2 = nextUnit()
        return Self.boxMuller(SIMD2(repeating: u1), SIMD2(repeating: u2)).cos[0]
    }

    /// Two independent standard normal deviates from two draws (u1, u2): both outputs of
    /// the Box-Muller transform, sqrt(-2 log u1) cos(2 pi u2) and sqrt(-2 log u1)
    /// sin(2 pi u2) (Box and Muller 1958).
    public mutating func nextNormalPair() -> SIMD2<Double> {
        let u1 = max(nextUnit(), 0x1p-53), u2 = nextUnit()
        let (cos, sin) = Self.boxMuller(SIMD2(repeating: u1), SIMD2(repeating: u2))
        return SIMD2(cos[0], sin[0])
    }

    /// Two `nextNormalPair`s at once (the same values, the same draws): the first pair in
    /// the first lanes of (cos, sin), the second in the second lanes.
    public mutating func nextNormalPairs() -> (cos: SIMD2<Double>, sin: SIMD2<Double>) {
        let a1 = max(nextUnit(), 0x1p-53), a2 = nextUnit()
        let b1 = max(nextUnit(), 0x1p-53), b2 = nextUnit()
        return Self.boxMuller(SIMD2(a1, b1), SIMD2(a2, b2))
    }

    /// The Box-Muller transform lane by lane, through `VectorMath`'s logarithm, sine and
    /// cosine (each within a few units in the last place of libm's): sqrt(-2 log u1) times
    /// cos(2 pi u2) and sin(2 pi u2).
    @inline(__always)
    static func boxMuller(_ u1: SIMD2<Double>, _ u2: SIMD2<Double>) -> (cos: SIMD2<Double>, sin: SIMD2<Double>) {
        let radius = (-2 * VectorMath.log(u1)).squareRoot()
        let (sin, cos) = VectorMath.sinCosTwoPi(u2)
        return (radius * cos, radius * sin)
    }
}
