import AttnNumerics
import AttnReport

/// `attnsim rope`: the critical dimension and extrapolation bound of a RoPE model by the
/// scaling law of RoPE-based extrapolation (`RoPEExtrapolation`), and what a context
/// extension (linear, NTK, YaRN, ABF) does to them.
enum RoPECommand {
    static let options = [
        OptionSpec(name: "base", value: "B", help: "The pre-training RoPE base, e.g. 10000 (required)."),
        OptionSpec(name: "head-dim", value: "D", help: "Dimensions of a head, even (required)."),
        OptionSpec(name: "train-length", value: "T", help: "The pre-training context length, e.g. 4k (required)."),
        OptionSpec(name: "scaling", value: "none|linear|ntk|yarn|abf", help: "The context extension (default none)."),
        OptionSpec(name: "factor", value: "S", help: "linear, ntk, yarn: the scaling factor, at least 1."),
        OptionSpec(name: "scaled-base", value: "B", help: "abf: the new base, e.g. 1000000 (Code Llama)."),
        OptionSpec(name: "tune-length", value: "T", help: "The fine-tuning context length, at least the training length (default the training length)."),
        OptionSpec(name: "yarn-alpha", value: "A", help: "yarn: pairs turning fewer than A times in training are interpolated (default 1)."),
        OptionSpec(name: "yarn-beta", value: "B", help: "yarn: pairs turning more than B times are kept (default 32)."),
        .tableFormat,
        .helpFlag,
    ]

    /// The text of `attnsim rope --help`.
    static let help = helpText(
        usage: "attnsim rope --base B --head-dim D --train-length T [--scaling none|linear|ntk|yarn|abf] [--factor S | --scaled-base B] [--tune-length T] [--format F]",
        summary: """
            Prints the critical dimension of a RoPE model (the dimensions that saw a whole period in pre-training)
            and its extrapolation bound by the scaling law of RoPE-based extrapolation (Liu et al. 2023, eq. 13 and
            16): the critical base for the tuning length, the regime the (scaled) base falls in, the bound (the
            critical dimension's period above the critical base, the tuning length at or below it) and the
            small-base thresholds. NTK-aware scaling and ABF change the base; linear interpolation and YaRN
            divide the critical pairs' positions (YaRN also reports its attention scale and how it treats each
            pair). docs/rope.md explains each figure.
            """,
        options: options,
        footer: """
            EXAMPLES:
              attnsim rope --base 10000 --head-dim 128 --train-length 4k
              attnsim rope --base 10000 --head-dim 128 --train-length 4k --scaling abf --scaled-base 1000000 --tune-length 16k
              attnsim rope --base 500000 --head-dim 128 --train-length 8k --scaling yarn --factor 8
              attnsim rope --base 10000 --head-dim 128 --train-length 4k --scaling ntk --factor 4 --format json
            """)

    /// Runs the command on its parsed arguments (dispatch answers `--help` with `help`).
    static func main(_ parsed: ParsedArguments, console: Console) throws -> ExitCode {
        guard parsed.positionals.isEmpty else { throw UsageError(message: "'rope' takes no positional arguments") }
        let format = try parsed.format(among: ReportFormat.allCases)
        let spec = try specFrom(parsed)
        switch RoPEExtrapolation.analyze(spec) {
        case .success(let analysis):
            console.out(RoPEReport.render(analysis, format: format))
            return .success
        case .failure(let error):
            throw UsageError(message: error.description)
        }
    }

    /// The analysed model and extension from the options; a missing or malformed value is
    /// a usage error naming its option.
    static func specFrom(_ parsed: ParsedArguments) throws(UsageError) -> RoPEExtrapolation.Spec {
        guard let base = try number(parsed, "base") else { throw UsageError(message: "'--base' is required") }
        guard let headDim = try parsed.integer("head-dim") else { throw UsageError(message: "'--head-dim' is required") }
        guard let train = try parsed.integer("train-length") else { throw UsageError(message: "'--train-length' is required") }
        var method = RoPEExtrapolation.Method.none
        if let name = parsed.value("scaling") {
            guard let m = RoPEExtrapolation.Method(rawValue: name) else {
                throw UsageError(message: "'--scaling' expects none, linear, ntk, yarn or abf, found '\(name)'")
            }
            method = m
        }
        let factor = try number(parsed, "factor")
        if factor != nil && ![.linear, .ntk, .yarn].contains(method) {
            throw UsageError(message: "'--factor' applies to --scaling linear, ntk or yarn")
        }
        if [.linear, .ntk, .yarn].contains(method) && factor == nil {
            throw UsageError(message: "'--scaling \(method.rawValue)' needs --factor S")
        }
        let scaledBase = try number(parsed, "scaled-base")
        if (scaledBase != nil) != (method == .abf) {
            throw UsageError(message: method == .abf ? "'--scaling abf' needs --scaled-base B" : "'--scaled-base' applies to --scaling abf")
        }
        let alpha = try number(parsed, "yarn-alpha"), beta = try number(parsed, "yarn-beta")
        if (alpha != nil || beta != nil) && method != .yarn {
            throw UsageError(message: "'--yarn-alpha' and '--yarn-beta' apply to --scaling yarn")
        }
        return RoPEExtrapolation.Spec(
            base: base, headDim: headDim, trainLength: train, method: method, factor: factor ?? 1, scaledBase: scaledBase,
            tuneLength: try parsed.integer("tune-length"), yarnAlpha: alpha ?? 1, yarnBeta: beta ?? 32)
    }

    /// A positive finite number option (`10000`, `1e6`, `2.5`); nil when absent.
    static func number(_ parsed: ParsedArguments, _ name: String) throws(UsageError) -> Double? {
        guard let text = parsed.value(name) else { return nil }
        guard let value = Double(text), value.isFinite, value >= 0 else {
            throw UsageError(message: "'--\(name)' expects a non-negative number, found '\(text)'")
        }
        return value
    }
}
