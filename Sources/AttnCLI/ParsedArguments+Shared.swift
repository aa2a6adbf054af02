import AttnHardware
import AttnNumerics
import AttnReport
import AttnScenario
import KVCache

/// The shared options parsed in one place (their specs: `OptionSpec+Shared.swift`): each
/// gives a typed value or a usage error naming the option and what it expects. The
/// library takes the values, never the flags.
extension ParsedArguments {
    /// `--format`: table (default), markdown, csv or json.
    func format() throws(UsageError) -> ReportFormat {
        guard let name = value("format") else { return .table }
        guard let format = ReportFormat(rawValue: name) else {
            throw UsageError(message: "'--format' expects table, markdown, csv or json, found '\(name)'")
        }
        return format
    }

    /// `--hardware`: a built-in profile or a profile file; by default the H100 SXM.
    var hardware: String {
        value("hardware") ?? HardwareProfile.defaultName
    }

    /// `--dtype` of attention runs: fp32, fp16 (default) or bf16.
    func attentionDType() throws(UsageError) -> DType {
        guard let name = value("dtype") else { return .fp16 }
        // fp8 is a per-tensor dtype of programs (a K/V cache), not the run's storage dtype.
        guard let dtype = DType(name: name), dtype.bytes >= 2 else {
            throw UsageError(message: "'--dtype' expects fp32, fp16 or bf16, found '\(name)'")
        }
        return dtype
    }

    /// `--dtype` of KV caches (fp16 by default) with `--quant-group` (or `--int4-group`)
    /// for int8 and int4; a group given for another dtype is a usage error.
    func kvDType() throws(UsageError) -> KVDType {
        var group: KVDType.QuantGroup?
        if has("quant-group") && has("int4-group") {
            throw UsageError(message: "'--quant-group' and '--int4-group' set the same group; give one")
        }
        if let text = value("quant-group") {
            guard let g = KVDType.QuantGroup(name: text) else {
                throw UsageError(message: "'--quant-group' expects a positive group size or 'token', found '\(text)'")
            }
            group = g
        } else if let size = try integer("int4-group") {
            group = .elements(size)
        }
        guard let name = value("dtype") else {
            if group != nil { throw UsageError(message: "'--quant-group' applies to --dtype int8 or int4") }
            return .fp16
        }
        guard let dtype = KVDType(name: name, group: group) else {
            throw UsageError(message: "'--dtype' expects \(KVDType.names), found '\(name)'")
        }
        if group != nil && dtype.group == nil {
            throw UsageError(message: "'--quant-group' applies to --dtype int8 or int4, not \(dtype)")
        }
        return dtype
    }

    /// `--memory-utilization`: a share of HBM in (0, 1], default vLLM's 0.9.
    func memoryUtilization() throws(UsageError) -> Double {
        guard let text = value("memory-utilization") else { return KVCapacity.defaultMemoryUtilization }
        guard let value = Double(text), value > 0, value <= 1 else {
            throw UsageError(message: "'--memory-utilization' expects a number in (0, 1], found '\(text)'")
        }
        return value
    }

    /// `--context LIST` (`ContextList.parse`: sizes of at least 1, comma-separated, no
    /// spaces); nil when absent. `example` is the list the error shows.
    func contexts(example: String) throws(UsageError) -> [Int]? {
        guard let text = value("context") else { return nil }
        guard let contexts = ContextList.parse(text) else {
            throw UsageError(message: "'--context' expects lengths such as \(example), found '\(text)'")
        }
        return contexts
    }

    /// A comma-separated list of names (`--algorithms a,b`; a repeatable option's values
    /// joined), items as written; nil when the option is absent. An empty list or an
    /// empty item (`''`, `a,,b`, `a,`) is a usage error: a selection is never empty.
    func names(_ name: String) throws(UsageError) -> [String]? {
        guard has(name) else { return nil }
        var names: [String] = []
        for text in all(name) {
            let items = text.split(separator: ",", omittingEmptySubsequences: false)
            guard !items.contains(where: \.isEmpty) else {
                throw UsageError(message: "'--\(name)' expects one or more names separated by commas, found '\(text)'")
            }
            names += items.map(String.init)
        }
        return names
    }

    /// `--allow-long`: run past the work budget.
    var allowLong: Bool { has("allow-long") }

    /// `--allow-beyond-max`: run contexts past the model's maximum context.
    var allowBeyondMax: Bool { has("allow-beyond-max") }

    /// The files the arguments name for reading: every positional (a scenario or CSV
    /// file), and each input option's value, or comma-separated item, that ends in the
    /// option's suffix (the rest are built-in names).
    var inputPaths: [String] {
        var paths = positionals
        for option in options {
            guard case .input(let suffix) = option.role else { continue }
            for text in all(option.name) {
                let candidates = [text] + text.split(separator: ",").map(String.init)
                paths += candidates.filter { $0.hasSuffix(suffix) }
            }
        }
        return paths
    }

    /// Where each output option given writes, by option name. A usage error when two
    /// outputs are standard output (`-`), when two name one file, or when one names a
    /// file the command reads: `inputPaths` or `reading` (the files a scenario names), so
    /// that `roofline s.json --svg s.json` cannot overwrite its input.
    func outputs(reading: [String] = []) throws(UsageError) -> [String: OutputPath] {
        let inputs = inputPaths + reading
        var result: [String: OutputPath] = [:]
        var standardOutput: String?
        var files: [(option: String, path: String)] = []
        for option in options where option.role == .output {
            guard let argument = value(option.name) else { continue }
            let destination = OutputPath(argument)
            result[option.name] = destination
            guard case .file(let path) = destination else {
                if let other = standardOutput {
                    throw UsageError(message: "'--\(other)' and '--\(option.name)' both write to standard output ('-'); give one of them a file")
                }
                standardOutput = option.name
                continue
            }
            if let other = files.first(where: { OutputPath.sameFile($0.path, path) }) {
                throw UsageError(message: "'--\(other.option)' and '--\(option.name)' both write '\(path)'; give each its own file")
            }
            if let input = inputs.first(where: { OutputPath.sameFile($0, path) }) {
                throw UsageError(message: "'--\(option.name)' would overwrite the input '\(input)'; give another path")
            }
            files.append((option.name, path))
        }
        return result
    }
}
