import CostModel
import Foundation

/// One measured attention call (the columns of docs/data/README.md).
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
    /// .tile path, relative to the CSV's folder); nil: chosen by the kernel table from
    /// `implementation` and `algorithm` (`KernelTable`).
    public var program: String? = nil
    /// Warps per block and pipelining stages (optional `warps`, `stages` columns), passed
    /// to the program as its parameters `num_warps` and `num_stages`.
    public var warps: Int? = nil
    public var stages: Int? = nil
    /// Tokens per page of a paged KV cache (optional `page_size` column).
    public var pageSize: Int? = nil
    /// How the KV cache is laid out (optional `layout` column: `paged` or `contiguous`).
    public var layout: String? = nil
    /// How the call's kernels were launched (optional `launch` column: `framework` or
    /// `direct`); nil: as the kernel table says.
    public var launch: String? = nil
    /// The file and line the row was read from (1-based, the header is line 1).
    public var file: String = ""
    public var line: Int = 0
}

/// A problem with a calibration CSV: the file, and the line and column where it is.
public struct CalibrationError: Error, Sendable, Equatable, CustomStringConvertible {
    public var file: String
    /// 1-based line of the file (the header is line 1).
    public var line: Int?
    /// The column's name, and its 1-based position when the header gave one.
    public var column: String?
    public var columnNumber: Int?
    public var message: String

    public init(file: String, line: Int? = nil, column: String? = nil, columnNumber: Int? = nil, message: String) {
        self.file = file
        self.line = line
        self.column = column
        self.columnNumber = columnNumber
        self.message = message
    }

    public var description: String {
        var text = file
        if let line { text += ": line \(line)" }
        if let column {
            text += columnNumber.map { ": column \($0) '\(column)'" } ?? ": \(column)"
        }
        return text + ": " + message
    }
}

extension CalibrationRow {
    /// Columns every file has.
    public static let requiredColumns = [
        "name", "implementation", "algorithm", "batch", "heads", "kv_heads", "q_len", "kv_len", "head_dim", "causal", "window",
        "block_m", "block_n", "splits", "dtype", "backward", "dram_read_bytes", "dram_write_bytes", "l2_read_bytes", "l2_write_bytes",
        "time_ms", "kernels",
    ]
    /// Columns a file may add.
    public static let optionalColumns = ["program", "warps", "stages", "page_size", "layout", "launch"]

    /// Parses the calibration CSV format. Every problem is an error naming the file, the
    /// line and the column: a missing, duplicated or unknown column, a header without
    /// rows, a row with more or fewer cells than the header, a value of the wrong kind.
    public static func parse(_ text: String, file: String) throws(CalibrationError) -> [CalibrationRow] {
        let lines = CSVText.lines(text)
        guard let headerLine = lines.first else {
            throw CalibrationError(file: file, message: "empty file; expected the calibration header")
        }
        let header = CSVText.cells(headerLine.text)
        var index: [String: Int] = [:]
        for (position, column) in header.enumerated() {
            if let first = index[column] {
                throw CalibrationError(
                    file: file, line: headerLine.number, column: column, columnNumber: position + 1,
                    message: "appears twice in the header (columns \(first + 1) and \(position + 1))")
            }
            guard requiredColumns.contains(column) || optionalColumns.contains(column) else {
                throw CalibrationError(
                    file: file, line: headerLine.number, column: column, columnNumber: position + 1,
                    message: "unknown column; expected the columns of docs/data/README.md (\(requiredColumns.joined(separator: ", "))) and optionally \(optionalColumns.joined(separator: ", "))")
            }
            index[column] = position
        }
        for column in requiredColumns where index[column] == nil {
            throw CalibrationError(file: file, line: headerLine.number, column: column, message: "missing column")
        }
        guard lines.count > 1 else {
            throw CalibrationError(file: file, line: headerLine.number, message: "the header has no rows after it; expected at least one measured call")
        }
        var rows: [CalibrationRow] = []
        for (line, content) in lines.dropFirst() {
            let cells = CSVText.cells(content)
            guard cells.count == header.count else {
                throw CalibrationError(file: file, line: line, message: "\(cells.count) cells; the header has \(header.count) columns")
            }
            func failure(_ column: String, _ message: String) -> CalibrationError {
                CalibrationError(file: file, line: line, column: column, columnNumber: index[column].map { $0 + 1 }, message: message)
            }
            /// The cell of `column`; nil when the file has no such (optional) column.
            func cell(_ column: String) -> String? { index[column].map { cells[$0] } }
            func text(_ column: String) throws(CalibrationError) -> String {
                guard let value = cell(column), !value.isEmpty else { throw failure(column, "missing value") }
                return value
            }
            func integer(_ column: String) throws(CalibrationError) -> Int {
                let value = try text(column)
                guard let n = Int(value), n >= 0 else { throw failure(column, "expected a non-negative integer, found '\(value)'") }
                return n
            }
            /// An integer of an optional cell: nil when empty or the column is absent.
            func optionalInteger(_ column: String) throws(CalibrationError) -> Int? {
                guard let value = cell(column), !value.isEmpty else { return nil }
                guard let n = Int(value), n > 0 else { throw failure(column, "expected a positive integer or an empty cell, found '\(value)'") }
                return n
            }
            func flag(_ column: String) throws(CalibrationError) -> Bool {
                let n = try integer(column)
                guard n <= 1 else { throw failure(column, "expected 0 or 1, found '\(n)'") }
                return n == 1
            }
            func choice(_ column: String, _ allowed: [String]) throws(CalibrationError) -> String? {
                guard let value = cell(column), !value.isEmpty else { return nil }
                guard allowed.contains(value) else { throw failure(column, "expected \(allowed.joined(separator: " or ")), found '\(value)'") }
                return value
            }
            let timeText = try text("time_ms")
            guard let time = Double(timeText), time.isFinite, time > 0 else {
                throw failure("time_ms", "expected a positive number, found '\(timeText)'")
            }
            var row = CalibrationRow(
                name: try text("name"), implementation: try text("implementation"), algorithm: try text("algorithm"),
                batch: try integer("batch"), heads: try integer("heads"), kvHeads: try integer("kv_heads"),
                queryLength: try integer("q_len"), keyLength: try integer("kv_len"), headDim: try integer("head_dim"),
                causal: try flag("causal"), window: try integer("window"), blockM: try optionalInteger("block_m"),
                blockN: try optionalInteger("block_n"), splits: try optionalInteger("splits"), dtype: try text("dtype"),
                backward: try flag("backward"), dramReadBytes: try integer("dram_read_bytes"),
                dramWriteBytes: try integer("dram_write_bytes"), l2ReadBytes: try integer("l2_read_bytes"),
                l2WriteBytes: try integer("l2_write_bytes"), timeMilliseconds: time,
                kernels: try text("kernels").split(separator: " ").map(String.init))
            row.program = cell("program").flatMap { $0.isEmpty ? nil : $0 }
            row.warps = try optionalInteger("warps")
            row.stages = try optionalInteger("stages")
            row.pageSize = try optionalInteger("page_size")
            row.layout = try choice("layout", ["paged", "contiguous"])
            row.launch = try choice("launch", LaunchPath.allCases.map(\.rawValue))
            row.file = file
            row.line = line
            rows.append(row)
        }
        return rows
    }
}
