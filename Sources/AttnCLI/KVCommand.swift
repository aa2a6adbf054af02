import AttnNumerics
import AttnReport
import AttnScenario
import Foundation
import KVCache

/// `attnsim kv`: KV-cache footprint of a model across context lengths, and what fits.
enum KVCommand {
    static let options = [
        OptionSpec(name: "model", value: "NAME|FILE.json", help: "Model preset (see 'attnsim list') or a model file (required)."),
        OptionSpec(name: "context", value: "LIST", help: "Context lengths, e.g. 4k,32k,128k (required)."),
        OptionSpec(name: "batch", value: "N", help: "Sequences held at once (default 1)."),
        OptionSpec(name: "dtype", value: "fp32|fp16|bf16|fp8|fp8e5m2|int8|int4", help: "KV-cache dtype (default fp16; fp8 is fp8e4m3)."),
        OptionSpec(name: "quant-group", value: "N|token", help: "int8/int4: elements per group, each with an fp16 scale and zero point, or one group per token and head (default: int4 64, int8 token)."),
        OptionSpec(name: "int4-group", value: "N", help: "The same as --quant-group N (kept for int4)."),
        OptionSpec(name: "window", value: "W", help: "Eviction policy: every attention layer keeps the last W tokens, e.g. 4k (default: the model's own windows)."),
        OptionSpec(name: "sinks", value: "S", help: "Eviction policy: windowed layers also keep the first S tokens (StreamingLLM attention sinks; default the model's, usually 0)."),
        OptionSpec(name: "tp", value: "G", help: "Tensor parallelism: KV heads and weights split over G GPUs; figures per GPU (default 1)."),
        OptionSpec(name: "hardware", value: "NAME|FILE.json", help: "GPU whose HBM holds weights and cache (default h100-sxm)."),
        OptionSpec(name: "weight-bytes", value: "N", help: "Bytes per weight parameter (default 2: fp16/bf16 weights)."),
        OptionSpec(name: "memory-utilization", value: "F", help: "Share of HBM the server may use, 0 to 1 (default 0.9, vLLM's default)."),
        OptionSpec(name: "format", value: "table|markdown|csv|json", help: "Output format (default table)."),
        OptionSpec(name: "help", value: nil, help: "Show this help."),
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
              attnsim kv --model llama-2-70b --context 4k,32k,128k --batch 8 --dtype fp8 --hardware h100-sxm
              attnsim kv --model deepseek-v3 --context 128k --dtype bf16 --hardware h200-sxm
              attnsim kv --model llama-2-7b --context 4k,1m --window 4k --sinks 4
              attnsim kv --model llama-2-70b --context 4k --tp 2
            """)

    /// Runs the command on its parsed arguments (dispatch answers `--help` with `help`).
    static func main(_ parsed: ParsedArguments, console: Console) throws -> ExitCode {
        guard parsed.positionals.isEmpty else { throw UsageError(message: "'kv' takes no positional arguments") }
        let study = try studyFrom(parsed)
        let format = try CommandSupport.format(parsed)
        return try CommandSupport.reporting(console) {
            let records: [KVRecord]
            do { records = try study.run() } catch let error as KVInputError where error.input == "tp" {
                // A --tp that does not split the model's heads is a bad option value.
                throw UsageError(message: error.description)
            }
            console.out(KVReport.render(records, format: format))
            return .success
        }
    }

    static func studyFrom(_ parsed: ParsedArguments) throws(UsageError) -> KVStudy {
        guard let model = parsed.value("model") else { throw UsageError(message: "'--model' is required") }
        guard let contextText = parsed.value("context") else { throw UsageError(message: "'--context' is required") }
        guard let contexts = ContextList.parse(contextText) else {
            throw UsageError(message: "'--context' expects lengths such as 4k,32k,128k, found '\(contextText)'")
        }
        return KVStudy(
            model: model, contexts: contexts, batch: try parsed.integer("batch") ?? 1, dtype: try CommandSupport.kvDType(parsed),
            hardware: parsed.value("hardware") ?? "h100-sxm", weightBytesPerParameter: try parsed.integer("weight-bytes") ?? 2,
            memoryUtilization: try CommandSupport.memoryUtilization(parsed), window: try parsed.integer("window"),
            sinks: try parsed.integer("sinks", minimum: 0), tensorParallel: try parsed.integer("tp") ?? 1)
    }
}

/// Option handling shared by commands.
enum CommandSupport {
    static func format(_ parsed: ParsedArguments) throws(UsageError) -> ReportFormat {
        guard let name = parsed.value("format") else { return .table }
        guard let format = ReportFormat(rawValue: name) else {
            throw UsageError(message: "'--format' expects table, markdown, csv or json, found '\(name)'")
        }
        return format
    }

    /// `--dtype` for attention runs: fp32, fp16 (default) or bf16.
    static func dtype(_ parsed: ParsedArguments) throws(UsageError) -> DType {
        guard let name = parsed.value("dtype") else { return .fp16 }
        // fp8 is a per-tensor dtype of programs (a K/V cache), not the run's storage dtype.
        guard let dtype = DType(name: name), dtype.bytes >= 2 else {
            throw UsageError(message: "'--dtype' expects fp32, fp16 or bf16, found '\(name)'")
        }
        return dtype
    }

    /// `--dtype` for KV caches (fp16 by default) with `--quant-group` (or `--int4-group`)
    /// for int8 and int4; a group given for another dtype is a usage error.
    static func kvDType(_ parsed: ParsedArguments) throws(UsageError) -> KVDType {
        var group: KVDType.QuantGroup?
        if parsed.has("quant-group") && parsed.has("int4-group") {
            throw UsageError(message: "'--quant-group' and '--int4-group' set the same group; give one")
        }
        if let text = parsed.value("quant-group") {
            guard let g = KVDType.QuantGroup(name: text) else {
                throw UsageError(message: "'--quant-group' expects a positive group size or 'token', found '\(text)'")
            }
            group = g
        } else if let size = try parsed.integer("int4-group") {
            group = .elements(size)
        }
        guard let name = parsed.value("dtype") else {
            if group != nil { throw UsageError(message: "'--quant-group' applies to --dtype int8 or int4") }
            return .fp16
        }
        guard let dtype = KVDType(name: name, group: group) else {
            throw UsageError(message: "'--dtype' expects \(KVDType.names), found '\(name)'")
        }
        if group != nil && dtype.group == nil {
            throw UsageError(message: "'--quant-group' applies to --dtype int8 or int4, not \(dtype)")
        }
        return dtype
    }

    /// `--memory-utilization`: a share of HBM in (0, 1], default vLLM's 0.9.
    static func memoryUtilization(_ parsed: ParsedArguments) throws(UsageError) -> Double {
        guard let text = parsed.value("memory-utilization") else { return KVCapacity.defaultMemoryUtilization }
        guard let value = Double(text), value > 0, value <= 1 else {
            throw UsageError(message: "'--memory-utilization' expects a number in (0, 1], found '\(text)'")
        }
        return value
    }

    /// Runs `body`; a usage error propagates (exit 64), any other error is printed and
    /// gives exit code 1.
    static func reporting(_ console: Console, _ body: () throws -> ExitCode) throws -> ExitCode {
        do {
            return try body()
        } catch let error as UsageError {
            throw error
        } catch {
            console.err(ErrorReport.text(error))
            return .failure
        }
    }
}
