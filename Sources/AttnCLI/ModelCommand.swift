import AttnHardware
import AttnModel
import AttnNumerics
import AttnReport
import AttnScenario
import KVCache

/// `attnsim model`: a whole decoder model on a GPU (or several): every operator of a
/// layer, TTFT, time per output token, memory, parameters and pruning (docs/model.md).
enum ModelCommand {
    static let options = [
        OptionSpec(name: "model", value: "NAME|FILE.json", help: "Model preset with a \"decoder\" object, or a model file (required)."),
        OptionSpec(name: "context", value: "LIST", help: "Context lengths, e.g. 1k,4k,32k (required)."),
        OptionSpec(name: "hardware", value: "NAME|FILE.json", help: "Hardware profile (default h100-sxm)."),
        OptionSpec(name: "batch", value: "N", help: "Sequences per step (default 1)."),
        OptionSpec(name: "phase", value: "prefill|decode", help: "Phase of the operator view (default prefill)."),
        OptionSpec(name: "view", value: "summary|operators|parameters", help: "What to print (default summary)."),
        OptionSpec(name: "tp", value: "G", help: "Tensor parallelism: heads, FFN and vocabulary split over G GPUs (default 1)."),
        OptionSpec(name: "cp", value: "G", help: "Context parallelism for prefill: ring attention over G GPUs (default 1)."),
        OptionSpec(name: "prune", value: "SPEC", help: "Sheared-LLaMA pruning, e.g. heads=16,ffn=5504,layers=24,hidden=2048 (or kept fractions: heads=0.5)."),
        OptionSpec(name: "crossover", value: nil, help: "Also find the context where attention's time reaches the FFN's (summary view)."),
        OptionSpec(name: "dtype", value: "fp32|fp16|bf16", help: "Weights, activations and KV cache dtype (default fp16)."),
        OptionSpec(name: "format", value: "table|markdown|csv|json", help: "Output format (default table)."),
        OptionSpec(name: "help", value: nil, help: "Show this help."),
    ]

    static func main(_ arguments: [String], console: Console) throws -> ExitCode {
        let parsed = try ParsedArguments(arguments, options: options, command: "model")
        if parsed.has("help") {
            console.out(helpText(
                usage: "attnsim model --model NAME|FILE --context LIST [options]",
                summary: """
                    Predicts a whole decoder model's forward step on a GPU: per layer every operator (norms, QKV and O
                    projections, RoPE, KV append, attention, FFN or expert GEMMs, residual adds, LM head) with FLOPs,
                    weight, activation and KV bytes, bound and time; time to first token (prefill), time per output token
                    (decode), tokens/s and memory against capacity; parameters by component. GEMMs and attention are tile
                    programs counted and predicted by the same pipeline as 'roofline'; --tp and --cp add GPUs.
                    """,
                options: options,
                footer: """
                    EXAMPLES:
                      attnsim model --model llama-2-7b --context 1k,4k,32k --batch 8
                      attnsim model --model llama-2-7b --context 4k --view operators --phase decode
                      attnsim model --model llama-2-70b --context 4k --tp 8
                      attnsim model --model llama-2-7b --context 4k --prune heads=16,ffn=5504,layers=24,hidden=2048 --view parameters
                    """))
            return .success
        }
        guard parsed.positionals.isEmpty else { throw UsageError(message: "'model' takes no positional arguments") }
        guard let modelName = parsed.value("model") else { throw UsageError(message: "'--model' is required") }
        guard let contextText = parsed.value("context") else { throw UsageError(message: "'--context' is required") }
        guard let contexts = ContextList.parse(contextText) else {
            throw UsageError(message: "'--context' expects lengths such as 1k,4k,32k, found '\(contextText)'")
        }
        let phaseText = parsed.value("phase") ?? "prefill"
        guard let phase = ModelPhase(rawValue: phaseText) else { throw UsageError(message: "'--phase' expects prefill or decode, found '\(phaseText)'") }
        let view = parsed.value("view") ?? "summary"
        guard ["summary", "operators", "parameters"].contains(view) else {
            throw UsageError(message: "'--view' expects summary, operators or parameters, found '\(view)'")
        }
        let runOptions = ModelRunOptions(
            batch: try parsed.integer("batch") ?? 1, dtype: try CommandSupport.dtype(parsed),
            tensorParallel: try parsed.integer("tp") ?? 1, contextParallel: try parsed.integer("cp") ?? 1)
        if runOptions.contextParallel > 1 && phase == .decode && view == "operators" {
            throw UsageError(message: "'--cp' models prefill only (ring attention); use --phase prefill")
        }
        var pruning: Pruning?
        if let spec = parsed.value("prune") {
            do { pruning = try Pruning(parsing: spec) } catch { throw UsageError(message: error.message) }
        }
        if let bad = contexts.first(where: { $0 % runOptions.contextParallel != 0 }) {
            throw UsageError(message: "context \(bad) does not split evenly over \(runOptions.contextParallel) GPUs (--cp)")
        }
        let format = try CommandSupport.format(parsed)
        // What the options name (model, pruning, hardware, parallelism) is checked here: a
        // bad choice is a usage error; what fails while predicting exits 1.
        let architecture: Architecture
        let hardware: HardwareProfile
        var study: ModelStudy
        do {
            var a = try Architecture(model: try ModelSpec.named(modelName))
            if let pruning { a = try pruning.apply(to: a) }
            architecture = a
            hardware = try HardwareProfile.named(parsed.value("hardware") ?? HardwareProfile.defaultName)
            study = try ModelStudy(architecture: architecture, hardware: hardware, options: runOptions)
        } catch {
            throw UsageError(message: ErrorReport.message(error))
        }
        return try CommandSupport.reporting(console) {
            var input = ModelReportInput(
                architecture: architecture, hardware: hardware.id, options: runOptions, parameters: ParameterCount(architecture), summaries: [], crossover: [])
            switch view {
            case "parameters":
                console.out(ModelReport.renderParameters(input, format: format))
            case "operators":
                var steps: [StepPrediction] = []
                for context in contexts { steps.append(try study.predictor.step(phase, context: context)) }
                console.out(ModelReport.renderOperators(input, steps: steps, format: format))
            default:
                input.summaries = try study.summaries(contexts: contexts)
                if parsed.has("crossover") {
                    input.crossover.append((.prefill, try study.crossover(.prefill)))
                    if runOptions.contextParallel == 1 { input.crossover.append((.decode, try study.crossover(.decode))) }
                }
                console.out(ModelReport.renderSummary(input, format: format))
            }
            return .success
        }
    }
}
