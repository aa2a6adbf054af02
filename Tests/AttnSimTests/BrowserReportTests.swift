import AttnJSON
import AttnNumerics
import Foundation
import Testing
@testable import AttnCLI
import AttnTestSupport

/// The html reports in a real browser: every shipped scenario's page and each command's
/// page is written with `--format html`, loaded in headless Chromium (one browser for all
/// pages: a harness page frames them and copies each frame's DOM out once its script
/// ran), and checked: no console message, no missing chart, every chart with axis titles,
/// a legend and its table, the JSON the page embeds byte for byte what the command prints
/// with `--format json`, and what each chart drew, read back from its marks and its
/// table, equal to the figures of that JSON. Screenshots of the command pages are saved
/// in .build/html-report/screenshots (scripts/screenshots.sh makes docs/images the same way).
@Suite struct BrowserReportTests {
    /// A page the test writes: its name and the command (without --format and --output).
    struct Page: Sendable, CustomTestStringConvertible {
        var name: String
        var arguments: [String]
        var testDescription: String { name }
    }

    /// Where pages, the harness and screenshots go (inside .build, so a failure can be looked at).
    static let folder = repositoryRoot.appendingPathComponent(".build/html-report")

    static func path(_ relative: String) -> String { repositoryRoot.appendingPathComponent(relative).path }

    /// Each command's page, as a user would ask for it.
    static let commandPages: [Page] = [
        Page(name: "command-run", arguments: ["run", "--algorithm", "standard,flash1,flash2", "--heads", "8", "--head-dim", "64", "--context", "1k,2k,4k,8k"]),
        Page(name: "command-roofline", arguments: ["roofline", "--model", "qwen3-8b", "--context", "1k,4k,16k"]),
        Page(name: "command-roofline-fp8", arguments: ["roofline", "--model", "llama-3-8b", "--context", "1k,4k", "--algorithms", "flash3,flash3-fp8"]),
        Page(name: "command-model", arguments: ["model", "--model", "qwen3-8b", "--context", "1k,4k", "--batch", "8"]),
        Page(name: "command-kv", arguments: ["kv", "--model", "qwen3-8b", "--context", "4k,16k,32k", "--batch", "8"]),
        Page(name: "command-kv-overflow", arguments: ["kv", "--model", "qwen3-32b", "--context", "4k,32k", "--batch", "8", "--dtype", "fp8"]),
        Page(
            name: "command-paged",
            arguments: ["paged", "--model", "opt-13b", "--hardware", "a100-40gb-sxm", "--trace", "sharegpt", "--rate", "1,2", "--requests", "150"]),
        Page(name: "command-validate", arguments: ["validate", path("docs/data/h100-sdpa.csv"), path("docs/data/h100-triton-d64.csv")]),
    ]

