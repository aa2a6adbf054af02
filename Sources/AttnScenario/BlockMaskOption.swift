import TileInterpreter

/// The user-facing spelling of a block-sparse mask, shared by `--block-mask` and the
/// scenario field `block_mask`: `local:L[,stride:S]` or `random:DENSITY[,seed:N]`
/// (DENSITY a fraction in [0, 1]). Gives the `block_*` parameters of `flash2`.
public enum BlockMaskOption {
    public static let help = "local:L[,stride:S] or random:DENSITY[,seed:N]"

    public static func parameters(_ text: String) -> [String: ScalarValue]? {
        var fields: [String: String] = [:]
        var order: [String] = []
        for part in text.split(separator: ",") {
            let pair = part.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard pair.count == 2, fields[pair[0]] == nil else { return nil }
            fields[pair[0]] = pair[1]
            order.append(pair[0])
        }
        switch order.first {
        case "local":
            guard let local = fields["local"].flatMap(Int.init), local >= 1, Set(order).isSubset(of: ["local", "stride"]) else { return nil }
            let stride = fields["stride"].flatMap(Int.init) ?? 0
            guard stride >= 0 else { return nil }
            return ["block_pattern": .int(1), "block_local": .int(local), "block_stride": .int(stride)]
        case "random":
            guard let density = fields["random"].flatMap(Double.init), density >= 0, density <= 1,
                Set(order).isSubset(of: ["random", "seed"])
            else { return nil }
            let seed = fields["seed"].flatMap(Int.init) ?? 1
            return ["block_pattern": .int(2), "block_density": .int(Int((density * 1000).rounded())), "block_seed": .int(seed)]
        default:
            return nil
        }
    }
}
