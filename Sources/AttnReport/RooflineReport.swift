import AttnJSON
import AttnNumerics
import AttnScenario
import CostModel

/// One algorithm at one context, with its prediction.
public struct RooflineRow: Sendable {
    public var algorithm: String
    public var context: Int
    public var queryLength: Int
    public var prediction: RunPrediction
    /// The roof: the sustained matmul rate (FLOP/s) at the run's dtype and the DRAM
    /// bandwidth (bytes/s) of the cost model (`CostModel.matmulFlopsPerSecond`,
    /// `hbmBytesPerSecond`).
    public var peakFlopsPerSecond: Double
    public var dramBytesPerSecond: Double
    /// The matmul ceiling each kernel was timed against, in `prediction.kernels`' order
    /// (`CostModel.matmulCeilings`: a kernel declaring `mma(async, fp8e4m3)` runs under the
    /// FP8 roof); empty: every kernel under `peakFlopsPerSecond`.
    public var kernelPeakFlopsPerSecond: [Double]

    public init(
        algorithm: String, context: Int, queryLength: Int, prediction: RunPrediction, peakFlopsPerSecond: Double, dramBytesPerSecond: Double,
        kernelPeakFlopsPerSecond: [Double] = []
    ) {
        self.algorithm = algorithm
        self.context = context
        self.queryLength = queryLength
        self.prediction = prediction
        self.peakFlopsPerSecond = peakFlopsPerSecond
        self.dramBytesPerSecond = dramBytesPerSecond
        self.kernelPeakFlopsPerSecond = kernelPeakFlopsPerSecond
    }

    /// The matmul ceiling of kernel `index` of the prediction.
    public func peakFlopsPerSecond(kernel index: Int) -> Double {
        kernelPeakFlopsPerSecond.indices.contains(index) ? kernelPeakFlopsPerSecond[index] : peakFlopsPerSecond
    }

    /// The ridge point of kernel `index`: its matmul ceiling over DRAM bytes/s, the
    /// intensity where its roofs meet.
    public func ridge(kernel index: Int) -> Double { peakFlopsPerSecond(kernel: index) / dramBytesPerSecond }

    /// The whole run's matmul ceiling: its kernels' when they share one (every built-in's
    /// kernels do); otherwise the rate at which its matmul FLOPs run if each kernel's run at
    /// its own ceiling, sum F_k / sum (F_k / ceiling_k); the run dtype's without matmul FLOPs.
    public var runPeakFlopsPerSecond: Double {
        let ceilings = prediction.kernels.indices.map { peakFlopsPerSecond(kernel: $0) }
        guard let first = ceilings.first else { return peakFlopsPerSecond }
        if ceilings.allSatisfy({ $0 == first }) { return first }
        let flops = prediction.kernels.reduce(0.0) { $0 + Double($1.flopsMatmul) }
        let seconds = zip(prediction.kernels, ceilings).reduce(0.0) { $0 + Double($1.0.flopsMatmul) / $1.1 }
        return seconds > 0 ? flops / seconds : peakFlopsPerSecond
    }

    /// The run's ridge point: `runPeakFlopsPerSecond` over DRAM bytes/s.
    public var ridge: Double { runPeakFlopsPerSecond / dramBytesPerSecond }

    var flops: Int { prediction.kernels.reduce(0) { $0 + $1.flopsMatmul + $1.flopsOther } }
    var dramBytes: Int { prediction.dramReadBytes + prediction.dramWriteBytes }
    /// FLOPs per DRAM byte over the whole run.
    public var intensity: Double { dramBytes > 0 ? Double(flops) / Double(dramBytes) : 0 }
    /// FLOPs over predicted time.
    public var achievedFlopsPerSecond: Double { prediction.seconds > 0 ? Double(flops) / prediction.seconds : 0 }
}

/// Renders roofline rows: each kernel, then the run's total.
public enum RooflineReport {
    static let columns = ["algorithm", "context", "q_len", "kernel", "thread_blocks", "blocks_per_sm", "waves", "flops_matmul", "flops_other",
                          "dram_read_bytes", "dram_write_bytes", "l2_read_bytes", "arithmetic_intensity", "ridge_point", "bound", "time_us",
                          "registers_per_thread", "spill_bytes"]

