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
        .tableFormat,
        .helpFlag,
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

    /// Built-ins that also prefill but are timed as one decode step: quest, moba, dsa and
    /// nsa pick keys per query, and count mode is not flat in their prefill (a selection
    /// kernel over a grid of every query, whose loop's trip count depends on the query's
    /// position, so the compressor splits the queries into boxes whose number grows with
    /// N: quest's prefill at 32K takes 12 s of CPU in a debug build, dsa's causal one at
    /// 16K 55 s; 1M would take hours).
    static let selectsPerQuery: Set<String> = ["quest", "moba", "dsa", "nsa"]

    /// Flash2 aliases whose attention has no mask (a ViT's patches, an encoder's states):
    /// run without `causal` although their program declares it.
    static let unmasked: Set<String> = ["vit-global", "cross-attention"]

    /// `name` on the common shape (32 query and 8 KV heads, d 128, `context` tokens; a
    /// prefill, causal where the program has a causal mask, or one query when `decodes`),
    /// changed where the program cannot run on it: lsh and routing share one set of
    /// heads (kv_heads = heads), and lsh's sort key needs buckets x N <= 2^24 (512K tokens
    /// with its 32 buckets); tree-verify checks a draft tree of 64 tokens over the cached
    /// context (1M draft tokens overflow its tiles' shared memory).
    static func commonCase(_ name: String, context: Int, decodes: Bool) -> Case {
        var c = Case(algorithm: name, kvHeads: 8, context: context)
        if decodes {
            c.queries = 1
        } else if declaresCausal(name) && !unmasked.contains(name) {
            c.params["causal"] = .int(1)
        }
        switch name {
        case "lsh":
            c.kvHeads = c.heads
            c.context = min(context, 524_288)
        case "routing":
            c.kvHeads = c.heads
        case "tree-verify":
            c.queries = 64
        default:
            break
        }
        return c
    }

    /// Every built-in once at 1M tokens (`commonCase`): a prefill, or one decode step
    /// (`decoders` and `selectsPerQuery`; cascade with 8 requests sharing the prefix).
    static var builtinCases: [Case] {
        AlgorithmLibrary.builtInNames.map { name in
            var c = commonCase(name, context: 1_048_576, decodes: decoders.contains(name) || selectsPerQuery.contains(name))
            if name == "cascade" { c.batch = 8 }
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
    /// built-in on `commonCase`'s shape at 128K (a prefill, as `tune` defaults to; one
    /// query for cascade and `selectsPerQuery`), causal where the program has it.
    static var tuneCases: [String] { AlgorithmLibrary.builtInNames }

    static let help = helpText(
        usage: "attnsim bench [--repeat N] [--only TEXT] [--format F]",
        summary: "Times count-only runs (fp16, H100 SXM) of every built-in algorithm at 1M tokens (32 query and 8 KV heads, d 128; a causal prefill where the program has a causal mask, one decode step for the decoding kernels and for quest, moba, dsa and nsa, whose prefill count mode cannot compress; lsh and routing with one set of heads, lsh at 512K, tree-verify with a 64-token draft tree) and of the cases count mode once replayed block by block (block-sparse, odd and unequal tiles, ragged N, standard attention's causal mask, at 1M and at 16M tokens), and prints the best wall time of N runs with the counts it produced; then times whole `tune` sweeps of every built-in on the same shapes at 128K (a prefill but for cascade, quest, moba, dsa and nsa; causal where the program has it; thread_blocks sums the configurations that fit).",
        options: options)

    /// Runs the command on its parsed arguments (dispatch answers `--help` with `help`).
    static func main(_ parsed: ParsedArguments, console: Console) throws -> ExitCode {
        guard parsed.positionals.isEmpty else { throw UsageError(message: "'bench' takes no arguments") }
        let repeats = try parsed.integer("repeat") ?? 3
        let format = try parsed.format(among: ReportFormat.allCases)
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
            // tune's own default, a prefill (q_len = context), but for cascade, whose
            // queries must fit in each request's suffix, and the per-query selections.
            let c = commonCase(algorithm, context: 131_072, decodes: algorithm == "cascade" || selectsPerQuery.contains(algorithm))
            let label = "tune \(c.label)"
            guard only.map({ label.contains($0) }) ?? true else { continue }
            let program = try AlgorithmLibrary.program(algorithm)
            let queries = c.queries ?? c.context
            let kvHeads = c.kvHeads ?? c.heads
            let shape = ProblemShape(batch: 1, heads: c.heads, kvHeads: kvHeads, queryLength: queries, keyLength: c.context, headDim: c.headDim)
            var configurations = 0
            var best = Double.infinity
            var blocks = 0
            for _ in 0..<repeats {
                let start = DispatchTime.now().uptimeNanoseconds
                // A fresh pipeline per sweep: each spends a budget of its own, as one `tune` does.
                let search = try Tuner(pipeline: Pipeline(hardware: hardware)).tune(program, shape: shape, dtype: .fp16, fixed: c.params, concurrently: true)
                best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
                configurations = search.trials.count
                blocks = search.trials.reduce(0) { total, trial in total + (trial.prediction?.kernels.reduce(0) { $0 + $1.blocks } ?? 0) }
            }
            let row = "\(label) (\(configurations) configurations)"
            rows.append([row, String(c.heads), String(c.headDim), String(queries), String(c.context), RecordReport.grouped(blocks), "-", String(format: "%.2f", best * 1000)])
            records.append(.object([
                ("algorithm", .string(row)), ("batch", .int(1)), ("q_len", .int(queries)), ("heads", .int(c.heads)), ("kv_heads", .int(kvHeads)),
                ("head_dim", .int(c.headDim)), ("context", .int(c.context)), ("thread_blocks", .int(blocks)), ("configurations", .int(configurations)),
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
