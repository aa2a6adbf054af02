import AttnJSON
import AttnModel
import AttnNumerics
import AttnScenario
import Foundation

/// What `attnsim model` prints: the model, how it runs, and per context its summaries.
public struct ModelReportInput: Sendable {
    public var architecture: Architecture
    public var hardware: String
    public var options: ModelRunOptions
    public var parameters: ParameterCount
    public var summaries: [ModelSummary]
    /// Contexts where the attention sublayer's time reaches the FFN's (nil: not by 1M tokens).
    public var crossover: [(phase: ModelPhase, context: Int?)]

    public init(architecture: Architecture, hardware: String, options: ModelRunOptions, parameters: ParameterCount,
                summaries: [ModelSummary], crossover: [(phase: ModelPhase, context: Int?)]) {
        self.architecture = architecture
        self.hardware = hardware
        self.options = options
        self.parameters = parameters
        self.summaries = summaries
        self.crossover = crossover
    }
}

/// Renders `attnsim model`: a summary per context, the operators of one phase, or the
/// parameters by component (docs/model.md documents every field).
public enum ModelReport {
    static func ms(_ seconds: Double) -> String { String(format: "%.3f", seconds * 1e3) }
    static func us(_ seconds: Double) -> String { String(format: "%.1f", seconds * 1e6) }
    static func share(_ x: Double) -> String { String(format: "%.3f", x) }
    static func gib(_ bytes: Int) -> String { String(format: "%.2f", Double(bytes) / Double(1 << 30)) }
    static func ratio(_ part: Double, _ whole: Double) -> Double { whole > 0 ? part / whole : 0 }

    // MARK: Summary

    static let summaryColumns = [
        "model", "hardware", "dtype", "batch", "tp", "cp", "context", "ttft_ms", "tpot_ms", "decode_tokens_per_s", "prefill_tokens_per_s",
        "prefill_attention_share", "prefill_ffn_share", "decode_attention_share", "decode_ffn_share", "weight_bytes", "kv_bytes",
        "activation_bytes", "total_bytes", "capacity_bytes", "fits",
    ]

    /// Where and how the model runs, first in every record of every view.
    static func runFields(_ input: ModelReportInput) -> [(String, JSONOutput)] {
        var fields: [(String, JSONOutput)] = [
            ("model", .string(input.architecture.id)), ("hardware", .string(input.hardware)), ("dtype", .string(input.options.dtype.rawValue)),
        ]
        if let precision = precisionText(input) { fields.append(("precision", .string(precision))) }
        return fields + [("batch", .int(input.options.batch)), ("tp", .int(input.options.tensorParallel)), ("cp", .int(input.options.contextParallel))] + parallelRunFields(input.options)
    }

    /// The components' formats (`ModelPrecision.summary`) when any differs from the run's
    /// dtype (options, or a model's `expert_dtype`); nil otherwise.
    static func precisionText(_ input: ModelReportInput) -> String? {
        let expertDType = input.architecture.decoder.moe?.expertDType
        guard !input.options.precision.isEmpty || expertDType != nil else { return nil }
        return input.options.precision.summary(dtype: input.options.dtype, expertDType: expertDType)
    }

    /// The parameter headline every view prints: counted, active per token, stated in the
    /// model file, and attention's and the FFN's shares of the layers' parameters.
    static func parameterFields(_ input: ModelReportInput) -> [(String, JSONOutput)] {
        let p = input.parameters
        return [
            ("parameters", .int(p.total)), ("parameters_active", .int(p.active)), ("parameters_stated", .int(input.architecture.statedParameters)),
        ] + shareFields(input)
    }

    static func shareFields(_ input: ModelReportInput) -> [(String, JSONOutput)] {
        [("attention_parameters_share", .double(input.parameters.attentionShare)), ("ffn_parameters_share", .double(input.parameters.ffnShare))]
    }

