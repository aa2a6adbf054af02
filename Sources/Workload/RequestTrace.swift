import AttnJSON
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

/// Request traces: read from CSV or JSON Lines (this tool's columns, or those of public
/// production traces), or generated (`RequestTrace+Synthetic.swift`).
public enum RequestTrace {
    /// The columns of a trace file: which names hold the arrival, the prompt and the
    /// output lengths, and how arrivals are written. A file's header (CSV) or keys
    /// (JSONL) must name every column of exactly one schema.
    public struct Schema: Sendable, Equatable {
        public enum ArrivalUnit: Sendable, Equatable {
            /// Seconds from the start of the trace.
            case seconds
            /// Milliseconds from the start of the trace.
            case milliseconds
            /// A date and time, `YYYY-MM-DD hh:mm:ss[.fraction][Z|+hh:mm|-hh:mm]`;
            /// arrivals are seconds after the earliest.
            case dateTime
        }

        public var name: String
        public var arrival: String
        public var prompt: String
        public var output: String
        public var unit: ArrivalUnit

        /// This tool's: `arrival` (seconds), `prompt_tokens`, `output_tokens`, and the
        /// optional prefix columns `session`, `prefix_group`, `prefix_tokens`.
        public static let attnsim = Schema(name: "attnsim", arrival: "arrival", prompt: "prompt_tokens", output: "output_tokens", unit: .seconds)
        /// Azure LLM inference traces 2023 and 2024 (github.com/Azure/AzurePublicDataset,
        /// AzureLLMInferenceDataset2023/2024): `TIMESTAMP` (date and time),
        /// `ContextTokens`, `GeneratedTokens`.
        public static let azure = Schema(name: "azure", arrival: "TIMESTAMP", prompt: "ContextTokens", output: "GeneratedTokens", unit: .dateTime)
        /// BurstGPT (Wang et al. 2024, github.com/HPMLL/BurstGPT): `Timestamp` (seconds
        /// from the trace's start), `Request tokens`, `Response tokens`; its other columns
        /// (`Model`, `Total tokens`, `Log Type`) are ignored.
        public static let burstGPT = Schema(name: "burstgpt", arrival: "Timestamp", prompt: "Request tokens", output: "Response tokens", unit: .seconds)
        /// Mooncake's traces (Qin et al., FAST 2025, github.com/kvcache-ai/Mooncake):
        /// `timestamp` (milliseconds), `input_length`, `output_length`.
        public static let mooncake = Schema(name: "mooncake", arrival: "timestamp", prompt: "input_length", output: "output_length", unit: .milliseconds)

        public static let all = [attnsim, azure, burstGPT, mooncake]

        public var columns: [String] { [arrival, prompt, output] }
    }

    /// The optional prefix columns of the attnsim schema: a session (any text naming a
    /// conversation), and a prefix group (any text) with its shared prefix's tokens.
    public static let prefixColumns = ["session", "prefix_group", "prefix_tokens"]

    /// The columns a trace file's header must name in this tool's own schema.
    public static let columns = Schema.attnsim.columns

    /// The most requests a trace may hold: each is held in memory and simulated (100,000
    /// take about 17 s of CPU in a debug build, growing linearly).
    public static let maxRequests = 1_000_000

    /// The requests of a trace file: JSON Lines when its name ends in `.jsonl`, else CSV.
    /// An unreadable file is an error naming it with the system's reason.
    public static func read(_ path: String) throws(TraceError) -> [Request] {
        let text: String
        do { text = try TextFile.read(path) } catch {
            throw TraceError(file: path, message: "cannot read trace: \(error.reason)")
        }
        return path.lowercased().hasSuffix(".jsonl") ? try parseJSONLines(text, file: path) : try parseCSV(text, file: path)
    }

