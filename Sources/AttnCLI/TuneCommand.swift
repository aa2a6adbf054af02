import AttnAlgorithms
import AttnHardware
import AttnJSON
import AttnNumerics
import AttnPipeline
import AttnReport
import AttnScenario
import CostModel
import Foundation
import TileInterpreter
import TileLanguage

/// `attnsim tune`: sweeps an algorithm's block sizes (and split counts) that fit the
/// hardware and ranks them by predicted time.
enum TuneCommand {
    static let options = [
        OptionSpec(name: "algorithm", value: "NAME|FILE.tile", help: "Algorithm to tune (required).", role: .input(suffix: ".tile")),
        OptionSpec(name: "batch", value: "N", help: "Batch size (default 1)."),
        OptionSpec(name: "heads", value: "N", help: "Query heads (required)."),
        OptionSpec(name: "kv-heads", value: "N", help: "Key/value heads (default: heads)."),
        OptionSpec(name: "head-dim", value: "N", help: "Head dimension (required)."),
        OptionSpec(name: "context", value: "N", help: "Key/value length, e.g. 16k (required)."),
        OptionSpec(name: "q-len", value: "N", help: "Query length (default: the context)."),
        OptionSpec(name: "causal", value: nil, help: "Causal mask."),
        .attentionDType(),
        .hardware(),
        OptionSpec(name: "top", value: "N", help: "Rows to print (default 10)."),
        OptionSpec(name: "verbose", value: nil, help: "List every configuration left out, with the reason (default: the first 3 of each kind)."),
        .allowLong("Run even when counting the configurations exceeds the work budget (about a minute of count mode)."),
        .tableFormat,
        .helpFlag,
    ]

    /// The text of `attnsim tune --help`.
    static let help = helpText(
        usage: "attnsim tune --algorithm NAME --heads N --head-dim N --context N [options]",
        summary: """
            Runs the algorithm in count mode for every configuration its program declares in its
            '# @tune' lines (block sizes, split counts, ...); drops the ones that exceed the hardware's
            shared memory or registers or that the program refuses; and ranks the rest by predicted time
            with their DRAM bytes, occupancy and bound. --format json carries every configuration,
            ranked, and every one left out with its reason.
            """,
        options: options,
        footer: "EXAMPLE:\n  attnsim tune --algorithm flash-decoding --heads 32 --head-dim 128 --context 128k --q-len 1")

    /// Runs the command on its parsed arguments (dispatch answers `--help` with `help`).
    static func main(_ parsed: ParsedArguments, console: Console) throws -> ExitCode {
        guard let name = parsed.value("algorithm") else { throw UsageError(message: "'--algorithm' is required") }
        guard let heads = try parsed.integer("heads"), let headDim = try parsed.integer("head-dim") else {
            throw UsageError(message: "'--heads' and '--head-dim' are required")
        }
        guard let contextText = parsed.value("context"), let context = ContextList.parseLength(contextText) else {
            throw UsageError(message: "'--context' expects one length such as 16k")
        }
        let dtype = try parsed.attentionDType()
        let kvHeads = try parsed.integer("kv-heads") ?? heads
        let shape = ProblemShape(batch: try parsed.integer("batch") ?? 1, heads: heads, kvHeads: kvHeads,
                                 queryLength: try parsed.integer("q-len") ?? context, keyLength: context, headDim: headDim)
        let top = try parsed.integer("top") ?? 10
        let format = try parsed.format(among: ReportFormat.allCases)
        return try CommandSupport.reporting(console) {
            try Scenario.checkSize(shape, label: "tune")
            let program = try Pipeline.load(name)
            let hardware = try HardwareProfile.named(parsed.hardware)
            let tuner = Tuner(pipeline: Pipeline(hardware: hardware, budget: parsed.allowLong ? nil : WorkBudget.standard()))
            let bar = ProgressBar(console: console)
            let fixed: [String: ScalarValue] = parsed.has("causal") ? ["causal": .int(1)] : [:]
            // Configurations that cannot run on this hardware or that the program refuses
            // are reported apart; any other failure is an error of the run and ends tune.
            let search: Tuner.Search
            do {
                search = try tuner.tune(program, shape: shape, dtype: dtype, fixed: fixed, concurrently: true) { done, total in
                    bar.update(label: "tune \(name)", fraction: Double(done) / Double(total))
                }
            } catch {
                bar.finish()
                throw error
            }
            bar.finish()
            let results = search.ranked().compactMap { trial in trial.prediction.map { (trial, $0) } }
            let overCapacity = search.overCapacity, refused = search.refused
            switch format {
            case .json:
                console.out(Self.json(name: name, hardware: hardware.id, results: results, overCapacity: overCapacity, refused: refused).render() + "\n")
            case .table, .markdown, .csv:
                var rows: [[String]] = []
                for (rank, (trial, p)) in results.prefix(top).enumerated() {
                    let main = Self.longestKernel(p)
                    rows.append([String(rank + 1), trial.label, String(format: "%.1f", p.seconds * 1e6), NumberFormat.grouped(p.dramReadBytes + p.dramWriteBytes),
                                 NumberFormat.grouped(p.l2ReadBytes), main.map { "\($0.blocksPerSM)" } ?? "-", main.map { "\($0.waves)" } ?? "-",
                                 main?.bound.rawValue ?? "-"])
                }
                let table = TextTable(headers: ["rank", "parameters", "time_us", "dram_bytes", "l2_read_bytes", "blocks/SM", "waves", "bound"],
                                      rows: rows, rightAligned: [0, 2, 3, 4, 5, 6])
                if format == .csv {
                    console.out(table.renderCSV())
                    break
                }
                console.out(format == .markdown ? table.renderMarkdown() : table.renderText())
                console.out("\n\(results.count) configurations fit \(hardware.id); \(overCapacity.count) over its shared memory or registers; \(refused.count) refused by the program\n")
                for trial in overCapacity.prefix(parsed.has("verbose") ? overCapacity.count : 3) {
                    console.out("  over capacity: \(trial.label): \(Self.reason(trial))\n")
                }
                for trial in refused.prefix(parsed.has("verbose") ? refused.count : 3) {
                    console.out("  refused: \(trial.label): \(Self.reason(trial))\n")
                }
                if !parsed.has("verbose") && (overCapacity.count > 3 || refused.count > 3) {
                    console.out("  (--verbose lists every configuration left out)\n")
                }
            }
            if results.isEmpty {
                console.err("error: no configuration of \(name) runs on \(hardware.id): \(overCapacity.count) over its shared memory or registers, "
                    + "\(refused.count) refused by the program (listed above)\n")
                return .failure
            }
            return .success
        }
    }

