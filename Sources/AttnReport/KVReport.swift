import AttnJSON
import AttnNumerics
import KVCache

/// Renders footprint rows (`attnsim kv`) and allocation comparisons (`attnsim paged`).
public enum KVReport {
    public static func render(_ records: [KVRecord], format: ReportFormat) -> String {
        switch format {
        case .json: return JSONOutput.array(records.map(json)).render() + "\n"
        case .csv:
            let rows = records.map { r in json(r).scalarCells(csvColumns) }
            return TextTable(headers: csvColumns, rows: rows, rightAligned: []).renderCSV()
        case .table, .markdown:
            // SSM state gets its own column, shown for hybrid models only.
            let hybrid = records.contains { $0.ssmStateBytesPerSequence > 0 }
            let headers = ["model", "attention", "context", "batch", "dtype", "kv_bytes_per_token", "kv_bytes_per_sequence"]
                + (hybrid ? ["ssm_state_bytes_per_sequence"] : []) + ["kv_bytes_total", "total_gib", "fits", "max_sequences"]
            let rows = records.map { r -> [String] in
                [r.model, r.attention, ContextList.format(r.context), String(r.batch), r.dtype, NumberFormat.grouped(r.kvBytesPerToken),
                 NumberFormat.grouped(r.kvBytesPerSequence)]
                    + (hybrid ? [NumberFormat.grouped(r.ssmStateBytesPerSequence)] : [])
                    + [NumberFormat.grouped(r.kvBytesTotal), String(format: "%.2f", Double(r.kvBytesTotal) / Double(1 << 30)),
                       r.fits ? "yes" : "no", NumberFormat.grouped(r.maxSequences)]
            }
            let left: Set<Int> = [0, 1, 4, headers.count - 2]
            let table = TextTable(headers: headers, rows: rows, rightAligned: Set(0..<headers.count).subtracting(left))
            var text = format == .table ? table.renderText() : table.renderMarkdown()
            if let first = records.first {
                let g = first.tensorParallel
                let weights = "weights \(NumberFormat.grouped(first.weightBytes)) bytes\(g > 1 ? " per GPU" : "")"
                if first.budgetBytes >= 0 {
                    text += "\n\(weights); KV budget on \(g > 1 ? "each " : "")\(first.hardware) "
                        + "\(NumberFormat.grouped(first.budgetBytes)) bytes = \(NumberFormat.grouped(first.tokenSlots)) token slots\n"
                } else {
                    // No budget is left: say so, rather than print a negative one.
                    text += "\n\(weights) do not fit in the \(NumberFormat.grouped(first.usableBytes)) bytes usable on \(g > 1 ? "each " : "")\(first.hardware) "
                        + "(HBM x memory utilization): \(NumberFormat.grouped(-first.budgetBytes)) bytes over, no room for a KV cache\n"
                }
                if g > 1 {
                    text += "tensor parallel over \(g) GPUs: the byte counts above are one GPU's"
                    if let heads = first.kvHeadsPerGPU {
                        text += "; \(heads) KV head\(heads == 1 ? "" : "s") per GPU"
                        if let total = first.kvHeads, g > total { text += " (each of the \(total) replicated on \(g / total) GPUs, as vLLM does)" }
                    } else {
                        text += "; the MLA latent is kept whole on every GPU"
                    }
                    text += "\n"
                }
                if first.cache != "full" { text += "cache: \(first.cache)\n" }
                // Models with layers of several kinds: what each kind keeps per sequence.
                for r in records where r.kinds.count > 1 {
                    let parts = r.kinds.map { k in
                        "\(k.kind) x \(k.layers): " + (k.tokensPerLayer.map { "\(NumberFormat.grouped($0)) tokens each, " } ?? "")
                            + "\(NumberFormat.grouped(k.bytesPerSequence)) bytes"
                    }
                    text += "by layer kind at \(ContextList.format(r.context)): " + parts.joined(separator: "; ") + "\n"
                }
                if let states = first.encoderStates {
                    text += "cross-attention: K and V of \(NumberFormat.grouped(states)) encoder states, "
                        + "\(NumberFormat.grouped(first.crossAttentionBytesPerSequence)) bytes per sequence, made once per request "
                        + "(in kv_bytes_per_sequence)\n"
                }
                for r in records where !r.fits {
                    let setting = "context \(ContextList.format(r.context)), batch \(r.batch)"
                    if let need = r.smallestFittingTP {
                        text += "\(setting) does not fit on \(g) x \(r.hardware); the fewest GPUs that fit it: --tp \(need)\n"
                    } else {
                        text += "\(setting) does not fit on up to \(NumberFormat.grouped(KVStudy.maxTensorParallel)) x \(r.hardware) (--tp)\n"
                    }
                }
            }
            return text
        }
    }