    /// Every shipped scenario, run as `attnsim run FILE`.
    static let scenarioPages: [Page] = {
        let folder = repositoryRoot.appendingPathComponent("scenarios")
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []).filter { $0.hasSuffix(".json") }.sorted()
        return names.map { Page(name: "scenario-" + String($0.dropLast(5)), arguments: ["run", folder.appendingPathComponent($0).path]) }
    }()

    static let pages = commandPages + scenarioPages

    /// Runs attnsim in this process.
    static func attnsim(_ arguments: [String]) -> (code: Int32, out: String, err: String) {
        let captured = CapturedConsole()
        let code = AttnSimCommand.main(arguments, console: captured.console)
        return (code, captured.stdout, captured.stderr)
    }

    /// The pages written and loaded once for every test of the suite.
    struct Loaded: Sendable {
        /// Page name -> the DOM after its script ran.
        var doms: [String: String]
        /// Console lines (each names its page's file).
        var console: [String]
        /// Seconds spent: writing the pages, and in the browser.
        var writeSeconds: Double
        var browserSeconds: Double
    }

    static let loaded: Result<Loaded, TestFailure> = {
        do { return .success(try load()) } catch let error as TestFailure { return .failure(error) } catch { return .failure(TestFailure("\(error)")) }
    }()

    static func load() throws -> Loaded {
        guard let chromium = Chromium.find() else { throw TestFailure(Chromium.installHint) }
        try? FileManager.default.removeItem(at: folder)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let start = Date()
        let failures = Locked([String]())
        DispatchQueue.concurrentPerform(iterations: pages.count) { index in
            let page = pages[index]
            let file = folder.appendingPathComponent(page.name + ".html").path
            let result = attnsim(page.arguments + ["--format", "html", "--output", file])
            if result.code != 0 { failures.withLock { $0.append("\(page.name): exit \(result.code): \(result.err)") } }
        }
        let written = Date().timeIntervalSince(start)
        let problems = failures.withLock { $0 }
        if !problems.isEmpty { throw TestFailure("pages not written:\n" + problems.joined(separator: "\n")) }

        // One browser for every page: the harness frames each page, and once all have
        // loaded (the frames' scripts have run), copies each frame's DOM into a <pre>.
        var harness = "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>attnsim report harness</title></head><body>\n"
        for page in pages { harness += "<iframe src=\"\(page.name).html\" data-page=\"\(page.name)\" width=\"1200\" height=\"800\"></iframe>\n" }
        harness += """
            <script>
            window.addEventListener("load", function () {
              Array.prototype.forEach.call(document.querySelectorAll("iframe"), function (frame) {
                var pre = document.createElement("pre");
                pre.setAttribute("data-page", frame.getAttribute("data-page"));
                pre.textContent = frame.contentDocument ? frame.contentDocument.documentElement.outerHTML : "NO DOCUMENT";
                document.body.appendChild(pre);
              });
              document.body.setAttribute("data-harness", "done");
            });
            </script>
            </body></html>

            """
        let harnessFile = folder.appendingPathComponent("harness.html")
        try harness.write(to: harnessFile, atomically: true, encoding: .utf8)
        let browserStart = Date()
        let outcome = try chromium.dumpDOM(harnessFile)
        let browser = Date().timeIntervalSince(browserStart)
        guard outcome.status == 0, outcome.out.contains("data-harness=\"done\"") else {
            throw TestFailure("chromium could not load the harness (exit \(outcome.status)):\n\(outcome.err.suffix(2000))")
        }
        var doms: [String: String] = [:]
        for tag in ReportDOM.tags(outcome.out) where tag.name == "pre" {
            guard let name = tag.attributes["data-page"] else { continue }
            doms[name] = tag.text
        }
        return Loaded(doms: doms, console: outcome.consoleLines, writeSeconds: written, browserSeconds: browser)
    }

    static func fixture() throws -> Loaded {
        try loaded.get()
    }

    /// Without Chromium the browser tests fail (never skip), saying how to install it.
    @Test func chromiumIsInstalled() {
        #expect(Chromium.find() != nil, Comment(rawValue: Chromium.installHint))
    }

    /// No page logs anything to the console: no error, no refused load (the pages' policy
    /// forbids every network load), no warning.
    @Test func noPageLogsToTheConsole() throws {
        let loaded = try Self.fixture()
        #expect(loaded.console.isEmpty, "console output:\n\(loaded.console.joined(separator: "\n"))")
        #expect(loaded.doms.count == Self.pages.count, "pages loaded: \(loaded.doms.keys.sorted())")
        print("browser test: \(Self.pages.count) pages written in \(String(format: "%.1f", loaded.writeSeconds)) s, loaded in Chromium in \(String(format: "%.1f", loaded.browserSeconds)) s")
    }

    /// The data a page embeds: each dataset's name, the command it names and its JSON.
    static func datasets(_ html: String) -> [(name: String, command: String, json: String)] {
        var result: [(String, String, String)] = []
        let tags = ReportDOM.tags(html)
        for tag in tags where tag.name == "script" && tag.attributes["class"] == "attnsim-data" {
            let bytes = Array(html.utf8)
            // The text of the element: from after its start tag to </script>.
            guard let open = ReportDOM.find(Array(">".utf8), in: bytes, from: tag.offset),
                let close = ReportDOM.find(Array("</script>".utf8), in: bytes, from: open)
            else { continue }
            let text = String(decoding: bytes[(open + 1)..<close], as: UTF8.self)
            result.append((tag.attributes["data-dataset"] ?? "", tag.attributes["data-command"] ?? "", String(text.dropFirst())))
        }
        return result
    }

    /// The words of a command line quoted by `ParsedArguments.shellQuoted`.
    static func words(_ line: String) -> [String] {
        var words: [String] = []
        var word = "", quoted = false, inWord = false, escaped = false
        for c in line {
            if escaped {
                word.append(c)
                escaped = false
            } else if quoted {
                if c == "'" { quoted = false } else { word.append(c) }
            } else if c == "'" {
                quoted = true
                inWord = true
            } else if c == "\\" {
                escaped = true
                inWord = true
            } else if c == " " {
                if inWord { words.append(word) }
                word = ""
                inWord = false
            } else {
                word.append(c)
                inWord = true
            }
        }
        if inWord { words.append(word) }
        return words
    }

    /// One page: its datasets are what their commands print with --format json, it drew
    /// every chart its data calls for, and each chart shows that data.
    @Test(arguments: pages)
    func pageShowsItsJSON(_ page: Page) throws {
        let loaded = try Self.fixture()
        let html = try String(contentsOf: Self.folder.appendingPathComponent(page.name + ".html"), encoding: .utf8)
        // Nothing to fetch: no linked file, no source attribute, no imported or remote URL.
        for needle in ["<link", " src=", " href=", "@import", "url(http", "url(//"] {
            #expect(!html.contains(needle), "\(page.name) contains '\(needle)'")
        }
        var data: [String: JSONValue] = [:]
        let sets = Self.datasets(html)
        #expect(!sets.isEmpty, "\(page.name) embeds no data")
        for set in sets {
            let words = Self.words(set.command)
            #expect(words.first == "attnsim" && words.suffix(2) == ["--format", "json"], "\(set.command)")
            let result = Self.attnsim(Array(words.dropFirst()))
            #expect(result.code == 0, "\(set.command): \(result.err)")
            let embedded = set.json.replacingOccurrences(of: "\\u003c", with: "<")
            #expect(embedded == result.out, "\(page.name): dataset \(set.name) differs from the output of \(set.command)")
            data[set.name] = try JSONParser.parse(result.out, file: set.command)
        }
        guard let domText = loaded.doms[page.name] else {
            Issue.record("\(page.name) was not loaded")
            return
        }
        let dom = ReportDOM(html: domText)
        #expect(dom.body["data-status"] == "drawn", "\(page.name): the script did not finish")
        #expect(dom.body["data-errors"] == nil, "\(page.name): \(dom.body["data-errors"] ?? "")")
        let kind = dom.body["data-report"] ?? ""
        let expected = try ExpectedCharts.charts(kind: kind, data: data)
        #expect(dom.charts.map(\.id) == expected.map(\.id), "\(page.name): charts drawn")
        #expect(dom.body["data-charts"] == String(dom.charts.count))
        for chart in dom.charts {
            check(chart, page: page.name)
            guard let want = expected.first(where: { $0.id == chart.id }) else { continue }
            compare(chart, with: want, page: page.name)
        }
    }

    /// A speculative model page says what format the drafter runs in, as the table's header
    /// line does: the section's lead starts with the JSON's `drafter` and its `draft_dtype`
    /// (`llama-3-8b in fp8e4m3 drafts ...`), or "the target's precision" when `draft_dtype`
    /// is null. The shipped scenarios hold one of each.
    @Test func speculativeSectionNamesTheDraftersFormat() throws {
        let loaded = try Self.fixture()
        var formats: [String] = []
        for page in Self.pages {
            let html = try String(contentsOf: Self.folder.appendingPathComponent(page.name + ".html"), encoding: .utf8)
            guard let set = Self.datasets(html).first(where: { $0.name == "speculative" }) else { continue }
            let rows = try JSONParser.parse(set.json.replacingOccurrences(of: "\\u003c", with: "<"), file: set.command).array
            let first = try #require(rows.first, "\(page.name): no speculative record")
            let drafter = try #require(first["drafter"].string)
            let format = first["draft_dtype"].string ?? "the target's precision"
            let tags = ReportDOM.tags(loaded.doms[page.name] ?? "")
            guard let heading = tags.firstIndex(where: { $0.name == "h2" && $0.text == "Speculative decoding" }),
                let lead = tags[heading...].first(where: { $0.name == "p" && $0.attributes["class"] == "lead" })
            else {
                Issue.record("\(page.name): no speculative section")
                continue
            }
            #expect(lead.text.hasPrefix("\(drafter) in \(format) drafts "), "\(page.name): \(lead.text)")
            formats.append(format)
        }
        #expect(Set(formats).contains("the target's precision") && formats.contains { $0 != "the target's precision" }, "\(formats)")
    }

    /// A roofline page draws a roof per matmul ceiling its kernels ran under: flash3-fp8's
    /// kernel (`mma(async, fp8e4m3)`) under the FP8 peak beside flash3's fp16 roof, each
    /// through the ridge its JSON records give; a page of one dtype has one roof.
    @Test func rooflineDrawsARoofPerCeiling() throws {
        let loaded = try Self.fixture()
        var roofCounts: [String: Int] = [:]
        for page in Self.commandPages where page.arguments.first == "roofline" {
            let html = try String(contentsOf: Self.folder.appendingPathComponent(page.name + ".html"), encoding: .utf8)
            let set = try #require(Self.datasets(html).first { $0.name == "roofline" })
            let records = try JSONParser.parse(set.json.replacingOccurrences(of: "\\u003c", with: "<"), file: set.command).array
            let peaks = Set(records.filter { $0["kernel"].string != "total" }.map { $0["peak_flops_per_s"].number })
            let tags = ReportDOM.tags(loaded.doms[page.name] ?? "")
            let roofs = tags.filter { $0.name == "g" && ($0.attributes["data-reference"] ?? "").hasPrefix("roof") }
            // The roofline chart is drawn once per axis state it starts in: count its distinct roofs.
            #expect(Set(roofs.compactMap { $0.attributes["data-reference"] }).count == peaks.count, "\(page.name): \(peaks)")
            roofCounts[page.name] = peaks.count
        }
        #expect(roofCounts == ["command-roofline": 1, "command-roofline-fp8": 2])
    }

    /// What every chart has: marks (as many as it says), axis titles (a value axis with
    /// its unit in parentheses), a legend naming every series drawn, and a table.
    func check(_ chart: ReportDOM.Chart, page: String) {
        let at = "\(page) \(chart.id)"
        #expect(!chart.marks.isEmpty, "\(at): nothing drawn")
        #expect(chart.marks.count == chart.declaredMarks, "\(at): \(chart.marks.count) marks, data-marks \(chart.declaredMarks)")
        #expect(chart.axisTitles["y"]?.contains("(") == true && chart.axisTitles["y"]?.hasSuffix(")") == true, "\(at): y axis title \(chart.axisTitles)")
        if chart.type == "xy" { #expect(chart.axisTitles["x"]?.hasSuffix(")") == true, "\(at): x axis title \(chart.axisTitles)") }
        #expect(!(chart.axisTitles["x"] ?? "").isEmpty, "\(at): no x axis title")
        #expect(Set(chart.marks.map(\.series)).isSubset(of: Set(chart.legend)), "\(at): legend \(chart.legend)")
        #expect(!chart.rows.isEmpty && !chart.columns.isEmpty, "\(at): no table")
    }

    /// The marks and the table against the figures the JSON gives.
    func compare(_ chart: ReportDOM.Chart, with want: ExpectedCharts.Chart, page: String) {
        let at = "\(page) \(chart.id)"
        #expect(chart.legend == want.series, "\(at): legend")
        // Marks: the points a chart can draw (on a log axis, the positive ones).
        let drawn = want.points.filter(want.drawable).map { (series: $0.series, x: $0.x, y: $0.y ?? .nan) }.sorted { ($0.series, $0.x) < ($1.series, $1.x) }
        let shown = chart.marks.map { mark in
            (series: mark.series, x: want.type == "xy" ? Double(mark.x).map(ExpectedCharts.text) ?? mark.x : mark.x, y: mark.y)
        }.sorted { ($0.series, $0.x) < ($1.series, $1.x) }
        #expect(shown.count == drawn.count, "\(at): \(shown.count) marks, the JSON gives \(drawn.count) points to draw")
        var differences = 0
        for (mark, point) in zip(shown, drawn) {
            let same = mark.series == point.series && mark.x == point.x
                && (want.exact ? mark.y == point.y : abs(mark.y - point.y) <= 1e-9 * max(abs(point.y), 1e-300))
            if !same && differences < 5 { Issue.record("\(at): drawn \(mark), JSON \(point)") }
            if !same { differences += 1 }
        }
        // The table: one row per point (xy) or per category (bars), with the JSON's values.
        if want.type == "xy" {
            let rows = chart.rows.map { "\($0.values[0])|\(Double($0.values[1]).map(ExpectedCharts.text) ?? $0.values[1])|\(Double($0.values[2]).map(ExpectedCharts.text) ?? "-")" }.sorted()
            let points = want.points.map { "\($0.series)|\($0.x)|\($0.y.map(ExpectedCharts.text) ?? "-")" }.sorted()
            if want.exact { #expect(rows == points, "\(at): table rows differ from the JSON") } else { #expect(rows.count == points.count) }
        } else {
            let categories = chart.rows.map { $0.values.first ?? "" }
            #expect(categories == want.categories, "\(at): table categories")
            for (row, category) in zip(chart.rows, want.categories) {
                for (j, series) in want.series.enumerated() {
                    let cell = row.values.count > j + 1 ? row.values[j + 1] : "missing"
                    let value = want.points.first { $0.series == series && $0.x == category }?.y
                    if let value, let shown = Double(cell) {
                        #expect(abs(shown - value) <= 1e-9 * max(abs(value), 1e-300), "\(at): \(category) \(series): \(cell) against \(value)")
                    } else {
                        #expect(value == nil && cell.isEmpty, "\(at): \(category) \(series): \(cell) against \(String(describing: value))")
                    }
                }
            }
        }
        // Slopes: least squares of log y on log x, fitted here on the JSON's points.
        for (series, slope) in want.slopes {
            guard let shown = chart.slopes[series] else {
                Issue.record("\(at): no slope for \(series)")
                continue
            }
            #expect(abs(shown - slope) <= 1e-9 * max(1, abs(slope)), "\(at): slope of \(series) \(shown), JSON \(slope)")
        }
        #expect(Set(chart.slopes.keys) == Set(want.slopes.keys), "\(at): slopes for \(chart.slopes.keys.sorted())")
    }

    /// Screenshots of the command pages (what a reader sees), saved for inspection.
    @Test func commandPagesHaveScreenshots() throws {
        _ = try Self.fixture()
        guard let chromium = Chromium.find() else { return }
        let shots = Self.folder.appendingPathComponent("screenshots")
        try FileManager.default.createDirectory(at: shots, withIntermediateDirectories: true)
        let failures = Locked([String]())
        DispatchQueue.concurrentPerform(iterations: Self.commandPages.count) { index in
            let page = Self.commandPages[index]
            let png = shots.appendingPathComponent(page.name + ".png")
            do {
                let outcome = try chromium.screenshot(Self.folder.appendingPathComponent(page.name + ".html"), to: png, height: 1600)
                let bytes = (try? Data(contentsOf: png)) ?? Data()
                // A PNG: its signature, then the IHDR chunk with the width asked for.
                let width = bytes.count > 24 ? bytes[16..<20].reduce(0) { $0 << 8 | Int($1) } : 0
                if outcome.status != 0 || !bytes.starts(with: [0x89, 0x50, 0x4E, 0x47]) || width != 1200 || !outcome.consoleLines.isEmpty {
                    failures.withLock { $0.append("\(page.name): exit \(outcome.status), width \(width), console \(outcome.consoleLines)") }
                }
            } catch {
                failures.withLock { $0.append("\(page.name): \(error)") }
            }
        }
        let problems = failures.withLock { $0 }
        #expect(problems.isEmpty, "\(problems.joined(separator: "\n"))")
    }
}
