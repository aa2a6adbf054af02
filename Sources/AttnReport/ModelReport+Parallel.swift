import AttnJSON
import AttnModel

/// The fields `attnsim model` adds under expert and pipeline parallelism (none without
/// them, so other runs print as before; docs/model.md).
extension ModelReport {
    /// How the GPUs split the work beyond tensor and context parallelism.
    static func parallelRunFields(_ o: ModelRunOptions) -> [(String, JSONOutput)] {
        var fields: [(String, JSONOutput)] = []
        if o.expertParallel > 1 {
            fields += [("ep", .int(o.expertParallel)), ("attention_dp", .bool(o.attentionDataParallel))]
            if let f = o.expertImbalance { fields.append(("expert_imbalance_given", .double(f))) }
        }
        if o.pipelineParallel > 1 { fields += [("pp", .int(o.pipelineParallel)), ("microbatches", .int(o.microbatches))] }
        return fields
    }

    /// Per context: the busiest expert-parallel GPU's token-expert pairs and their ratio
    /// to the mean in each phase; the pipeline's bubble and stage-to-stage send.
    static func parallelSummaryFields(_ o: ModelRunOptions, _ s: ModelSummary) -> [(String, JSONOutput)] {
        var fields: [(String, JSONOutput)] = []
        if o.expertParallel > 1 {
            for (phase, step) in [("prefill", Optional(s.prefill)), ("decode", s.decode)] {
                fields.append(("\(phase)_expert_busiest_pairs", step?.expertLoad.map { .int($0.busiestPairs) } ?? .null))
                fields.append(("\(phase)_expert_imbalance", step?.expertLoad.map { .double($0.imbalance) } ?? .null))
            }
        }
        if o.pipelineParallel > 1 {
            for (phase, pipe) in [("prefill", s.prefillPipeline), ("decode", s.decodePipeline)] {
                fields.append(("\(phase)_bubble_fraction", pipe.map { .double($0.bubbleFraction) } ?? .null))
                fields.append(("\(phase)_stage_send_bytes", pipe.map { .int($0.sendBytes) } ?? .null))
                fields.append(("\(phase)_slowest_stage_ms", pipe.map { .double(($0.stageSeconds.max() ?? 0) * 1e3) } ?? .null))
            }
        }
        return fields
    }

    /// The names of `parallelRunFields` and `parallelSummaryFields`, for CSV.
    static func parallelColumns(_ o: ModelRunOptions, summary: Bool) -> [String] {
        var columns = parallelRunFields(o).map(\.0)
        guard summary else { return columns }
        if o.expertParallel > 1 {
            columns += ["prefill", "decode"].flatMap { ["\($0)_expert_busiest_pairs", "\($0)_expert_imbalance"] }
        }
        if o.pipelineParallel > 1 {
            columns += ["prefill", "decode"].flatMap { ["\($0)_bubble_fraction", "\($0)_stage_send_bytes", "\($0)_slowest_stage_ms"] }
        }
        return columns
    }

    /// The summary table's extra columns: headers and one row's cells.
    static func parallelTableColumns(_ o: ModelRunOptions) -> [String] {
        (o.expertParallel > 1 ? ["ep imb prefill", "ep imb decode"] : []) + (o.pipelineParallel > 1 ? ["bubble prefill", "bubble decode"] : [])
    }

    static func parallelTableCells(_ o: ModelRunOptions, _ s: ModelSummary) -> [String] {
        var cells: [String] = []
        if o.expertParallel > 1 {
            cells += [s.prefill.expertLoad, s.decode?.expertLoad].map { $0.map { String(format: "%.2f", $0.imbalance) } ?? "-" }
        }
        if o.pipelineParallel > 1 {
            cells += [s.prefillPipeline, s.decodePipeline].map { $0.map { share($0.bubbleFraction) } ?? "-" }
        }
        return cells
    }

    /// The header's words for expert and pipeline parallelism.
    static func parallelHeader(_ o: ModelRunOptions) -> String {
        var text = ""
        if o.expertParallel > 1 {
            text += ", expert parallel over \(o.expertParallel) GPUs with attention " + (o.attentionDataParallel ? "data parallel" : "tensor parallel")
            if let f = o.expertImbalance { text += String(format: " (busiest GPU %.2fx the mean load, given)", f) }
        }
        if o.pipelineParallel > 1 { text += ", pipeline parallel over \(o.pipelineParallel) stages with \(o.microbatches) micro-batch\(o.microbatches == 1 ? "" : "es")" }
        return text
    }
}