    /// The kernel that takes longest: its occupancy and bound stand for the configuration's.
    static func longestKernel(_ p: RunPrediction) -> KernelPrediction? {
        p.kernels.max { $0.seconds < $1.seconds }
    }

    /// Why a configuration was left out, in one line.
    static func reason(_ trial: Tuner.Trial) -> String {
        if case .overCapacity = trial.outcome, let message = trial.failure?.diagnostic?.message { return message }
        return firstLine(trial.failure?.advice.spelled(\.flag) ?? "")
    }

    /// `tune --format json`: every configuration that runs, ranked (`rank`, `parameters`,
    /// `label`, `time_us`, `dram_bytes`, `l2_read_bytes`, and the longest kernel's
    /// `blocks_per_sm`, `waves` and `bound`), and every one left out with its reason.
    static func json(name: String, hardware: String, results: [(Tuner.Trial, RunPrediction)], overCapacity: [Tuner.Trial], refused: [Tuner.Trial]) -> JSONOutput {
        func parameters(_ trial: Tuner.Trial) -> JSONOutput {
            .object(trial.parameters.keys.sorted().map { ($0, .int(trial.parameters[$0] ?? 0)) })
        }
        func leftOut(_ trials: [Tuner.Trial]) -> JSONOutput {
            .array(trials.map { .object([("parameters", parameters($0)), ("label", .string($0.label)), ("reason", .string(reason($0)))]) })
        }
        let ranked: [JSONOutput] = results.enumerated().map { rank, result in
            let (trial, p) = result
            let main = longestKernel(p)
            return .object([
                ("rank", .int(rank + 1)), ("parameters", parameters(trial)), ("label", .string(trial.label)), ("time_us", .double(p.seconds * 1e6)),
                ("dram_bytes", .int(p.dramReadBytes + p.dramWriteBytes)), ("l2_read_bytes", .int(p.l2ReadBytes)),
                ("blocks_per_sm", main.map { .int($0.blocksPerSM) } ?? .null), ("waves", main.map { .int($0.waves) } ?? .null),
                ("bound", main.map { .string($0.bound.rawValue) } ?? .null),
            ])
        }
        return .object([
            ("algorithm", .string(name)), ("hardware", .string(hardware)), ("configurations", .array(ranked)),
            ("over_capacity", leftOut(overCapacity)), ("refused", leftOut(refused)),
        ])
    }

    /// The first line of a multi-line message.
    static func firstLine(_ text: String) -> String {
        String(text.prefix { $0 != "\n" })
    }
}
