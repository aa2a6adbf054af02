import AttnAlgorithms
import AttnHardware
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
        .helpFlag,
    ]

    /// The text of `attnsim tune --help`.
    static let help = helpText(
        usage: "attnsim tune --algorithm NAME --heads N --head-dim N --context N [options]",
        summary: """
            Runs the algorithm in count mode for every combination of the block sizes it declares (Br, Bc, Bm, Bn,
            P, Dc in powers of two) and, for split-KV decoding, every split count (0: the heuristic's choice); drops the ones that exceed the
            hardware's shared memory or registers; and ranks the rest by predicted time with their DRAM bytes,
            occupancy and bound.
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
        return try CommandSupport.reporting(console) {
            try Scenario.checkSize(shape, label: "tune")
            let program = try Pipeline.load(name)
            let hardware = try HardwareProfile.named(parsed.hardware)
            let tuner = Tuner(pipeline: Pipeline(hardware: hardware))
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
            let results = search.ranked().compactMap { trial in trial.prediction.map { (trial.label, $0) } }
            let overCapacity = search.overCapacity, refused = search.refused
            var rows: [[String]] = []
            for (rank, (label, p)) in results.prefix(top).enumerated() {
                let main = p.kernels.max { $0.seconds < $1.seconds }
                rows.append([String(rank + 1), label, String(format: "%.1f", p.seconds * 1e6), NumberFormat.grouped(p.dramReadBytes + p.dramWriteBytes),
                             NumberFormat.grouped(p.l2ReadBytes), main.map { "\($0.blocksPerSM)" } ?? "-", main.map { "\($0.waves)" } ?? "-",
                             main?.bound.rawValue ?? "-"])
            }
            let table = TextTable(headers: ["rank", "parameters", "time_us", "dram_bytes", "l2_read_bytes", "blocks/SM", "waves", "bound"],
                                  rows: rows, rightAligned: [0, 2, 3, 4, 5, 6])
            console.out(table.renderText())
            console.out("\n\(results.count) configurations fit \(hardware.id); \(overCapacity.count) over its shared memory or registers; \(refused.count) refused by the program\n")
            for trial in overCapacity.prefix(parsed.has("verbose") ? overCapacity.count : 3) {
                console.out("  over capacity: \(trial.label): \(trial.failure?.diagnostic?.message ?? trial.failure?.description ?? "")\n")
            }
            for trial in refused.prefix(parsed.has("verbose") ? refused.count : 3) {
                console.out("  refused: \(trial.label): \(Self.firstLine(trial.failure?.description ?? ""))\n")
            }
            if !parsed.has("verbose") && (overCapacity.count > 3 || refused.count > 3) {
                console.out("  (--verbose lists every configuration left out)\n")
            }
            if results.isEmpty {
                console.err("error: no configuration of \(name) runs on \(hardware.id): \(overCapacity.count) over its shared memory or registers, "
                    + "\(refused.count) refused by the program (listed above)\n")
                return .failure
            }
            return .success
        }
    }

    /// The first line of a multi-line message.
    static func firstLine(_ text: String) -> String {
        String(text.prefix { $0 != "\n" })
    }
}
