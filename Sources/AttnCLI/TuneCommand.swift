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

    /// The values swept for each parameter an algorithm declares.
    static let sweeps: [String: [Int]] = [
        "Br": [16, 32, 64, 128, 256], "Bc": [16, 32, 64, 128, 256], "Bm": [32, 64, 128], "Bn": [32, 64, 128, 256],
        "splits": [0, 1, 2, 4, 8, 16, 32, 64, 128], "P": [8, 16, 32], "Dc": [32, 64, 128, 256],
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
            let pipeline = Pipeline(hardware: hardware)
            let combinations = Self.combinations(program)
            var results: [(String, RunPrediction)] = []
            // Configurations that cannot run on this hardware or that the program refuses
            // are reported apart; any other failure is an error of the run and ends tune.
            var overCapacity: [(String, PipelineError)] = []
            var refused: [(String, PipelineError)] = []
            let bar = ProgressBar(console: console)
            let causal = parsed.has("causal")
            let outcomes = Self.evaluateAll(combinations, pipeline: pipeline, program: program, shape: shape, dtype: dtype, causal: causal) { done in
                bar.update(label: "tune \(name)", fraction: Double(done) / Double(combinations.count))
            }
            bar.finish()
            for (combination, outcome) in zip(combinations, outcomes) {
                let label = combination.keys.sorted().map { "\($0)=\(combination[$0] ?? 0)" }.joined(separator: " ")
                switch outcome {
                case .success(let prediction):
                    results.append((label.isEmpty ? "(defaults)" : label, prediction))
                case .failure(let error as PipelineError) where error.isOverCapacity:
                    overCapacity.append((label, error))
                case .failure(let error as PipelineError) where error.isRequirementFailure:
                    refused.append((label, error))
                case .failure(let error):
                    throw error
                }
            }
            results.sort { $0.1.seconds < $1.1.seconds }
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
            for (label, error) in overCapacity.prefix(parsed.has("verbose") ? overCapacity.count : 3) {
                console.out("  over capacity: \(label): \(error.diagnostic?.message ?? error.description)\n")
            }
            for (label, error) in refused.prefix(parsed.has("verbose") ? refused.count : 3) {
                console.out("  refused: \(label): \(Self.firstLine(error.description))\n")
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

    /// Every combination of the swept values of the parameters `program` declares.
    static func combinations(_ program: Program) -> [[String: Int]] {
        let swept = program.declaredParameters.map(\.name).filter { sweeps[$0] != nil }
        var combinations: [[String: Int]] = [[:]]
        for parameter in swept {
            combinations = combinations.flatMap { base in (sweeps[parameter] ?? []).map { base.merging([parameter: $0]) { $1 } } }
        }
        return combinations
    }

    /// Every configuration's prediction or failure, in the order given. Configurations are
    /// independent, so they are counted on all cores, a batch at a time (the progress bar
    /// is told between batches, on this thread); the outcomes do not depend on the
    /// schedule.
    static func evaluateAll(
        _ combinations: [[String: Int]], pipeline: Pipeline, program: Program, shape: ProblemShape, dtype: DType, causal: Bool,
        progress: (Int) -> Void
    ) -> [Result<RunPrediction, any Error>] {
        var outcomes: [Result<RunPrediction, any Error>] = []
        outcomes.reserveCapacity(combinations.count)
        let batch = max(1, 2 * ProcessInfo.processInfo.activeProcessorCount)
        // Kernels that read the same parameter values in two configurations (the forward
        // kernel of a forward-backward program across the backward's block sizes) are
        // counted once.
        let cache = KernelCountCache(program: program, hardware: pipeline.hardware)
        var start = 0
        while start < combinations.count {
            progress(start)
            let end = min(combinations.count, start + batch)
            let slots = OutcomeSlots(count: end - start)
            let first = start
            DispatchQueue.concurrentPerform(iterations: end - start) { offset in
                var overrides = combinations[first + offset].mapValues { ScalarValue.int($0) }
                if causal { overrides["causal"] = .int(1) }
                do {
                    let evaluation = try pipeline.evaluate(program, shape: shape, dtype: dtype, parameters: overrides, cache: cache)
                    slots.set(offset, .success(evaluation.prediction))
                } catch {
                    slots.set(offset, .failure(error))
                }
            }
            outcomes.append(contentsOf: slots.values)
            start = end
        }
        return outcomes
    }

    /// One batch's outcomes, each written by the one worker that evaluated it.
    private final class OutcomeSlots: @unchecked Sendable {
        private var slots: [Result<RunPrediction, any Error>?]
        private let lock = NSLock()

        init(count: Int) { slots = Array(repeating: nil, count: count) }

        func set(_ index: Int, _ outcome: Result<RunPrediction, any Error>) {
            lock.lock()
            slots[index] = outcome
            lock.unlock()
        }

        /// The outcomes, once every worker has finished.
        var values: [Result<RunPrediction, any Error>] {
            lock.lock()
            defer { lock.unlock() }
            return slots.compactMap { $0 }
        }
    }

    /// The first line of a multi-line message.
    static func firstLine(_ text: String) -> String {
        String(text.prefix { $0 != "\n" })
    }
}
