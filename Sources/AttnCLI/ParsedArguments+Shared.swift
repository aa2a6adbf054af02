import AttnHardware
import AttnModel
import AttnNumerics
import AttnReport
import AttnScenario
import KVCache
import Workload

/// The shared options parsed in one place (their specs: `OptionSpec+Shared.swift`): each
/// gives a typed value or a usage error naming the option and what it expects. The
/// library takes the values, never the flags.
extension ParsedArguments {
    /// `--format` of a reporting command: table (default), markdown, csv, json or html.
    func format() throws(UsageError) -> OutputFormat {
        guard let name = value("format") else { return .report(.table) }
        if name == "html" { return .html }
        guard let format = ReportFormat(rawValue: name) else {
            throw UsageError(message: "'--format' expects table, markdown, csv, json or html, found '\(name)'")
        }
        return .report(format)
    }

    /// `--format` of a command with fewer formats (`list`: table or json).
    func format(among formats: [ReportFormat]) throws(UsageError) -> ReportFormat {
        guard let name = value("format") else { return formats[0] }
        guard let format = ReportFormat(rawValue: name), formats.contains(format) else {
            let names = formats.map(\.rawValue)
            let expected = names.count > 1 ? names.dropLast().joined(separator: ", ") + " or " + (names.last ?? "") : names.joined()
            throw UsageError(message: "'--format' expects \(expected), found '\(name)'")
        }
        return format
    }

    /// Where and how a reporting command delivers its report: `--format` and `--output`
    /// (from `outputs`, checked against the inputs and the other outputs). html needs
    /// `--output` (a file, or `-` for standard output): a page is not for a terminal. The
    /// report goes to standard error when another output (`--trace -`, `--svg -`) has
    /// standard output.
    func reportTarget(_ outputs: [String: OutputPath]) throws(UsageError) -> ReportTarget {
        let format = try self.format()
        let destination = outputs["output"]
        if format == .html && destination == nil {
            throw UsageError(message: "'--format html' writes a page: give --output FILE.html (or --output - for standard output)")
        }
        let taken = outputs.contains { $0.key != "output" && $0.value == .standardOutput }
        return ReportTarget(
            format: format, destination: destination, toStandardError: taken, commandLine: commandLine(), jsonCommandLine: commandLine(format: "json"))
    }

    /// The command line as given (`attnsim NAME ARGUMENTS`, quoted for a POSIX shell);
    /// with `format`, `--format` set to it and `--output` dropped: the command that prints
    /// an html page's data.
    func commandLine(format: String? = nil) -> String {
        var line = ["attnsim", command]
        for (option, text) in words {
            if format != nil, let option, option == "format" || option == "output" { continue }
            line += text
        }
        if let format { line += ["--format", format] }
        return ParsedArguments.shellQuoted(line)
    }

    /// Words joined into a POSIX shell command line: a word of safe characters as it is,
    /// any other in single quotes.
    static func shellQuoted(_ words: [String]) -> String {
        let safe = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./:=,+%@-")
        return words.map { word in
            !word.isEmpty && word.allSatisfy(safe.contains) ? word : "'" + word.split(separator: "'", omittingEmptySubsequences: false).joined(separator: "'\\''") + "'"
        }.joined(separator: " ")
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

    /// A `TensorFormat` option (`--weights`, `--experts`, `--activations`, a model's
    /// `--dtype`); nil when absent.
    func tensorFormat(_ name: String) throws(UsageError) -> TensorFormat? {
        guard let text = value(name) else { return nil }
        guard let format = TensorFormat(name: text) else {
            throw UsageError(message: "'--\(name)' expects \(TensorFormat.names), found '\(text)'")
        }
        return format
    }

    /// A model's precision: `--dtype` (every component) with `--weights`, `--experts`,
    /// `--activations` and `--kv` beside it (`ModelPrecision.resolve`).
    func modelPrecision() throws(UsageError) -> (dtype: DType, precision: ModelPrecision) {
        var kv: KVDType?
        if let text = value("kv") {
            guard let parsed = KVDType(name: text) ?? KVDType.named(text) else {
                throw UsageError(message: "'--kv' expects \(KVDType.names) (int8-token, int4-g64: a group), found '\(text)'")
            }
            kv = parsed
        }
        let activations = try tensorFormat("activations")
        if let activations {
            switch activations {
            case .int8, .int4: throw UsageError(message: "'--activations' expects fp32, fp16, bf16, fp8, fp8e5m2, nvfp4 or mxfp4 (integer formats are weight-only), found '\(activations)'")
            default: break
            }
        }
        return ModelPrecision.resolve(
            dtype: try tensorFormat("dtype"), weights: try tensorFormat("weights"), experts: try tensorFormat("experts"), activations: activations, kv: kv)
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
        if let (index, _) = ContextList.firstRepeat(contexts) {
            throw UsageError(message: "'--context' gives \(ContextList.format(contexts[index])) more than once, in '\(text)'")
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
