import AttnJSON
import AttnNumerics
import AttnReport
import AttnScenario
import Foundation
import Testing
@testable import AttnCLI
import AttnTestSupport

/// The JSON of every command carries every figure its table prints: for each command the
/// table's columns are read by the rule under the header, and each cell is rebuilt from
/// the JSON record of that row with the table's own formatting; the lines around the
/// table (headers, footers, notes) likewise. A figure the JSON lacks cannot be rebuilt.
@Suite struct TableJSONTests {
    static func attnsim(_ arguments: [String]) throws -> String {
        let captured = CapturedConsole()
        let code = AttnSimCommand.main(arguments, console: captured.console)
        guard code == 0 else { throw TestFailure("attnsim \(arguments.joined(separator: " ")): exit \(code): \(captured.stderr)") }
        return captured.stdout
    }

    /// The table and the JSON of one command line.
    static func both(_ arguments: [String]) throws -> (table: String, json: JSONValue) {
        let table = try attnsim(arguments)
        let json = try JSONParser.parse(try attnsim(arguments + ["--format", "json"]), file: "json")
        return (table, json)
    }

    /// A text table: the header cells, then each row's cells, cut at the columns of the
    /// rule line (runs of `-`) under the header; `lines` before and after it.
    struct Table {
        var headers: [String]
        var rows: [[String]]
        var before: [String]
        var after: [String]

        /// The first table of `text` (after skipping `skip` tables).
        init(_ text: String, skip: Int = 0) throws {
            let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            let rules = lines.indices.filter { i in lines[i].hasPrefix("-") && lines[i].allSatisfy { $0 == "-" || $0 == " " } }
            guard rules.count > skip, rules[skip] > 0 else { throw TestFailure("no table \(skip) in:\n\(text)") }
            let rule = rules[skip]
            var ranges: [Range<Int>] = []
            let ruleCharacters = Array(lines[rule])
            var i = 0
            while i < ruleCharacters.count {
                guard ruleCharacters[i] == "-" else {
                    i += 1
                    continue
                }
                let start = i
                while i < ruleCharacters.count, ruleCharacters[i] == "-" { i += 1 }
                ranges.append(start..<i)
            }
            func cells(_ line: String) -> [String] {
                let characters = Array(line)
                return ranges.map { range in
                    let lower = min(range.lowerBound, characters.count), upper = min(range.upperBound, characters.count)
                    return String(characters[lower..<upper]).trimmingCharacters(in: .whitespaces)
                }
            }
            headers = cells(lines[rule - 1])
            var end = rule + 1
            while end < lines.count, !lines[end].isEmpty { end += 1 }
            rows = lines[(rule + 1)..<end].map(cells)
            before = Array(lines[..<(rule - 1)])
            after = Array(lines[end...]).filter { !$0.isEmpty }
        }

        func column(_ header: String) -> Int? { headers.firstIndex(of: header) }
    }

    /// Compares every cell of `table` whose header `cells` knows with the text it rebuilds
    /// from the row's record; a header it does not know is a figure not checked (a failure).
    static func compare(_ table: Table, _ records: [JSONValue], cells: [String: @Sendable (JSONValue) -> String], label: String) {
        #expect(table.rows.count == records.count, "\(label): \(table.rows.count) table rows, \(records.count) JSON records")
        for header in table.headers {
            #expect(cells[header] != nil, "\(label): column '\(header)' has no JSON field")
        }
        for (row, record) in zip(table.rows, records) {
            for (index, header) in table.headers.enumerated() {
                guard let cell = cells[header] else { continue }
                #expect(row[index] == cell(record), "\(label): \(header): table '\(row[index])', from JSON '\(cell(record))' (row \(row))")
            }
        }
    }

    // Formatting as the tables do it.
    static func grouped(_ v: JSONValue) -> String { NumberFormat.grouped(v.integer) }
    static func fixed(_ digits: Int, _ v: JSONValue, scale: Double = 1) -> String {
        v.isNumber ? String(format: "%.\(digits)f", v.number * scale) : "-"
    }
    static func context(_ v: JSONValue) -> String { ContextList.format(v.integer) }
    static func percent(_ v: JSONValue) -> String { v.isNumber ? String(format: "%.1f%%", v.number * 100) : "-" }

    // MARK: run

