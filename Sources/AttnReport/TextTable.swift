/// A table of strings rendered as aligned text, Markdown or CSV.
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

    private var widths: [Int] {
        headers.indices.map { column in
            ([headers[column]] + rows.map { $0[column] }).map(\.count).max() ?? 0
        }
    }

    private func pad(_ text: String, _ width: Int, right: Bool) -> String {
        let padding = String(repeating: " ", count: max(0, width - text.count))
        return right ? padding + text : text + padding
    }

    /// Columns separated by two spaces, a rule under the header.
    public func renderText() -> String {
        let widths = self.widths
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { pad($0.element, widths[$0.offset], right: rightAligned.contains($0.offset)) }
                .joined(separator: "  ").replacingOccurrences(of: "\\s+$", with: "", options: .regularExpression)
        }
        var out = [line(headers), widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ")]
        out += rows.map(line)
        return out.joined(separator: "\n") + "\n"
    }

    public func renderMarkdown() -> String {
        let widths = self.widths
        func line(_ cells: [String]) -> String {
            "| " + cells.enumerated().map { pad($0.element, widths[$0.offset], right: rightAligned.contains($0.offset)) }
                .joined(separator: " | ") + " |"
        }
        let rule = "|" + widths.enumerated().map { column, width in
            rightAligned.contains(column) ? " " + String(repeating: "-", count: max(3, width) - 1) + ": "
                : " " + String(repeating: "-", count: max(3, width)) + " "
        }.joined(separator: "|") + "|"
        return ([line(headers), rule] + rows.map(line)).joined(separator: "\n") + "\n"
    }

    public func renderCSV() -> String {
        func escape(_ s: String) -> String {
            s.contains(",") || s.contains("\"") || s.contains("\n") ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
        }
        return ([headers] + rows).map { $0.map(escape).joined(separator: ",") }.joined(separator: "\n") + "\n"
    }
}

import Foundation
