import AttnNumerics
import Foundation

/// A problem in a request trace, naming the file, the row and the field.
public struct TraceError: Error, Sendable, Equatable, CustomStringConvertible {
    public var file: String
    public var row: Int?
    public var field: String?
    public var message: String

    public var description: String {
        var text = file
        if let row { text += ": row \(row)" }
        if let field { text += ": \(field)" }
        return text + ": " + message
    }
}

/// Request traces: read from CSV, or generated with the length statistics the vLLM paper
/// reports for its two datasets.
public enum RequestTrace {
    /// Length statistics of a synthetic workload. Lengths are drawn from log-normal
    /// distributions with the given means (the dispersion `sigma` is an assumption: the
    /// paper gives histograms and means, not a distribution).
    public struct Workload: Sendable, Equatable {
        public var name: String
        public var meanPromptTokens: Double
        public var meanOutputTokens: Double
        public var sigma: Double

        /// ShareGPT: mean 161.31 input and 337.99 output tokens (Kwon et al. 2023, Figure 11a).
        public static let shareGPT = Workload(name: "sharegpt", meanPromptTokens: 161.31, meanOutputTokens: 337.99, sigma: 0.9)
        /// Alpaca: mean 19.31 input and 58.45 output tokens (Kwon et al. 2023, Figure 11b).
        public static let alpaca = Workload(name: "alpaca", meanPromptTokens: 19.31, meanOutputTokens: 58.45, sigma: 0.9)

        public static func named(_ name: String) -> Workload? {
            switch name.lowercased() {
            case "sharegpt": return .shareGPT
            case "alpaca": return .alpaca
            default: return nil
            }
        }
    }

    /// `count` requests with Poisson arrivals at `rate` per second; prompt + output is
    /// clipped to `maxLength` (shortening the output), as the paper filters its datasets.
    public static func synthetic(_ workload: Workload, count: Int, rate: Double, maxLength: Int, seed: UInt64) -> [Request] {
        var generator = SeededGenerator(seed: seed)
        func logNormal(mean: Double) -> Int {
            // mean = exp(mu + sigma^2 / 2)
            let mu = Foundation.log(mean) - workload.sigma * workload.sigma / 2
            return max(1, Int(Foundation.exp(mu + workload.sigma * generator.nextNormal()).rounded()))
        }
        var time = 0.0
        var requests: [Request] = []
        for id in 0..<count {
            time += -Foundation.log(max(generator.nextUnit(), 0x1p-53)) / rate
            let prompt = min(logNormal(mean: workload.meanPromptTokens), maxLength - 1)
            let output = min(logNormal(mean: workload.meanOutputTokens), maxLength - prompt)
            requests.append(Request(id: id, arrival: time, promptTokens: prompt, outputTokens: output))
        }
        return requests
    }

    /// Parses a CSV with a header naming `arrival`, `prompt_tokens` and `output_tokens`
    /// (any order; other columns ignored). Rows are numbered from 1 after the header.
    public static func parseCSV(_ text: String, file: String) throws(TraceError) -> [Request] {
        var lines = text.split(whereSeparator: \.isNewline).map(String.init).filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }
        guard !lines.isEmpty else { throw TraceError(file: file, row: nil, field: nil, message: "empty trace; expected a header: arrival,prompt_tokens,output_tokens") }
        let header = lines.removeFirst().split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        var columns: [String: Int] = [:]
        for name in ["arrival", "prompt_tokens", "output_tokens"] {
            guard let index = header.firstIndex(of: name) else {
                throw TraceError(file: file, row: nil, field: name, message: "missing column; the header must name arrival, prompt_tokens and output_tokens")
            }
            columns[name] = index
        }
        var requests: [Request] = []
        for (offset, line) in lines.enumerated() {
            let row = offset + 1
            let cells = line.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            func cell(_ name: String) throws(TraceError) -> String {
                guard let index = columns[name], index < cells.count, !cells[index].isEmpty else {
                    throw TraceError(file: file, row: row, field: name, message: "missing value")
                }
                return cells[index]
            }
            let arrivalText = try cell("arrival")
            guard let arrival = Double(arrivalText), arrival.isFinite, arrival >= 0 else {
                throw TraceError(file: file, row: row, field: "arrival", message: "expected a non-negative number of seconds, found '\(arrivalText)'")
            }
            var lengths: [Int] = []
            for name in ["prompt_tokens", "output_tokens"] {
                let text = try cell(name)
                let minimum = name == "prompt_tokens" ? 1 : 0
                guard let value = Int(text), value >= minimum else {
                    throw TraceError(file: file, row: row, field: name, message: "expected a \(minimum == 1 ? "positive" : "non-negative") integer, found '\(text)'")
                }
                guard value <= ServingSimulator.maxRequestTokens else {
                    throw TraceError(file: file, row: row, field: name, message: "expected at most \(ServingSimulator.maxRequestTokens) tokens, found '\(text)'")
                }
                lengths.append(value)
            }
            requests.append(Request(id: offset, arrival: arrival, promptTokens: lengths[0], outputTokens: lengths[1]))
        }
        return requests.sorted { ($0.arrival, $0.id) < ($1.arrival, $1.id) }
    }
}
