/// A self-contained HTML page of one command's report: the command's JSON embedded once,
/// and a small script (Resources/report.js, compiled in) that draws the charts from it as
/// inline SVG, each with its table.
///
/// The page loads nothing: no network, no external scripts, fonts or styles; its Content
/// Security Policy (`default-src 'none'`) forbids any load, so a page that tried would log
/// an error instead. Each dataset is embedded as the exact text the command prints with
/// `--format json` (with `<` written `\u003c`, the same JSON value, so no string in it can
/// end the script element), and names that command, so the page and the JSON cannot
/// disagree and a reader can get the numbers without the page.
public struct HTMLReport: Sendable, Equatable {
    /// Which charts the page draws (docs/output-format.md lists them).
    public enum Kind: String, Sendable, Equatable, CaseIterable {
        /// Run records: bytes per memory level and FLOPs against context length.
        case run
        /// Roofline records: every kernel under the roofs; predicted time.
        case roofline
        /// Model views: a step's time by operator and layer kind, latency, memory, parameters.
        case model
        /// KV footprint records: cache per sequence, memory against the budget, what fits.
        case kv
        /// Paged serving records: latency against rate, KV memory and admitted requests over time.
        case paged
        /// Validation rows and summary: predicted against measured with error bands.
        case validate
    }

    /// One JSON document the page embeds, and the command line that prints it.
    public struct Dataset: Sendable, Equatable {
        /// How the page's script finds it (`records`, `summary`, `operators-prefill`, ...).
        public var name: String
        /// The `attnsim ... --format json` command line whose output `json` is.
        public var command: String
        /// The JSON text, exactly as that command prints it.
        public var json: String

        public init(name: String, command: String, json: String) {
            self.name = name
            self.command = command
            self.json = json
        }
    }

    public var kind: Kind
    /// The page's title (also its first heading).
    public var title: String
    /// The command line that wrote the page, shown under the title.
    public var command: String
    public var datasets: [Dataset]
    /// The tool's version, shown in the footer.
    public var version: String

    public init(kind: Kind, title: String, command: String, datasets: [Dataset], version: String) {
        self.kind = kind
        self.title = title
        self.command = command
        self.datasets = datasets
        self.version = version
    }

    /// The whole page.
    public func render() -> String {
        var page = """
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <meta name="generator" content="attnsim \(Self.attribute(version))">
            <title>\(Self.text(title))</title>
            <style>

            """
        page += PageStyles.sources["report"] ?? ""
        page += """
            </style>
            </head>
            <body data-report="\(kind.rawValue)">
            <header>
            <h1>\(Self.text(title))</h1>
            <p class="command"><code>\(Self.text(command))</code></p>
            </header>
            <main id="report">
            <noscript><p>This page draws its charts with JavaScript. Its data is in the page source, as the JSON of the commands named there.</p></noscript>
            </main>
            <footer>
            <p>Written by attnsim \(Self.text(version)). Self-contained: no network, no external scripts, fonts or styles. Colours: the colour-blind-safe palette of M. Okabe and K. Ito, <i>Color Universal Design</i> (2008). Click a legend entry to hide or show its series; hover a mark for its values.</p>
            </footer>

            """
        for dataset in datasets {
            page += "<script type=\"application/json\" class=\"attnsim-data\" data-dataset=\"\(Self.attribute(dataset.name))\" "
            page += "data-command=\"\(Self.attribute(dataset.command))\">\n"
            page += Self.scriptSafe(dataset.json)
            if !dataset.json.hasSuffix("\n") { page += "\n" }
            page += "</script>\n"
        }
        page += "<script>\n"
        page += PageScripts.sources["report"] ?? ""
        page += "</script>\n</body>\n</html>\n"
        return page
    }

    /// JSON text that cannot end its `<script>` element: every `<` written `\u003c`. A `<`
    /// occurs only inside JSON strings, where the escape is the same character, so the
    /// value is unchanged.
    static func scriptSafe(_ json: String) -> String {
        json.replacingAll("<", with: "\\u003c")
    }

    /// `s` as HTML text content.
    static func text(_ s: String) -> String {
        s.replacingAll("&", with: "&amp;").replacingAll("<", with: "&lt;").replacingAll(">", with: "&gt;")
    }

    /// `s` as a double-quoted attribute value.
    static func attribute(_ s: String) -> String {
        text(s).replacingAll("\"", with: "&quot;")
    }
}

extension String {
    /// Every occurrence of the scalar `target` replaced by `replacement`, scalar by scalar
    /// (a `<` inside a grapheme cluster, such as `<` + U+0338, is replaced too).
    fileprivate func replacingAll(_ target: Unicode.Scalar, with replacement: String) -> String {
        guard unicodeScalars.contains(target) else { return self }
        var out = String.UnicodeScalarView()
        for scalar in unicodeScalars {
            if scalar == target { out.append(contentsOf: replacement.unicodeScalars) } else { out.append(scalar) }
        }
        return String(out)
    }
}
