import Foundation

/// Elementwise functions of numbers and tiles: e^x, 2^x, ln x, sqrt x. On a number they
/// give a float (also in parameter expressions); on a tile, a tile in registers, fp32.
extension Builtin {
    static let math: [Builtin] = [.exp, .log, .sqrt, .exp2]

    /// `exp(x)`: e^x. One exponential per element (`CountRule.exp`); values from the
    /// vectorised kernel `TileMath.exp`, within one unit in the last place as a GPU's
    /// fast `expf`.
    public static let exp = function("exp", counting: .exp, Foundation.exp) { TileMath.exp($0) }

    /// `log(x)`: ln x. One logarithm per element (`CountRule.log`).
    public static let log = function("log", counting: .log, Foundation.log) { TileMath.mapLoop($0) { Foundation.log($0) } }

    /// `exp2(x)`: 2^x, the exponential GPUs evaluate natively (PTX `ex2.approx.f32`, one
    /// special-function instruction; e^x is 2^(x log2 e)). Kernels that fold log2 e into
    /// the softmax scale and exponentiate base 2 — FlashAttention-2's softmax
    /// (`scale_apply_exp2`: `exp2f(x * scale - max_scaled)` with the scale times log2 e,
    /// csrc/flash_attn/src/softmax.h) and Triton's fused-attention tutorial
    /// (`tl.math.exp2`) — are written as they run with it. One
    /// exponential per element (`CountRule.exp`); fp32 values within one unit in the last
    /// place (exact at integers).
    public static let exp2 = function("exp2", counting: .exp, Foundation.exp2) { TileMath.mapLoop($0) { Foundation.exp2($0) } }

    /// `sqrt(x)`. One "other" FLOP per element.
    public static let sqrt = function("sqrt", counting: .elementwise, { $0.squareRoot() }) { TileMath.mapLoop($0) { $0.squareRoot() } }

    /// A function of one number or tile: `scalar` on a number (in float64), `tile` on a
    /// tile's values (in fp32).
    static func function(
        _ name: String, counting: CountRule, _ scalar: @escaping @Sendable (Double) -> Double,
        tile: @escaping @Sendable ([Float]) -> [Float]
    ) -> Builtin {
        Builtin(
            name,
            BuiltinSpec(required: [ArgumentSpec("the operand", .numberOrTile)], result: .floatOrFirst, isElementwise: true, counting: counting),
            .elementwise(
                scalar: { x in .float(scalar(x[0].number)) },
                tile: { x, call throws(Diagnostic) in
                    guard var t = x[0].tile else { throw call.error("'\(name)' needs a tile") }
                    t.data = t.data.map(tile)
                    return TileOutput(t.inRegisters)
                },
                form: nil))
    }
}
