/// One measured attention call (the columns of ../shared/calibration/README.md).
public struct CalibrationRow: Sendable, Equatable {
    public var name: String
    public var implementation: String
    public var algorithm: String
    public var batch: Int
    public var heads: Int
    public var kvHeads: Int
    public var queryLength: Int
    public var keyLength: Int
    public var headDim: Int
    public var causal: Bool
    /// 0: no sliding window.
    public var window: Int
    public var blockM: Int?
    public var blockN: Int?
    /// nil: chosen by the library's heuristic.
    public var splits: Int?
    public var dtype: String
    public var backward: Bool
    public var dramReadBytes: Int
    public var dramWriteBytes: Int
    public var l2ReadBytes: Int
    public var l2WriteBytes: Int
    public var timeMilliseconds: Double
    public var kernels: [String]
    /// The program that models the row (optional `program` column: a built-in name or a
    /// .tile path, relative to the CSV's folder); nil: chosen from `implementation` and
    /// `algorithm` (`RowMapping`).
    public var program: String? = nil
    /// Warps per block and pipelining stages (optional `warps`, `stages` columns), passed
    /// to the program as its parameters `num_warps` and `num_stages`.
    public var warps: Int? = nil
    public var stages: Int? = nil
}

/// A problem with a calibration CSV: file, row and column.
public struct CalibrationError: Error, Sendable, Equatable, CustomStringConvertible {
    public var file: String
    public var row: Int?
    public var column: String?
    public var message: String

    public var description: String {
        var text = file
        if let row { text += ": row \(row)" }
        if let column { text += ": \(column)" }
        return text + ": " + message
    }
}

extension CalibrationRow {
    static let integerColumns = ["batch", "heads", "kv_heads", "q_len", "kv_len", "head_dim", "causal", "window", "backward",
                                 "dram_read_bytes", "dram_write_bytes", "l2_read_bytes", "l2_write_bytes"]

    /// Parses the calibration CSV format; rows are numbered from 1 after the header.
    public static func parse(_ text: String, file: String) throws(CalibrationError) -> [CalibrationRow] {
        var lines = text.split(whereSeparator: \.isNewline).map(String.init).filter { !$0.isEmpty }
        guard !lines.isEmpty else { throw CalibrationError(file: file, row: nil, column: nil, message: "empty file; expected the calibration header") }
        let header = lines.removeFirst().split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        let required = ["name", "implementation", "algorithm", "block_m", "block_n", "splits", "dtype", "time_ms", "kernels"] + integerColumns
        var index: [String: Int] = [:]
        for column in required {
            guard let position = header.firstIndex(of: column) else {
                throw CalibrationError(file: file, row: nil, column: column, message: "missing column")
            }
            index[column] = position
        }
        var rows: [CalibrationRow] = []
        for (offset, line) in lines.enumerated() {
            let number = offset + 1
            let cells = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            func cell(_ column: String) throws(CalibrationError) -> String {
                guard let position = index[column], position < cells.count else {
                    throw CalibrationError(file: file, row: number, column: column, message: "missing value")
                }
                return cells[position].trimmingCharacters(in: .whitespaces)
            }
            func integer(_ column: String) throws(CalibrationError) -> Int {
                let text: String
                if let optional = try optionalCell(column) { text = optional } else { text = try cell(column) }
                guard let value = Int(text), value >= 0 else {
                    throw CalibrationError(file: file, row: number, column: column, message: "expected a non-negative integer, found '\(text)'")
                }
                return value
            }
            /// A cell of an optional column: nil when the header lacks the column.
            func optionalCell(_ column: String) throws(CalibrationError) -> String? {
                guard let position = header.firstIndex(of: column) else { return nil }
                guard position < cells.count else { throw CalibrationError(file: file, row: number, column: column, message: "missing value") }
                return cells[position].trimmingCharacters(in: .whitespaces)
            }
            func optionalInteger(_ column: String) throws(CalibrationError) -> Int? {
                try cell(column).isEmpty ? nil : try integer(column)
            }
            let timeText = try cell("time_ms")
            guard let time = Double(timeText), time > 0 else {
                throw CalibrationError(file: file, row: number, column: "time_ms", message: "expected a positive number, found '\(timeText)'")
            }
            rows.append(CalibrationRow(
                name: try cell("name"), implementation: try cell("implementation"), algorithm: try cell("algorithm"),
                batch: try integer("batch"), heads: try integer("heads"), kvHeads: try integer("kv_heads"),
                queryLength: try integer("q_len"), keyLength: try integer("kv_len"), headDim: try integer("head_dim"),
                causal: try integer("causal") != 0, window: try integer("window"), blockM: try optionalInteger("block_m"),
                blockN: try optionalInteger("block_n"), splits: try optionalInteger("splits"), dtype: try cell("dtype"),
                backward: try integer("backward") != 0, dramReadBytes: try integer("dram_read_bytes"),
                dramWriteBytes: try integer("dram_write_bytes"), l2ReadBytes: try integer("l2_read_bytes"),
                l2WriteBytes: try integer("l2_write_bytes"), timeMilliseconds: time,
                kernels: try cell("kernels").split(separator: " ").map(String.init),
                program: try optionalCell("program").flatMap { $0.isEmpty ? nil : $0 },
                warps: try optionalCell("warps").isEmptyOrNil ? nil : try integer("warps"),
                stages: try optionalCell("stages").isEmptyOrNil ? nil : try integer("stages")))
        }
        return rows
    }
}

import Foundation

extension Optional where Wrapped == String {
    /// nil or the empty string.
    var isEmptyOrNil: Bool { self?.isEmpty ?? true }
}
