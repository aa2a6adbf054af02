import AttnHardware
import AttnHTML
import AttnModel
import AttnNumerics
import AttnReport
import AttnScenario
import KVCache
import Workload

/// `attnsim model`: a whole decoder model on a GPU (or several): every operator of a
/// layer, TTFT, time per output token, memory, parameters and pruning (docs/model.md).
enum ModelCommand {
    static let options = [
        .model("Model preset with a \"decoder\" object, or a model file (required)."),
        .contexts("Context lengths, e.g. 1k,4k,32k (required)."),
        .hardware(),
        OptionSpec(name: "batch", value: "N", help: "Sequences per step (default 1)."),
        OptionSpec(name: "phase", value: "prefill|decode", help: "Phase of the operator view (default prefill)."),
        OptionSpec(name: "view", value: "summary|operators|parameters", help: "What to print (default summary)."),
        OptionSpec(name: "tp", value: "G", help: "Tensor parallelism: heads, FFN and vocabulary split over G GPUs (default 1)."),
        OptionSpec(name: "cp", value: "G", help: "Context parallelism for prefill: ring attention over G GPUs (default 1)."),
        OptionSpec(name: "ep", value: "G", help: "Expert parallelism: each MoE layer's experts over G GPUs, all-to-all dispatch and combine (default 1); with --tp G or --attention-dp."),
        OptionSpec(name: "attention-dp", value: nil, help: "With --ep G: attention and dense layers data parallel, batch / G sequences per GPU (DeepSeek-V3's deployment)."),
        OptionSpec(name: "expert-imbalance", value: "F", help: "With --ep: the busiest GPU's token-expert pairs over the mean (default: expected maximum under uniform routing)."),
        OptionSpec(name: "pp", value: "P", help: "Pipeline parallelism: layers split into P stages on P GPUs (default 1)."),
        OptionSpec(name: "microbatches", value: "M", help: "With --pp: micro-batches the batch splits into (default 1)."),
        OptionSpec(name: "prune", value: "SPEC", help: "Sheared-LLaMA pruning, e.g. heads=16,ffn=5504,layers=24,hidden=2048 (or kept fractions: heads=0.5)."),
        OptionSpec(name: "crossover", value: nil, help: "Also find the context where attention's time reaches the FFN's (summary view); with --speculative, the batch where speculation stops paying."),
        OptionSpec(
            name: "speculative", value: "SPEC",
            help: "Speculative decoding against plain decoding (summary or operators view; a section of the html page): draft=MODEL, eagle or medusa; k=K (a chain) or tree=N / depth=D with width=W, accept=A[/A2...] per depth; dtype=FMT the drafter's own format, a --dtype name (default the target's)."),
        .modelDType("Every component's format (default fp16): fp32, fp16, bf16; fp8 (e4m3), fp8e5m2, fp8-block128 (DeepSeek-V3's block scales), nvfp4, mxfp4 set weights, GEMM inputs and the KV cache (FP4: an fp8 cache) with bf16 between kernels; int8, int4 the weights alone."),
        .weights("The decoder layers' linear layers: a --dtype name, or int8-gN, int4-gN (fp16 scale per N, default 128). Quantized weights with 16-bit activations are weight-only (W4A16, W8A16: dequantized on chip)."),
        OptionSpec(name: "experts", value: "FMT", help: "The routed experts' weights, as --weights (default: the model's expert_dtype, e.g. gpt-oss's mxfp4, else --weights)."),
        OptionSpec(name: "activations", value: "FMT", help: "The GEMM inputs: fp16, bf16 or fp32 (the run's dtype), or fp8, fp8e5m2, fp8-block128, nvfp4, mxfp4 (quantized X: W8A8 or W4A4 with weights of the same format; needs the GPU's FP8 or FP4 rate)."),
        OptionSpec(name: "kv", value: "FMT", help: "The KV cache: fp16, bf16, fp32, fp8, fp8e5m2, int8, int4, int8-token, int4-g64, nvfp4, mxfp4 (decode reads it with flash-decoding-quant)."),
        .allowBeyondMax,
        .allowLong("Run even when counting the model's tile programs exceeds the work budget (about a minute of count mode)."),
        .format,
        .reportOutput,
        .helpFlag,
    ]

