import AttnJSON
import AttnNumerics
import Calibration

/// Renders cost-model validation: per row, then the error summary.
public enum ValidationReport {
    public static func render(_ records: [ValidationRecord], format: ReportFormat) -> String {
        switch format {
        case .json:
            return JSONOutput.object([
                ("rows", .array(records.map(json))),
                ("summary", .array(ErrorSummaryRow.table(records).map { line in
                    // The family's predicted rows, as the family table counts them.
                    guard case .object(var fields) = json(line) else { return json(line) }
                    fields.append(("predicted_rows", .int(predictedRows(records, family: line.family))))
                    return .object(fields)
                })),
            ]).render() + "\n"
        case .csv:
            // Rows, then the summary as rows named `summary:FAMILY:QUANTITY` whose
            // predicted and measured columns carry the median and 90th-percentile |error|.
            let columns = ["name", "family", "program", "predicted_dram_read_bytes", "measured_dram_read_bytes", "predicted_dram_write_bytes",
                           "measured_dram_write_bytes", "predicted_l2_read_bytes", "measured_l2_read_bytes", "predicted_time_ms",
                           "measured_time_ms", "spill_bytes", "error", "rows", "median_abs_error_pct", "p90_abs_error_pct"]
            var cells = records.map { json($0).scalarCells(columns) }
            for line in ErrorSummaryRow.table(records) {
                cells.append(json(line).scalarCells(columns).enumerated().map { $0.offset == 0 ? "summary:\(line.family):\(line.quantity)" : $0.element })
            }
            return TextTable(headers: columns, rows: cells, rightAligned: []).renderCSV()
        case .table, .markdown:
            func pct(_ x: Double?) -> String { x.map { String(format: "%+.1f%%", $0) } ?? "-" }
            func mb(_ x: Int?) -> String { x.map { String(format: "%.1f", Double($0) / 1e6) } ?? "-" }
            let headers = ["name", "program", "dram_read_MB", "meas", "err", "dram_write_MB", "meas", "err",
                           "l2_read_MB", "meas", "err", "time_ms", "meas", "err"]
            let rows = records.map { r -> [String] in
                let p = r.prediction
                return [r.row.name, r.program ?? "-", mb(p?.dramReadBytes), mb(r.row.dramReadBytes), pct(r.dramReadError),
                        mb(p?.dramWriteBytes), mb(r.row.dramWriteBytes), pct(r.dramWriteError),
                        mb(p?.l2ReadBytes), mb(r.row.l2ReadBytes), pct(r.l2ReadError),
                        p.map { String(format: "%.3f", $0.seconds * 1000) } ?? "-", String(format: "%.3f", r.row.timeMilliseconds), pct(r.timeError)]
            }
            let table = TextTable(headers: headers, rows: rows, rightAligned: Set(2..<headers.count))
            var text = format == .table ? table.renderText() : table.renderMarkdown()
            text += "\n" + summary(records) + "\n" + familyTable(records)
            let skipped = records.filter { $0.prediction == nil }
            for record in skipped { text += "not predicted: \(record.row.name): \(record.error ?? "")\n" }
            return text
        }
    }

    /// Median and 90th-percentile absolute % error per quantity.
    public static func summary(_ records: [ValidationRecord]) -> String {
        let quantities: [(String, (ValidationRecord) -> Double?)] = [
            ("dram_read", \.dramReadError), ("dram_write", \.dramWriteError), ("l2_read", \.l2ReadError), ("time", \.timeError),
        ]
        var rows: [[String]] = []
        for (name, error) in quantities {
            guard let s = ErrorSummary(records.compactMap(error)) else { continue }
            rows.append([name, String(s.count), String(format: "%.1f%%", s.median), String(format: "%.1f%%", s.p90)])
        }
        return TextTable(headers: ["quantity", "rows", "median_abs_error", "p90_abs_error"], rows: rows, rightAligned: [1, 2, 3]).renderText()
    }

    /// Median / 90th-percentile absolute % error per group (rows: all, each family, each
    /// file when there are several) and quantity (columns).
    public static func familyTable(_ records: [ValidationRecord]) -> String {
        let lines = ErrorSummaryRow.table(records)
        let quantities = ValidationRecord.quantities.map(\.name)
        var rows: [[String]] = []
        for (family, groupRecords) in ErrorSummaryRow.groups(records) {
            let members = lines.filter { $0.family == family }
            guard !members.isEmpty else { continue }
            let count = groupRecords.filter { $0.prediction != nil }.count
            var row = [family, String(count)]
            for quantity in quantities {
                if let s = members.first(where: { $0.quantity == quantity })?.summary {
                    row.append(String(format: "%.1f%% / %.1f%%", s.median, s.p90))
                } else {
                    row.append("-")
                }
            }
            rows.append(row)
        }
        return TextTable(
            headers: ["family", "rows"] + quantities.map { "\($0) median/p90" }, rows: rows, rightAligned: Set(1..<(2 + quantities.count))
        ).renderText()
    }

    /// Rows of `family` (`all`: every row) that have a prediction.
    /// Rows with a prediction in a summary group (`all`, a family or `file:NAME`).
    static func predictedRows(_ records: [ValidationRecord], family: String) -> Int {
        let group = ErrorSummaryRow.groups(records).first { $0.label == family }?.records ?? []
        return group.filter { $0.prediction != nil }.count
    }

    static func json(_ line: ErrorSummaryRow) -> JSONOutput {
        .object([
            ("family", .string(line.family)), ("quantity", .string(line.quantity)), ("rows", .int(line.summary.count)),
            ("median_abs_error_pct", .double(line.summary.median)), ("p90_abs_error_pct", .double(line.summary.p90)),
        ])
    }

    public static func json(_ r: ValidationRecord) -> JSONOutput {
        let p = r.prediction
        return .object([
            ("name", .string(r.row.name)), ("family", .string(r.family)), ("program", r.program.map { .string($0) } ?? .null),
            ("predicted_dram_read_bytes", p.map { .int($0.dramReadBytes) } ?? .null), ("measured_dram_read_bytes", .int(r.row.dramReadBytes)),
            ("predicted_dram_write_bytes", p.map { .int($0.dramWriteBytes) } ?? .null), ("measured_dram_write_bytes", .int(r.row.dramWriteBytes)),
            ("predicted_l2_read_bytes", p.map { .int($0.l2ReadBytes) } ?? .null), ("measured_l2_read_bytes", .int(r.row.l2ReadBytes)),
            ("predicted_time_ms", p.map { .double($0.seconds * 1000) } ?? .null), ("measured_time_ms", .double(r.row.timeMilliseconds)),
            ("spill_bytes", p.map { .int($0.spillBytes) } ?? .null),
            ("error", r.error.map { .string($0) } ?? .null),
            // (predicted - measured) / measured x 100, null without a prediction or a measure.
            ("dram_read_error_pct", r.dramReadError.map { .double($0) } ?? .null),
            ("dram_write_error_pct", r.dramWriteError.map { .double($0) } ?? .null),
            ("l2_read_error_pct", r.l2ReadError.map { .double($0) } ?? .null),
            ("time_error_pct", r.timeError.map { .double($0) } ?? .null),
        ])
    }
}
