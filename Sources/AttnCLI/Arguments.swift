import AttnNumerics

/// A command-line usage error: reported with a pointer to `--help`, exit code 64.
struct UsageError: Error, CustomStringConvertible {
    var message: String
    /// The command line the "See '...'" line points to; nil: the failing command's `--help`.
    var hint: String? = nil
    var description: String { message }
}

/// The options one command accepts.
struct OptionSpec {
    var name: String
    /// Placeholder for the value (`N`, `FILE`); nil for a flag.
    var value: String?
    var help: String
    var repeatable = false
    /// What the value names: a plain value, a file the command reads, or one it writes.
    var role = Role.value

    /// What an option's value names, so that an output is never one of the inputs.
    enum Role: Equatable {
        case value
        /// A file the command reads when the value (or, for a comma list, an item) ends
        /// in `suffix` (`.json`, `.tile`; `""`: any value); otherwise a built-in name.
        case input(suffix: String)
        /// A file the command writes (`-`: standard output).
        case output
    }
}

/// Parsed command-line arguments: `--name value`, `--name=value`, flags and positionals.
/// `-h` means `--help` for every command that has a `help` option.
struct ParsedArguments {
    private(set) var values: [String: [String]] = [:]
    private(set) var positionals: [String] = []
    /// The options the command accepts.
    let options: [OptionSpec]
    /// The command's name (`run`, `kv`, ...).
    let command: String
    /// The arguments as given, each option with its value: (option name or nil for a
    /// positional, the words), so that the command line can be written back.
    private(set) var words: [(option: String?, words: [String])] = []

    init(_ arguments: [String], options: [OptionSpec], command: String) throws(UsageError) {
        self.options = options
        self.command = command
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            let start = index
            index += 1
            if argument == "-h", options.contains(where: { $0.name == "help" }) {
                values["help", default: []].append("")
                continue
            }
            guard argument.hasPrefix("--"), argument.count > 2 else {
                if argument.hasPrefix("-") && argument != "-" && Double(argument) == nil {
                    throw UsageError(message: "unknown option '\(argument)' for '\(command)'")
                }
                positionals.append(argument)
                words.append((nil, [argument]))
                continue
            }
            defer { words.append((String(argument.dropFirst(2).prefix { $0 != "=" }), Array(arguments[start..<index]))) }
            var name = String(argument.dropFirst(2))
            var inlineValue: String?
            if let equals = name.firstIndex(of: "=") {
                inlineValue = String(name[name.index(after: equals)...])
                name = String(name[..<equals])
            }
            guard let spec = options.first(where: { $0.name == name }) else {
                throw UsageError(message: "unknown option '--\(name)' for '\(command)'")
            }
            if spec.value == nil {
                if inlineValue != nil { throw UsageError(message: "'--\(name)' takes no value") }
                values[name, default: []].append("")
                continue
            }
            let value: String
            if let inlineValue {
                value = inlineValue
            } else {
                guard index < arguments.count else { throw UsageError(message: "'--\(name)' needs a value (\(spec.value ?? ""))") }
                value = arguments[index]
                index += 1
            }
            if !spec.repeatable && values[name] != nil {
                throw UsageError(message: "'--\(name)' given more than once")
            }
            values[name, default: []].append(value)
        }
    }

    func has(_ name: String) -> Bool { values[name] != nil }
    func value(_ name: String) -> String? { values[name]?.last }
    func all(_ name: String) -> [String] { values[name] ?? [] }

    /// An integer option, written as a size (`NumberFormat.size`: digits with an optional
    /// `k` or `m` suffix, `4k` = 4,096, no sign or spaces) of at least `minimum`.
    func integer(_ name: String, minimum: Int = 1) throws(UsageError) -> Int? {
        guard let text = value(name) else { return nil }
        guard let n = NumberFormat.size(text), n >= minimum else {
            throw UsageError(message: "'--\(name)' expects an integer of at least \(minimum) (k and m suffixes allowed: 4k = 4096), found '\(text)'")
        }
        return n
    }
}

/// Renders a command's `--help` text.
func helpText(usage: String, summary: String, options: [OptionSpec], footer: String = "") -> String {
    var text = "USAGE: \(usage)\n\n\(summary)\n\nOPTIONS:\n"
    let lefts = options.map { ($0.name == "help" ? "-h, " : "") + "--\($0.name)" + ($0.value.map { " \($0)" } ?? "") }
    let width = (lefts.map(\.count).max() ?? 0) + 2
    for (left, option) in zip(lefts, options) {
        text += "  " + left + String(repeating: " ", count: width - left.count) + option.help + "\n"
    }
    if !footer.isEmpty { text += "\n" + footer + "\n" }
    return text
}