    /// The text of `attnsim model --help`.
    static let help = helpText(
        usage: "attnsim model --model NAME|FILE --context LIST [options]",
        summary: """
            Predicts a whole decoder model's forward step on a GPU: per layer every operator (norms, QKV and O
            projections, RoPE, KV append, attention, FFN or expert GEMMs, residual adds, LM head) with FLOPs,
            weight, activation and KV bytes, bound and time; time to first token (prefill), time per output token
            (decode), tokens/s and memory against capacity; parameters by component. GEMMs and attention are tile
            programs counted and predicted by the same pipeline as 'roofline'; --tp, --cp, --ep and --pp add GPUs.
            """,
        options: options,
        footer: """
            EXAMPLES:
              attnsim model --model llama-2-7b --context 1k,4k --batch 8
              attnsim model --model qwen3-30b-a3b --context 4k,32k --dtype bf16
              attnsim model --model llama-2-7b --context 4k --view operators --phase decode
              attnsim model --model llama-2-70b --context 4k --tp 8
              attnsim model --model deepseek-v3 --hardware h200-sxm --context 4k --batch 64 --ep 8 --attention-dp
              attnsim model --model llama-3-70b --context 4k --batch 8 --pp 4 --microbatches 4
              attnsim model --model llama-2-7b --context 4k --prune heads=16,ffn=5504,layers=24,hidden=2048 --view parameters
              attnsim model --model llama-3-70b --context 4k --batch 8 --tp 4 --dtype fp8
              attnsim model --model gpt-oss-120b --context 4k --dtype bf16 --kv fp8
              attnsim model --model llama-2-7b --context 4k --weights int4 --view operators --phase decode
              attnsim model --model llama-3-70b --context 4k --hardware b200 --dtype nvfp4
              attnsim model --model llama-3-70b --context 4k --tp 4 --speculative draft=llama-3-8b,k=4,accept=0.8 --crossover
              attnsim model --model llama-3-8b --context 4k --speculative eagle,tree=24,width=4,accept=0.8/0.7/0.6
              attnsim model --model llama-2-13b --context 4k --speculative draft=llama-2-7b,dtype=fp8,k=4,accept=0.8
            """)

    /// Runs the command on its parsed arguments (dispatch answers `--help` with `help`).
    static func main(_ parsed: ParsedArguments, console: Console) throws -> ExitCode {
        guard parsed.positionals.isEmpty else { throw UsageError(message: "'model' takes no positional arguments") }
        guard let modelName = parsed.value("model") else { throw UsageError(message: "'--model' is required") }
        guard let contexts = try parsed.contexts(example: "1k,4k,32k") else { throw UsageError(message: "'--context' is required") }
        var spec = ModelStudyFile(model: modelName, contexts: contexts)
        spec.phase = parsed.value("phase") ?? "prefill"
        spec.view = parsed.value("view") ?? "summary"
        spec.hardware = parsed.hardware
        spec.batch = try parsed.integer("batch") ?? 1
        (spec.dtype, spec.precision) = try parsed.modelPrecision()
        spec.tensorParallel = try parsed.integer("tp") ?? 1
        spec.contextParallel = try parsed.integer("cp") ?? 1
        spec.expertParallel = try parsed.integer("ep") ?? 1
        spec.attentionDataParallel = parsed.has("attention-dp")
        if let text = parsed.value("expert-imbalance") {
            guard let f = Double(text), f >= 1, f.isFinite else {
                throw UsageError(message: "'--expert-imbalance' expects the busiest GPU's load over the mean, a number of at least 1, found '\(text)'")
            }
            spec.expertImbalance = f
        }
        spec.pipelineParallel = try parsed.integer("pp") ?? 1
        spec.microbatches = try parsed.integer("microbatches") ?? 1
        spec.prune = parsed.value("prune")
        spec.crossover = parsed.has("crossover")
        spec.allowBeyondMax = parsed.allowBeyondMax
        spec.allowLong = parsed.allowLong
        spec.speculative = try parsed.value("speculative").map(SpeculativeOption.parse)
        let target = try parsed.reportTarget(try parsed.outputs())
        if target.format == .html, let option = ["view", "phase"].first(where: parsed.has) {
            throw UsageError(message: "'--\(option)' chooses what a table shows; --format html shows every view (summary, operators of both phases, parameters)")
        }
        return try run(spec, target: target, console: console)
    }