    static let csvColumns = [
        "model", "attention", "hardware", "context", "batch", "dtype", "kv_bytes_per_token", "kv_bytes_per_sequence",
        "ssm_state_bytes_per_sequence", "cross_attention_bytes_per_sequence", "encoder_states", "kv_bytes_total", "weight_bytes", "budget_bytes", "fits", "max_sequences", "token_slots", "cache",
        "tp", "kv_heads_per_gpu", "smallest_fitting_tp",
    ]

    public static func json(_ r: KVRecord) -> JSONOutput {
        var fields: [(String, JSONOutput)] = [
            ("model", .string(r.model)), ("attention", .string(r.attention)), ("hardware", .string(r.hardware)),
            ("context", .int(r.context)), ("batch", .int(r.batch)), ("dtype", .string(r.dtype)),
            ("kv_bytes_per_token", .int(r.kvBytesPerToken)), ("kv_bytes_per_sequence", .int(r.kvBytesPerSequence)),
            ("ssm_state_bytes_per_sequence", .int(r.ssmStateBytesPerSequence)),
            ("cross_attention_bytes_per_sequence", .int(r.crossAttentionBytesPerSequence)),
            ("encoder_states", r.encoderStates.map { .int($0) } ?? .null), ("kv_bytes_total", .int(r.kvBytesTotal)),
            ("weight_bytes", .int(r.weightBytes)), ("budget_bytes", .int(r.budgetBytes)), ("fits", .bool(r.fits)),
            ("max_sequences", .int(r.maxSequences)), ("token_slots", .int(r.tokenSlots)), ("cache", .string(r.cache)),
            ("tp", .int(r.tensorParallel)), ("kv_heads_per_gpu", r.kvHeadsPerGPU.map { .int($0) } ?? .null),
            ("smallest_fitting_tp", r.smallestFittingTP.map { .int($0) } ?? .null),
            ("usable_bytes", .int(r.usableBytes)), ("kv_heads", r.kvHeads.map { .int($0) } ?? .null),
        ]
        // Models with layers of several kinds: per kind, per sequence (not a CSV column).
        if r.kinds.count > 1 {
            fields.append(("layer_kinds", .array(r.kinds.map { k in
                .object([
                    ("kind", .string(k.kind)), ("layers", .int(k.layers)), ("tokens_per_layer", k.tokensPerLayer.map { .int($0) } ?? .null),
                    ("bytes_per_sequence", .int(k.bytesPerSequence)),
                ])
            })))
        }
        return .object(fields)
    }

