import AttnJSON
import AttnNumerics
import AttnScenario
import TileInterpreter
import TileLanguage

/// Renders run records in each `ReportFormat`.
public enum RecordReport {
    public static func render(_ records: [RunRecord], format: ReportFormat) -> String {
        switch format {
        case .table: return table(records).renderText()
        case .markdown: return table(records).renderMarkdown()
        case .csv: return csv(records).renderCSV()
        case .json: return JSONOutput.array(records.map(json)).render() + "\n"
        }
    }

    /// `1234567` as `1,234,567`.
    public static func grouped(_ n: Int) -> String { NumberFormat.grouped(n) }

    /// Three significant digits in scientific notation: `2.13e-07`.
    public static func scientific(_ x: Double) -> String {
        guard x.isFinite else { return x.isNaN ? "nan" : "inf" }
        if x == 0 { return "0" }
        var exponent = Int((abs(x)).log10Floor)
        var mantissa = x / pow10(exponent)
        if abs(mantissa) >= 9.995 {
            exponent += 1
            mantissa /= 10
        }
        let rounded = (mantissa * 100).rounded() / 100
        let m = String(format: "%.2f", rounded)
        return "\(m)e\(exponent < 0 ? "-" : "+")\(abs(exponent) < 10 ? "0" : "")\(abs(exponent))"
    }

    private static func pow10(_ e: Int) -> Double {
        var r = 1.0
        for _ in 0..<abs(e) { r *= 10 }
        return e < 0 ? 1 / r : r
    }

    private static func table(_ records: [RunRecord]) -> TextTable {
        let numeric = records.contains { $0.mode == .numeric }
        // Prefill runs have queries = context; show q_len only when some run differs.
        let showQueries = records.contains { $0.shape.queryLength != $0.context }
        var headers = ["algorithm", "context"] + (showQueries ? ["q_len"] : []) + ["hbm_read_bytes", "hbm_write_bytes", "sram_bytes", "flops_matmul",
                       "flops_other", "exp+log", "peak_sram_bytes", "intensity", "time_us", "bound"]
        if numeric { headers += ["max_abs_error", "max_rel_error", "check"] }
        let rows = records.map { r -> [String] in
            let t = r.total
            var row = [r.algorithm, ContextList.format(r.context)] + (showQueries ? [ContextList.format(r.shape.queryLength)] : [])
            row += [
                grouped(t.hbmReadBytes), grouped(t.hbmWriteBytes),
                grouped(t.sramReadBytes + t.sramWriteBytes), grouped(t.flopsMatmul), grouped(t.flopsOther),
                grouped(t.exps + t.logs), grouped(t.peakSramBytes), String(format: "%.1f", r.arithmeticIntensity),
                String(format: "%.1f", r.seconds * 1e6), r.bound.rawValue,
            ]
            if numeric {
                row += [r.maxAbsoluteError.map(scientific) ?? "-", r.maxRelativeError.map(scientific) ?? "-", r.verdict]
            }
            return row
        }
        let bound = headers.firstIndex(of: "bound") ?? headers.count
        return TextTable(headers: headers, rows: rows, rightAligned: Set(1..<headers.count).subtracting([bound]))
    }

    /// The CSV columns are the JSON record's scalar fields.
    static let csvColumns = [
        "algorithm", "program", "hardware", "mode", "dtype", "batch", "heads", "kv_heads", "head_dim", "q_len",
        "context", "hbm_read_bytes", "hbm_write_bytes", "sram_read_bytes", "sram_write_bytes", "sram_to_reg_bytes", "reg_to_sram_bytes",
        "flops_matmul", "flops_other", "flops_exp", "flops_log", "masked_elements", "peak_sram_bytes", "peak_reg_bytes",
        "thread_blocks", "arithmetic_intensity", "time_us", "bound", "max_abs_error", "max_rel_error", "check",
    ]

    private static func csv(_ records: [RunRecord]) -> TextTable {
        let rows = records.map { record -> [String] in
            let fields = Dictionary(scalarFields(record), uniquingKeysWith: { a, _ in a })
            return csvColumns.map { key in
                switch fields[key] {
                case .string(let s): return s
                case .int(let i): return String(i)
                case .double(let x): return x.isFinite ? "\(x)" : ""
                default: return ""
                }
            }
        }
        return TextTable(headers: csvColumns, rows: rows, rightAligned: [])
    }