    static let runCells: [String: @Sendable (JSONValue) -> String] = [
        "algorithm": { $0["algorithm"].string ?? "" }, "context": { context($0["context"]) }, "q_len": { context($0["q_len"]) },
        "hbm_read_bytes": { grouped($0["hbm_read_bytes"]) }, "hbm_write_bytes": { grouped($0["hbm_write_bytes"]) },
        "sram_bytes": { NumberFormat.grouped($0["sram_read_bytes"].integer + $0["sram_write_bytes"].integer) },
        "flops_matmul": { grouped($0["flops_matmul"]) }, "flops_other": { grouped($0["flops_other"]) },
        "exp+log": { NumberFormat.grouped($0["flops_exp"].integer + $0["flops_log"].integer) },
        "peak_sram_bytes": { grouped($0["peak_sram_bytes"]) }, "intensity": { fixed(1, $0["arithmetic_intensity"]) },
        "time_us": { fixed(1, $0["time_us"]) }, "bound": { $0["bound"].string ?? "" },
        "max_abs_error": { $0["max_abs_error"].isNumber ? RecordReport.scientific($0["max_abs_error"].number) : "-" },
        "max_rel_error": { $0["max_rel_error"].isNumber ? RecordReport.scientific($0["max_rel_error"].number) : "-" },
        "check": { $0["check"].string ?? "-" },
    ]

    @Test(arguments: [
        ["run", repositoryRoot.appendingPathComponent("scenarios/standard-vs-flash.json").path],
        ["run", "--algorithm", "flash2,standard", "--heads", "2", "--head-dim", "32", "--context", "100,256", "--mode", "numeric"],
        ["run", "--algorithm", "flash-decoding,flash2", "--heads", "8", "--head-dim", "64", "--context", "4k,16k", "--q-len", "1"],
    ])
    func runTableIsInTheJSON(_ arguments: [String]) throws {
        let (text, json) = try Self.both(arguments)
        let table = try Table(text)
        Self.compare(table, json.array, cells: Self.runCells, label: arguments.joined(separator: " "))
        #expect(table.after.isEmpty && table.before.isEmpty, "\(table.after)")
    }

    // MARK: roofline

    @Test func rooflineTableIsInTheJSON() throws {
        let (text, json) = try Self.both(["roofline", "--model", "llama-2-7b", "--context", "1k,4k"])
        let table = try Table(text)
        let cells: [String: @Sendable (JSONValue) -> String] = [
            "algorithm": { $0["algorithm"].string ?? "" }, "context": { Self.context($0["context"]) }, "kernel": { $0["kernel"].string ?? "" },
            "blocks": { $0["kernel"].string == "total" ? "" : Self.grouped($0["thread_blocks"]) },
            "blocks/SM": { $0["blocks_per_sm"].isNumber ? String($0["blocks_per_sm"].integer) : "" },
            "waves": { $0["waves"].isNumber ? String($0["waves"].integer) : "" },
            "flops": { NumberFormat.grouped($0["flops_matmul"].integer + $0["flops_other"].integer) },
            "dram_bytes": { NumberFormat.grouped($0["dram_read_bytes"].integer + $0["dram_write_bytes"].integer) },
            "intensity": { Self.fixed(1, $0["arithmetic_intensity"]) }, "ridge": { Self.fixed(0, $0["ridge_point"]) },
            "bound": { ($0["bound"].string ?? "") + ($0["bound"].string != nil && $0["spill_bytes"].integer > 0 ? " (spills)" : "") },
            "time_us": { Self.fixed(1, $0["time_us"]) },
        ]
        Self.compare(table, json.array, cells: cells, label: "roofline")
        let total = json.array.first { $0["kernel"].string == "total" } ?? .null
        #expect(table.after.first?.hasPrefix("total includes \(Self.fixed(0, total["call_overhead_us"])) us of call overhead") == true, "\(table.after)")
    }

    // MARK: model

    /// The two lines over every model table: where it runs, and the parameters.
    static func modelHeader(_ record: JSONValue, name: String) -> [String] {
        var first = "\(name) on \(record["hardware"].string ?? ""): batch \(record["batch"].integer), \(record["dtype"].string ?? "")"
        if record["tp"].integer > 1 { first += ", tensor parallel over \(record["tp"].integer) GPUs" }
        if record["cp"].integer > 1 { first += ", context parallel (ring attention) over \(record["cp"].integer) GPUs" }
        return [first]
    }

    static func parameterLine(total: JSONValue, active: JSONValue, stated: JSONValue, attention: JSONValue, ffn: JSONValue) -> String {
        var line = "parameters \(grouped(total)) counted (file: \(grouped(stated)))"
        if active.integer != total.integer { line += ", \(grouped(active)) active per token" }
        return line + "; attention \(fixed(3, attention)), FFN \(fixed(3, ffn)) of the layer parameters"
    }