    public static func render(_ stats: [AllocationStats], format: ReportFormat) -> String {
        switch format {
        case .json:
            let sweep = Set(stats.compactMap(\.rate)).count > 1 ? PagedSweep.sustainedRates(stats) : nil
            return JSONOutput.array(stats.map { s in
                guard let sweep, case .object(var fields) = json(s) else { return json(s) }
                let sustained = sweep.rates.first { $0.0 == s.policy }?.1 ?? nil
                fields.append(("lightest_load_normalized_latency_s", .double(sweep.baseSeconds)))
                fields.append(("sustained_rate", sustained.map { .double($0.requestsPerSecond) } ?? .null))
                fields.append(("sustained_rate_lower_bound", .bool(sustained?.isLowerBound ?? false)))
                return .object(fields)
            }).render() + "\n"
        case .csv:
            return TextTable(headers: pagedColumns, rows: stats.map { json($0).scalarCells(pagedColumns) }, rightAligned: []).renderCSV()
        case .table, .markdown:
            let sharing = stats.contains { $0.copyOnWriteCopies > 0 || $0.sharingSavedFraction != 0 }
            let rates = Set(stats.compactMap(\.rate)).count > 1
            var headers = (rates ? ["rate"] : []) + ["policy", "token_fraction", "reserved_fraction", "internal_fragmentation_fraction",
                           "external_fragmentation_fraction", "max_batch", "mean_batch", "preemptions"]
            if sharing { headers += ["sharing_saved_fraction", "cow_copies"] }
            headers += ["req/s", "ttft_p50_ms", "ttft_p99_ms", "tpot_p50_ms", "tpot_p99_ms", "norm_latency_s"]
            let rows = stats.map { s -> [String] in
                var row = (rates ? [s.rate.map { "\($0)" } ?? "-"] : []) + [
                    s.policy, percent(s.tokenFraction), percent(s.reservedFraction), percent(s.internalFragmentationFraction),
                    percent(s.externalFragmentationFraction), String(s.maxBatch), String(format: "%.1f", s.meanBatch), String(s.preemptions)]
                if sharing { row += [percent(s.sharingSavedFraction), String(s.copyOnWriteCopies)] }
                row += [String(format: "%.2f", s.requestsPerSecond), ms(s.ttft.p50), ms(s.ttft.p99), ms(s.tpot.p50), ms(s.tpot.p99),
                        String(format: "%.3f", s.normalizedLatency.mean)]
                return row
            }
            let table = TextTable(headers: headers, rows: rows, rightAligned: Set(1..<headers.count))
            var text = format == .table ? table.renderText() : table.renderMarkdown()
            if let first = stats.first {
                text += "\n\(first.requests) requests, KV pool of \(NumberFormat.grouped(first.poolTokens)) token slots\n"
                text += "timing: \(first.timing) per iteration\(first.prefillChunk.map { ", chunked prefill of \($0) tokens" } ?? "")"
                    + "; ttft = first token - arrival, tpot = (finish - first token) / output tokens, norm_latency = mean (finish - arrival) / output tokens\n"
            }
            for st in stats {
                let at = "\(st.policy)\(st.rate.map { " @\($0)/s" } ?? "")"
                if let cache = st.prefixCache {
                    text += "\(at): prefix cache hit \(percent(cache.hitFraction)) of \(NumberFormat.grouped(cache.promptTokens)) prompt tokens; "
                        + "\(NumberFormat.grouped(cache.computedTokens)) computed, \(NumberFormat.grouped(cache.evictions)) cached blocks evicted\n"
                }
                if let swap = st.swap {
                    text += "\(at): \(NumberFormat.grouped(swap.swapOuts)) swapped out to \(swap.tier); \(NumberFormat.grouped(swap.movedBlocks)) blocks "
                        + "(\(NumberFormat.grouped(swap.movedBytes)) bytes) moved in \(String(format: "%.3f", swap.transferSeconds)) s\n"
                }
                if let d = st.disaggregation {
                    text += "\(at): disaggregated, \(d.prefillReplicas) prefill and \(d.decodeReplicas) decode replicas; "
                        + "\(NumberFormat.grouped(d.transferBytes)) KV bytes per GPU sent in \(String(format: "%.3f", d.transferSeconds)) s "
                        + "(longest \(String(format: "%.3f", d.longestTransferSeconds * 1e3)) ms); prefill's own ttft mean \(String(format: "%.3f", d.prefillTTFT.mean)) s\n"
                }
                if let cluster = st.cluster, st.disaggregation == nil {
                    text += "\(at): \(cluster.replicas) replicas, \(cluster.router) router; requests per replica "
                        + cluster.requestsPerReplica.map { NumberFormat.grouped($0) }.joined(separator: ", ") + "\n"
                }
            }
            for st in stats {
                guard let groups = st.groupUsage, let blocks = st.poolBlocks else { continue }
                let parts = groups.map { g in
                    "\(g.kind) x \(g.groups) group\(g.groups == 1 ? "" : "s"): mean \(String(format: "%.1f", g.meanBlocks)), peak \(NumberFormat.grouped(g.peakBlocks))"
                }
                text += "\(st.policy)\(st.rate.map { " @\($0)/s" } ?? ""): hybrid pool of \(NumberFormat.grouped(blocks)) blocks shared by the layer groups; blocks held: "
                    + parts.joined(separator: "; ") + "\n"
            }
            if rates, let line = sustainedRates(stats) { text += line + "\n" }
            return text
        }
    }

