import AttnAlgorithms
import AttnHardware
import AttnJSON
import AttnNumerics
import AttnPipeline
import AttnReport
import AttnScenario
import Foundation
import TileInterpreter

/// `attnsim bench`: wall-clock time of count-only runs at long contexts and of `tune`
/// sweeps, for every built-in algorithm. Build with `swift build -c release` for
/// meaningful figures.
enum BenchCommand {
    static let options = [
        OptionSpec(name: "repeat", value: "N", help: "Runs per case; the best time is reported (default 3)."),
        OptionSpec(name: "only", value: "TEXT", help: "Run only the cases whose label contains TEXT (e.g. 'tune', 'flash2 ', 'block_pattern')."),
        OptionSpec(name: "format", value: "table|markdown|csv|json", help: "Output format (default table)."),
        OptionSpec(name: "help", value: nil, help: "Show this help."),
    ]

    /// One timed count run.
    struct Case {
        var algorithm: String
        var heads = 32
        var kvHeads: Int?
        var headDim = 128
        var batch = 1
        /// Queries (nil: the context, a prefill).
        var queries: Int?
        var context: Int
        var params: [String: ScalarValue] = [:]

        /// The algorithm and the parameters that are not its defaults' 128 x 128 tiles.
        var label: String {
            algorithm + params.keys.sorted().filter { !(["Br", "Bc"].contains($0) && params[$0] == .int(128)) }.map { " \($0)=\(params[$0]?.description ?? "")" }.joined()
                + (kvHeads.map { " kv_heads=\($0)" } ?? "") + (batch > 1 ? " batch=\(batch)" : "")
        }
    }

    /// Built-ins that decode (one query per sequence): timed at q_len 1.
    static let decoders: Set<String> = [
        "flash-decoding", "paged-decode", "paged-decode-v2", "mla-decode-naive", "mla-decode-absorbed", "flash-decoding-quant", "paged-decode-quant",
        "cascade",
    ]

    /// Every built-in once at 1M tokens (32 query and 8 KV heads, d 128): a prefill, causal
    /// when the program has a causal mask, or one decode step (`decoders`; cascade with 8
    /// requests sharing the prefix).
    static var builtinCases: [Case] {
        AlgorithmLibrary.builtInNames.map { name in
            var c = Case(algorithm: name, kvHeads: 8, context: 1_048_576)
            if decoders.contains(name) {
                c.queries = 1
                if name == "cascade" { c.batch = 8 }
            } else if declaresCausal(name) {
                c.params["causal"] = .int(1)
            }
            return c
        }
    }

    /// The cases count mode once replayed block by block or iteration by iteration (the
    /// issues "Speed" and "No input defeats it"), at 1M tokens and at 16M with 2 heads (the
    /// most heads 16M tokens of prefill allow: batch x heads x N^2 x d <= 2^56).
    static var flatCases: [Case] {
        let masks: [[String: ScalarValue]] = [
            ["Br": .int(128), "Bc": .int(128), "causal": .int(1)],
            ["block_pattern": .int(2), "block_density": .int(250)],
            ["block_pattern": .int(2), "block_density": .int(250), "causal": .int(1)],
            ["block_pattern": .int(1), "block_local": .int(2), "block_stride": .int(4), "causal": .int(1)],
            ["block_pattern": .int(1), "block_local": .int(3), "block_stride": .int(7), "Br": .int(48), "Bc": .int(48)],
            ["block_pattern": .int(2), "block_density": .int(250), "Br": .int(64), "Bc": .int(128), "causal": .int(1)],
            ["Br": .int(47), "Bc": .int(47), "causal": .int(1)],
            ["Br": .int(48), "Bc": .int(80), "causal": .int(1)],
            ["window": .int(4096)],
        ]
        var cases: [Case] = []
        for (heads, context) in [(32, 1_048_576), (2, 16_777_216)] {
            for params in masks { cases.append(Case(algorithm: "flash2", heads: heads, context: context, params: params)) }
            cases.append(Case(algorithm: "flash2", heads: heads, context: context - 3, params: ["block_pattern": .int(1), "block_local": .int(2), "block_stride": .int(4)]))
            cases.append(Case(algorithm: "memory-efficient", heads: heads, context: context, params: ["block_pattern": .int(2), "block_density": .int(250), "causal": .int(1)]))
            cases.append(Case(algorithm: "standard", heads: heads, context: context, params: ["causal": .int(1)]))
            cases.append(Case(algorithm: "standard-fwd-bwd", heads: heads, context: context, params: ["causal": .int(1)]))
            cases.append(Case(algorithm: "flash2-sinks", heads: heads, context: context, params: ["Br": .int(256), "Bc": .int(16)]))
        }
        cases.append(Case(algorithm: "paged-decode-v2", queries: 1, context: 268_435_456))
        cases.append(Case(algorithm: "flash2-gqa", kvHeads: 8, context: 131_072, params: ["causal": .int(1), "splits": .int(128)]))
        cases.append(Case(algorithm: "flash2-gqa", kvHeads: 8, context: 131_072, params: ["Br": .int(32), "Bc": .int(16), "causal": .int(1), "splits": .int(128)]))
        return cases
    }

    /// Whether a built-in's program declares a causal mask.
    static func declaresCausal(_ name: String) -> Bool {
        (try? AlgorithmLibrary.program(name))?.declaredParameters.contains { $0.name == "causal" } ?? false
    }

