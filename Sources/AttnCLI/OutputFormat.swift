import AttnReport

/// What `--format` asks a reporting command for: one of the report formats AttnReport
/// renders, or a self-contained HTML page (AttnHTML) drawn from the JSON report.
enum OutputFormat: Equatable {
    case report(ReportFormat)
    case html
}