    /// Runs a model study (from the command line or a scenario file): a bad choice of
    /// model, pruning, hardware or parallelism is a usage error; what fails while
    /// predicting prints an error and gives exit code 1.
    static func run(_ spec: ModelStudyFile, target: ReportTarget, console: Console) throws -> ExitCode {
        let plan = try self.plan(spec)
        try CommandSupport.beyondMax(plan.contextLimits, allowed: true, console: console)
        return try CommandSupport.reporting(console) {
            switch target.format {
            case .report(let format):
                try target.write(render(try plan.run(), format: format), console)
            case .html:
                let page = try self.page(plan, commandLine: target.commandLine)
                try target.write(page.render(), console)
            }
            return .success
        }
    }

    /// The html page of a model study: every view (the summary, the operators of prefill
    /// and, without --cp, of decode, the parameters) and, with --speculative, speculative
    /// against plain decoding per context; each the JSON of the `attnsim model` command
    /// line that prints it.
    static func page(_ plan: ModelStudyPlan, commandLine: String) throws -> HTMLReport {
        var spec = plan.study
        let (architecture, hardware, options) = (plan.architecture, plan.hardware, plan.options)
        var speculative: HTMLReport.Dataset?
        if let speculation = plan.speculative {
            // The speculative summary view; the plain views below without --speculative.
            var summaryPlan = plan
            summaryPlan.study.view = "summary"
            let result = try summaryPlan.run()
            let input = reportInput(architecture: architecture, hardware: hardware, options: options)
            speculative = HTMLReport.Dataset(
                name: "speculative", command: jsonCommandLine(spec, view: "summary"),
                json: ModelReport.renderSpeculative(input, speculation, result.speculative, crossover: result.speculativeCrossover, format: .json))
            spec.speculative = nil
        }
        var study = try ModelStudy(architecture: architecture, hardware: hardware, options: options)
        let input = try summarized(spec, study: &study, reportInput(architecture: architecture, hardware: hardware, options: options))
        var datasets: [HTMLReport.Dataset] = [.modelSummary(input, command: jsonCommandLine(spec, view: "summary"))]
        for phase in ModelPhase.allCases where phase == .prefill || options.contextParallel == 1 {
            var steps: [StepPrediction] = []
            for context in spec.contexts { steps.append(try study.predictor.step(phase, context: context)) }
            datasets.append(.modelOperators(input, steps: steps, phase: phase, command: jsonCommandLine(spec, view: "operators", phase: phase)))
        }
        datasets.append(.modelParameters(input, command: jsonCommandLine(spec, view: "parameters")))
        if let speculative { datasets.append(speculative) }
        return HTMLReport(
            kind: .model, title: "attnsim model: \(architecture.name) on \(hardware.id)", command: commandLine, datasets: datasets,
            version: AttnSimCommand.version)
    }

    /// The `attnsim model` command line that prints `view` (and `phase`) of `spec` as JSON.
    static func jsonCommandLine(_ spec: ModelStudyFile, view: String, phase: ModelPhase? = nil) -> String {
        var words = [
            "attnsim", "model", "--model", spec.model, "--context", spec.contexts.map(ContextList.format).joined(separator: ","),
            "--hardware", spec.hardware, "--batch", String(spec.batch), "--dtype", spec.dtype.rawValue,
        ]
        let p = spec.precision
        if let weights = p.weights { words += ["--weights", weights.description] }
        if let experts = p.experts { words += ["--experts", experts.description] }
        if let activations = p.activations { words += ["--activations", activations.description] }
        if let kv = p.kv { words += ["--kv", kv.description] }
        if spec.tensorParallel > 1 { words += ["--tp", String(spec.tensorParallel)] }
        if spec.contextParallel > 1 { words += ["--cp", String(spec.contextParallel)] }
        if spec.expertParallel > 1 { words += ["--ep", String(spec.expertParallel)] }
        if spec.attentionDataParallel { words.append("--attention-dp") }
        if let f = spec.expertImbalance { words += ["--expert-imbalance", String(f)] }
        if spec.pipelineParallel > 1 { words += ["--pp", String(spec.pipelineParallel)] }
        if spec.microbatches > 1 { words += ["--microbatches", String(spec.microbatches)] }
        if let prune = spec.prune { words += ["--prune", prune] }
        if let request = spec.speculative { words += ["--speculative", SpeculativeOption.text(request)] }
        if spec.crossover && view == "summary" { words.append("--crossover") }
        if spec.allowBeyondMax { words.append("--allow-beyond-max") }
        if spec.allowLong { words.append("--allow-long") }
        words += ["--view", view] + (phase.map { ["--phase", $0.rawValue] } ?? []) + ["--format", "json"]
        return ParsedArguments.shellQuoted(words)
    }

