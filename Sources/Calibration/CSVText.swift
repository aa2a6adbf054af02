import Foundation

/// The lines of a CSV file, for the calibration and kernel-table parsers.
enum CSVText {
    /// The non-blank lines of `text` with their 1-based numbers (blank lines are skipped but
    /// counted; LF, CRLF and CR end a line), a trailing carriage return dropped.
    static func lines(_ text: String) -> [(number: Int, text: String)] {
        var lines: [(number: Int, text: String)] = []
        var number = 0
        for line in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline) {
            number += 1
            let trimmed = line.hasSuffix("\r") ? String(line.dropLast()) : String(line)
            if !trimmed.allSatisfy(\.isWhitespace) { lines.append((number, trimmed)) }
        }
        return lines
    }

    /// The cells of one line, each without surrounding spaces.
    static func cells(_ line: String) -> [String] {
        line.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
    }
}
