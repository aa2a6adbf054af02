import AttnHTML
import AttnReport

/// How a reporting command delivers its report: the format asked for (`--format`), where
/// it goes (`--output`, else standard output, or standard error when another output has
/// standard output) and the command lines an html page names.
struct ReportTarget {
    var format: OutputFormat
    /// `--output`: a file, or standard output for `-`; nil: standard output (or error).
    var destination: OutputPath?
    /// Another output (`--trace -`, `--svg -`) writes to standard output.
    var toStandardError: Bool
    /// The command line as given, shown on an html page.
    var commandLine: String
    /// The same with `--format json` and no `--output`: what prints a page's data.
    var jsonCommandLine: String

    /// Writes the report: `report(format)` for a report format; for html the page of
    /// `kind` whose datasets `datasets(jsonCommandLine)` gives. A file written is
    /// announced on standard error, like the other outputs.
    func deliver(
        _ console: Console, kind: HTMLReport.Kind, title: String, datasets: (String) -> [HTMLReport.Dataset], report: (ReportFormat) -> String
    ) throws(OutputError) {
        let text: String
        switch format {
        case .report(let format):
            text = report(format)
        case .html:
            text = HTMLReport(kind: kind, title: title, command: commandLine, datasets: datasets(jsonCommandLine), version: AttnSimCommand.version).render()
        }
        try write(text, console)
    }

    /// Writes `text` where the report goes.
    func write(_ text: String, _ console: Console) throws(OutputError) {
        guard let destination else {
            if toStandardError { console.err(text) } else { console.out(text) }
            return
        }
        try destination.write(text, console: console)
        if case .file(let path) = destination {
            console.err(format == .html ? "html report written to \(path) (open it in a browser)\n" : "report written to \(path)\n")
        }
    }
}