    /// `tune` sweeps timed whole (every configuration counted, on all cores): every
    /// built-in, 32 query and 8 KV heads, d = 128, 128K (a prefill, as `tune` defaults to;
    /// one query for cascade), causal where the program has it.
    static var tuneCases: [String] { AlgorithmLibrary.builtInNames }

    static let help = helpText(
        usage: "attnsim bench [--repeat N] [--only TEXT] [--format F]",
        summary: "Times count-only runs (fp16, H100 SXM) of every built-in algorithm at 1M tokens (32 query and 8 KV heads, d 128; a causal prefill where the program has a causal mask, one decode step for the decoding kernels) and of the cases count mode once replayed block by block (block-sparse, odd and unequal tiles, ragged N, standard attention's causal mask, at 1M and at 16M tokens), and prints the best wall time of N runs with the counts it produced; then times whole `tune` sweeps of every built-in (32 query and 8 KV heads, d 128, 128K prefill, causal where the program has it; thread_blocks sums the configurations that fit).",
        options: options)

    /// Runs the command on its parsed arguments (dispatch answers `--help` with `help`).
    static func main(_ parsed: ParsedArguments, console: Console) throws -> ExitCode {
        guard parsed.positionals.isEmpty else { throw UsageError(message: "'bench' takes no arguments") }
        let repeats = try parsed.integer("repeat") ?? 3
        var format = ReportFormat.table
        if let name = parsed.value("format") {
            guard let f = ReportFormat(rawValue: name) else { throw UsageError(message: "'--format' expects table, markdown, csv or json") }
            format = f
        }
        let only = parsed.value("only")
        let hardware = try HardwareProfile.named(HardwareProfile.defaultName)
        var rows: [[String]] = []
        var records: [JSONOutput] = []
        for benchCase in builtinCases + flatCases where only.map({ benchCase.label.contains($0) }) ?? true {
            let program = try AlgorithmLibrary.program(benchCase.algorithm)
            let context = benchCase.context
            let request = RunRequest(
                program: program, label: benchCase.algorithm, programName: benchCase.algorithm,
                shape: ProblemShape(batch: benchCase.batch, heads: benchCase.heads, kvHeads: benchCase.kvHeads ?? benchCase.heads,
                                    queryLength: benchCase.queries ?? context, keyLength: context, headDim: benchCase.headDim),
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
            rows.append([
                benchCase.label, String(benchCase.heads), String(benchCase.headDim), String(benchCase.queries ?? context), String(context),
                RecordReport.grouped(record.stats.blocks), RecordReport.grouped(record.total.hbmReadBytes), String(format: "%.2f", best * 1000),
            ])
            records.append(.object([
                ("algorithm", .string(benchCase.label)), ("batch", .int(benchCase.batch)), ("q_len", .int(benchCase.queries ?? context)),
                ("heads", .int(benchCase.heads)), ("kv_heads", .int(benchCase.kvHeads ?? benchCase.heads)), ("head_dim", .int(benchCase.headDim)),
                ("context", .int(context)), ("thread_blocks", .int(record.stats.blocks)),
                ("hbm_read_bytes", .int(record.total.hbmReadBytes)), ("best_ms", .double(best * 1000)), ("repeats", .int(repeats)),
            ]))
        }
        for algorithm in tuneCases {
            let causal = declaresCausal(algorithm)
            let label = "tune \(algorithm)\(causal ? " causal" : "") kv_heads=8"
            guard only.map({ label.contains($0) }) ?? true else { continue }
            let program = try AlgorithmLibrary.program(algorithm)
            // tune's own default, a prefill (q_len = context), but for cascade, whose
            // queries must fit in each request's suffix.
            let queries = algorithm == "cascade" ? 1 : 131_072
            let shape = ProblemShape(batch: 1, heads: 32, kvHeads: 8, queryLength: queries, keyLength: 131_072, headDim: 128)
            let combinations = TuneCommand.combinations(program)
            var best = Double.infinity
            var blocks = 0
            for _ in 0..<repeats {
                let start = DispatchTime.now().uptimeNanoseconds
                let outcomes = TuneCommand.evaluateAll(combinations, pipeline: Pipeline(hardware: hardware), program: program, shape: shape, dtype: .fp16, causal: causal) { _ in }
                best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
                blocks = outcomes.reduce(0) { total, outcome in
                    guard case .success(let prediction) = outcome else { return total }
                    return total + prediction.kernels.reduce(0) { $0 + $1.blocks }
                }
            }
            let row = "\(label) (\(combinations.count) configurations)"
            rows.append([row, "32", "128", String(queries), "131072", RecordReport.grouped(blocks), "-", String(format: "%.2f", best * 1000)])
            records.append(.object([
                ("algorithm", .string(row)), ("batch", .int(1)), ("q_len", .int(queries)), ("heads", .int(32)), ("kv_heads", .int(8)), ("head_dim", .int(128)),
                ("context", .int(131_072)), ("thread_blocks", .int(blocks)), ("configurations", .int(combinations.count)),
                ("best_ms", .double(best * 1000)), ("repeats", .int(repeats)),
            ]))
        }
        let table = TextTable(
            headers: ["algorithm", "heads", "head_dim", "q_len", "context", "thread_blocks", "hbm_read_bytes", "best_ms"],
            rows: rows, rightAligned: Set(1..<8))
        switch format {
        case .table: console.out(table.renderText())
        case .markdown: console.out(table.renderMarkdown())
        case .csv: console.out(table.renderCSV())
        case .json: console.out(JSONOutput.array(records).render() + "\n")
        }
        return .success
    }
}
