/// The options several commands share, declared once: the name, the value's placeholder
/// and what the value names. Each command keeps its own help sentence (what the option
/// means there); `ParsedArguments+Shared.swift` parses them.
extension OptionSpec {
    /// `-h, --help`.
    static let helpFlag = OptionSpec(name: "help", value: nil, help: "Show this help.")

    /// `--format table|markdown|csv|json|html` of the reporting commands (run, kv, paged,
    /// roofline, model, validate).
    static let format = OptionSpec(
        name: "format", value: "table|markdown|csv|json|html",
        help: "Output format (default table); html: a self-contained page with charts, written to --output.")

    /// `--format table|markdown|csv|json` of a command without a page (bench).
    static let tableFormat = OptionSpec(name: "format", value: "table|markdown|csv|json", help: "Output format (default table).")

    /// `--output FILE`: where the report goes; html needs it (`-`: standard output).
    static let reportOutput = OptionSpec(
        name: "output", value: "FILE", help: "Write the report to FILE instead of standard output ('-': standard output); required with --format html.",
        role: .output)

    /// `--hardware NAME|FILE.json`: a built-in profile, or a profile file the command reads.
    static func hardware(_ help: String = "Hardware profile (default h100-sxm).") -> OptionSpec {
        OptionSpec(name: "hardware", value: "NAME|FILE.json", help: help, role: .input(suffix: ".json"))
    }

    /// `--model NAME|FILE.json`: a built-in model, or a model file the command reads.
    static func model(_ help: String) -> OptionSpec {
        OptionSpec(name: "model", value: "NAME|FILE.json", help: help, role: .input(suffix: ".json"))
    }

    /// `--dtype fp32|fp16|bf16`: the storage dtype of an attention run (or a model).
    static func attentionDType(_ help: String = "Storage dtype (default fp16).") -> OptionSpec {
        OptionSpec(name: "dtype", value: "fp32|fp16|bf16", help: help)
    }

    /// `--dtype` of a model: every component's format, fp32 to FP4 (`TensorFormat`).
    static func modelDType(_ help: String) -> OptionSpec {
        OptionSpec(name: "dtype", value: "fp32|fp16|bf16|fp8|fp8e5m2|fp8-block128|nvfp4|mxfp4|int8|int4", help: help)
    }

    /// `--weights FMT`: the format of a model's weights (`TensorFormat`).
    static func weights(_ help: String) -> OptionSpec {
        OptionSpec(name: "weights", value: "FMT", help: help)
    }

    /// `--dtype` of a KV cache, fp32 to int4.
    static func kvDType(_ help: String) -> OptionSpec {
        OptionSpec(name: "dtype", value: "fp32|fp16|bf16|fp8|fp8e5m2|int8|int4|nvfp4|mxfp4", help: help)
    }

    /// `--context LIST`: context lengths, `1k,4k,16k`.
    static func contexts(_ help: String) -> OptionSpec {
        OptionSpec(name: "context", value: "LIST", help: help)
    }

    /// `--memory-utilization F`: the share of HBM the server may use.
    static func memoryUtilization(_ help: String) -> OptionSpec {
        OptionSpec(name: "memory-utilization", value: "F", help: help)
    }

    /// `--allow-long`: run past the work budget.
    static func allowLong(_ help: String) -> OptionSpec {
        OptionSpec(name: "allow-long", value: nil, help: help)
    }

    /// `--allow-beyond-max`: run contexts past the model's maximum context (with a warning).
    static let allowBeyondMax = OptionSpec(
        name: "allow-beyond-max", value: nil,
        help: "Run contexts past the model's maximum context (its max_position_embeddings and RoPE scaling) with a warning instead of refusing them.")

    /// An option naming a file the command writes (`-`: standard output).
    static func output(_ name: String, _ help: String) -> OptionSpec {
        OptionSpec(name: name, value: "FILE", help: help, role: .output)
    }
}
