import AttnAlgorithms
import AttnHardware
import AttnJSON
import AttnNumerics
import AttnPipeline
import AttnReport
import AttnScenario
import Foundation
import TileInterpreter

/// `attnsim bench`: wall-clock time of count-only runs at long contexts and of `tune` sweeps. Build with
/// `swift build -c release` for meaningful figures.
enum BenchCommand {
    static let options = [
        OptionSpec(name: "repeat", value: "N", help: "Runs per case; the best time is reported (default 3)."),
        .tableFormat,
        .helpFlag,
    ]

    /// The benchmark cases: the issue's headline case (FlashAttention-2 forward at 128K,
    /// d 128, 32 heads, Br = Bc = 128) and the other algorithms around it.
    static let cases: [(algorithm: String, heads: Int, kvHeads: Int?, headDim: Int, queries: Int?, context: Int, params: [String: ScalarValue])] = [
        ("flash2", 32, nil, 128, nil, 131_072, ["Br": .int(128), "Bc": .int(128)]),
        ("flash2", 32, nil, 128, nil, 1_048_576, ["Br": .int(128), "Bc": .int(128)]),
        ("flash2", 32, nil, 128, nil, 131_071, ["Br": .int(128), "Bc": .int(128)]),
        ("flash2", 32, nil, 128, nil, 131_072, ["causal": .int(1)]),
        ("flash2", 32, nil, 128, nil, 1_048_576, ["causal": .int(1)]),
        ("flash2", 32, nil, 128, nil, 1_048_576, ["window": .int(4096)]),
        ("flash1", 32, nil, 128, nil, 131_072, [:]),
        ("standard", 32, nil, 128, nil, 131_072, [:]),
        ("flash-decoding", 32, nil, 128, 1, 1_048_576, [:]),
        ("paged-decode", 32, nil, 128, 1, 1_048_576, [:]),
        ("flash2-fwd-bwd", 32, nil, 128, nil, 131_072, [:]),
        ("selective-scan", 32, nil, 128, nil, 1_048_576, [:]),
        // Cases that once fell back to block-by-block replay (quadratic in N).
        ("standard", 32, nil, 128, nil, 1_048_576, ["causal": .int(1)]),
        ("standard-fwd-bwd", 32, nil, 128, nil, 1_048_576, ["causal": .int(1)]),
        ("flash2", 32, nil, 128, nil, 1_048_576, ["Br": .int(48), "Bc": .int(80), "causal": .int(1)]),
        ("flash2", 32, nil, 128, nil, 1_048_576, ["block_pattern": .int(1), "block_local": .int(2), "block_stride": .int(4)]),
        ("flash2", 32, nil, 128, nil, 1_048_576, ["block_pattern": .int(2), "block_density": .int(250)]),
        ("memory-efficient", 32, nil, 128, nil, 131_072, ["block_pattern": .int(2), "block_density": .int(250)]),
        ("memory-efficient", 32, nil, 128, nil, 1_048_576, ["block_pattern": .int(2), "block_density": .int(250)]),
        // Split-KV with causal prefill: the slowest configurations `tune` counts.
        ("flash2-gqa", 32, 8, 128, nil, 131_072, ["causal": .int(1), "splits": .int(128)]),
        ("flash2-gqa", 32, 8, 128, nil, 131_072, ["Br": .int(32), "Bc": .int(16), "causal": .int(1), "splits": .int(128)]),
    ]

    /// `tune` sweeps timed whole (every configuration counted, on all cores): the slowest
    /// built-ins to tune, 32 query and 8 KV heads, d = 128, causal, 128K.
    static let tuneCases = ["flash2-fwd-bwd", "standard-fwd-bwd", "standard", "flash2-gqa", "flash-decoding"]

    static let help = helpText(
        usage: "attnsim bench [--repeat N] [--format F]",
        summary: "Times count-only runs (batch 1, fp16, H100 SXM) of the built-in algorithms at long contexts (prefill, or one decode step for the decoding kernels) and prints the best wall time of N runs with the counts it produced; then times whole `tune` sweeps of the slowest built-ins to tune (causal, 32 query and 8 KV heads, d 128, 128K; thread_blocks sums the configurations that fit).",
        options: options)

