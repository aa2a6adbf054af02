import AttnAlgorithms
import AttnHardware
import AttnNumerics
import AttnReport
import AttnScenario
import Foundation
import KVCache
import TileInterpreter

/// `attnsim run`: a scenario file, or one or more algorithms on an ad-hoc shape.
enum RunCommand {
    static let options = [
        OptionSpec(
            name: "algorithm", value: "NAME|FILE.tile", help: "Algorithm(s) to run: standard, flash1, flash2, or a .tile file (repeat or comma-separate).",
            repeatable: true, role: .input(suffix: ".tile")),
        OptionSpec(name: "batch", value: "N", help: "Batch size (default 1)."),
        OptionSpec(name: "heads", value: "N", help: "Query heads (required without a scenario file)."),
        OptionSpec(name: "kv-heads", value: "N", help: "Key/value heads (default: heads; fewer is GQA/MQA)."),
        OptionSpec(name: "head-dim", value: "N", help: "Head dimension d (required without a scenario file)."),
        .contexts("Key/value lengths, e.g. 1k,4k,16k (required without a scenario file)."),
        OptionSpec(name: "q-len", value: "N", help: "Query length, e.g. 1 or 2k (default: the context, i.e. prefill; 1 is a decode step)."),
        .attentionDType("Storage dtype of Q, K, V, O (default fp16)."),
        OptionSpec(name: "mode", value: "count|numeric", help: "count: counters only (default); numeric: real tensors checked against float64."),
        OptionSpec(name: "param", value: "NAME=VALUE", help: "Set an algorithm parameter, e.g. --param Br=64 or --param window=4k (repeatable).", repeatable: true),
        OptionSpec(name: "causal", value: nil, help: "Causal mask (sets the parameter causal=1 of the algorithms that have it)."),
        OptionSpec(name: "window", value: "W", help: "Sliding window of W keys, e.g. 4k, causal (sets the parameter window=W)."),
        OptionSpec(name: "block-mask", value: "SPEC", help: "Block-sparse mask: \(BlockMaskOption.help) (sets the block_* parameters)."),
        .hardware("Hardware profile (default h100-sxm; see 'attnsim list')."),
        OptionSpec(name: "seed", value: "N", help: "Seed of the random inputs in numeric mode (default 1)."),
        OptionSpec(name: "tolerance", value: "X", help: "Numeric mode: relative error every check must stay within (default: derived per check, see docs/algorithms.md)."),
        .allowLong("Run even when the work exceeds the budget (numeric mode: about 20 s to a minute and a half; count mode that cannot compress: about a minute)."),
        .format,
        .reportOutput,
        .output("trace", "Write every load, store and tile operation as JSON lines (one algorithm, one context)."),
        .helpFlag,
    ]

    static let help = helpText(
        usage: "attnsim run [SCENARIO.json] [options]",
        summary: """
            Runs a scenario file, or --algorithm on the shape given by --batch/--heads/--head-dim/--context,
            and prints per algorithm and context: HBM read and write bytes, SRAM traffic, matmul and other
            FLOPs, exp/log count, peak SRAM per thread block and arithmetic intensity (FLOPs per HBM byte);
            in numeric mode also the largest error against the float64 reference.
            """,
        options: options,
        footer: """
            EXAMPLES:
              attnsim run scenarios/standard-vs-flash.json
              attnsim run --algorithm standard,flash2 --batch 2 --heads 16 --head-dim 64 --context 1k,4k,16k
              attnsim run --algorithm my.tile --heads 2 --head-dim 32 --context 100 --mode numeric --dtype fp32
            """)

    static let adHocOnly = ["algorithm", "batch", "heads", "kv-heads", "head-dim", "context", "q-len", "dtype", "param", "causal", "window", "block-mask", "seed"]

