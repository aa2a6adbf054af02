/// How records are printed.
public enum ReportFormat: String, Sendable, CaseIterable {
    /// Aligned columns for a terminal.
    case table
    /// A GitHub-flavoured Markdown table.
    case markdown
    /// Comma-separated values with a header row (the JSON field names).
    case csv
    /// A JSON array of records (docs/output-format.md documents the fields).
    case json
}