    public static func render(_ rows: [RooflineRow], format: ReportFormat) -> String {
        let records = rows.flatMap(records)
        switch format {
        case .json: return JSONOutput.array(records).render() + "\n"
        case .csv: return TextTable(headers: columns, rows: records.map { $0.scalarCells(columns) }, rightAligned: []).renderCSV()
        case .table, .markdown:
            let headers = ["algorithm", "context", "kernel", "blocks", "blocks/SM", "waves", "flops", "dram_bytes", "intensity", "ridge", "bound", "time_us"]
            var table: [[String]] = []
            for row in rows {
                for (index, k) in row.prediction.kernels.enumerated() {
                    let dram = k.dramReadBytes + k.dramWriteBytes
                    table.append([row.algorithm, ContextList.format(row.context), k.name, NumberFormat.grouped(k.blocks), String(k.blocksPerSM), String(k.waves),
                                  NumberFormat.grouped(k.flopsMatmul + k.flopsOther), NumberFormat.grouped(dram),
                                  String(format: "%.1f", dram > 0 ? Double(k.flopsMatmul + k.flopsOther) / Double(dram) : 0),
                                  String(format: "%.0f", row.ridge(kernel: index)), k.bound.rawValue + (k.spillBytes > 0 ? " (spills)" : ""),
                                  String(format: "%.1f", k.seconds * 1e6)])
                }
                table.append([row.algorithm, ContextList.format(row.context), "total", "", "", "", NumberFormat.grouped(row.flops), NumberFormat.grouped(row.dramBytes),
                              String(format: "%.1f", row.intensity), String(format: "%.0f", row.ridge), "",
                              String(format: "%.1f", row.prediction.seconds * 1e6)])
            }
            let t = TextTable(headers: headers, rows: table, rightAligned: Set([1, 3, 4, 5, 6, 7, 8, 9, 11]))
            return (format == .table ? t.renderText() : t.renderMarkdown())
                + "\ntotal includes \(String(format: "%.0f", (rows.first?.prediction.overheadSeconds ?? 0) * 1e6)) us of call overhead; intensity is FLOPs per DRAM byte after the L2 model"
                + (rows.contains { $0.prediction.spillBytes > 0 } ? "; (spills): registers over 255 per thread spill to local memory (spill_bytes in --format json)" : "") + "\n"
        }
    }

    static func records(_ row: RooflineRow) -> [JSONOutput] {
        var out: [JSONOutput] = row.prediction.kernels.enumerated().map { index, k in
            let dram = k.dramReadBytes + k.dramWriteBytes
            return .object([
                ("algorithm", .string(row.algorithm)), ("context", .int(row.context)), ("q_len", .int(row.queryLength)), ("kernel", .string(k.name)),
                ("thread_blocks", .int(k.blocks)), ("blocks_per_sm", .int(k.blocksPerSM)), ("waves", .int(k.waves)),
                ("flops_matmul", .int(k.flopsMatmul)), ("flops_other", .int(k.flopsOther)),
                ("dram_read_bytes", .int(k.dramReadBytes)), ("dram_write_bytes", .int(k.dramWriteBytes)), ("l2_read_bytes", .int(k.l2ReadBytes)),
                ("arithmetic_intensity", .double(dram > 0 ? Double(k.flopsMatmul + k.flopsOther) / Double(dram) : 0)),
                ("ridge_point", .double(row.ridge(kernel: index))),
                ("bound", .string(k.bound.rawValue)), ("time_us", .double(k.seconds * 1e6)),
                ("registers_per_thread", .int(k.registersPerThread)), ("spill_bytes", .int(k.spillBytes)),
            ] + roof(row, flops: k.flopsMatmul + k.flopsOther, seconds: k.seconds, peak: row.peakFlopsPerSecond(kernel: index)))
        }
        out.append(.object([
            ("algorithm", .string(row.algorithm)), ("context", .int(row.context)), ("q_len", .int(row.queryLength)), ("kernel", .string("total")),
            ("thread_blocks", .int(row.prediction.kernels.reduce(0) { $0 + $1.blocks })), ("blocks_per_sm", .null), ("waves", .null),
            ("flops_matmul", .int(row.prediction.kernels.reduce(0) { $0 + $1.flopsMatmul })), ("flops_other", .int(row.prediction.kernels.reduce(0) { $0 + $1.flopsOther })),
            ("dram_read_bytes", .int(row.prediction.dramReadBytes)), ("dram_write_bytes", .int(row.prediction.dramWriteBytes)),
            ("l2_read_bytes", .int(row.prediction.l2ReadBytes)), ("arithmetic_intensity", .double(row.intensity)), ("ridge_point", .double(row.ridge)),
            ("bound", .null), ("time_us", .double(row.prediction.seconds * 1e6)),
            ("registers_per_thread", .null), ("spill_bytes", .int(row.prediction.spillBytes)),
        ] + roof(row, flops: row.flops, seconds: row.prediction.seconds, peak: row.runPeakFlopsPerSecond)
            + [("call_overhead_us", .double(row.prediction.overheadSeconds * 1e6))]))
        return out
    }

    /// The fields a roofline plot needs besides intensity: the FLOP rate reached in the
    /// predicted time, and the roof (the sustained matmul peak `peak` of the kernel or run,
    /// DRAM bandwidth).
    static func roof(_ row: RooflineRow, flops: Int, seconds: Double, peak: Double) -> [(String, JSONOutput)] {
        [
            ("achieved_flops_per_s", .double(seconds > 0 ? Double(flops) / seconds : 0)),
            ("peak_flops_per_s", .double(peak)), ("dram_bytes_per_s", .double(row.dramBytesPerSecond)),
        ]
    }
}

import Foundation
