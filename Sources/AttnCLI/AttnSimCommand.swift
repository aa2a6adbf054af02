/// One subcommand: its name, the one-line summary `attnsim --help` lists, and its entry.
struct Subcommand: Sendable {
    let name: String
    let summary: String
    /// The options it accepts (what its `--help` lists; the fuzz tests draw from them).
    let options: [OptionSpec]
    /// Runs the command on the arguments after its name. A `UsageError` thrown here is
    /// reported with a pointer to `attnsim NAME --help`.
    let entry: @Sendable ([String], Console) throws -> ExitCode

    /// A command whose arguments are parsed here against its options: `--help` (or `-h`)
    /// prints `help` and succeeds; otherwise `body` runs on the parsed arguments. A bad
    /// argument is a `UsageError`.
    init(
        name: String, summary: String, options: [OptionSpec], help: @escaping @autoclosure @Sendable () -> String,
        body: @escaping @Sendable (ParsedArguments, Console) throws -> ExitCode
    ) {
        self.name = name
        self.summary = summary
        self.options = options
        entry = { arguments, console in
            let parsed = try ParsedArguments(arguments, options: options, command: name)
            if parsed.has("help") {
                console.out(help())
                return .success
            }
            return try body(parsed, console)
        }
    }
}

/// The `attnsim` command: dispatches to subcommands and turns every outcome into an exit
/// code. It never exits the process itself, so tests can drive it end to end.
public enum AttnSimCommand {
    public static let version = "0.1.0"

    /// Every subcommand, written once: dispatch, the list in `attnsim --help`, the
    /// "See 'attnsim NAME --help'" hint and `attnsim help NAME` all read this table.
    static let subcommands: [Subcommand] = [
        Subcommand(name: "run", summary: "Run a scenario file, or one algorithm on an ad-hoc shape", options: RunCommand.options, help: RunCommand.help, body: RunCommand.main),
        Subcommand(name: "kv", summary: "KV-cache footprint of a model across contexts, and what fits", options: KVCommand.options, help: KVCommand.help, body: KVCommand.main),
        Subcommand(name: "paged", summary: "Paged vs contiguous KV allocation over a request trace", options: PagedCommand.options, help: PagedCommand.help, body: PagedCommand.main),
        Subcommand(name: "roofline", summary: "Predict time, bound and DRAM traffic per kernel; plot a roofline", options: RooflineCommand.options, help: RooflineCommand.help, body: RooflineCommand.main),
        Subcommand(name: "model", summary: "A whole decoder model: operators per layer, TTFT, TPOT, memory, pruning, GPUs", options: ModelCommand.options, help: ModelCommand.help, body: ModelCommand.main),
        Subcommand(name: "tune", summary: "Rank block sizes (and splits) of an algorithm by predicted time", options: TuneCommand.options, help: TuneCommand.help, body: TuneCommand.main),
        Subcommand(name: "validate", summary: "Compare the cost model with measured GPU counters (calibration CSV)", options: ValidateCommand.options, help: ValidateCommand.help, body: ValidateCommand.main),
        Subcommand(name: "rope", summary: "Critical dimension and extrapolation bound of a RoPE model, and what NTK/YaRN/ABF do to them", options: RoPECommand.options, help: RoPECommand.help, body: RoPECommand.main),
        Subcommand(name: "list", summary: "List the built-in algorithms, models and hardware profiles", options: ListCommand.options, help: ListCommand.help, body: ListCommand.main),
        Subcommand(name: "bench", summary: "Time count-only runs at long contexts (build with -c release)", options: BenchCommand.options, help: BenchCommand.help, body: BenchCommand.main),
        Subcommand(name: "help", summary: "Show this list, or a command's options (attnsim help COMMAND)", options: helpOptions, help: helpOfHelp, body: help),
        Subcommand(name: "version", summary: "Print the version (also attnsim --version)", options: helpOptions, help: helpOfVersion, body: printVersion),
    ]