    /// Runs the command on its parsed arguments (dispatch answers `--help` with `help`).
    static func main(_ parsed: ParsedArguments, console: Console) throws -> ExitCode {
        guard parsed.positionals.isEmpty else { throw UsageError(message: "'bench' takes no arguments") }
        let repeats = try parsed.integer("repeat") ?? 3
        let format = try parsed.format(among: ReportFormat.allCases)
        let hardware = try HardwareProfile.named(HardwareProfile.defaultName)
        var rows: [[String]] = []
        var records: [JSONOutput] = []
        for benchCase in cases {
            let program = try AlgorithmLibrary.program(benchCase.algorithm)
            let request = RunRequest(
                program: program, label: benchCase.algorithm, programName: benchCase.algorithm,
                shape: ProblemShape(batch: 1, heads: benchCase.heads, kvHeads: benchCase.kvHeads ?? benchCase.heads, queryLength: benchCase.queries ?? benchCase.context,
                                    keyLength: benchCase.context, headDim: benchCase.headDim),
                dtype: .fp16, hardware: hardware, mode: .count, parameters: benchCase.params)
            var best = Double.infinity
            var record: RunRecord?
            for _ in 0..<repeats {
                let start = DispatchTime.now().uptimeNanoseconds
                record = try Runner.run(request)
                let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
                best = min(best, seconds)
            }
            guard let record else { continue }
            let label = benchCase.algorithm + benchCase.params.keys.sorted().filter { !(["Br", "Bc"].contains($0) && benchCase.params[$0] == .int(128)) }
                .map { " \($0)=\(benchCase.params[$0]?.description ?? "")" }.joined() + (benchCase.kvHeads.map { " kv_heads=\($0)" } ?? "")
            rows.append([
                label, String(benchCase.heads), String(benchCase.headDim), String(benchCase.context),
                RecordReport.grouped(record.stats.blocks), RecordReport.grouped(record.total.hbmReadBytes),
                String(format: "%.2f", best * 1000),
            ])
            records.append(.object([
                ("algorithm", .string(label)), ("q_len", .int(benchCase.queries ?? benchCase.context)), ("heads", .int(benchCase.heads)),
                ("kv_heads", .int(benchCase.kvHeads ?? benchCase.heads)), ("head_dim", .int(benchCase.headDim)),
                ("context", .int(benchCase.context)), ("thread_blocks", .int(record.stats.blocks)),
                ("hbm_read_bytes", .int(record.total.hbmReadBytes)), ("best_ms", .double(best * 1000)), ("repeats", .int(repeats)),
            ]))
        }
        for algorithm in tuneCases {
            let program = try AlgorithmLibrary.program(algorithm)
            let shape = ProblemShape(batch: 1, heads: 32, kvHeads: 8, queryLength: 131_072, keyLength: 131_072, headDim: 128)
            let tuner = Tuner(pipeline: Pipeline(hardware: hardware))
            var configurations = 0
            var best = Double.infinity
            var blocks = 0
            for _ in 0..<repeats {
                let start = DispatchTime.now().uptimeNanoseconds
                let search = try tuner.tune(program, shape: shape, dtype: .fp16, fixed: ["causal": .int(1)], concurrently: true)
                best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
                configurations = search.trials.count
                blocks = search.trials.reduce(0) { total, trial in total + (trial.prediction?.kernels.reduce(0) { $0 + $1.blocks } ?? 0) }
            }
            let label = "tune \(algorithm) causal kv_heads=8 (\(configurations) configurations)"
            rows.append([label, "32", "128", "131072", RecordReport.grouped(blocks), "-", String(format: "%.2f", best * 1000)])
            records.append(.object([
                ("algorithm", .string(label)), ("q_len", .int(131_072)), ("heads", .int(32)), ("kv_heads", .int(8)), ("head_dim", .int(128)),
                ("context", .int(131_072)), ("thread_blocks", .int(blocks)), ("configurations", .int(configurations)),
                ("best_ms", .double(best * 1000)), ("repeats", .int(repeats)),
            ]))
        }
        let table = TextTable(
            headers: ["algorithm", "heads", "head_dim", "context", "thread_blocks", "hbm_read_bytes", "best_ms"],
            rows: rows, rightAligned: Set(1..<7))
        switch format {
        case .table: console.out(table.renderText())
        case .markdown: console.out(table.renderMarkdown())
        case .csv: console.out(table.renderCSV())
        case .json: console.out(JSONOutput.array(records).render() + "\n")
        }
        return .success
    }
}
