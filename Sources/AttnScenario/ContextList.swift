/// Parses context lengths written as `1024`, `4k` (4,096) or `1m` (1,048,576).
public enum ContextList {
    /// One length; nil unless it is a positive whole number with an optional k/m suffix.
    public static func parseLength(_ text: String) -> Int? {
        let trimmed = text.trimmingCharacters(in: .whitespaces).lowercased()
        var digits = trimmed
        var factor = 1
        if trimmed.hasSuffix("k") {
            factor = 1024
            digits = String(trimmed.dropLast())
        } else if trimmed.hasSuffix("m") {
            factor = 1024 * 1024
            digits = String(trimmed.dropLast())
        }
        guard let base = Int(digits), base > 0 else { return nil }
        let (value, overflow) = base.multipliedReportingOverflow(by: factor)
        return overflow ? nil : value
    }

    /// A comma-separated list such as `1k,4k,16k`; nil if any entry is malformed.
    public static func parse(_ text: String) -> [Int]? {
        let parts = text.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        var result: [Int] = []
        for part in parts {
            guard let value = parseLength(part) else { return nil }
            result.append(value)
        }
        return result.isEmpty ? nil : result
    }

    /// `4096` as `4k`, `1048576` as `1m`, other values as they are.
    public static func format(_ n: Int) -> String {
        if n >= 1024 * 1024 && n % (1024 * 1024) == 0 { return "\(n / (1024 * 1024))m" }
        if n >= 1024 && n % 1024 == 0 { return "\(n / 1024)k" }
        return String(n)
    }
}

import Foundation