    /// The subcommand names, in the order `attnsim --help` lists them.
    public static var subcommandNames: [String] { subcommands.map(\.name) }

    static func subcommand(named name: String) -> Subcommand? {
        subcommands.first { $0.name == name }
    }

    /// The text of `attnsim`, `attnsim --help` and `attnsim help`.
    static var summary: String {
        let width = (subcommands.map(\.name.count).max() ?? 0) + 2
        let lines = subcommands.map { "  " + $0.name + String(repeating: " ", count: width - $0.name.count) + $0.summary }
        return """
            attnsim: a memory/IO simulator for attention. It replays attention algorithms,
            written in a tile language, over a GPU memory hierarchy and counts every byte and FLOP.

            USAGE: attnsim <command> [options]

            COMMANDS:
            \(lines.joined(separator: "\n"))

            Run 'attnsim <command> --help' (or -h) for a command's options, 'attnsim --version' for the version.
            """
    }

    /// Runs the command line (without the program name) and returns the exit code.
    ///
    /// If writing to standard output fails, the result is exit code 1 with one `error:`
    /// line on standard error (none when the reader closed the pipe, EPIPE).
    public static func main(_ arguments: [String], console: Console = .standard()) -> Int32 {
        guard let first = arguments.first else {
            console.err(summary + "\n")
            return ExitCode.usage.rawValue
        }
        let name: String
        switch first {
        case "--help", "-h": name = "help"
        case "--version": name = "version"
        default: name = first
        }
        let code = dispatch(name, Array(arguments.dropFirst()), console: console)
        if let failure = console.outputFailure {
            guard code == ExitCode.success.rawValue else { return code }
            if !((failure as? OutputError)?.isBrokenPipe ?? false) { console.err(ErrorReport.text(failure)) }
            return ExitCode.failure.rawValue
        }
        return code
    }

    private static func dispatch(_ name: String, _ rest: [String], console: Console) -> Int32 {
        do {
            guard let command = subcommand(named: name) else {
                throw UsageError(message: "unknown command '\(name)'", hint: "attnsim --help")
            }
            return try command.entry(rest, console).rawValue
        } catch let error as UsageError {
            let topic = error.hint ?? (subcommand(named: name) != nil ? "attnsim \(name) --help" : "attnsim --help")
            console.err("error: \(ErrorReport.message(error))\nSee '\(topic)'.\n")
            return ExitCode.usage.rawValue
        } catch {
            console.err(ErrorReport.text(error))
            return ExitCode.failure.rawValue
        }
    }

    static let helpOptions = [OptionSpec.helpFlag]

    /// The text of `attnsim help --help`.
    static let helpOfHelp = helpText(
        usage: "attnsim help [COMMAND]",
        summary: "Without COMMAND, lists the commands; with one, shows its options (the same as 'attnsim COMMAND --help').",
        options: helpOptions)

    /// `attnsim help [COMMAND]`: the command list, or COMMAND's own `--help`.
    static func help(_ parsed: ParsedArguments, console: Console) throws -> ExitCode {
        guard parsed.positionals.count <= 1 else { throw UsageError(message: "'help' takes at most one command") }
        guard let topic = parsed.positionals.first else {
            console.out(summary + "\n")
            return .success
        }
        guard let command = subcommand(named: topic) else {
            throw UsageError(message: "unknown command '\(topic)'", hint: "attnsim --help")
        }
        return try command.entry(["--help"], console)
    }

    /// The text of `attnsim version --help`.
    static let helpOfVersion = helpText(usage: "attnsim version (or attnsim --version)", summary: "Prints the version of attnsim.", options: helpOptions)

    /// `attnsim version` and `attnsim --version`.
    static func printVersion(_ parsed: ParsedArguments, console: Console) throws -> ExitCode {
        guard parsed.positionals.isEmpty else { throw UsageError(message: "'version' takes no arguments") }
        console.out("attnsim \(version)\n")
        return .success
    }
}
