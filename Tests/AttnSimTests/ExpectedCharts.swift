import AttnJSON
import AttnNumerics
import Foundation
import AttnTestSupport

/// The charts a report page must draw, computed here from the JSON of the command that
/// made it (independently of the page's script): per chart its id, series (legend order),
/// points, which points a log axis can show, and the fitted log-log slopes.
enum ExpectedCharts {
    struct Point {
        var series: String
        /// The x value as the page writes it: a number's text (`text`) or a category.
        var x: String
        var y: Double?
    }

    struct Chart {
        var id: String
        var type: String
        var series: [String]
        var points: [Point]
        var categories: [String] = []
        var xLog = false
        var yLog = false
        var slopes: [String: Double] = [:]
        /// Values copied from the JSON compare exactly; sums and derived values within 1e-9.
        var exact = true

        /// Whether the chart can draw `p` on its axes.
        func drawable(_ p: Point) -> Bool {
            guard let y = p.y, y.isFinite else { return false }
            if type == "bars" { return true }
            guard let x = Double(p.x), x.isFinite else { return false }
            return (!xLog || x > 0) && (!yLog || y > 0)
        }
    }

    /// A number as JavaScript's String(x) writes it, for the values the pages show:
    /// integers without a fraction, others in Swift's shortest form (both round-trip).
    static func text(_ x: Double) -> String {
        if x == x.rounded(), abs(x) < 1e15 { return String(Int(x)) }
        return "\(x)"
    }

    /// A context as report.js labels it: 4096 -> 4k, 1048576 -> 1m, else grouped.
    static func tokens(_ n: Int) -> String {
        if n >= 1_048_576 && n % 1_048_576 == 0 { return "\(n / 1_048_576)m" }
        if n >= 1024 && n % 1024 == 0 { return "\(n / 1024)k" }
        return NumberFormat.grouped(n)
    }

    /// Least squares of ln y on ln x over the positive points; nil below two points.
    static func slope(_ points: [(Double, Double)]) -> Double? {
        let logs = points.filter { $0.0 > 0 && $0.1 > 0 }.map { (log($0.0), log($0.1)) }
        guard logs.count >= 2 else { return nil }
        let n = Double(logs.count)
        let mx = logs.reduce(0) { $0 + $1.0 } / n, my = logs.reduce(0) { $0 + $1.1 } / n
        var sxx = 0.0, sxy = 0.0
        for (x, y) in logs {
            sxx += (x - mx) * (x - mx)
            sxy += (x - mx) * (y - my)
        }
        return sxx == 0 ? nil : sxy / sxx
    }

    static func unique(_ values: [String]) -> [String] {
        var out: [String] = []
        for v in values where !out.contains(v) { out.append(v) }
        return out
    }

    /// An xy chart of series from `records`: each series' points, and slopes when fitted.
    static func xy(
        _ id: String, series: [(name: String, points: [(Double, Double?)])], xLog: Bool, yLog: Bool, fit: Bool, exact: Bool = true
    ) -> Chart {
        var chart = Chart(id: id, type: "xy", series: series.map(\.name), points: [], xLog: xLog, yLog: yLog, exact: exact)
        for (name, points) in series {
            chart.points += points.map { Point(series: name, x: text($0.0), y: $0.1) }
            if fit, let k = slope(points.compactMap { p in p.1.map { (p.0, $0) } }) { chart.slopes[name] = k }
        }
        return chart
    }

    /// A bar chart: per series its value in each category (nil: not drawn).
    static func bars(_ id: String, categories: [String], series: [(name: String, values: [Double?])], exact: Bool = true) -> Chart {
        var chart = Chart(id: id, type: "bars", series: series.map(\.name), points: [], categories: categories, exact: exact)
        for (name, values) in series {
            chart.points += zip(categories, values).map { Point(series: name, x: $0, y: $1) }
        }
        return chart
    }

    /// The charts of a page of `kind` whose datasets (by name) are `data`.
    static func charts(kind: String, data: [String: JSONValue]) throws -> [Chart] {
        switch kind {
        case "run": return run(try records(data, "records"))
        case "roofline": return roofline(try records(data, "roofline"))
        case "model": return try model(data)
        case "kv": return kv(try records(data, "kv"))
        case "paged": return paged(try records(data, "paged"))
        case "validate":
            guard let validation = data["validation"] else { throw TestFailure("no validation dataset") }
            return validate(validation)
        default: throw TestFailure("unknown report kind '\(kind)'")
        }
    }

