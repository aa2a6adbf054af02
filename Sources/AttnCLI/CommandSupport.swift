import AttnJSON
import AttnScenario
import Workload

/// What commands share besides option parsing: running with errors reported, and
/// the command line's wording of a scenario it built.
enum CommandSupport {
    /// Runs `body`; a usage error propagates (exit 64), any other error is printed and
    /// gives exit code 1.
    static func reporting(_ console: Console, _ body: () throws -> ExitCode) throws -> ExitCode {
        do {
            return try body()
        } catch let error as UsageError {
            throw error
        } catch {
            console.err(ErrorReport.text(error))
            return .failure
        }
    }

    /// The option that sets each field of a scenario built on the command line.
    static let optionOfField = [
        "shape.batch": "--batch", "shape.heads": "--heads", "shape.kv_heads": "--kv-heads", "shape.head_dim": "--head-dim", "shape.q_len": "--q-len",
    ]

    /// Throws the first size past the simulator's limits of a scenario built on the
    /// command line, at the option that set it: `command line: --context: ...`.
    static func checkSize(_ scenario: Scenario) throws(ScenarioError) {
        guard let (field, message) = scenario.sizeViolation() else { return }
        let option = optionOfField[field] ?? (field.hasPrefix("contexts") ? "--context" : field)
        throw .invalid(JSONInputError(file: "command line", path: option, message: message))
    }

    /// Contexts past a model's maximum context: refused (a usage error naming the model
    /// and its limit, and `how` to go on anyway) unless `allowed`, then a warning each on
    /// standard error.
    static func beyondMax(_ limits: [ContextLimit], allowed: Bool, how: String = "give --allow-beyond-max to run it anyway", console: Console) throws(UsageError) {
        guard let first = limits.first else { return }
        guard allowed else { throw UsageError(message: "\(first); \(how)") }
        for limit in limits { console.err("warning: \(limit); running past it as allowed\n") }
    }

    /// The study file a command's positional argument names. A `.tile` program there is a
    /// usage error that says how to run it (`--algorithm FILE.tile` on a shape), rather than
    /// a JSON parse error at its first character.
    static func studyFile(_ path: String, command: String) throws -> StudyFile {
        if path.hasSuffix(".tile") {
            throw UsageError(
                message: "\(path) is a tile program, not a scenario file: "
                    + (command == "run"
                        ? "give it as '--algorithm \(path)' with --heads, --head-dim and --context"
                        : "name it in an attention scenario's \"algorithms\" and give the scenario, or run it with 'attnsim run --algorithm \(path)'"))
        }
        return try StudyFile.load(path: path)
    }

    /// The files a scenario reads besides itself: its `.tile` programs and a hardware
    /// profile file (which an output must not overwrite).
    static func inputs(of scenario: Scenario) -> [String] {
        scenario.algorithms.map(\.program).filter { $0.hasSuffix(".tile") } + [scenario.hardware].filter { $0.hasSuffix(".json") }
    }
}
