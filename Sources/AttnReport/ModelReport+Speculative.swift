import AttnJSON
import AttnModel
import AttnNumerics
import AttnScenario
import Foundation

extension ModelReport {
    static let speculativeColumns = [
        "model", "hardware", "dtype", "batch", "tp", "cp", "context", "drafter", "draft_dtype", "drafts", "width", "depth", "acceptance", "expected_tokens",
        "draft_ms", "verify_ms", "step_ms", "tpot_ms", "plain_tpot_ms", "speedup", "tokens_per_s", "plain_tokens_per_s", "draft_weight_bytes",
        "max_batch", "crossover_batch",
    ]

    /// The drafter's name: the draft model's id, `eagle` or `medusa`.
    static func drafterName(_ s: SpeculativeDecoding) -> String {
        switch s.drafter {
        case .model(let draft): return draft.id
        case .eagle: return "eagle"
        case .medusa: return "medusa"
        }
    }

    /// Acceptance rates per depth as given: `0.8/0.7`.
    static func acceptanceText(_ s: SpeculativeDecoding) -> String {
        s.acceptance.map { "\($0)" }.joined(separator: "/")
    }

    static func speculativeRecord(_ input: ModelReportInput, _ s: SpeculativeDecoding, _ x: SpeculativeSummary, crossover: Int??) -> JSONOutput {
        var fields = runFields(input) + [
            ("context", .int(x.context)), ("drafter", .string(drafterName(s))),
            // The drafter's own format; null: it runs in the target's precision.
            ("draft_dtype", s.draftFormat.map { .string("\($0)") } ?? .null), ("drafts", .int(s.drafts)), ("width", .int(s.width)),
            ("depth", .int(s.depth)), ("acceptance", .array(s.acceptance.map { .double($0) })), ("expected_tokens", .double(x.expectedTokens)),
            ("draft_ms", .double(x.draftSeconds * 1e3)), ("verify_ms", .double(x.verifySeconds * 1e3)), ("step_ms", .double(x.stepSeconds * 1e3)),
            ("tpot_ms", .double(x.tpotSeconds * 1e3)), ("plain_tpot_ms", .double(x.plainTPOTSeconds * 1e3)), ("speedup", .double(x.speedup)),
            ("tokens_per_s", .double(x.tokensPerSecond)),
            ("plain_tokens_per_s", .double(x.plainTPOTSeconds > 0 ? Double(x.batch) / x.plainTPOTSeconds : 0)),
            ("draft_weight_bytes", .int(x.draftWeightBytes)), ("max_batch", .int(x.maxBatch)),
        ]
        // With --crossover: the smallest batch where speculation no longer pays, null when
        // it pays up to the search's limit.
        if let crossover { fields.append(("crossover_batch", crossover.map { .int($0) } ?? .null)) }
        return .object(fields + parameterFields(input))
    }

    /// `attnsim model --speculative`: per context the expected tokens per step, the
    /// drafter's and the verify step's time, TPOT against plain decoding and the speedup;
    /// with the crossover, the batch where speculation stops paying.
    public static func renderSpeculative(
        _ input: ModelReportInput, _ s: SpeculativeDecoding, _ summaries: [SpeculativeSummary], crossover: [Int?], format: ReportFormat
    ) -> String {
        let crossoverAt: (Int) -> Int?? = { crossover.indices.contains($0) ? .some(crossover[$0]) : .none }
        let records = summaries.enumerated().map { speculativeRecord(input, s, $1, crossover: crossoverAt($0)) }
        let columns = crossover.isEmpty ? speculativeColumns.filter { $0 != "crossover_batch" } : speculativeColumns
        switch format {
        case .json: return JSONOutput.array(records).render() + "\n"
        case .csv:
            // The acceptance rates per depth as one cell, as --speculative writes them (0.8/0.7).
            let at = columns.firstIndex(of: "acceptance")
            let rows = records.map { record -> [String] in
                var cells = record.scalarCells(columns)
                if let at { cells[at] = acceptanceText(s) }
                return cells
            }
            return TextTable(headers: columns, rows: rows, rightAligned: []).renderCSV()
        case .table, .markdown:
            var headers = ["context", "tokens/step", "draft_ms", "verify_ms", "step_ms", "tpot_ms", "plain_tpot_ms", "speedup", "tok/s", "plain tok/s"]
            headers.append("max_batch")
            if !crossover.isEmpty { headers.append("crossover_batch") }
            let rows = summaries.enumerated().map { i, x -> [String] in
                var row = [ContextList.format(x.context), String(format: "%.3f", x.expectedTokens), ms(x.draftSeconds), ms(x.verifySeconds),
                           ms(x.stepSeconds), ms(x.tpotSeconds), ms(x.plainTPOTSeconds), String(format: "%.2f", x.speedup),
                           String(format: "%.0f", x.tokensPerSecond), String(format: "%.0f", x.plainTPOTSeconds > 0 ? Double(x.batch) / x.plainTPOTSeconds : 0)]
                row.append(NumberFormat.grouped(x.maxBatch))
                if let c = crossoverAt(i) {
                    row.append(c.map { NumberFormat.grouped($0) } ?? "> \(NumberFormat.grouped(min(x.maxBatch, SpeculativeStudy.crossoverLimit)))")
                }
                return row
            }
            let table = TextTable(headers: headers, rows: rows, rightAligned: Set(0..<headers.count))
            let tree = s.width == 1 ? "a chain of \(s.drafts)" : "a tree of \(s.drafts) (width \(s.width), depth \(s.depth))"
            let own = s.draftFormat.map { " in \($0)" } ?? ""
            var text = header(input) + "speculative: \(drafterName(s))\(own) drafts \(tree) per step, acceptance \(acceptanceText(s))"
            if let bytes = summaries.first?.draftWeightBytes { text += "; the drafter adds \(gib(bytes)) GiB of weights per GPU" }
            text += "\n\n" + (format == .table ? table.renderText() : table.renderMarkdown())
            text += "\ntokens/step: expected tokens per step (accepted drafts and the target's own); step: the drafter's passes and the verify step;"
            text += " tpot: step / tokens; plain: one decode step"
            text += "; max_batch: the largest batch whose weights and KV caches fit"
            if !crossover.isEmpty { text += "; crossover_batch: the smallest batch where speculation no longer pays (speedup <= 1; > N: it pays up to N)" }
            return text + "\n"
        }
    }

    /// A speculative step's passes at one context, labelled: `draft 1` ... (a draft model's
    /// or EAGLE's pass per tree depth; Medusa's heads in one `draft`), `verify`, and the
    /// plain decode step it is compared with (`plain`).
    static func speculativePasses(_ x: SpeculativeSummary) -> [(label: String, step: StepPrediction)] {
        let drafts = x.draftSteps.count == 1 ? [("draft", x.draftSteps[0])] : x.draftSteps.enumerated().map { ("draft \($0 + 1)", $1) }
        return drafts + [("verify", x.verify), ("plain", x.plain)]
    }

    /// `attnsim model --speculative --view operators`: the operators of every pass of a
    /// speculative step (the drafter's, the verify step's) and of the plain decode step, in
    /// the operator view's columns with `phase` naming the pass.
    public static func renderSpeculativeOperators(_ input: ModelReportInput, _ summaries: [SpeculativeSummary], format: ReportFormat) -> String {
        let passes = summaries.flatMap(speculativePasses)
        return renderOperators(input, steps: passes.map(\.step), format: format, phases: passes.map(\.label))
    }
}