    @Test(arguments: [["--tp", "1"], ["--tp", "2"]])
    func modelSummaryIsInTheJSON(_ extra: [String]) throws {
        let (text, json) = try Self.both(["model", "--model", "llama-2-7b", "--context", "1k,4k", "--batch", "4", "--crossover"] + extra)
        let table = try Table(text)
        let gib: @Sendable (JSONValue) -> String = { v in String(format: "%.2f", Double(v.integer) / Double(1 << 30)) }
        let cells: [String: @Sendable (JSONValue) -> String] = [
            "context": { Self.context($0["context"]) }, "ttft_ms": { Self.fixed(3, $0["ttft_ms"]) }, "tpot_ms": { Self.fixed(3, $0["tpot_ms"]) },
            "tok/s": { Self.fixed(0, $0["decode_tokens_per_s"]) }, "prefill attn": { Self.fixed(3, $0["prefill_attention_share"]) },
            "prefill ffn": { Self.fixed(3, $0["prefill_ffn_share"]) }, "decode attn": { Self.fixed(3, $0["decode_attention_share"]) },
            "decode ffn": { Self.fixed(3, $0["decode_ffn_share"]) }, "weights_gib": { gib($0["weight_bytes"]) }, "kv_gib": { gib($0["kv_bytes"]) },
            "act_gib": { gib($0["activation_bytes"]) }, "total_gib": { gib($0["total_bytes"]) }, "fits": { $0["fits"] == .bool(true) ? "yes" : "no" },
        ]
        Self.compare(table, json.array, cells: cells, label: "model summary \(extra)")
        let first = json.array.first ?? .null
        #expect(table.before.prefix(2) == (Self.modelHeader(first, name: "Llama-2 7B") + [Self.parameterLine(
            total: first["parameters"], active: first["parameters_active"], stated: first["parameters_stated"],
            attention: first["attention_parameters_share"], ffn: first["ffn_parameters_share"])])[...], "\(table.before)")
        for phase in ["prefill", "decode"] {
            let crossover = first["\(phase)_crossover_context"]
            let line = crossover.isNumber
                ? "\(phase): attention's time reaches the FFN's at about \(Self.grouped(crossover)) tokens"
                : "\(phase): attention's time stays below the FFN's up to \(NumberFormat.grouped(ModelReport.crossoverLimit)) tokens"
            #expect(table.after.contains(line), "\(table.after)")
        }
    }

    @Test(arguments: ["prefill", "decode"])
    func modelOperatorsAreInTheJSON(_ phase: String) throws {
        let (text, json) = try Self.both(["model", "--model", "mixtral-8x7b", "--context", "1k,4k", "--view", "operators", "--phase", phase])
        let table = try Table(text)
        let optionalInt: @Sendable (JSONValue) -> String = { v in v.isNumber ? Self.grouped(v) : "" }
        let cells: [String: @Sendable (JSONValue) -> String] = [
            "phase": { $0["phase"].string ?? "" }, "context": { Self.context($0["context"]) }, "layers": { $0["layers"].string ?? "" },
            "operator": { $0["operator"].string ?? "" }, "kernel": { $0["kernel"].string ?? "" }, "x": { $0["repeats"].isNumber ? String($0["repeats"].integer) : "" },
            "flops": { Self.grouped($0["flops"]) }, "weight_bytes": { optionalInt($0["weight_bytes"]) }, "act_bytes": { optionalInt($0["activation_bytes"]) },
            "kv_bytes": { optionalInt($0["kv_bytes"]) }, "link_bytes": { optionalInt($0["link_bytes"]) },
            "bound": { $0["operator"].string == "total" ? "" : $0["bound"].string ?? "-" },
            "time_us": { $0["time_us"].isNumber ? Self.fixed(1, $0["time_us"]) : "" }, "total_us": { Self.fixed(1, $0["total_us"]) },
            "share": { Self.fixed(3, $0["share"]) },
        ]
        Self.compare(table, json.array, cells: cells, label: "model operators \(phase)")
        let first = json.array.first ?? .null
        #expect(table.before.first == Self.modelHeader(first, name: "Mixtral 8x7B").first, "\(table.before)")
        #expect(table.before.dropFirst().first == Self.parameterLine(
            total: first["parameters"], active: first["parameters_active"], stated: first["parameters_stated"],
            attention: first["attention_parameters_share"], ffn: first["ffn_parameters_share"]), "\(table.before)")
    }

    @Test func modelParametersAreInTheJSON() throws {
        let (text, json) = try Self.both(["model", "--model", "mixtral-8x7b", "--context", "1k", "--view", "parameters"])
        let table = try Table(text)
        let cells: [String: @Sendable (JSONValue) -> String] = [
            "component": { $0["component"].string ?? "" }, "parameters": { Self.grouped($0["parameters"]) }, "share": { Self.fixed(3, $0["share"]) },
        ]
        Self.compare(table, json.array, cells: cells, label: "model parameters")
        let component = { (name: String) in json.array.first { $0["component"].string == name }?["parameters"] ?? .null }
        let first = json.array.first ?? .null
        #expect(table.before.first == Self.modelHeader(first, name: "Mixtral 8x7B").first, "\(table.before)")
        #expect(table.before.dropFirst().first == Self.parameterLine(
            total: component("total"), active: component("active_per_token"), stated: component("stated_in_file"),
            attention: first["attention_parameters_share"], ffn: first["ffn_parameters_share"]), "\(table.before)")
    }

    // MARK: kv

    static let kvCells: [String: @Sendable (JSONValue) -> String] = [
        "model": { $0["model"].string ?? "" }, "attention": { $0["attention"].string ?? "" }, "context": { context($0["context"]) },
        "batch": { String($0["batch"].integer) }, "dtype": { $0["dtype"].string ?? "" }, "kv_bytes_per_token": { grouped($0["kv_bytes_per_token"]) },
        "kv_bytes_per_sequence": { grouped($0["kv_bytes_per_sequence"]) }, "ssm_state_bytes_per_sequence": { grouped($0["ssm_state_bytes_per_sequence"]) },
        "kv_bytes_total": { grouped($0["kv_bytes_total"]) }, "total_gib": { String(format: "%.2f", Double($0["kv_bytes_total"].integer) / Double(1 << 30)) },
        "fits": { $0["fits"] == .bool(true) ? "yes" : "no" }, "max_sequences": { grouped($0["max_sequences"]) },
    ]

    /// The lines under the kv table, rebuilt from the JSON.
    static func kvFooter(_ records: [JSONValue]) -> [String] {
        guard let first = records.first else { return [] }
        let g = first["tp"].integer
        let hardware = first["hardware"].string ?? ""
        let weights = "weights \(grouped(first["weight_bytes"])) bytes\(g > 1 ? " per GPU" : "")"
        var lines: [String]
        if first["budget_bytes"].integer >= 0 {
            lines = ["\(weights); KV budget on \(g > 1 ? "each " : "")\(hardware) \(grouped(first["budget_bytes"])) bytes = \(grouped(first["token_slots"])) token slots"]
        } else {
            lines = ["\(weights) do not fit in the \(grouped(first["usable_bytes"])) bytes usable on \(g > 1 ? "each " : "")\(hardware) "
                + "(HBM x memory utilization): \(NumberFormat.grouped(-first["budget_bytes"].integer)) bytes over, no room for a KV cache"]
        }
        if g > 1 {
            var line = "tensor parallel over \(g) GPUs: the byte counts above are one GPU's"
            if first["kv_heads_per_gpu"].isNumber {
                let heads = first["kv_heads_per_gpu"].integer
                line += "; \(heads) KV head\(heads == 1 ? "" : "s") per GPU"
                if first["kv_heads"].isNumber, g > first["kv_heads"].integer {
                    line += " (each of the \(first["kv_heads"].integer) replicated on \(g / first["kv_heads"].integer) GPUs, as vLLM does)"
                }
            } else {
                line += "; the MLA latent is kept whole on every GPU"
            }
            lines.append(line)
        }
        if first["cache"].string != "full" { lines.append("cache: \(first["cache"].string ?? "")") }
        for r in records where r["layer_kinds"].array.count > 1 {
            let parts = r["layer_kinds"].array.map { k in
                "\(k["kind"].string ?? "") x \(k["layers"].integer): "
                    + (k["tokens_per_layer"].isNumber ? "\(grouped(k["tokens_per_layer"])) tokens each, " : "")
                    + "\(grouped(k["bytes_per_sequence"])) bytes"
            }
            lines.append("by layer kind at \(context(r["context"])): " + parts.joined(separator: "; "))
        }
        if first["encoder_states"].isNumber {
            lines.append("cross-attention: K and V of \(grouped(first["encoder_states"])) encoder states, "
                + "\(grouped(first["cross_attention_bytes_per_sequence"])) bytes per sequence, made once per request (in kv_bytes_per_sequence)")
        }
        for r in records where r["fits"] == .bool(false) {
            let setting = "context \(context(r["context"])), batch \(r["batch"].integer)"
            lines.append(r["smallest_fitting_tp"].isNumber
                ? "\(setting) does not fit on \(g) x \(hardware); the fewest GPUs that fit it: --tp \(r["smallest_fitting_tp"].integer)"
                : "\(setting) does not fit on up to 1,024 x \(hardware) (--tp)")
        }
        return lines
    }

    @Test(arguments: [
        ["kv", "--model", "llama-2-70b", "--context", "4k,32k,128k", "--batch", "8", "--dtype", "fp8", "--allow-beyond-max"],
        ["kv", "--model", "llama-2-70b", "--context", "4k,128k", "--batch", "64", "--tp", "16", "--allow-beyond-max"],
        ["kv", "--model", "jamba-v0.1", "--context", "4k,256k", "--batch", "2"],
        ["kv", "--model", "llama-3-8b", "--context", "4k,1m", "--window", "4k", "--sinks", "4"],
        ["kv", "--model", "gemma-3-12b", "--context", "4k,128k", "--batch", "4"],
        ["kv", "--model", "whisper-large-v3", "--context", "448", "--batch", "16", "--tp", "2"],
    ])
    func kvTableIsInTheJSON(_ arguments: [String]) throws {
        let (text, json) = try Self.both(arguments)
        let table = try Table(text)
        Self.compare(table, json.array, cells: Self.kvCells, label: arguments.joined(separator: " "))
        #expect(table.after == Self.kvFooter(json.array), "\(arguments): \(table.after)")
    }

    /// Weights over the usable memory are said in words, never as a negative budget.
    @Test func weightsOverMemoryAreSaidInWords() throws {
        let text = try Self.attnsim(["kv", "--model", "llama-2-70b", "--context", "4k", "--batch", "8", "--dtype", "fp8"])
        #expect(text.contains("weights 137,953,296,384 bytes do not fit in the 77,309,411,328 bytes usable on h100-sxm (HBM x memory utilization): 60,643,885,056 bytes over, no room for a KV cache"), "\(text)")
        #expect(!text.contains("-60,643,885,056") && !text.contains("KV budget"), "\(text)")
    }

    // MARK: paged

    static let pagedCells: [String: @Sendable (JSONValue) -> String] = [
        "rate": { rate($0["rate"]) }, "policy": { $0["policy"].string ?? "" }, "token_fraction": { percent($0["token_fraction"]) },
        "reserved_fraction": { percent($0["reserved_fraction"]) }, "internal_fragmentation_fraction": { percent($0["internal_fragmentation_fraction"]) },
        "external_fragmentation_fraction": { percent($0["external_fragmentation_fraction"]) }, "max_batch": { String($0["max_batch"].integer) },
        "mean_batch": { fixed(1, $0["mean_batch"]) }, "preemptions": { String($0["preemptions"].integer) },
        "sharing_saved_fraction": { percent($0["sharing_saved_fraction"]) }, "cow_copies": { String($0["cow_copies"].integer) },
        "req/s": { fixed(2, $0["requests_per_s"]) }, "ttft_p50_ms": { fixed(1, $0["ttft_p50_s"], scale: 1000) },
        "ttft_p99_ms": { fixed(1, $0["ttft_p99_s"], scale: 1000) }, "tpot_p50_ms": { fixed(1, $0["tpot_p50_s"], scale: 1000) },
        "tpot_p99_ms": { fixed(1, $0["tpot_p99_s"], scale: 1000) }, "norm_latency_s": { fixed(3, $0["normalized_latency_mean_s"]) },
    ]

    /// A rate as Swift prints a Double (`"\(rate)"`), as the table does.
    static func rate(_ v: JSONValue) -> String { v.isNumber ? "\(v.number)" : "-" }

    static func pagedFooter(_ records: [JSONValue]) -> [String] {
        guard let first = records.first else { return [] }
        var lines = ["\(first["requests"].integer) requests, KV pool of \(grouped(first["pool_tokens"])) token slots"]
        lines.append("timing: \(first["timing"].string ?? "") per iteration" + (first["prefill_chunk"].isNumber ? ", chunked prefill of \(first["prefill_chunk"].integer) tokens" : "")
            + "; ttft = first token - arrival, tpot = (finish - first token) / output tokens, norm_latency = mean (finish - arrival) / output tokens")
        for r in records {
            let at = "\(r["policy"].string ?? "")\(r["rate"].isNumber ? " @\(rate(r["rate"]))/s" : "")"
            let cache = r["prefix_cache"], swap = r["swap"], cluster = r["cluster"]
            if cache["prompt_tokens"].isNumber {
                lines.append("\(at): prefix cache hit \(percent(cache["hit_fraction"])) of \(grouped(cache["prompt_tokens"])) prompt tokens; "
                    + "\(grouped(cache["computed_tokens"])) computed, \(grouped(cache["evicted_blocks"])) cached blocks evicted")
            }
            if swap["swap_outs"].isNumber {
                lines.append("\(at): \(grouped(swap["swap_outs"])) swapped out to \(swap["tier"].string ?? ""); \(grouped(swap["moved_blocks"])) blocks "
                    + "(\(grouped(swap["moved_bytes"])) bytes) moved in \(fixed(3, swap["transfer_s"])) s")
            }
            if cluster["replicas"].isNumber {
                lines.append("\(at): \(cluster["replicas"].integer) replicas, \(cluster["router"].string ?? "") router; requests per replica "
                    + cluster["requests_per_replica"].array.map { grouped($0) }.joined(separator: ", "))
            }
        }
        for r in records where r["pool_blocks"].isNumber {
            let parts = r["groups"].array.map { g in
                "\(g["kind"].string ?? "") x \(g["groups"].integer) group\(g["groups"].integer == 1 ? "" : "s"): mean \(fixed(1, g["mean_blocks"])), peak \(grouped(g["peak_blocks"]))"
            }
            lines.append("\(r["policy"].string ?? "")\(r["rate"].isNumber ? " @\(rate(r["rate"]))/s" : ""): hybrid pool of \(grouped(r["pool_blocks"])) blocks shared by the layer groups; blocks held: "
                + parts.joined(separator: "; "))
        }
        if first["lightest_load_normalized_latency_s"].isNumber {
            var policies: [String] = []
            for r in records where !policies.contains(r["policy"].string ?? "") { policies.append(r["policy"].string ?? "") }
            let record = policies.map { policy in records.first { $0["policy"].string == policy } }
            let sustained = record.map { $0?["sustained_rate"] ?? .null }
            let bounds = record.map { $0?["sustained_rate_lower_bound"] == .bool(true) }
            let parts = zip(policies, zip(sustained, bounds)).map { policy, r in "\(policy) \(r.0.isNumber ? (r.1 ? ">" : "") + fixed(2, r.0) : "none")" }
            var line = "sustained rate (req/s) where mean norm_latency reaches 2.0x the lightest load's (\(fixed(3, first["lightest_load_normalized_latency_s"])) s): "
                + parts.joined(separator: ", ")
            if let base = sustained.first, base.isNumber, base.number > 0, policies.count > 1 {
                let ratios = policies.indices.dropFirst().filter { sustained[$0].isNumber && !(bounds[0] && bounds[$0]) }.map { i in
                    "\(bounds[0] ? ">" : bounds[i] ? "<" : "")\(String(format: "%.2f", base.number / sustained[i].number))x \(policies[i])"
                }
                if !ratios.isEmpty { line += "; \(policies[0]) sustains " + ratios.joined(separator: ", ") }
            }
            if bounds.contains(true) { line += " (>: never reached within the swept rates, a lower bound)" }
            lines.append(line)
        }
        return lines
    }

    @Test(arguments: [
        ["paged", "--model", "opt-13b", "--hardware", "a100-40gb-sxm", "--trace", "sharegpt", "--requests", "120", "--rate", "1,8", "--timing", "fixed:0.05"],
        ["paged", "--model", "opt-13b", "--trace", "alpaca", "--requests", "60", "--sharing", "beam:4", "--timing", "fixed:0.05"],
        ["run", repositoryRoot.appendingPathComponent("scenarios/paged-gemma-2-hybrid.json").path],
        ["paged", "--model", "llama-2-7b", "--trace", "sharegpt", "--requests", "60", "--chunk", "512", "--timing", "fixed:0.02"],
        ["paged", "--model", "llama-3-8b", "--trace", "chat", "--requests", "80", "--rate", "20", "--prefix-caching", "--replicas", "2",
         "--router", "prefix-affinity", "--timing", "fixed:0.02"],
        ["paged", "--model", "opt-13b", "--hardware", "a100-40gb-sxm", "--trace", "sharegpt", "--requests", "150", "--rate", "1,20",
         "--policies", "paged,contiguous-oracle", "--preemption", "swap", "--timing", "fixed:0.05"],
    ])
    func pagedTableIsInTheJSON(_ arguments: [String]) throws {
        let (text, json) = try Self.both(arguments)
        let table = try Table(text)
        Self.compare(table, json.array, cells: Self.pagedCells, label: arguments.joined(separator: " "))
        #expect(table.after == Self.pagedFooter(json.array), "\(arguments): \(table.after)")
    }

    // MARK: validate

    @Test func validationTablesAreInTheJSON() throws {
        let (text, json) = try Self.both(["validate", repositoryRoot.appendingPathComponent("docs/data/h100-sdpa.csv").path])
        let rows = json["rows"].array, summary = json["summary"].array
        let mb = { (v: JSONValue) in v.isNumber ? String(format: "%.1f", Double(v.integer) / 1e6) : "-" }
        let pct = { (v: JSONValue) in v.isNumber ? String(format: "%+.1f%%", v.number) : "-" }
        // The row table repeats `meas` and `err`: cells by position.
        let table = try Table(text)
        let columns: [(JSONValue) -> String] = [
            { $0["name"].string ?? "" }, { $0["program"].string ?? "-" },
            { mb($0["predicted_dram_read_bytes"]) }, { mb($0["measured_dram_read_bytes"]) }, { pct($0["dram_read_error_pct"]) },
            { mb($0["predicted_dram_write_bytes"]) }, { mb($0["measured_dram_write_bytes"]) }, { pct($0["dram_write_error_pct"]) },
            { mb($0["predicted_l2_read_bytes"]) }, { mb($0["measured_l2_read_bytes"]) }, { pct($0["l2_read_error_pct"]) },
            { Self.fixed(3, $0["predicted_time_ms"]) }, { Self.fixed(3, $0["measured_time_ms"]) }, { pct($0["time_error_pct"]) },
        ]
        #expect(table.headers.count == columns.count)
        #expect(table.rows.count == rows.count)
        for (row, record) in zip(table.rows, rows) {
            for (index, cell) in columns.enumerated() { #expect(row[index] == cell(record), "\(table.headers[index]) of \(row[0])") }
        }
        // The summary per quantity (family all), then per family.
        let quantities = try Table(text, skip: 1)
        let all = summary.filter { $0["family"].string == "all" }
        #expect(quantities.rows == all.map { [$0["quantity"].string ?? "", String($0["rows"].integer), String(format: "%.1f%%", $0["median_abs_error_pct"].number),
                                             String(format: "%.1f%%", $0["p90_abs_error_pct"].number)] })
        let families = try Table(text, skip: 2)
        let names = ExpectedCharts.unique(summary.map { $0["family"].string ?? "" })
        #expect(families.rows == names.map { family in
            let lines = summary.filter { $0["family"].string == family }
            return [family, String(lines.first?["predicted_rows"].integer ?? 0)] + ["dram_read", "dram_write", "l2_read", "time"].map { q in
                lines.first { $0["quantity"].string == q }.map { String(format: "%.1f%% / %.1f%%", $0["median_abs_error_pct"].number, $0["p90_abs_error_pct"].number) } ?? "-"
            }
        })
        #expect(families.after == rows.filter { $0["error"].string != nil }.map { "not predicted: \($0["name"].string ?? ""): \($0["error"].string ?? "")" })
    }

    // MARK: tune

    static let tuneCells: [String: @Sendable (JSONValue) -> String] = [
        "rank": { String($0["rank"].integer) }, "parameters": { $0["label"].string ?? "" }, "time_us": { fixed(1, $0["time_us"]) },
        "dram_bytes": { grouped($0["dram_bytes"]) }, "l2_read_bytes": { grouped($0["l2_read_bytes"]) },
        "blocks/SM": { $0["blocks_per_sm"].isNumber ? String($0["blocks_per_sm"].integer) : "-" },
        "waves": { $0["waves"].isNumber ? String($0["waves"].integer) : "-" }, "bound": { $0["bound"].string ?? "-" },
    ]

    /// `tune --format json` holds the ranked table's rows (the first --top of its
    /// configurations, each label the sorted `name=value` pairs of its parameters), the
    /// footer's counts, and every configuration left out with the reason the footer gives.
    @Test(arguments: [
        ["tune", "--algorithm", "flash2", "--heads", "8", "--head-dim", "64", "--context", "4k", "--top", "5"],
        ["tune", "--algorithm", "flash-decoding", "--heads", "32", "--kv-heads", "8", "--head-dim", "256", "--context", "32k", "--q-len", "1", "--verbose"],
    ])
    func tuneTableIsInTheJSON(_ arguments: [String]) throws {
        let (text, json) = try Self.both(arguments)
        let table = try Table(text)
        let top = arguments.contains("--top") ? 5 : 10
        let configurations = json["configurations"].array
        Self.compare(table, Array(configurations.prefix(top)), cells: Self.tuneCells, label: arguments.joined(separator: " "))
        for record in configurations {
            guard case .object(let members) = record["parameters"] else { throw TestFailure("parameters is not an object") }
            let pairs = members.map { "\($0.key)=\($0.value.integer)" }
            #expect(record["label"].string == (pairs.isEmpty ? "(defaults)" : pairs.joined(separator: " ")))
        }
        let over = json["over_capacity"].array, refused = json["refused"].array
        var footer = ["", "\(configurations.count) configurations fit h100-sxm; \(over.count) over its shared memory or registers; \(refused.count) refused by the program"]
        footer += over.map { "  over capacity: \($0["label"].string ?? ""): \($0["reason"].string ?? "")" }
        footer += refused.map { "  refused: \($0["label"].string ?? ""): \($0["reason"].string ?? "")" }
        #expect(table.after.filter { !$0.isEmpty } == footer.filter { !$0.isEmpty }, "\(table.after)")
        let times = configurations.map { $0["time_us"].number }
        #expect(times == times.sorted(), "ranked by predicted time")
    }

    // MARK: list

    /// `list --format json` rebuilds the listing line for line.
    @Test func listIsInTheJSON() throws {
        let text = try Self.attnsim(["list"])
        let json = try JSONParser.parse(try Self.attnsim(["list", "--format", "json"]), file: "list")
        func pad(_ s: String, _ n: Int) -> String { s.padding(toLength: max(n, s.count), withPad: " ", startingAt: 0) }
        var rebuilt = "ALGORITHMS (attnsim run --algorithm NAME, or a path to your own .tile file)\n"
        for a in json["algorithms"].array {
            rebuilt += "\n  \(a["name"].string ?? "")\n    \(a["about"].string ?? "")\n"
            if let alias = a["alias_of"].string { rebuilt += "    (the \(alias) program with other defaults)\n" }
            let params = a["params"].array.map { "\($0["name"].string ?? "") = \($0["default"].string ?? "")" }
            if !params.isEmpty { rebuilt += "    params: " + params.joined(separator: ", ") + "\n" }
        }
        rebuilt += "\nFAMILIES (what the algorithms above compute, and how to select it)\n"
        for f in json["families"].array {
            rebuilt += "  \(f["name"].string ?? ""): \(f["algorithms"].array.compactMap(\.string).joined(separator: ", "))\n    select: \(f["select"].string ?? "")\n"
        }
        rebuilt += "\nBUILT-IN PARAMETERS (bound from the run; usable in any program)\n"
        for p in json["builtin_parameters"].array { rebuilt += "  \(pad(p["name"].string ?? "", 11)) \(p["meaning"].string ?? "")\n" }
        rebuilt += "\nMODELS (attnsim kv / paged --model NAME, or a path to a model .json)\n"
        for m in json["models"].array {
            var line = "  \(pad(m["name"].string ?? "", 16)) \(m["model"].string ?? ""): \(m["layers"].integer) layers, "
                + "\(m["heads"].integer) heads / \(m["kv_heads"].integer) KV (\(m["attention"].string ?? "")), head_dim \(m["head_dim"].integer)"
            if m["mla_kv_lora_rank"].isNumber { line += ", MLA latent \(m["mla_kv_lora_rank"].integer) + RoPE key \(m["mla_qk_rope_head_dim"].integer)" }
            if m["sliding_window"].isNumber {
                let w = m["sliding_window"].integer
                line += m["sliding_window_pattern"].isNumber ? ", window \(w) on \(m["sliding_window_pattern"].integer - 1) of every \(m["sliding_window_pattern"].integer) layers" : ", window \(w)"
            } else if m["per_layer_windows"] == .bool(true) {
                line += ", per-layer windows"
            }
            if m["attention_sinks"].integer > 0 { line += ", \(m["attention_sinks"].integer) sink tokens" }
            if m["attention_chunk_size"].isNumber {
                let chunk = m["attention_chunk_size"].integer, pattern = m["attention_chunk_pattern"]
                line += pattern.isNumber ? ", chunk \(chunk) on \(pattern.integer - 1) of every \(pattern.integer) layers" : ", chunk \(chunk)"
            }
            if m["indexer_top_k"].isNumber { line += ", lightning indexer top-\(m["indexer_top_k"].integer)" }
            if m["ssm_layers"].integer > 0 { line += ", \(m["attention_layers"].integer) attention + \(m["ssm_layers"].integer) SSM layers" }
            if m["deltanet_layers"].integer > 0 { line += ", \(m["attention_layers"].integer) attention + \(m["deltanet_layers"].integer) Gated DeltaNet layers" }
            if let dtype = m["expert_dtype"].string { line += ", \(m["experts"].integer) experts in \(dtype)" }
            if m["cross_attention_encoder_states"].isNumber { line += ", cross-attention over \(m["cross_attention_encoder_states"].integer) encoder states" }
            rebuilt += line + "\n"
        }
        rebuilt += "\nHARDWARE (--hardware NAME, or a path to a profile .json)\n"
        for h in json["hardware"].array {
            rebuilt += "  \(pad(h["name"].string ?? "", 14)) \(h["profile"].string ?? ""): \(Self.grouped(h["sram_bytes_per_block"])) B SRAM/block, "
                + "\(h["sm_count"].integer) SMs, \(h["hbm_bytes_per_s"].number / 1e12) TB/s HBM\n"
        }
        #expect(rebuilt == text)
        let bad = CapturedConsole()
        #expect(AttnSimCommand.main(["list", "--format", "csv"], console: bad.console) == 64)
        #expect(bad.stderr.hasPrefix("error: '--format' expects table or json, found 'csv'"))
    }
}
