import AttnNumerics
import AttnReport
import AttnScenario
import Foundation
import KVCache
import Workload

/// `attnsim kv`: KV-cache footprint of a model across context lengths, and what fits.
enum KVCommand {
    static let options = [
        .model("Model preset (see 'attnsim list') or a model file (required)."),
        .contexts("Context lengths, e.g. 4k,32k,128k (required)."),
        OptionSpec(name: "batch", value: "N", help: "Sequences held at once (default 1)."),
        .kvDType("KV-cache dtype (default fp16; fp8 is fp8e4m3)."),
        OptionSpec(name: "quant-group", value: "N|token", help: "int8/int4: elements per group, each with an fp16 scale and zero point, or one group per token and head (default: int4 64, int8 token)."),
        OptionSpec(name: "int4-group", value: "N", help: "The same as --quant-group N (kept for int4)."),
        OptionSpec(name: "window", value: "W", help: "Eviction policy: every attention layer keeps the last W tokens, e.g. 4k (default: the model's own windows)."),
        OptionSpec(name: "sinks", value: "S", help: "Eviction policy: windowed layers also keep the first S tokens (StreamingLLM attention sinks; default the model's, usually 0)."),
        OptionSpec(name: "tp", value: "G", help: "Tensor parallelism: KV heads and weights split over G GPUs; figures per GPU (default 1)."),
        .hardware("GPU whose HBM holds weights and cache (default h100-sxm)."),
        OptionSpec(name: "weight-bytes", value: "N", help: "Bytes per weight parameter (default 2: fp16/bf16 weights; with --weights, of the embedding and LM head)."),
        .weights("The layers' weight format, scales included: fp8, nvfp4 (4.5 bits), mxfp4 (4.25), int4 (g128: 4.125), ... (default: --weight-bytes for every parameter)."),
        .memoryUtilization("Share of HBM the server may use, 0 to 1 (default 0.9, vLLM's default)."),
        .allowBeyondMax,
        .format,
        .reportOutput,
        .helpFlag,
    ]

    /// The text of `attnsim kv --help`.
    static let help = helpText(
        usage: "attnsim kv --model NAME|FILE --context LIST [options]",
        summary: """
            Prints the KV-cache footprint of a model: bytes per token, per sequence and for the batch at each
            context length (sliding windows, interleaved local/global layers, attention sinks, MLA latents and
            SSM layers included), whether the batch fits next to the weights on the GPU, and how many sequences
            of that length fit.
            """,
        options: options,
        footer: """
            EXAMPLES:
              attnsim kv --model qwen3-32b --context 4k,32k --batch 8 --dtype fp8 --hardware h100-sxm
              attnsim kv --model llama-4-scout --context 128k,1m --dtype bf16
              attnsim kv --model deepseek-v3 --context 128k --dtype bf16 --hardware h200-sxm
              attnsim kv --model llama-2-7b --context 4k,1m --window 2k --sinks 4
              attnsim kv --model llama-2-70b --context 4k --tp 2
              attnsim kv --model llama-3-70b --context 4k,8k --batch 16 --dtype fp8 --weights fp8
              attnsim kv --model llama-3-70b --context 8k --batch 64 --dtype nvfp4 --weights nvfp4 --hardware b200
            """)

    /// Runs the command on its parsed arguments (dispatch answers `--help` with `help`).
    static func main(_ parsed: ParsedArguments, console: Console) throws -> ExitCode {
        guard parsed.positionals.isEmpty else { throw UsageError(message: "'kv' takes no positional arguments") }
        let study = try studyFrom(parsed)
        let target = try parsed.reportTarget(try parsed.outputs())
        try checkBeyondMax(study, console: console)
        return try CommandSupport.reporting(console) {
            let records: [KVRecord]
            do { records = try study.run() } catch let error as KVInputError where error.input == "tp" {
                // A --tp that does not split the model's heads is a bad option value.
                throw UsageError(message: error.description)
            }
            try target.deliver(console, kind: .kv, title: "attnsim kv: \(study.model) on \(study.hardware)", datasets: { [.kv(records, command: $0)] }) {
                KVReport.render(records, format: $0)
            }
            return .success
        }
    }

    /// Refuses contexts past the model's maximum context, or warns with
    /// `allowBeyondMax` (an unknown model is reported when the study runs).
    static func checkBeyondMax(_ study: KVStudy, how: String = "give --allow-beyond-max to run it anyway", console: Console) throws(UsageError) {
        guard let spec = try? ModelSpec.named(study.model), let model = try? study.policyModel(spec) else { return }
        try CommandSupport.beyondMax(study.contextLimits(model), allowed: study.allowBeyondMax, how: how, console: console)
    }

    static func studyFrom(_ parsed: ParsedArguments) throws(UsageError) -> KVStudy {
        guard let model = parsed.value("model") else { throw UsageError(message: "'--model' is required") }
        guard let contexts = try parsed.contexts(example: "4k,32k,128k") else { throw UsageError(message: "'--context' is required") }
        var study = KVStudy(
            model: model, contexts: contexts, batch: try parsed.integer("batch") ?? 1, dtype: try parsed.kvDType(),
            hardware: parsed.hardware, weightBytesPerParameter: try parsed.integer("weight-bytes") ?? 2,
            memoryUtilization: try parsed.memoryUtilization(), window: try parsed.integer("window"),
            sinks: try parsed.integer("sinks", minimum: 0), tensorParallel: try parsed.integer("tp") ?? 1)
        study.allowBeyondMax = parsed.allowBeyondMax
        study.weightFormat = try parsed.tensorFormat("weights")
        return study
    }
}