    static func records(_ data: [String: JSONValue], _ name: String) throws -> [JSONValue] {
        guard case .array(let items)? = data[name] else { throw TestFailure("no \(name) dataset (an array)") }
        return items
    }

    /// Series in order of first appearance, each with its records.
    static func grouped(_ records: [JSONValue], by key: String) -> [(String, [JSONValue])] {
        unique(records.map { $0[key].string ?? "" }).map { name in (name, records.filter { $0[key].string == name }) }
    }

    static func run(_ records: [JSONValue]) -> [Chart] {
        let levels: [(String, (JSONValue) -> Double)] = [
            ("hbm-bytes", { $0["hbm_read_bytes"].number + $0["hbm_write_bytes"].number }),
            ("sram-bytes", { $0["sram_read_bytes"].number + $0["sram_write_bytes"].number }),
            ("register-bytes", { $0["sram_to_reg_bytes"].number + $0["reg_to_sram_bytes"].number }),
            ("flops", { $0["flops_matmul"].number + $0["flops_other"].number }),
            ("time", { $0["time_us"].number }),
        ]
        return levels.map { id, value in
            xy(id, series: grouped(records, by: "algorithm").map { name, rows in (name, rows.map { ($0["context"].number, value($0)) }) },
               xLog: true, yLog: true, fit: true)
        }
    }

    static func roofline(_ records: [JSONValue]) -> [Chart] {
        let kernels = records.filter { $0["kernel"].string != "total" }
        let totals = records.filter { $0["kernel"].string == "total" }
        return [
            xy("roofline", series: grouped(kernels, by: "algorithm").map { name, rows in
                (name, rows.map { ($0["arithmetic_intensity"].number, $0["achieved_flops_per_s"].number) })
            }, xLog: true, yLog: true, fit: false),
            xy("predicted-time", series: grouped(totals, by: "algorithm").map { name, rows in
                (name, rows.map { ($0["context"].number, $0["time_us"].number) })
            }, xLog: true, yLog: true, fit: true),
        ]
    }

    static func model(_ data: [String: JSONValue]) throws -> [Chart] {
        let summary = try records(data, "summary")
        var charts: [Chart] = []
        var steps: [JSONValue] = []
        for name in ["operators-prefill", "operators-decode"] where data[name] != nil { steps += try records(data, name) }
        let ops = steps.filter { $0["operator"].string != "total" }
        for phase in unique(ops.map { $0["phase"].string ?? "" }) {
            let rows = ops.filter { $0["phase"].string == phase }
            let contexts = unique(rows.map { tokens($0["context"].integer) })
            func sum(_ include: (JSONValue) -> Bool) -> Double {
                rows.reduce(0.0) { include($1) ? $0 + $1["total_us"].number : $0 }
            }
            for (id, key) in [("step-by-category", { (r: JSONValue) in r["category"].string ?? "" }), ("step-by-layers", { (r: JSONValue) in "layers " + (r["layers"].string ?? "") })] {
                charts.append(bars("\(id)-\(phase)", categories: contexts, series: unique(rows.map(key)).map { name in
                    (name, contexts.map { c in sum { tokens($0["context"].integer) == c && key($0) == name } })
                }, exact: false))
            }
            let opKey = { (r: JSONValue) -> String in (r["layers"].string == "model" ? "" : "[\(r["layers"].string ?? "")] ") + (r["operator"].string ?? "") }
            let names = unique(rows.map(opKey))
            charts.append(bars("operators-\(phase)", categories: names, series: contexts.map { c in
                ("context \(c)", names.map { n in sum { tokens($0["context"].integer) == c && opKey($0) == n } })
            }, exact: false))
        }
        var latency = [("time to first token (prefill)", summary.map { ($0["context"].number, Optional($0["ttft_ms"].number)) })]
        let decoded = summary.filter { $0["tpot_ms"] != .null }
        if !decoded.isEmpty { latency.append(("time per output token (decode)", decoded.map { ($0["context"].number, Optional($0["tpot_ms"].number)) })) }
        charts.append(xy("latency", series: latency, xLog: true, yLog: true, fit: true))
        charts.append(bars("memory", categories: summary.map { tokens($0["context"].integer) }, series: [
            ("weights", summary.map { $0["weight_bytes"].number }), ("KV cache", summary.map { $0["kv_bytes"].number }),
            ("activations", summary.map { $0["activation_bytes"].number }),
        ]))
        if data["parameters"] != nil {
            let parts = try records(data, "parameters").filter { !["total", "active_per_token", "stated_in_file"].contains($0["component"].string ?? "") }
            charts.append(bars("parameters", categories: parts.map { $0["component"].string ?? "" }, series: [("parameters", parts.map { $0["parameters"].number })]))
        }
        if data["speculative"] != nil { charts += try speculative(try records(data, "speculative")) }
        return charts
    }

