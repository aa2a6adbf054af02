import AttnHTML
import Foundation
import Testing
@testable import AttnCLI
import AttnTestSupport

/// `--format html` and `--output` on the command line, and the page's escaping.
@Suite struct HTMLCommandTests {
    static func run(_ arguments: [String]) -> (code: Int32, out: String, err: String) {
        let captured = CapturedConsole()
        let code = AttnSimCommand.main(arguments, console: captured.console)
        return (code, captured.stdout, captured.stderr)
    }

    static let adHoc = ["run", "--algorithm", "flash2", "--heads", "2", "--head-dim", "32", "--context", "256"]

    /// Usage errors (exit 64), each with its message.
    @Test(arguments: [
        (adHoc + ["--format", "html"], "error: '--format html' writes a page: give --output FILE.html (or --output - for standard output)"),
        (adHoc + ["--format", "pdf"], "error: '--format' expects table, markdown, csv, json or html, found 'pdf'"),
        (adHoc + ["--format", "html", "--output", "-", "--trace", "-"], "error: '--output' and '--trace' both write to standard output ('-'); give one of them a file"),
        (["model", "--model", "llama-2-7b", "--context", "1k", "--view", "operators", "--format", "html", "--output", "-"],
         "error: '--view' chooses what a table shows; --format html shows every view (summary, operators of both phases, parameters)"),
        (["bench", "--format", "html"], "error: '--format' expects table, markdown, csv or json, found 'html'"),
        (["list", "--format", "markdown"], "error: '--format' expects table or json, found 'markdown'"),
    ])
    func usageErrors(_ arguments: [String], _ message: String) {
        let result = Self.run(arguments)
        #expect(result.code == 64, "\(arguments)")
        #expect(result.err.hasPrefix(message + "\n"), "\(result.err)")
        #expect(result.out.isEmpty)
    }

    /// `--output FILE` takes what standard output would have printed, in any format; the
    /// file is announced on standard error. An output may not overwrite an input.
    @Test func outputFileHoldsTheReport() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("attnsim-output-\(UUID().uuidString).csv").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let plain = Self.run(Self.adHoc + ["--format", "csv"])
        let written = Self.run(Self.adHoc + ["--format", "csv", "--output", path])
        #expect(written.code == 0 && written.out.isEmpty)
        #expect(written.err == "report written to \(path)\n")
        #expect(try String(contentsOfFile: path, encoding: .utf8) == plain.out)
        let scenario = repositoryRoot.appendingPathComponent("scenarios/standard-vs-flash.json").path
        let overwrite = Self.run(["run", scenario, "--output", scenario])
        #expect(overwrite.code == 64 && overwrite.err.hasPrefix("error: '--output' would overwrite the input '\(scenario)'; give another path"))
    }

    /// `--output -` writes the page to standard output; the page names the command line
    /// that wrote it and, per dataset, the one that prints its JSON.
    @Test func pageOnStandardOutput() {
        let result = Self.run(Self.adHoc + ["--format", "html", "--output", "-"])
        #expect(result.code == 0 && result.err.isEmpty)
        #expect(result.out.hasPrefix("<!DOCTYPE html>\n"))
        #expect(result.out.contains("<code>attnsim run --algorithm flash2 --heads 2 --head-dim 32 --context 256 --format html --output -</code>"))
        #expect(result.out.contains("data-dataset=\"records\" data-command=\"attnsim run --algorithm flash2 --heads 2 --head-dim 32 --context 256 --format json\""))
        #expect(result.out.contains("<body data-report=\"run\">"))
    }

    /// Text from the user (labels, paths) cannot end the data's script element or inject
    /// markup: `<` in JSON is written `\u003c`, titles and attributes are escaped.
    @Test func pageEscapesWhatItEmbeds() {
        let json = "[{\"algorithm\": \"</script><script>alert(1)</script>\"}]\n"
        let page = HTMLReport(
            kind: .run, title: "a <b> & \"c\"", command: "attnsim run '<x>.json'",
            datasets: [.init(name: "records", command: "attnsim run \"<x>\" & more", json: json)], version: "0").render()
        #expect(!page.contains("</script><script>alert"))
        #expect(page.contains("[{\"algorithm\": \"\\u003c/script>\\u003cscript>alert(1)\\u003c/script>\"}]\n</script>"))
        #expect(page.contains("<title>a &lt;b&gt; &amp; \"c\"</title>"))
        #expect(page.contains("data-command=\"attnsim run &quot;&lt;x&gt;&quot; &amp; more\""))
        #expect(page.contains("<code>attnsim run '&lt;x&gt;.json'</code>"))
        // Nothing to fetch from elsewhere, and a policy that forbids it.
        #expect(page.contains("content=\"default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'\""))
    }

    /// Command lines are quoted for a POSIX shell, so a page's data command can be pasted.
    @Test(arguments: [
        (["attnsim", "run", "a b.json"], "attnsim run 'a b.json'"), (["attnsim", "x", "it's"], "attnsim x 'it'\\''s'"),
        (["attnsim", "run", "--context", "1k,4k"], "attnsim run --context 1k,4k"), (["attnsim", ""], "attnsim ''"),
    ])
    func shellQuoting(_ words: [String], _ line: String) {
        #expect(ParsedArguments.shellQuoted(words) == line)
        #expect(BrowserReportTests.words(line) == words)
    }
}