    static func summaryRecord(_ input: ModelReportInput, _ s: ModelSummary) -> JSONOutput {
        let p = s.prefill
        let optional: (Double?) -> JSONOutput = { $0.map { .double($0) } ?? .null }
        var fields = runFields(input) + [
            ("context", .int(s.context)), ("ttft_ms", .double(s.ttftSeconds * 1e3)), ("tpot_ms", optional(s.tpotSeconds.map { $0 * 1e3 })),
            ("decode_tokens_per_s", optional(s.decodeTokensPerSecond)), ("prefill_tokens_per_s", .double(s.prefillTokensPerSecond)),
            ("prefill_attention_share", .double(ratio(p.seconds(.attention), p.seconds))), ("prefill_ffn_share", .double(ratio(p.seconds(.ffn), p.seconds))),
            ("decode_attention_share", optional(s.decode.map { ratio($0.seconds(.attention), $0.seconds) })),
            ("decode_ffn_share", optional(s.decode.map { ratio($0.seconds(.ffn), $0.seconds) })),
            ("weight_bytes", .int(s.memory.weightBytes)), ("kv_bytes", .int(s.memory.kvBytes)), ("activation_bytes", .int(s.memory.activationBytes)),
            ("total_bytes", .int(s.memory.totalBytes)), ("capacity_bytes", .int(s.memory.capacityBytes)), ("fits", .bool(s.memory.fits)),
        ] + parallelSummaryFields(input.options, s) + parameterFields(input)
        // With --crossover: the context where attention's time reaches the FFN's, null
        // when it stays below up to `crossoverLimit` tokens.
        for (phase, context) in input.crossover {
            fields.append(("\(phase.rawValue)_crossover_context", context.map { .int($0) } ?? .null))
        }
        return .object(fields)
    }

    /// The longest context the crossover search tries (`ModelStudy.crossover`'s limit).
    public static let crossoverLimit = 1 << 20

    public static func renderSummary(_ input: ModelReportInput, format: ReportFormat) -> String {
        let records = input.summaries.map { summaryRecord(input, $0) }
        switch format {
        case .json: return JSONOutput.array(records).render() + "\n"
        case .csv:
            let columns = summaryColumns + parallelColumns(input.options, summary: true)
            return TextTable(headers: columns, rows: records.map { $0.scalarCells(columns) }, rightAligned: []).renderCSV()
        case .table, .markdown:
            let headers = ["context", "ttft_ms", "tpot_ms", "tok/s", "prefill attn", "prefill ffn", "decode attn", "decode ffn",
                           "weights_gib", "kv_gib", "act_gib", "total_gib"] + parallelTableColumns(input.options) + ["fits"]
            let rows = input.summaries.map { s -> [String] in
                let p = s.prefill
                return [ContextList.format(s.context), ms(s.ttftSeconds), s.tpotSeconds.map(ms) ?? "-",
                        s.decodeTokensPerSecond.map { String(format: "%.0f", $0) } ?? "-",
                        share(ratio(p.seconds(.attention), p.seconds)), share(ratio(p.seconds(.ffn), p.seconds)),
                        s.decode.map { share(ratio($0.seconds(.attention), $0.seconds)) } ?? "-",
                        s.decode.map { share(ratio($0.seconds(.ffn), $0.seconds)) } ?? "-",
                        gib(s.memory.weightBytes), gib(s.memory.kvBytes), gib(s.memory.activationBytes), gib(s.memory.totalBytes)]
                    + parallelTableCells(input.options, s) + [s.memory.fits ? "yes" : "no"]
            }
            let table = TextTable(headers: headers, rows: rows, rightAligned: Set(0..<(headers.count - 1)))
            return header(input) + "\n" + (format == .table ? table.renderText() : table.renderMarkdown()) + footer(input)
        }
    }

