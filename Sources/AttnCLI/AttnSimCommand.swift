/// The `attnsim` command: dispatches to subcommands and turns every outcome into an exit
/// code. It never exits the process itself, so tests can drive it end to end.
public enum AttnSimCommand {
    public static let version = "0.1.0"

    static let summary = """
        attnsim: a memory/IO simulator for attention. It replays attention algorithms,
        written in a tile language, over a GPU memory hierarchy and counts every byte and FLOP.

        USAGE: attnsim <command> [options]

        COMMANDS:
          run      Run a scenario file, or one algorithm on an ad-hoc shape
          kv       KV-cache footprint of a model across contexts, and what fits
          paged    Paged vs contiguous KV allocation over a request trace
          roofline Predict time, bound and DRAM traffic per kernel; plot a roofline
          tune     Rank block sizes (and splits) of an algorithm by predicted time
          validate Compare the cost model with measured GPU counters (calibration CSV)
          list     List the built-in algorithms, models and hardware profiles
          bench    Time count-only runs at long contexts (build with -c release)
          help     Show help for a command

        Run 'attnsim <command> --help' for a command's options.
        """

    /// Runs the command line (without the program name) and returns the exit code.
    public static func main(_ arguments: [String], console: Console = .standard()) -> Int32 {
        guard let command = arguments.first else {
            console.err(summary + "\n")
            return ExitCode.usage.rawValue
        }
        let rest = Array(arguments.dropFirst())
        do {
            switch command {
            case "run": return try RunCommand.main(rest, console: console).rawValue
            case "list": return try ListCommand.main(rest, console: console).rawValue
            case "kv": return try KVCommand.main(rest, console: console).rawValue
            case "validate": return try ValidateCommand.main(rest, console: console).rawValue
            case "roofline": return try RooflineCommand.main(rest, console: console).rawValue
            case "tune": return try TuneCommand.main(rest, console: console).rawValue
            case "paged": return try PagedCommand.main(rest, console: console).rawValue
            case "bench": return try BenchCommand.main(rest, console: console).rawValue
            case "help", "--help", "-h":
                if let topic = rest.first {
                    return main([topic, "--help"], console: console)
                }
                console.out(summary + "\n")
                return ExitCode.success.rawValue
            case "--version":
                console.out("attnsim \(version)\n")
                return ExitCode.success.rawValue
            default:
                throw UsageError(message: "unknown command '\(command)'")
            }
        } catch let error as UsageError {
            let topic = ["run", "kv", "paged", "roofline", "tune", "validate", "list", "bench"].contains(command) ? "attnsim \(command) --help" : "attnsim --help"
            console.err("error: \(error.message)\nSee '\(topic)'.\n")
            return ExitCode.usage.rawValue
        } catch {
            console.err("error: \(error)\n")
            return ExitCode.failure.rawValue
        }
    }
}
