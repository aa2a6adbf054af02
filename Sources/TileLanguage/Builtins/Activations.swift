import Foundation

/// Elementwise activations of a tile: Gemma 2's logit softcapping and linear attention's
/// elu + 1 feature map. Each result is in registers, fp32.
extension Builtin {
    static let activations: [Builtin] = [.softcap, .elu1]

    /// `softcap(s, c)` = c tanh(s / c). Per element: s / c, tanh (a special function),
    /// times c.
    public static let softcap = Builtin(
        "softcap",
        BuiltinSpec(
            required: [ArgumentSpec("the scores", .tile), ArgumentSpec("the cap", .number)],
            result: .firstArgument, isElementwise: true, counting: .perElement(other: 2, special: 1)),
        .tile { call throws(Diagnostic) in
            guard var tile = try call.tile(0) else { throw call.error("'softcap' caps a tile") }
            let cap = try call.number(1)
            guard cap > 0, cap.isFinite else { throw call.error("the cap of 'softcap' must be positive, found \(cap)", at: 1) }
            let c = Float(cap)
            tile.data = tile.data.map { $0.map { c * Foundation.tanh($0 / c) } }
            return TileOutput(tile.inRegisters)
        })

    /// `elu1(x)`: elu(x) + 1, that is x + 1 for x > 0 and e^x otherwise (Katharopoulos et
    /// al. 2020). Per element: e^x (a special function) and the select x + 1.
    public static let elu1 = Builtin(
        "elu1",
        BuiltinSpec(
            required: [ArgumentSpec("the tile", .tile)], result: .firstArgument, isElementwise: true,
            counting: .perElement(other: 1, special: 1)),
        .tile { call throws(Diagnostic) in
            guard var tile = try call.tile(0) else { throw call.error("'elu1' maps a tile") }
            tile.data = tile.data.map { $0.map { $0 > 0 ? $0 + 1 : Foundation.exp($0) } }
            return TileOutput(tile.inRegisters)
        })
}