    static func header(_ input: ModelReportInput) -> String {
        let a = input.architecture
        let o = input.options
        var text = "\(a.name) on \(input.hardware): batch \(o.batch), \(o.dtype.rawValue)"
        if let precision = precisionText(input) { text += " (\(precision))" }
        if o.tensorParallel > 1 { text += ", tensor parallel over \(o.tensorParallel) GPUs" }
        if o.contextParallel > 1 { text += ", context parallel (ring attention) over \(o.contextParallel) GPUs" }
        text += parallelHeader(o)
        let p = input.parameters
        text += "\nparameters \(NumberFormat.grouped(p.total)) counted (file: \(NumberFormat.grouped(a.statedParameters)))"
        if p.active != p.total { text += ", \(NumberFormat.grouped(p.active)) active per token" }
        text += "; attention \(share(p.attentionShare)), FFN \(share(p.ffnShare)) of the layer parameters\n"
        return text
    }

    static func footer(_ input: ModelReportInput) -> String {
        var text = "\nttft: prefill of the whole prompt; tpot: one decode step at that context; shares are of the step's predicted time"
        let o = input.options
        if o.tensorParallel > 1 || o.contextParallel > 1 || o.expertParallel > 1 || o.pipelineParallel > 1 { text += "; memory is per GPU" }
        if o.expertParallel > 1 { text += "\nep imb: the busiest GPU's token-expert pairs over the mean (expert GEMMs are sized by it)" }
        if o.pipelineParallel > 1 {
            text += "\nttft and tpot through the pipeline (prefill: fill and drain; decode: every micro-batch's next token); bubble: share of stage time idle; shares are of one micro-batch's step"
        }
        text += "\n"
        for (phase, context) in input.crossover {
            text += "\(phase.rawValue): attention's time "
            text += context.map { "reaches the FFN's at about \(NumberFormat.grouped($0)) tokens\n" } ?? "stays below the FFN's up to \(NumberFormat.grouped(crossoverLimit)) tokens\n"
        }
        return text
    }

    // MARK: Operators

    static let operatorColumns = [
        "phase", "context", "layers", "operator", "category", "kernel", "repeats", "flops", "weight_bytes", "activation_bytes", "kv_bytes",
        "link_bytes", "dram_bytes", "bound", "time_us", "total_us", "share",
    ]

    static func operatorRecord(_ input: ModelReportInput, _ step: StepPrediction, _ op: ModelOperator, phase: String? = nil) -> JSONOutput {
        .object(runFields(input) + [
            ("phase", .string(phase ?? step.phase.rawValue)), ("context", .int(step.context)), ("layers", .string(op.layers)), ("operator", .string(op.name)),
            ("category", .string(op.category.rawValue)), ("kernel", .string(op.kernel)), ("repeats", .int(op.repeats)), ("flops", .int(op.flops)),
            ("weight_bytes", .int(op.weightBytes)), ("activation_bytes", .int(op.activationBytes)), ("kv_bytes", .int(op.kvBytes)),
            ("link_bytes", .int(op.linkBytes)), ("dram_bytes", .int(op.dramBytes)), ("bound", op.bound.map { .string($0.rawValue) } ?? .null),
            ("time_us", .double(op.seconds * 1e6)), ("total_us", .double(op.totalSeconds * 1e6)), ("share", .double(ratio(op.totalSeconds, step.seconds))),
        ] + parameterFields(input))
    }

    /// The step's total, as the table's `total` row: operator `total`, the step's FLOPs
    /// (every run of every operator) and time; the per-operator fields null.
    static func stepTotalRecord(_ input: ModelReportInput, _ step: StepPrediction, phase: String? = nil) -> JSONOutput {
        .object(runFields(input) + [
            ("phase", .string(phase ?? step.phase.rawValue)), ("context", .int(step.context)), ("layers", .null), ("operator", .string("total")),
            ("category", .null), ("kernel", .null), ("repeats", .null), ("flops", .int(step.flops)),
            ("weight_bytes", .null), ("activation_bytes", .null), ("kv_bytes", .null), ("link_bytes", .null), ("dram_bytes", .null), ("bound", .null),
            ("time_us", .null), ("total_us", .double(step.seconds * 1e6)), ("share", .double(1)),
        ] + parameterFields(input))
    }