    /// Parses a CSV trace. The header names the columns of one `Schema` (any order, each
    /// once; other columns ignored). Every row has as many cells as the header, an arrival
    /// from 0 to `Request.maxArrivalSeconds`, at least 1 prompt and 1 output token and at
    /// most `Request.maxTokens` in all; the trace has 1 to `maxRequests` rows. Blank lines
    /// are skipped; errors name the file's line (the header is line 1).
    public static func parseCSV(_ text: String, file: String) throws(TraceError) -> [Request] {
        let lines = text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated()
            .map { (number: $0.offset + 1, text: String($0.element)) }
            .filter { !$0.text.trimmingCharacters(in: .whitespaces).isEmpty }
        guard let headerLine = lines.first else {
            throw TraceError(file: file, message: "empty trace; expected a header: \(columns.joined(separator: ","))")
        }
        let header = cells(headerLine.text)
        let schema = try schema(for: header, file: file, line: headerLine.number)
        var index: [String: Int] = [:]
        for name in schema.columns + (schema == .attnsim ? prefixColumns : []) {
            let positions = header.indices.filter { header[$0] == name }
            guard positions.count <= 1 else {
                throw TraceError(file: file, line: headerLine.number, field: name, message: "column named \(positions.count) times; expected once")
            }
            if let first = positions.first { index[name] = first }
        }
        let rows = lines.dropFirst()
        guard !rows.isEmpty else {
            throw TraceError(file: file, line: headerLine.number, message: "no requests after the header; expected at least one row")
        }
        guard rows.count <= maxRequests else {
            throw TraceError(file: file, message: "\(rows.count) requests; expected at most \(maxRequests)")
        }
        var records: [Record] = []
        records.reserveCapacity(rows.count)
        for line in rows {
            let row = cells(line.text)
            guard row.count == header.count else {
                throw TraceError(file: file, line: line.number, message: "\(row.count) cells; the header names \(header.count) columns")
            }
            var values: [String: String] = [:]
            for (name, at) in index where !row[at].isEmpty { values[name] = row[at] }
            records.append(Record(line: line.number, values: values))
        }
        return try requests(records, schema: schema, file: file)
    }

    /// Parses a JSON Lines trace: one object per non-blank line, whose keys name the
    /// columns of one `Schema` (the first line's keys choose it; other keys ignored),
    /// numbers or, for a date-time arrival, strings; the same checks as `parseCSV`.
    public static func parseJSONLines(_ text: String, file: String) throws(TraceError) -> [Request] {
        let lines = text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated()
            .map { (number: $0.offset + 1, text: String($0.element)) }
            .filter { !$0.text.trimmingCharacters(in: .whitespaces).isEmpty }
        guard !lines.isEmpty else {
            throw TraceError(file: file, message: "empty trace; expected one JSON object per line with \(columns.joined(separator: ", "))")
        }
        guard lines.count <= maxRequests else {
            throw TraceError(file: file, message: "\(lines.count) requests; expected at most \(maxRequests)")
        }
        var schema: Schema?
        var records: [Record] = []
        records.reserveCapacity(lines.count)
        for line in lines {
            let value: JSONValue
            do { value = try JSONParser.parse(line.text, file: file) } catch {
                throw TraceError(file: file, line: line.number, message: "not a JSON object: \(error.message)")
            }
            guard case .object(let members) = value else {
                throw TraceError(file: file, line: line.number, message: "expected a JSON object, found \(value.summary)")
            }
            let keys = members.map(\.key)
            let chosen: Schema
            if let schema { chosen = schema } else {
                chosen = try Self.schema(for: keys, file: file, line: line.number)
                schema = chosen
            }
            var values: [String: String] = [:]
            for name in chosen.columns + (chosen == .attnsim ? prefixColumns : []) {
                let found = members.filter { $0.key == name }
                guard found.count <= 1 else {
                    throw TraceError(file: file, line: line.number, field: name, message: "key given \(found.count) times; expected once")
                }
                guard let member = found.first else { continue }
                switch member.value {
                case .integer(let i): values[name] = String(i)
                case .number(let x): values[name] = String(x)
                case .string(let s): values[name] = s
                case .null: continue
                default:
                    throw TraceError(file: file, line: line.number, field: name, message: "expected a number or a string, found \(member.value.summary)")
                }
            }
            records.append(Record(line: line.number, values: values))
        }
        guard let schema else { throw TraceError(file: file, message: "empty trace") }
        return try requests(records, schema: schema, file: file)
    }