    /// The speculative section of a model page (`model --speculative`): a step's draft and
    /// verify time per context, TPOT against plain decoding, and with --crossover the
    /// crossover and largest batches (a null crossover draws no bar).
    static func speculative(_ rows: [JSONValue]) throws -> [Chart] {
        let contexts = rows.map { tokens($0["context"].integer) }
        var charts = [
            bars("speculative-step", categories: contexts, series: [
                ("draft passes", rows.map { $0["draft_ms"].number }), ("verify step", rows.map { $0["verify_ms"].number }),
            ]),
            xy("speculative-tpot", series: [
                ("speculative", rows.map { ($0["context"].number, Optional($0["tpot_ms"].number)) }),
                ("plain decoding", rows.map { ($0["context"].number, Optional($0["plain_tpot_ms"].number)) }),
            ], xLog: true, yLog: true, fit: false),
        ]
        let crossover = rows.contains { row in
            guard case .object(let members) = row else { return false }
            return members.contains { $0.key == "crossover_batch" }
        }
        if crossover {
            charts.append(bars("speculative-crossover", categories: contexts, series: [
                ("crossover batch (speedup <= 1)", rows.map { $0["crossover_batch"].isNumber ? $0["crossover_batch"].number : nil }),
                ("largest batch that fits", rows.map { $0["max_batch"].number }),
            ]))
        }
        return charts
    }

    static func kv(_ records: [JSONValue]) -> [Chart] {
        var series = [("KV cache per sequence", records.map { ($0["context"].number, Optional($0["kv_bytes_per_sequence"].number)) })]
        if records.contains(where: { $0["ssm_state_bytes_per_sequence"].number > 0 }) {
            series.append(("SSM state per sequence", records.map { ($0["context"].number, Optional($0["ssm_state_bytes_per_sequence"].number)) }))
        }
        return [
            xy("kv-per-sequence", series: series, xLog: true, yLog: true, fit: true),
            bars("kv-memory", categories: records.map { "\(tokens($0["context"].integer)) x \($0["batch"].integer)" }, series: [
                ("weights", records.map { $0["weight_bytes"].number }), ("KV cache of the batch", records.map { $0["kv_bytes_total"].number }),
            ]),
            xy("max-sequences", series: [("max sequences", records.map { ($0["context"].number, Optional($0["max_sequences"].number)) })], xLog: true, yLog: false, fit: false),
        ]
    }

    /// A rate as JavaScript writes it in a label (0.5, 1, 10).
    static func rateText(_ rate: JSONValue) -> String {
        switch rate {
        case .integer(let i): return String(i)
        case .number(let x): return text(x)
        default: return "null"
        }
    }