    private static func scalarFields(_ r: RunRecord) -> [(String, JSONOutput)] {
        let t = r.total
        // Tensor memory's edges and peak, only for a program that places tiles there (`-> tmem`).
        let tensorMemory: [(String, JSONOutput)] =
            t.peakTensorMemoryBytes == 0
            ? [] : [("tmem_to_reg_bytes", .int(t.tensorMemoryToRegisters)), ("reg_to_tmem_bytes", .int(t.registersToTensorMemory)),
                    ("peak_tmem_bytes", .int(t.peakTensorMemoryBytes))]
        return [
            ("algorithm", .string(r.algorithm)), ("program", .string(r.program)), ("hardware", .string(r.hardware)),
            ("mode", .string(r.mode.rawValue)), ("dtype", .string(r.dtype.rawValue)),
            ("batch", .int(r.shape.batch)), ("heads", .int(r.shape.heads)), ("kv_heads", .int(r.shape.kvHeads)),
            ("head_dim", .int(r.shape.headDim)), ("q_len", .int(r.shape.queryLength)), ("context", .int(r.context)),
            ("hbm_read_bytes", .int(t.hbmReadBytes)), ("hbm_write_bytes", .int(t.hbmWriteBytes)),
            ("sram_read_bytes", .int(t.sramReadBytes)), ("sram_write_bytes", .int(t.sramWriteBytes)),
            ("sram_to_reg_bytes", .int(t.sramToRegisters)), ("reg_to_sram_bytes", .int(t.registersToSram)),
        ] + tensorMemory + [
            ("flops_matmul", .int(t.flopsMatmul)), ("flops_other", .int(t.flopsOther)),
            ("flops_exp", .int(t.exps)), ("flops_log", .int(t.logs)), ("masked_elements", .int(t.maskedElements)),
            ("peak_sram_bytes", .int(t.peakSramBytes)), ("peak_reg_bytes", .int(t.peakRegisterBytes)),
            ("thread_blocks", .int(r.stats.blocks)), ("arithmetic_intensity", .double(r.arithmeticIntensity)),
            ("time_us", .double(r.seconds * 1e6)), ("bound", .string(r.bound.rawValue)),
            ("max_abs_error", r.maxAbsoluteError.map { .double($0) } ?? .null),
            ("max_rel_error", r.maxRelativeError.map { .double($0) } ?? .null),
            ("check", r.passed == nil ? .null : .string(r.verdict)),
        ]
    }

    /// One JSON record: the scalar fields, then parameters, per-tensor traffic, checks and
    /// per-kernel counters.
    public static func json(_ r: RunRecord) -> JSONOutput {
        var members = scalarFields(r)
        members.append(("params", .object(r.parameters.map { ($0.name, scalar($0.value)) })))
        members.append(("hbm_bytes_by_tensor", .object(zip(r.stats.tensorNames, r.total.tensors).map { name, traffic in
            (name, .object([
                ("read", .int(traffic.readBytes)), ("write", .int(traffic.writeBytes)),
                ("hbm_to_sram", .int(traffic.hbmToSram)), ("hbm_to_reg", .int(traffic.hbmToRegisters)),
                ("sram_to_hbm", .int(traffic.sramToHbm)), ("reg_to_hbm", .int(traffic.registersToHbm)),
            ]))
        })))
        members.append(("checks", .array(r.checks.map { check in
            .object([
                ("tensor", .string(check.tensor)), ("reference", .string(check.reference.rawValue)),
                ("max_abs_error", .double(check.error.maxAbsoluteError)),
                ("max_rel_error", .double(check.error.maxRelativeError)),
                ("tolerance", .double(check.tolerance)), ("tolerance_given", .bool(check.toleranceOverridden)),
                ("passed", .bool(check.passed)),
                ("worst", .object([
                    ("index", .array(check.worstCoordinates.map { .int($0) })),
                    ("value", .double(check.error.worstValue)), ("reference", .double(check.error.worstReference)),
                ])),
            ])
        })))
        // The predicted kernels are those with blocks, in order.
        var predicted = r.prediction.kernels.makeIterator()
        members.append(("kernels", .array(r.stats.kernels.map { k in
            let p = k.blocks > 0 ? predicted.next() : nil
            return .object([
                ("name", .string(k.name)), ("grid", .array(k.grid.map { .int($0) })), ("thread_blocks", .int(k.blocks)),
                ("hbm_read_bytes", .int(k.counters.hbmReadBytes)), ("hbm_write_bytes", .int(k.counters.hbmWriteBytes)),
                ("sram_read_bytes", .int(k.counters.sramReadBytes)), ("sram_write_bytes", .int(k.counters.sramWriteBytes)),
                ("sram_to_reg_bytes", .int(k.counters.sramToRegisters)),
                ("flops_matmul", .int(k.counters.flopsMatmul)), ("flops_other", .int(k.counters.flopsOther)),
                ("flops_exp", .int(k.counters.exps)), ("flops_log", .int(k.counters.logs)),
                ("masked_elements", .int(k.counters.maskedElements)),
                ("peak_sram_bytes", .int(k.counters.peakSramBytes)), ("peak_reg_bytes", .int(k.counters.peakRegisterBytes)),
                ("time_us", p.map { .double($0.seconds * 1e6) } ?? .null), ("bound", p.map { .string($0.bound.rawValue) } ?? .null),
            ])
        })))
        return .object(members)
    }

    private static func scalar(_ v: ScalarValue) -> JSONOutput {
        switch v {
        case .int(let i): return .int(i)
        case .float(let x): return .double(x)
        }
    }
}

private extension Double {
    var log10Floor: Double { Foundation.floor(Foundation.log10(self)) }
}

import Foundation