    /// One row of a trace: its line and its cells by column name (missing ones absent).
    struct Record {
        var line: Int
        var values: [String: String]
    }

    /// The schema whose columns `names` hold; an error listing the schemas when none or
    /// several match.
    static func schema(for names: [String], file: String, line: Int) throws(TraceError) -> Schema {
        let matching = Schema.all.filter { schema in schema.columns.allSatisfy(names.contains) }
        guard matching.count == 1, let schema = matching.first else {
            let expected = Schema.all.map { "\($0.name) (\($0.columns.joined(separator: ", ")))" }.joined(separator: "; ")
            if let attnsim = Schema.attnsim.columns.first(where: { !names.contains($0) }), matching.isEmpty,
               Schema.attnsim.columns.contains(where: names.contains) {
                // Most of this tool's own columns: name the missing one.
                throw TraceError(
                    file: file, line: line, field: attnsim,
                    message: "missing column; the header must name \(columns.dropLast().joined(separator: ", ")) and \(columns[columns.count - 1])")
            }
            throw TraceError(
                file: file, line: line,
                message: matching.isEmpty ? "no known columns; expected those of one of: \(expected)" : "columns of several schemas (\(matching.map(\.name).joined(separator: ", "))); expected one of: \(expected)")
        }
        return schema
    }

    /// Checks every record and builds the requests, sorted by arrival (ties by line):
    /// ids follow the file's order; date-time arrivals become seconds after the earliest.
    static func requests(_ records: [Record], schema: Schema, file: String) throws(TraceError) -> [Request] {
        var arrivals: [Double] = []
        arrivals.reserveCapacity(records.count)
        for record in records {
            let text = try value(record, schema.arrival, file: file)
            switch schema.unit {
            case .seconds, .milliseconds:
                let scale = schema.unit == .milliseconds ? 1e-3 : 1
                guard let raw = Double(text), raw.isFinite, raw >= 0, raw * scale <= Request.maxArrivalSeconds else {
                    let unit = schema.unit == .milliseconds ? "milliseconds" : "seconds"
                    let limit = schema.unit == .milliseconds ? Request.maxArrivalSeconds * 1000 : Request.maxArrivalSeconds
                    throw TraceError(
                        file: file, line: record.line, field: schema.arrival,
                        message: "expected \(unit) from 0 to \(NumberFormat.grouped(Int(limit))), found '\(text)'")
                }
                arrivals.append(raw * scale)
            case .dateTime:
                guard let seconds = secondsSinceEpoch(text) else {
                    throw TraceError(
                        file: file, line: record.line, field: schema.arrival,
                        message: "expected a date and time such as 2023-11-16 18:15:46.6805900, found '\(text)'")
                }
                arrivals.append(seconds)
            }
        }
        if schema.unit == .dateTime, let first = arrivals.min() {
            for (i, record) in records.enumerated() {
                arrivals[i] -= first
                guard arrivals[i] <= Request.maxArrivalSeconds else {
                    throw TraceError(
                        file: file, line: record.line, field: schema.arrival,
                        message: "\(arrivals[i]) s after the earliest request; expected at most \(NumberFormat.grouped(Int(Request.maxArrivalSeconds))) s")
                }
            }
        }
        var sessions: [String: Int] = [:], groups: [String: Int] = [:]
        var requests: [Request] = []
        requests.reserveCapacity(records.count)
        for (offset, record) in records.enumerated() {
            var lengths: [Int] = []
            for name in [schema.prompt, schema.output] {
                let text = try value(record, name, file: file)
                guard let value = Int(text), value >= 1 else {
                    throw TraceError(file: file, line: record.line, field: name, message: "expected a positive integer, found '\(text)'")
                }
                guard value <= Request.maxTokens else {
                    throw TraceError(file: file, line: record.line, field: name, message: "expected at most \(Request.maxTokens) tokens, found '\(text)'")
                }
                lengths.append(value)
            }
            guard lengths[0] + lengths[1] <= Request.maxTokens else {
                throw TraceError(
                    file: file, line: record.line, field: schema.output,
                    message: "prompt and output hold \(lengths[0] + lengths[1]) tokens; expected at most \(Request.maxTokens) in all")
            }
            var request = Request(id: offset, arrival: arrivals[offset], promptTokens: lengths[0], outputTokens: lengths[1])
            if let name = record.values["session"] {
                request.session = sessions[name] ?? sessions.count
                sessions[name] = request.session
            }
            switch (record.values["prefix_group"], record.values["prefix_tokens"]) {
            case (nil, nil): break
            case (let group?, let tokensText?):
                guard let tokens = Int(tokensText), tokens >= 1, tokens <= lengths[0] else {
                    throw TraceError(
                        file: file, line: record.line, field: "prefix_tokens",
                        message: "expected a shared prefix of 1 to \(lengths[0]) tokens (the prompt's), found '\(tokensText)'")
                }
                request.prefixGroup = groups[group] ?? groups.count
                groups[group] = request.prefixGroup
                request.sharedPrefixTokens = tokens
            case (nil, _):
                throw TraceError(file: file, line: record.line, field: "prefix_group", message: "missing value; prefix_tokens needs the group it is shared by")
            case (_, nil):
                throw TraceError(file: file, line: record.line, field: "prefix_tokens", message: "missing value; a prefix group needs its shared tokens")
            }
            requests.append(request)
        }
        return requests.sorted { ($0.arrival, $0.id) < ($1.arrival, $1.id) }
    }