    static let pagedColumns = [
        "policy", "token_fraction", "reserved_fraction", "internal_fragmentation_fraction", "external_fragmentation_fraction",
        "max_batch", "mean_batch", "preemptions", "requests", "completed", "iterations", "pool_tokens", "cow_copies", "sharing_saved_fraction",
        "timing", "prefill_chunk", "rate", "seconds", "requests_per_s", "output_tokens_per_s", "ttft_mean_s", "ttft_p50_s", "ttft_p90_s", "ttft_p99_s",
        "tpot_mean_s", "tpot_p50_s", "tpot_p90_s", "tpot_p99_s", "normalized_latency_mean_s", "normalized_latency_p50_s", "normalized_latency_p99_s",
    ]

    public static func json(_ s: AllocationStats) -> JSONOutput {
        var fields = pagedFields(s)
        if let groups = s.groupUsage, let blocks = s.poolBlocks {
            fields.append(("pool_blocks", .int(blocks)))
            fields.append(("groups", .array(groups.map { g in
                .object([("kind", .string(g.kind)), ("groups", .int(g.groups)), ("mean_blocks", .double(g.meanBlocks)), ("peak_blocks", .int(g.peakBlocks))])
            })))
        }
        if let cache = s.prefixCache {
            fields.append(("prefix_cache", .object([
                ("hit_fraction", .double(cache.hitFraction)), ("prompt_tokens", .int(cache.promptTokens)), ("hit_tokens", .int(cache.hitTokens)),
                ("computed_tokens", .int(cache.computedTokens)), ("evicted_blocks", .int(cache.evictions)),
            ])))
        }
        if let swap = s.swap {
            fields.append(("swap", .object([
                ("tier", .string(swap.tier)), ("swap_outs", .int(swap.swapOuts)), ("moved_blocks", .int(swap.movedBlocks)),
                ("moved_bytes", .int(swap.movedBytes)), ("transfer_s", .double(swap.transferSeconds)),
            ])))
        }
        if let d = s.disaggregation {
            fields.append(("disaggregation", .object([
                ("prefill_replicas", .int(d.prefillReplicas)), ("decode_replicas", .int(d.decodeReplicas)),
                ("prefill_requests_per_replica", .array(d.prefillRequestsPerReplica.map { .int($0) })), ("prefill_iterations", .int(d.prefillIterations)),
                ("transfer_bytes", .int(d.transferBytes)), ("transfer_s", .double(d.transferSeconds)), ("longest_transfer_s", .double(d.longestTransferSeconds)),
                ("prefill_ttft_mean_s", .double(d.prefillTTFT.mean)), ("prefill_ttft_p99_s", .double(d.prefillTTFT.p99)),
            ])))
        }
        if let cluster = s.cluster {
            fields.append(("cluster", .object([
                ("replicas", .int(cluster.replicas)), ("router", .string(cluster.router)),
                ("requests_per_replica", .array(cluster.requestsPerReplica.map { .int($0) })),
            ])))
        }
        fields.append(("timeline", .array(s.timeline.map { t in
            .object([
                ("time_s", .double(t.seconds)), ("used_tokens", .int(t.usedTokens)), ("allocated_tokens", .int(t.allocatedTokens)),
                ("running", .int(t.running)), ("waiting", .int(t.waiting)), ("admitted", .int(t.admitted)),
            ])
        })))
        return .object(fields)
    }

