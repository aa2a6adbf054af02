/// A table of strings rendered as aligned text, Markdown or CSV.
///
/// Rendering is linear in the size of the output: widths are counted once per cell and
/// every line is built by appending, so a cell of any width (a 100,000-character label)
/// costs what it prints.
public struct TextTable: Sendable {
    public var headers: [String]
    public var rows: [[String]]
    /// Columns aligned right (numbers); the rest align left.
    public var rightAligned: Set<Int>

    public init(headers: [String], rows: [[String]], rightAligned: Set<Int>) {
        self.headers = headers
        self.rows = rows
        self.rightAligned = rightAligned
    }

    /// Each column's width in characters: its widest cell (header included).
    private func widths(_ counts: [[Int]]) -> [Int] {
        headers.indices.map { column in counts.map { $0[column] }.max() ?? 0 }
    }

    /// Characters per cell, header row first: counted once, since `String.count` walks
    /// the whole string.
    private var counts: [[Int]] {
        ([headers] + rows).map { $0.map(\.count) }
    }

    /// Appends `text` padded with spaces to `width` characters (its own count is `count`).
    private static func append(_ text: String, count: Int, width: Int, right: Bool, to line: inout String) {
        let padding = String(repeating: " ", count: max(0, width - count))
        if right { line += padding }
        line += text
        if !right { line += padding }
    }

    /// Columns separated by two spaces, a rule under the header; trailing whitespace of
    /// each line dropped.
    public func renderText() -> String {
        let counts = self.counts
        let widths = self.widths(counts)
        var out = ""
        func line(_ cells: [String], _ cellCounts: [Int]) {
            var text = ""
            for (column, cell) in cells.enumerated() {
                if column > 0 { text += "  " }
                Self.append(cell, count: cellCounts[column], width: widths[column], right: rightAligned.contains(column), to: &text)
            }
            out += Self.droppingTrailingWhitespace(text)
            out += "\n"
        }
        line(headers, counts[0])
        out += widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ")
        out += "\n"
        for (row, cellCounts) in zip(rows, counts.dropFirst()) { line(row, cellCounts) }
        return out
    }

    /// `text` without its trailing white space (the Unicode White_Space property), exactly
    /// as the regular expression `\s+$` (ICU) removed it before, in one backward pass
    /// instead of a backtracking search that was quadratic in the spaces of a wide cell.
    static func droppingTrailingWhitespace(_ text: String) -> String {
        let scalars = text.unicodeScalars
        var end = scalars.endIndex
        while end > scalars.startIndex {
            let previous = scalars.index(before: end)
            guard scalars[previous].properties.isWhitespace else { break }
            end = previous
        }
        return end == scalars.endIndex ? text : String(scalars[..<end])
    }

    public func renderMarkdown() -> String {
        let counts = self.counts
        let widths = self.widths(counts)
        var out = ""
        func line(_ cells: [String], _ cellCounts: [Int]) {
            out += "| "
            for (column, cell) in cells.enumerated() {
                if column > 0 { out += " | " }
                Self.append(cell, count: cellCounts[column], width: widths[column], right: rightAligned.contains(column), to: &out)
            }
            out += " |\n"
        }
        line(headers, counts[0])
        out += "|" + widths.enumerated().map { column, width in
            rightAligned.contains(column) ? " " + String(repeating: "-", count: max(3, width) - 1) + ": "
                : " " + String(repeating: "-", count: max(3, width)) + " "
        }.joined(separator: "|") + "|\n"
        for (row, cellCounts) in zip(rows, counts.dropFirst()) { line(row, cellCounts) }
        return out
    }

    public func renderCSV() -> String {
        func escape(_ s: String) -> String {
            s.contains(",") || s.contains("\"") || s.contains("\n") ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
        }
        return ([headers] + rows).map { $0.map(escape).joined(separator: ",") }.joined(separator: "\n") + "\n"
    }
}

import Foundation
