import AttnNumerics
import Foundation

/// A problem in a request trace, naming the file, the line (from 1, the header's is 1)
/// and the field.
public struct TraceError: Error, Sendable, Equatable, CustomStringConvertible {
    public var file: String
    public var line: Int?
    public var field: String?
    public var message: String

    public init(file: String, line: Int? = nil, field: String? = nil, message: String) {
        self.file = file
        self.line = line
        self.field = field
        self.message = message
    }

    public var description: String {
        var text = file
        if let line { text += ": line \(line)" }
        if let field { text += ": \(field)" }
        return text + ": " + message
    }
}

/// Request traces: read from CSV, or generated with the length statistics the vLLM paper
/// reports for its two datasets.
public enum RequestTrace {
    /// Length statistics of a synthetic dataset. Lengths are drawn from log-normal
    /// distributions with the given means (the dispersion `sigma` is an assumption: the
    /// paper gives histograms and means, not a distribution).
    public struct Dataset: Sendable, Equatable {
        public var name: String
        public var meanPromptTokens: Double
        public var meanOutputTokens: Double
        public var sigma: Double

        /// ShareGPT: mean 161.31 input and 337.99 output tokens (Kwon et al. 2023, Figure 11a).
        public static let shareGPT = Dataset(name: "sharegpt", meanPromptTokens: 161.31, meanOutputTokens: 337.99, sigma: 0.9)
        /// Alpaca: mean 19.31 input and 58.45 output tokens (Kwon et al. 2023, Figure 11b).
        public static let alpaca = Dataset(name: "alpaca", meanPromptTokens: 19.31, meanOutputTokens: 58.45, sigma: 0.9)

        public static func named(_ name: String) -> Dataset? {
            switch name.lowercased() {
            case "sharegpt": return .shareGPT
            case "alpaca": return .alpaca
            default: return nil
            }
        }
    }

    /// The columns a trace file's header must name (any order; other columns are ignored).
    public static let columns = ["arrival", "prompt_tokens", "output_tokens"]

    /// The most requests a trace may hold: each is held in memory and simulated (100,000
    /// take about 17 s of CPU in a debug build, growing linearly).
    public static let maxRequests = 1_000_000

    /// `count` requests with Poisson arrivals at `rate` per second; prompt + output is
    /// clipped to `maxLength` (shortening the output), as the paper filters its datasets.
    public static func synthetic(_ dataset: Dataset, count: Int, rate: Double, maxLength: Int, seed: UInt64) -> [Request] {
        var generator = SeededGenerator(seed: seed)
        func logNormal(mean: Double) -> Int {
            // mean = exp(mu + sigma^2 / 2)
            let mu = Foundation.log(mean) - dataset.sigma * dataset.sigma / 2
            return max(1, Int(Foundation.exp(mu + dataset.sigma * generator.nextNormal()).rounded()))
        }
        var time = 0.0
        var requests: [Request] = []
        for id in 0..<count {
            time += -Foundation.log(max(generator.nextUnit(), 0x1p-53)) / rate
            let prompt = min(logNormal(mean: dataset.meanPromptTokens), maxLength - 1)
            let output = min(logNormal(mean: dataset.meanOutputTokens), maxLength - prompt)
            requests.append(Request(id: id, arrival: time, promptTokens: prompt, outputTokens: output))
        }
        return requests
    }

    /// The requests of a trace file (`parseCSV` on its text); an unreadable file is an error
    /// naming it with the system's reason.
    public static func read(_ path: String) throws(TraceError) -> [Request] {
        let text: String
        do { text = try TextFile.read(path) } catch {
            throw TraceError(file: path, message: "cannot read trace: \(error.reason)")
        }
        return try parseCSV(text, file: path)
    }

    /// Parses a CSV whose header names `arrival`, `prompt_tokens` and `output_tokens` (any
    /// order, each once; other columns ignored). Every row has as many cells as the header,
    /// an arrival from 0 to `Request.maxArrivalSeconds`, at least 1 prompt and 1 output
    /// token and at most `Request.maxTokens` in all; the trace has 1 to `maxRequests` rows.
    /// Blank lines are skipped; errors name the file's line (the header is line 1).
    public static func parseCSV(_ text: String, file: String) throws(TraceError) -> [Request] {
        let lines = text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated()
            .map { (number: $0.offset + 1, text: String($0.element)) }
            .filter { !$0.text.trimmingCharacters(in: .whitespaces).isEmpty }
        guard let headerLine = lines.first else {
            throw TraceError(file: file, message: "empty trace; expected a header: \(columns.joined(separator: ","))")
        }
        let header = cells(headerLine.text)
        var index: [String: Int] = [:]
        for name in columns {
            let positions = header.indices.filter { header[$0] == name }
            guard let first = positions.first else {
                throw TraceError(
                    file: file, line: headerLine.number, field: name,
                    message: "missing column; the header must name \(columns.dropLast().joined(separator: ", ")) and \(columns[columns.count - 1])")
            }
            guard positions.count == 1 else {
                throw TraceError(file: file, line: headerLine.number, field: name, message: "column named \(positions.count) times; expected once")
            }
            index[name] = first
        }
        let rows = lines.dropFirst()
        guard !rows.isEmpty else {
            throw TraceError(file: file, line: headerLine.number, message: "no requests after the header; expected at least one row")
        }
        guard rows.count <= maxRequests else {
            throw TraceError(file: file, message: "\(rows.count) requests; expected at most \(maxRequests)")
        }
        var requests: [Request] = []
        requests.reserveCapacity(rows.count)
        for (offset, line) in rows.enumerated() {
            let row = cells(line.text)
            guard row.count == header.count else {
                throw TraceError(file: file, line: line.number, message: "\(row.count) cells; the header names \(header.count) columns")
            }
            func cell(_ name: String) throws(TraceError) -> String {
                guard let at = index[name], !row[at].isEmpty else {
                    throw TraceError(file: file, line: line.number, field: name, message: "missing value")
                }
                return row[at]
            }
            let arrivalText = try cell("arrival")
            guard let arrival = Double(arrivalText), arrival.isFinite, arrival >= 0, arrival <= Request.maxArrivalSeconds else {
                throw TraceError(
                    file: file, line: line.number, field: "arrival",
                    message: "expected seconds from 0 to \(NumberFormat.grouped(Int(Request.maxArrivalSeconds))), found '\(arrivalText)'")
            }
            var lengths: [Int] = []
            for name in ["prompt_tokens", "output_tokens"] {
                let text = try cell(name)
                guard let value = Int(text), value >= 1 else {
                    throw TraceError(file: file, line: line.number, field: name, message: "expected a positive integer, found '\(text)'")
                }
                guard value <= Request.maxTokens else {
                    throw TraceError(file: file, line: line.number, field: name, message: "expected at most \(Request.maxTokens) tokens, found '\(text)'")
                }
                lengths.append(value)
            }
            guard lengths[0] + lengths[1] <= Request.maxTokens else {
                throw TraceError(
                    file: file, line: line.number, field: "output_tokens",
                    message: "prompt and output hold \(lengths[0] + lengths[1]) tokens; expected at most \(Request.maxTokens) in all")
            }
            requests.append(Request(id: offset, arrival: arrival, promptTokens: lengths[0], outputTokens: lengths[1]))
        }
        return requests.sorted { ($0.arrival, $0.id) < ($1.arrival, $1.id) }
    }

    /// The cells of one CSV line, trimmed of spaces.
    private static func cells(_ line: String) -> [String] {
        line.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
    }
}