    /// `phases` names each step's phase column (a speculative step's passes); nil: the steps' phases.
    public static func renderOperators(_ input: ModelReportInput, steps: [StepPrediction], format: ReportFormat, phases: [String]? = nil) -> String {
        let named = steps.enumerated().map { (step: $1, phase: phases?[$0] ?? $1.phase.rawValue) }
        let records = named.flatMap { step, phase in
            step.operators.map { operatorRecord(input, step, $0, phase: phase) } + [stepTotalRecord(input, step, phase: phase)]
        }
        switch format {
        case .json: return JSONOutput.array(records).render() + "\n"
        case .csv:
            let columns = operatorColumns + parallelColumns(input.options, summary: false)
            return TextTable(headers: columns, rows: records.map { $0.scalarCells(columns) }, rightAligned: []).renderCSV()
        case .table, .markdown:
            let headers = ["phase", "context", "layers", "operator", "kernel", "x", "flops", "weight_bytes", "act_bytes", "kv_bytes", "link_bytes",
                           "bound", "time_us", "total_us", "share"]
            var rows: [[String]] = []
            for (step, phase) in named {
                for op in step.operators {
                    rows.append([phase, ContextList.format(step.context), op.layers, op.name, op.kernel, String(op.repeats),
                                 NumberFormat.grouped(op.flops), NumberFormat.grouped(op.weightBytes), NumberFormat.grouped(op.activationBytes),
                                 NumberFormat.grouped(op.kvBytes), NumberFormat.grouped(op.linkBytes), op.bound?.rawValue ?? "-",
                                 us(op.seconds), us(op.totalSeconds), share(ratio(op.totalSeconds, step.seconds))])
                }
                rows.append([phase, ContextList.format(step.context), "", "total", "", "", NumberFormat.grouped(step.flops),
                             "", "", "", "", "", "", us(step.seconds), "1.000"])
            }
            let table = TextTable(headers: headers, rows: rows, rightAligned: Set([1, 5, 6, 7, 8, 9, 10, 12, 13, 14]))
            return header(input) + "\n" + (format == .table ? table.renderText() : table.renderMarkdown())
                + "\nx: runs per step (layers x active experts); time_us per run; flops and bytes per run\n"
        }
    }

    // MARK: Parameters

    static let parameterColumns = ["model", "component", "parameters", "share"]

    public static func renderParameters(_ input: ModelReportInput, format: ReportFormat) -> String {
        let p = input.parameters
        let parts: [(String, Int)] = [
            ("embedding", p.embedding), ("position_embedding", p.positionEmbedding), ("attention", p.attention), ("ffn", p.ffn), ("ssm", p.ssm),
            ("norms", p.norms), ("lm_head", p.lmHead), ("total", p.total), ("active_per_token", p.active), ("stated_in_file", input.architecture.statedParameters),
        ]
        let records: [JSONOutput] = parts.map { name, count in
            .object([("model", .string(input.architecture.id)), ("component", .string(name)), ("parameters", .int(count)),
                     ("share", .double(ratio(Double(count), Double(p.total))))] + runFields(input).dropFirst() + shareFields(input))
        }
        switch format {
        case .json: return JSONOutput.array(records).render() + "\n"
        case .csv: return TextTable(headers: parameterColumns, rows: records.map { $0.scalarCells(parameterColumns) }, rightAligned: []).renderCSV()
        case .table, .markdown:
            let rows = parts.map { [$0.0, NumberFormat.grouped($0.1), share(ratio(Double($0.1), Double(p.total)))] }
            let table = TextTable(headers: ["component", "parameters", "share"], rows: rows, rightAligned: [1, 2])
            return header(input) + "\n" + (format == .table ? table.renderText() : table.renderMarkdown())
        }
    }
}