    static func pagedFields(_ s: AllocationStats) -> [(String, JSONOutput)] {
        [
            ("policy", .string(s.policy)), ("token_fraction", optional(s.tokenFraction)), ("reserved_fraction", optional(s.reservedFraction)),
            ("internal_fragmentation_fraction", optional(s.internalFragmentationFraction)),
            ("external_fragmentation_fraction", optional(s.externalFragmentationFraction)),
            ("max_batch", .int(s.maxBatch)), ("mean_batch", .double(s.meanBatch)), ("preemptions", .int(s.preemptions)),
            ("requests", .int(s.requests)), ("completed", .int(s.completed)), ("iterations", .int(s.iterations)),
            ("pool_tokens", .int(s.poolTokens)), ("cow_copies", .int(s.copyOnWriteCopies)),
            ("sharing_saved_fraction", .double(s.sharingSavedFraction)),
            ("timing", .string(s.timing)), ("host_overhead_s", .double(s.hostOverheadSeconds)), ("prefill_chunk", s.prefillChunk.map { .int($0) } ?? .null), ("rate", optional(s.rate)),
            ("seconds", .double(s.seconds)), ("requests_per_s", .double(s.requestsPerSecond)), ("output_tokens_per_s", .double(s.outputTokensPerSecond)),
            ("ttft_mean_s", .double(s.ttft.mean)), ("ttft_p50_s", .double(s.ttft.p50)), ("ttft_p90_s", .double(s.ttft.p90)), ("ttft_p99_s", .double(s.ttft.p99)),
            ("tpot_mean_s", .double(s.tpot.mean)), ("tpot_p50_s", .double(s.tpot.p50)), ("tpot_p90_s", .double(s.tpot.p90)), ("tpot_p99_s", .double(s.tpot.p99)),
            ("normalized_latency_mean_s", .double(s.normalizedLatency.mean)), ("normalized_latency_p50_s", .double(s.normalizedLatency.p50)),
            ("normalized_latency_p90_s", .double(s.normalizedLatency.p90)), ("normalized_latency_p99_s", .double(s.normalizedLatency.p99)),
        ]
    }

    /// For a rate sweep: per policy, the rate it sustains, `sustainedRate`, and each
    /// policy's against the first's (the vLLM paper's comparison of throughput at equal
    /// latency, Figure 12). A policy that never reached the threshold within the swept
    /// rates sustains at least the highest one, printed `>R`; a gain from such a bound is
    /// one too (`>G` when the first policy's rate is the bound, `<G` when the other's is)
    /// and none is printed when both are bounds.
    static func sustainedRates(_ stats: [AllocationStats]) -> String? {
        guard let sustained = PagedSweep.sustainedRates(stats) else { return nil }
        let parts = sustained.rates.map { policy, rate in
            "\(policy) \(rate.map { ($0.isLowerBound ? ">" : "") + String(format: "%.2f", $0.requestsPerSecond) } ?? "none")"
        }
        var line = "sustained rate (req/s) where mean norm_latency reaches \(PagedSweep.latencyFactor)x the lightest load's "
            + "(\(String(format: "%.3f", sustained.baseSeconds)) s): " + parts.joined(separator: ", ")
        if let (first, base) = sustained.rates.first, let base, base.requestsPerSecond > 0, sustained.rates.count > 1 {
            let ratios = sustained.rates.dropFirst().compactMap { policy, rate -> String? in
                guard let rate, !(base.isLowerBound && rate.isLowerBound) else { return nil }
                let bound = base.isLowerBound ? ">" : rate.isLowerBound ? "<" : ""
                return "\(bound)\(String(format: "%.2f", base.requestsPerSecond / rate.requestsPerSecond))x \(policy)"
            }
            if !ratios.isEmpty { line += "; \(first) sustains " + ratios.joined(separator: ", ") }
        }
        if sustained.rates.contains(where: { $0.1?.isLowerBound == true }) {
            line += " (>: never reached within the swept rates, a lower bound)"
        }
        return line
    }

    static func ms(_ seconds: Double) -> String { String(format: "%.1f", seconds * 1000) }

    static func percent(_ x: Double?) -> String { x.map { String(format: "%.1f%%", $0 * 100) } ?? "-" }

    static func optional(_ x: Double?) -> JSONOutput { x.map { .double($0) } ?? .null }
}

extension JSONOutput {
    /// The values of an object's scalar members in `columns` order, as CSV cells.
    func scalarCells(_ columns: [String]) -> [String] {
        guard case .object(let members) = self else { return [] }
        return columns.map { key in
            switch members.first(where: { $0.0 == key })?.1 {
            case .string(let s)?: return s
            case .int(let i)?: return String(i)
            case .double(let x)?: return x.isFinite ? "\(x)" : ""
            case .bool(let b)?: return b ? "true" : "false"
            default: return ""
            }
        }
    }
}

import AttnScenario
import Foundation

extension KVRecord {
    /// The bytes the server may use on one GPU, HBM x memory utilization: the weights plus
    /// the KV budget (which is negative when the weights do not fit).
    var usableBytes: Int { budgetBytes + weightBytes }
}