    /// Runs the command on its parsed arguments (dispatch answers `--help` with `help`).
    static func main(_ parsed: ParsedArguments, console: Console) throws -> ExitCode {
        _ = try parsed.format()
        var mode: ExecutionMode?
        if let name = parsed.value("mode") {
            guard let m = ExecutionMode(rawValue: name) else {
                throw UsageError(message: "'--mode' expects count or numeric, found '\(name)'")
            }
            mode = m
        }

        var scenario: Scenario
        switch parsed.positionals.count {
        case 0:
            scenario = try adHocScenario(parsed, mode: mode)
        case 1:
            if let option = adHocOnly.first(where: parsed.has) {
                throw UsageError(message: "'--\(option)' describes an ad-hoc run and cannot be combined with a scenario file")
            }
            let study: StudyFile
            do {
                study = try CommandSupport.studyFile(parsed.positionals[0], command: "run")
            } catch let error as UsageError {
                throw error
            } catch {
                console.err(ErrorReport.text(error))
                return .failure
            }
            switch study {
            case .attention(let attention):
                scenario = attention
            case .kv(var kv, _):
                if parsed.has("mode") || parsed.has("trace") { throw UsageError(message: "'--mode' and '--trace' apply to attention studies, not to a kv study") }
                if let hardware = parsed.value("hardware") { kv.hardware = hardware }
                let target = try parsed.reportTarget(try parsed.outputs())
                try KVCommand.checkBeyondMax(kv, how: "set \"allow_beyond_max\": true in \(parsed.positionals[0]) to run it anyway", console: console)
                return try CommandSupport.reporting(console) {
                    let records = try kv.run()
                    try target.deliver(console, kind: .kv, title: "attnsim run: \(parsed.positionals[0])", datasets: { [.kv(records, command: $0)] }) {
                        KVReport.render(records, format: $0)
                    }
                    return .success
                }
            case .paged(var paged, _):
                if parsed.has("mode") || parsed.has("trace") { throw UsageError(message: "'--mode' and '--trace' apply to attention studies, not to a paged study") }
                if let hardware = parsed.value("hardware") { paged.hardware = hardware }
                return try PagedCommand.run(
                    paged, rates: paged.rates ?? [paged.rate], target: try parsed.reportTarget(try parsed.outputs()), console: console,
                    how: "set \"allow_beyond_max\": true (or a smaller \"max_len\") in \(parsed.positionals[0]) to run it anyway")
            case .model(var model, _):
                if parsed.has("mode") || parsed.has("trace") { throw UsageError(message: "'--mode' and '--trace' apply to attention studies, not to a model study") }
                if let hardware = parsed.value("hardware") { model.hardware = hardware }
                return try ModelCommand.run(model, target: try parsed.reportTarget(try parsed.outputs()), console: console)
            }
            if let mode { scenario.mode = mode }
            if let hardware = parsed.value("hardware") { scenario.hardware = hardware }
        default:
            throw UsageError(message: "'run' takes at most one scenario file, found \(parsed.positionals.count) arguments")
        }

        if let text = parsed.value("tolerance") {
            guard let t = Double(text), t > 0, t.isFinite else { throw UsageError(message: "'--tolerance' expects a positive number, found '\(text)'") }
            scenario.tolerance = t
        }
        if parsed.allowLong { scenario.allowLong = true }
        if scenario.mode != .numeric, let option = ["tolerance"].first(where: parsed.has) {
            throw UsageError(message: "'--\(option)' applies to numeric mode (--mode numeric)")
        }
        let outputs = try parsed.outputs(reading: CommandSupport.inputs(of: scenario))
        let trace = outputs["trace"]
        // A trace on standard output leaves the report to standard error.
        let target = try parsed.reportTarget(outputs)
        return try CommandSupport.reporting(console) {
            let records: [RunRecord]
            if let trace {
                guard scenario.algorithms.count == 1, scenario.contexts.count == 1 else {
                    throw UsageError(message: "'--trace' records one run: give one algorithm and one context")
                }
                records = [try traced(scenario, to: trace, console: console)]
            } else {
                if scenario.file == nil { try CommandSupport.checkSize(scenario) }
                let bar = ProgressBar(console: console)
                defer { bar.finish() }
                records = try Runner.run(scenario) { label, fraction in bar.update(label: label, fraction: fraction) }
            }
            try target.deliver(console, kind: .run, title: "attnsim run: \(scenario.name)", datasets: { [.records(records, command: $0)] }) {
                RecordReport.render(records, format: $0)
            }
            let failures = records.flatMap(\.failures)
            for failure in failures { console.err("error: check failed: \(failure)\n") }
            return failures.isEmpty ? .success : .failure
        }
    }