    static func paged(_ stats: [JSONValue]) -> [Chart] {
        var charts: [Chart] = []
        let byRate = stats.allSatisfy { $0["rate"] != .null }
        let policies = unique(stats.map { $0["policy"].string ?? "" })
        for (quantity, id) in [("ttft", "ttft"), ("tpot", "tpot"), ("normalized_latency", "normalized-latency")] {
            var series: [(String, [(Double, Double?)])] = []
            for policy in policies {
                for statistic in ["mean", "p50", "p90", "p99"] {
                    let rows = stats.filter { $0["policy"].string == policy && $0["\(quantity)_\(statistic)_s"].isNumber }
                    guard !rows.isEmpty else { continue }
                    series.append(("\(policy) \(statistic)", rows.map { (byRate ? $0["rate"].number : $0["requests_per_s"].number, Optional($0["\(quantity)_\(statistic)_s"].number)) }))
                }
            }
            charts.append(xy(id, series: series, xLog: true, yLog: true, fit: false))
        }
        if stats.contains(where: { $0["token_fraction"] != .null }) {
            let categories = stats.map { ($0["policy"].string ?? "") + ($0["rate"] == .null ? "" : " @\(rateText($0["rate"]))/s") }
            charts.append(bars("memory-breakdown", categories: categories, series: [
                ("token states", "token_fraction"), ("reserved", "reserved_fraction"), ("internal fragmentation", "internal_fragmentation_fraction"),
                ("external fragmentation", "external_fragmentation_fraction"),
            ].map { name, field in (name, stats.map { $0[field].isNumber ? $0[field].number : nil }) }))
        }
        let rates = unique(stats.map { rateText($0["rate"]) })
        for (k, rate) in rates.enumerated() {
            let rows = stats.filter { rateText($0["rate"]) == rate }
            let suffix = rates.count > 1 ? "-\(k + 1)" : ""
            charts.append(xy("kv-over-time" + suffix, series: rows.map { r in
                (r["policy"].string ?? "", r["timeline"].array.map { ($0["time_s"].number, Optional($0["allocated_tokens"].number)) })
            }, xLog: false, yLog: false, fit: false))
            var series: [(String, [(Double, Double?)])] = []
            for r in rows {
                series.append(("\(r["policy"].string ?? "") admitted", r["timeline"].array.map { ($0["time_s"].number, Optional($0["admitted"].number)) }))
                series.append(("\(r["policy"].string ?? "") running", r["timeline"].array.map { ($0["time_s"].number, Optional($0["running"].number)) }))
            }
            charts.append(xy("admitted" + suffix, series: series, xLog: false, yLog: false, fit: false))
        }
        return charts
    }

    static func validate(_ validation: JSONValue) -> [Chart] {
        let rows = validation["rows"].array.filter { $0["error"] == .null }
        let summary = validation["summary"].array
        let families = unique(rows.map { $0["family"].string ?? "" })
        var charts: [Chart] = []
        for (quantity, predicted, measured) in [
            ("dram-read", "predicted_dram_read_bytes", "measured_dram_read_bytes"), ("dram-write", "predicted_dram_write_bytes", "measured_dram_write_bytes"),
            ("l2-read", "predicted_l2_read_bytes", "measured_l2_read_bytes"), ("time", "predicted_time_ms", "measured_time_ms"),
        ] {
            let points = rows.filter { $0[predicted] != .null }
            guard !points.isEmpty else { continue }
            charts.append(xy("validate-\(quantity)", series: families.map { family in
                (family, points.filter { $0["family"].string == family }.map { ($0[measured].number, Optional($0[predicted].number)) })
            }, xLog: true, yLog: true, fit: false))
        }
        let fams = unique(summary.map { $0["family"].string ?? "" })
        let quantities = unique(summary.map { $0["quantity"].string ?? "" })
        charts.append(bars("validate-summary", categories: fams, series: quantities.map { q in
            (q, fams.map { f in summary.first { $0["family"].string == f && $0["quantity"].string == q }.map { $0["median_abs_error_pct"].number } })
        }))
        return charts
    }
}

extension JSONValue {
    /// The member `key` of an object (`.null` when absent or not an object).
    subscript(key: String) -> JSONValue {
        guard case .object(let members) = self else { return .null }
        return members.first { $0.key == key }?.value ?? .null
    }

    var string: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    /// A number as a Double (NaN when not a number).
    var number: Double {
        switch self {
        case .integer(let i): return Double(i)
        case .number(let x): return x
        default: return .nan
        }
    }

    var isNumber: Bool {
        switch self {
        case .integer, .number: return true
        default: return false
        }
    }

    var integer: Int {
        switch self {
        case .integer(let i): return i
        case .number(let x): return Int(x)
        default: return 0
        }
    }

    var array: [JSONValue] {
        if case .array(let items) = self { return items }
        return []
    }
}