    /// The text of a required column, or an error naming the line and field.
    static func value(_ record: Record, _ name: String, file: String) throws(TraceError) -> String {
        guard let text = record.values[name] else { throw TraceError(file: file, line: record.line, field: name, message: "missing value") }
        return text
    }

    /// Seconds since 1970-01-01 of `YYYY-MM-DD[ T]hh:mm:ss[.fraction][Z|+hh:mm|-hh:mm]`
    /// (the proleptic Gregorian calendar, days from civil date by Hinnant's algorithm);
    /// nil for any other text or an impossible date.
    public static func secondsSinceEpoch(_ text: String) -> Double? {
        let chars = Array(text.trimmingCharacters(in: .whitespaces).utf8)
        func digits(_ at: Int, _ count: Int) -> Int? {
            guard at + count <= chars.count else { return nil }
            var value = 0
            for c in chars[at..<(at + count)] {
                guard c >= 48 && c <= 57 else { return nil }
                value = value * 10 + Int(c - 48)
            }
            return value
        }
        guard chars.count >= 19, chars[4] == 45, chars[7] == 45, chars[10] == 32 || chars[10] == 84, chars[13] == 58, chars[16] == 58,
              let year = digits(0, 4), let month = digits(5, 2), let day = digits(8, 2),
              let hour = digits(11, 2), let minute = digits(14, 2), let second = digits(17, 2),
              (1...12).contains(month), hour < 24, minute < 60, second < 61
        else { return nil }
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
        let monthDays = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        guard day >= 1, day <= monthDays[month - 1] else { return nil }
        var at = 19
        var fraction = 0.0
        if at < chars.count, chars[at] == 46 {
            at += 1
            var scale = 0.1
            let start = at
            while at < chars.count, chars[at] >= 48 && chars[at] <= 57 {
                fraction += Double(chars[at] - 48) * scale
                scale /= 10
                at += 1
            }
            guard at > start else { return nil }
        }
        var offset = 0
        if at < chars.count {
            if chars[at] == 90, at + 1 == chars.count {
                at += 1
            } else if chars[at] == 43 || chars[at] == 45, at + 6 == chars.count, chars[at + 3] == 58,
                      let h = digits(at + 1, 2), let m = digits(at + 4, 2), h < 24, m < 60 {
                offset = (chars[at] == 43 ? 1 : -1) * (h * 3600 + m * 60)
                at += 6
            } else {
                return nil
            }
        }
        // Days from 1970-01-01 (Hinnant, "chrono-Compatible Low-Level Date Algorithms").
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        let days = era * 146_097 + dayOfEra - 719_468
        return Double(days * 86_400 + hour * 3600 + minute * 60 + second - offset) + fraction
    }

    /// The cells of one CSV line, trimmed of spaces.
    private static func cells(_ line: String) -> [String] {
        line.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
    }
}