    private static func adHocScenario(_ parsed: ParsedArguments, mode: ExecutionMode?) throws(UsageError) -> Scenario {
        guard let algorithms = try parsed.names("algorithm") else {
            throw UsageError(message: "give a scenario file or --algorithm with --heads, --head-dim and --context")
        }
        guard let heads = try parsed.integer("heads") else { throw UsageError(message: "'--heads' is required with --algorithm") }
        guard let headDim = try parsed.integer("head-dim") else { throw UsageError(message: "'--head-dim' is required with --algorithm") }
        guard let contexts = try parsed.contexts(example: "1024 or 1k,4k,16k") else { throw UsageError(message: "'--context' is required with --algorithm") }
        let kvHeads = try parsed.integer("kv-heads") ?? heads
        guard heads % kvHeads == 0 else {
            throw UsageError(message: "'--kv-heads' (\(kvHeads)) must divide '--heads' (\(heads))")
        }
        let dtype = try parsed.attentionDType()
        let accepted = try algorithmParameters(parsed, algorithms: algorithms)
        let qLen = try parsed.integer("q-len")
        let seed = try parsed.integer("seed", minimum: 0) ?? 1
        return Scenario(
            name: "ad-hoc", hardware: parsed.hardware, mode: mode ?? .count,
            dtype: dtype, seed: UInt64(seed), batch: try parsed.integer("batch") ?? 1, heads: heads, kvHeads: kvHeads,
            headDim: headDim, queryLength: qLen, contexts: contexts,
            algorithms: algorithms.map { Scenario.Algorithm(program: $0, parameters: accepted[$0] ?? [:]) })
    }

    /// The parameters `--param`, `--causal`, `--window` and `--block-mask` set, for each of
    /// `algorithms`: a parameter goes to the built-ins that declare it (a program file takes
    /// them all), and one that no selected built-in declares is a usage error rather than
    /// silently ignored. `defaults` (a model's sliding window) go, where no option set them,
    /// to the built-ins that declare them only. Shared by `run` and `roofline --model`.
    static func algorithmParameters(
        _ parsed: ParsedArguments, algorithms: [String], defaults: [String: ScalarValue] = [:]
    ) throws(UsageError) -> [String: [String: ScalarValue]] {
        var parameters: [String: ScalarValue] = [:]
        for assignment in parsed.all("param") {
            let parts = assignment.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, !parts[0].isEmpty else {
                throw UsageError(message: "'--param' expects NAME=VALUE, found '\(assignment)'")
            }
            if let i = NumberFormat.signedSize(parts[1]) {
                parameters[parts[0]] = .int(i)
            } else if let x = Double(parts[1]), x.isFinite {
                parameters[parts[0]] = .float(x)
            } else {
                throw UsageError(message: "'--param \(parts[0])' expects a number, found '\(parts[1])'")
            }
        }
        if parsed.has("causal") { parameters["causal"] = .int(1) }
        if let window = try parsed.integer("window") { parameters["window"] = .int(window) }
        if let spec = parsed.value("block-mask") {
            do {
                parameters.merge(try BlockMaskOption.parse(spec)) { _, new in new }
            } catch {
                throw UsageError(message: "'--block-mask' expects \(BlockMaskOption.help), found '\(spec)' (\(error))")
            }
        }
        var declaring: [String: Set<String>] = [:]
        for algorithm in algorithms {
            if let program = try? AlgorithmLibrary.program(algorithm) {
                declaring[algorithm] = Set(program.declaredParameters.map(\.name))
            }
        }
        for name in parameters.keys.sorted() where !declaring.isEmpty && !declaring.values.contains(where: { $0.contains(name) }) {
            throw UsageError(message: "no selected algorithm declares parameter '\(name)' (see 'attnsim list')")
        }
        var result: [String: [String: ScalarValue]] = [:]
        for name in algorithms {
            var accepted = declaring[name].map { names in parameters.filter { names.contains($0.key) } } ?? parameters
            for (key, value) in defaults where accepted[key] == nil && declaring[name]?.contains(key) == true { accepted[key] = value }
            result[name] = accepted
        }
        return result
    }

