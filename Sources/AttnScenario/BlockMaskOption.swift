import AttnNumerics
import TileInterpreter

/// The user-facing spelling of a block-sparse mask, shared by `--block-mask` and the
/// scenario field `block_mask`: `local:L[,stride:S]` or `random:DENSITY[,seed:N]`
/// (DENSITY a fraction in [0, 1]). Gives the `block_*` parameters of `flash2`.
///
/// Strict: every field is `NAME:VALUE` with nothing around it, each value must read in
/// full (`stride:abc`, `stride:nan`, `stride:1kk` and `stride:` are errors, never "no
/// stride"), and no field repeats.
public enum BlockMaskOption {
    public static let help = "local:L[,stride:S] or random:DENSITY[,seed:N]"

    /// Why a spelling was refused: the field at fault and what it expects.
    public struct SyntaxError: Error, Sendable, Equatable, CustomStringConvertible {
        /// The field (`stride`), or nil when the spelling as a whole is wrong.
        public var field: String?
        public var message: String

        public init(field: String?, _ message: String) {
            self.field = field
            self.message = message
        }

        public var description: String { field.map { "\($0): \(message)" } ?? message }
    }

    /// The `block_*` parameters `text` spells, or the first thing wrong with it.
    public static func parse(_ text: String) throws(SyntaxError) -> [String: ScalarValue] {
        var fields: [String: String] = [:]
        var order: [String] = []
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            let pair = part.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            guard pair.count == 2, !pair[0].isEmpty else { throw SyntaxError(field: nil, "expected NAME:VALUE fields separated by commas, found '\(part)'") }
            guard fields[pair[0]] == nil else { throw SyntaxError(field: pair[0], "given more than once") }
            fields[pair[0]] = pair[1]
            order.append(pair[0])
        }
        let kind = order.first ?? ""
        let allowed: [String]
        switch kind {
        case "local": allowed = ["local", "stride"]
        case "random": allowed = ["random", "seed"]
        default: throw SyntaxError(field: nil, "expected local:L or random:DENSITY first, found '\(text.prefix { $0 != "," })'")
        }
        if let extra = order.first(where: { !allowed.contains($0) }) {
            throw SyntaxError(field: extra, "not a field of a \(kind) mask (\(allowed.joined(separator: ", ")))")
        }
        func size(_ name: String, minimum: Int, default value: Int) throws(SyntaxError) -> Int {
            guard let text = fields[name] else { return value }
            guard let n = NumberFormat.size(text), n >= minimum else {
                throw SyntaxError(field: name, "expected a whole number of at least \(minimum), found '\(text)'")
            }
            return n
        }
        if kind == "local" {
            let local = try size("local", minimum: 1, default: 1)
            let stride = try size("stride", minimum: 0, default: 0)
            return ["block_pattern": .int(1), "block_local": .int(local), "block_stride": .int(stride)]
        }
        let densityText = fields["random"] ?? ""
        guard let density = Double(densityText), density >= 0, density <= 1 else {
            throw SyntaxError(field: "random", "expected a fraction in [0, 1], found '\(densityText)'")
        }
        var seed = 1
        if let seedText = fields["seed"] {
            guard let n = NumberFormat.signedSize(seedText) else { throw SyntaxError(field: "seed", "expected an integer, found '\(seedText)'") }
            seed = n
        }
        return ["block_pattern": .int(2), "block_density": .int(Int((density * 1000).rounded())), "block_seed": .int(seed)]
    }

    /// The parameters `text` spells, or nil when `parse` refuses it.
    public static func parameters(_ text: String) -> [String: ScalarValue]? {
        try? parse(text)
    }
}