    /// What every view prints: the model, where it runs and its parameters.
    static func reportInput(architecture: Architecture, hardware: HardwareProfile, options: ModelRunOptions) -> ModelReportInput {
        ModelReportInput(
            architecture: architecture, hardware: hardware.id, options: options, parameters: ParameterCount(architecture), summaries: [], crossover: [])
    }

    /// `input` with the summary per context, and with --crossover the crossover contexts.
    static func summarized(_ spec: ModelStudyFile, study: inout ModelStudy, _ input: ModelReportInput) throws -> ModelReportInput {
        var input = input
        input.summaries = try study.summaries(contexts: spec.contexts)
        if spec.crossover {
            input.crossover.append((.prefill, try study.crossover(.prefill, limit: ModelReport.crossoverLimit)))
            if input.options.contextParallel == 1 { input.crossover.append((.decode, try study.crossover(.decode, limit: ModelReport.crossoverLimit))) }
        }
        return input
    }

    /// The study's output in `format`.
    static func report(_ spec: ModelStudyFile, format: ReportFormat) throws -> String {
        render(try plan(spec).run(), format: format)
    }

    /// The study resolved by the library; what the options name wrongly is a usage error,
    /// worded with the options.
    static func plan(_ spec: ModelStudyFile) throws(UsageError) -> ModelStudyPlan {
        do {
            return try ModelStudyPlan(spec)
        } catch {
            switch error {
            case .phase(let text): throw UsageError(message: "'--phase' expects prefill or decode, found '\(text)'")
            case .view(let text): throw UsageError(message: "'--view' expects summary, operators or parameters, found '\(text)'")
            case .contextParallelDecode: throw UsageError(message: "'--cp' models prefill only (ring attention); use --phase prefill")
            case .contextSplit(let context, let gpus): throw UsageError(message: "context \(context) does not split evenly over \(gpus) GPUs (--cp)")
            case .pruning(let error): throw UsageError(message: pruneMessage(error))
            case .setup(let cause): throw UsageError(message: ErrorReport.message(cause))
            case .beyondMax(let limit): throw UsageError(message: "\(limit); give --allow-beyond-max to run it anyway")
            case .speculative(let error): throw UsageError(message: "'--speculative': \(error)")
            case .speculativeView: throw UsageError(message: "'--speculative' is shown by the summary and operators views (not --view parameters) and without --cp")
            }
        }
    }

    /// A model study's prediction in `format`: its summaries, operators or parameters.
    static func render(_ result: ModelStudyResult, format: ReportFormat) -> String {
        let input = ModelReportInput(
            architecture: result.architecture, hardware: result.hardware, options: result.options, parameters: result.parameters,
            summaries: result.summaries, crossover: result.crossover)
        if let speculation = result.speculation {
            if result.view == "operators" { return ModelReport.renderSpeculativeOperators(input, result.speculative, format: format) }
            return ModelReport.renderSpeculative(input, speculation, result.speculative, crossover: result.speculativeCrossover, format: format)
        }
        switch result.view {
        case "parameters": return ModelReport.renderParameters(input, format: format)
        case "operators": return ModelReport.renderOperators(input, steps: result.steps, format: format)
        default: return ModelReport.renderSummary(input, format: format)
        }
    }

    /// A `--prune` spec the library refused, worded for the option.
    static func pruneMessage(_ error: PruningSpecError) -> String {
        switch error {
        case .notKeyValue(let item): return "'--prune' expects KEY=VALUE items (heads, ffn, layers, hidden), found '\(item)'"
        case .badTarget(let key, let value): return "'--prune \(key)' expects a size of at least 1 or a kept fraction in (0, 1] such as 0.5, found '\(value)'"
        case .unknownKey(let key): return "'--prune' knows heads, ffn, layers and hidden, found '\(key)'"
        case .repeated(let key): return "'--prune' gives '\(key)' more than once"
        }
    }
}