    /// Runs the scenario's single run with a trace written to `destination` (a file
    /// written in place, see `OutputFile`, or standard output); a failed write ends the
    /// command with exit code 1.
    private static func traced(_ scenario: Scenario, to destination: OutputPath, console: Console) throws -> RunRecord {
        let algorithm = scenario.algorithms[0]
        let hardware = try HardwareProfile.named(scenario.hardware)
        let program = try AlgorithmLibrary.program(algorithm.program)
        let request = RunRequest(
            program: program, label: algorithm.label, programName: algorithm.program,
            shape: scenario.shape(context: scenario.contexts[0]), dtype: scenario.dtype, hardware: hardware,
            mode: scenario.mode, parameters: algorithm.parameters, seed: scenario.seed, compress: false,
            tolerance: scenario.tolerance, allowLong: scenario.allowLong)
        let sink = FileTraceSink(file: try destination.open(console: console), limit: FileTraceSink.defaultLimit)
        let bar = ProgressBar(console: console)
        defer { bar.finish() }
        let record = try Runner.run(request, trace: sink) { bar.update(label: "trace \(algorithm.label)", fraction: $0) }
        try sink.finish()
        if sink.dropped > 0 {
            throw TraceError.tooLarge(path: destination.name, limit: sink.limit, total: sink.limit + sink.dropped)
        }
        console.err("trace: \(RecordReport.grouped(sink.written)) events written to \(destination.name)\n")
        return record
    }
}

enum TraceError: Error, CustomStringConvertible {
    case tooLarge(path: String, limit: Int, total: Int)

    var description: String {
        switch self {
        case .tooLarge(let path, let limit, let total):
            return "the run produced \(total) trace events; \(path) holds the first \(limit). Trace a smaller shape (fewer heads, a shorter context)"
        }
    }
}

/// Writes trace events as JSON lines, buffered, up to a limit. The first failed write
/// stops further writes and is thrown by `finish()`.
final class FileTraceSink: TraceSink {
    static let defaultLimit = 2_000_000
    let file: any TextOutput
    let limit: Int
    private(set) var written = 0
    private(set) var dropped = 0
    private var buffer = ""
    private var failure: OutputError?

    init(file: any TextOutput, limit: Int) {
        self.file = file
        self.limit = limit
    }

    func record(_ event: TraceEvent) {
        guard written < limit else {
            dropped += 1
            return
        }
        guard failure == nil else { return }
        buffer += event.jsonLine
        buffer += "\n"
        written += 1
        if buffer.utf8.count > 1 << 20 { flush() }
    }

    private func flush() {
        guard failure == nil, !buffer.isEmpty else { return }
        do { try file.write(buffer) } catch { failure = error }
        buffer = ""
    }

    /// Writes what is buffered and closes the file; throws the first write failure.
    func finish() throws(OutputError) {
        flush()
        if let failure { throw failure }
        try file.close()
    }
}
