import Foundation
import Testing
import AttnAlgorithms
@testable import AttnCLI
import AttnNumerics
import AttnScenario
import TileInterpreter
import TileLanguage
import AttnTestSupport

/// Random inputs never crash or hang the tool: argument lists drawn from every
/// command's options with hostile values (device files among them), mutated scenario
/// files run through the CLI, mutated tile programs checked, bound and counted
/// (compressed and exhaustive), and mutated calibration CSVs, request traces and
/// hardware profiles.
///
/// A crash ends the test process; a case slower than `caseSeconds` is a failure that
/// prints its input (a mutated file, slower than three times its original plus 5 s).
/// The default suite runs 510 cases; `scripts/fuzz.sh` runs 100,000 (67,000 argument
/// lists, 10,000 scenarios, 20,000 programs, 3,000 files) in an optimized build under
/// `timeout`, so a true hang also fails (docs/testing.md).
@Suite struct FuzzTests {
    /// Cases of each kind: `ATTNSIM_FUZZ_ARGS`, `ATTNSIM_FUZZ_SCENARIOS`,
    /// `ATTNSIM_FUZZ_PROGRAMS` and `ATTNSIM_FUZZ_FILES` (scenarios and files run whole
    /// studies, so they are the slow kinds).
    static func cases(_ kind: String, default value: Int) -> Int {
        ProcessInfo.processInfo.environment["ATTNSIM_FUZZ_\(kind)"].flatMap { Int($0) } ?? value
    }
    static let seed = ProcessInfo.processInfo.environment["ATTNSIM_FUZZ_SEED"].flatMap { UInt64($0) } ?? 20261201
    /// Where fuzzed output files (`--trace`, `--svg`, `--timeline`) are written.
    static let scratch: URL = {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("attnsim-fuzz-\(ProcessInfo.processInfo.processIdentifier)")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }()

    /// The slowest a case may be before it counts as a hang.
    static let caseSeconds = 30.0

    /// Values that have broken tools before: extremes, signs, non-numbers, lists.
    static let hostileValues = [
        "-1", "0", "1", "2", "3", "7", "16", "64", "100", "1k", "4k", "16k", "1m", "32m", "1e9", "1e-300", "1e300", "nan",
        "inf", "-inf", "", " ", "abc", "1,2,3", "1,,2", ",", "k", "-0", "0.5", "99999999999999", "9223372036854775807",
        "-9223372036854775808", "18446744073709551616", "fp16", "fp8", "int4", "bf16", "flash2", "standard", "h100-sxm",
        "llama-2-7b", "opt-13b", "sharegpt", "Br=64", "Br=-1", "splits=1000000007", "M=-9223372036854775808", "causal=1",
        "window=0", "local:2,stride:4", "random:0.25", "random:2", "/dev/null", "/nonexistent", "scenarios", "table", "json", "csv",
        "/dev/zero", "/dev/urandom", "local:2,stride:abc", "local:2,stride:", "block_density=-1", "1k, 4k", " 4k",
    ]

    func elapsed<T>(_ body: () -> T) -> (T, Double) {
        let start = DispatchTime.now().uptimeNanoseconds
        let value = body()
        return (value, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
    }

    func pick<T>(_ items: [T], _ generator: inout SeededGenerator) -> T {
        items[Int(generator.next() % UInt64(items.count))]
    }

    /// Runs the CLI in process and checks the outcome is one of the three exit codes with
    /// output that says what happened.
    /// `baseline`, when given, runs the unmutated input: a case over `caseSeconds` still
    /// passes when it is no slower than three times the baseline plus five seconds (a
    /// numeric scenario takes tens of seconds in a debug build on a loaded machine; a
    /// mutation that makes it hang does not).
    func expectClean(_ arguments: [String], label: String, baseline: (() -> Double)? = nil) {
        let captured = CapturedConsole()
        let (code, seconds) = elapsed { AttnSimCommand.main(arguments, console: captured.console) }
        let shown = arguments.map { "'\($0)'" }.joined(separator: " ")
        #expect([0, 1, 64].contains(code), "\(label): exit \(code) for attnsim \(shown)")
        if code != 0 {
            // Warnings a run printed before it failed may come first (a study past its
            // model's maximum context, say); then the error.
            let lines = captured.stderr.split(separator: "\n", omittingEmptySubsequences: false)
            let error = lines.drop { $0.hasPrefix("warning: ") }.first ?? ""
            #expect(error.hasPrefix("error: "), "\(label): no error line for attnsim \(shown): \(captured.stderr)")
        }
        guard seconds >= Self.caseSeconds else { return }
        if let baseline {
            let original = baseline()
            #expect(seconds < 3 * original + 5, "\(label): \(seconds) s for attnsim \(shown); the unmutated input takes \(original) s")
        } else {
            #expect(seconds < Self.caseSeconds, "\(label): \(seconds) s for attnsim \(shown)")
        }
    }

    @Test func argumentListsNeverCrash() {
        var generator = SeededGenerator(seed: Self.seed)
        let commands = AttnSimCommand.subcommands.filter { $0.name != "bench" }
        for index in 0..<Self.cases("ARGS", default: 300) {
            let command = pick(commands, &generator)
            var arguments = [command.name]
            for _ in 0..<Int(generator.next() % 6) {
                guard !command.options.isEmpty, generator.next() % 8 != 0 else {
                    arguments.append(pick(Self.hostileValues, &generator))
                    continue
                }
                let option = pick(command.options, &generator)
                if option.name == "help" { continue }
                arguments.append("--" + option.name)
                guard let placeholder = option.value else { continue }
                var value = pick(Self.hostileValues, &generator)
                // Files a command writes go to a scratch folder, never the working directory.
                if placeholder == "FILE", !value.hasPrefix("/") { value = Self.scratch.appendingPathComponent(value.isEmpty ? "empty" : value).path }
                arguments.append(value)
            }
            // Keep numeric runs small enough to finish: a fuzzed shape in numeric mode is
            // refused by the work budget or runs on the shape given.
            expectClean(arguments, label: "case \(index)")
        }
    }

    /// Mutated scenarios: either a located error or a run.
    @Test func mutatedScenariosRunOrFailCleanly() throws {
        let folder = repositoryRoot.appendingPathComponent("scenarios")
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".json") }.sorted()
        var generator = SeededGenerator(seed: Self.seed &+ 1)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("fuzz-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        // Relative paths in scenarios (programs, traces) resolve next to the file.
        for sub in ["programs", "traces"] {
            try? FileManager.default.copyItem(at: folder.appendingPathComponent(sub), to: directory.appendingPathComponent(sub))
        }
        for index in 0..<Self.cases("SCENARIOS", default: 30) {
            let name = pick(files, &generator)
            let original = try String(contentsOf: folder.appendingPathComponent(name), encoding: .utf8)
            let text = Mutation.mutate(original, &generator)
            let path = directory.appendingPathComponent("m\(index % 8)-\(name)")
            try text.write(to: path, atomically: false, encoding: .utf8)
            let originalPath = directory.appendingPathComponent("original-\(name)")
            expectClean(["run", path.path, "--format", "csv"], label: "scenario case \(index) from \(name)") {
                try? original.write(to: originalPath, atomically: false, encoding: .utf8)
                return self.elapsed { AttnSimCommand.main(["run", originalPath.path, "--format", "csv"], console: CapturedConsole().console) }.1
            }
        }
    }

    /// Mutated built-in programs: a located diagnostic, or counts that agree compressed
    /// and exhaustive (both fail alike or both succeed with the same counters).
    @Test func mutatedProgramsCountAlike() throws {
        var generator = SeededGenerator(seed: Self.seed &+ 2)
        let names = AlgorithmLibrary.builtInNames
        for index in 0..<Self.cases("PROGRAMS", default: 150) {
            let name = pick(names, &generator)
            let original = try AlgorithmLibrary.builtInSource(name).text
            let text = Mutation.mutate(original, &generator)
            let lines = original.split(separator: "\n", omittingEmptySubsequences: false).count
            let program: Program
            do {
                program = try Checker.check(SourceFile(name: "m.tile", text: text))
            } catch {
                #expect(error.location.line >= 1 && error.location.line <= lines + 2, "case \(index): \(error)")
                continue
            }
            let shape = ProblemShape(batch: 1, heads: 2, kvHeads: 1, queryLength: 40, keyLength: 50, headDim: 8)
            guard let bound = try? BoundProgram(program: program, shape: shape, dtype: .fp16, hardware: TestSupport.h100) else { continue }
            let (compressed, seconds) = elapsed { Result { () throws(Diagnostic) -> RunStats in try Simulator.run(bound, options: RunOptions(mode: .count)).stats } }
            #expect(seconds < Self.caseSeconds, "case \(index): \(seconds) s\n\(text)")
            let exhaustive = Result { () throws(Diagnostic) -> RunStats in try Simulator.run(bound, options: RunOptions(mode: .count, compress: false)).stats }
            switch (compressed, exhaustive) {
            case (.success(let a), .success(let b)):
                #expect(a == b, "case \(index): compressed and exhaustive counts differ\n\(text)")
            case (.failure(let a), .failure(let b)):
                #expect(a.kind == b.kind, "case \(index): \(a) vs \(b)\n\(text)")
            default:
                Issue.record("case \(index): compressed \(compressed) but exhaustive \(exhaustive)\n\(text)")
            }
        }
    }

    /// Mutated input files of the other kinds a command reads: calibration CSVs
    /// (`validate`), request traces (`paged --trace`) and hardware profiles (`run
    /// --hardware`), each from the repository's own, with a few characters edited: a
    /// located error or a run, never a crash or a hang.
    @Test func mutatedFilesFailCleanly() throws {
        let root = repositoryRoot
        let kinds: [(folder: String, suffix: String, arguments: (String) -> [String])] = [
            ("docs/data", ".csv", { ["validate", $0, "--allow-unmapped"] }),
            ("scenarios/traces", ".csv", { ["paged", "--model", "llama-2-7b", "--trace", $0] }),
            ("Sources/AttnHardware/Profiles", ".json", { ["run", "--algorithm", "flash2", "--heads", "2", "--head-dim", "64", "--context", "1k", "--hardware", $0] }),
        ]
        var sources: [(text: String, name: String, arguments: (String) -> [String])] = []
        for kind in kinds {
            let folder = root.appendingPathComponent(kind.folder)
            for name in try FileManager.default.contentsOfDirectory(atPath: folder.path).filter({ $0.hasSuffix(kind.suffix) }).sorted() {
                sources.append((try String(contentsOf: folder.appendingPathComponent(name), encoding: .utf8), name, kind.arguments))
            }
        }
        #expect(sources.count >= 6)
        var generator = SeededGenerator(seed: Self.seed &+ 3)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("fuzz-files-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        for index in 0..<Self.cases("FILES", default: 30) {
            let source = pick(sources, &generator)
            let path = directory.appendingPathComponent("m\(index % 8)-\(source.name)")
            try Mutation.mutate(source.text, &generator).write(to: path, atomically: false, encoding: .utf8)
            let originalPath = directory.appendingPathComponent("original-\(source.name)")
            expectClean(source.arguments(path.path), label: "file case \(index) from \(source.name)") {
                try? source.text.write(to: originalPath, atomically: false, encoding: .utf8)
                return self.elapsed { AttnSimCommand.main(source.arguments(originalPath.path), console: CapturedConsole().console) }.1
            }
        }
    }
}

/// Small random edits of a text: delete, duplicate or replace a few characters.
enum Mutation {
    static let alphabet = Array("()[]:,=+-*/%@^<>.;#\"{}\n  \tabcQKV019_-inf")

    static func mutate(_ text: String, _ generator: inout SeededGenerator) -> String {
        var chars = Array(text)
        for _ in 0..<(1 + Int(generator.next() % 4)) where !chars.isEmpty {
            let at = Int(generator.next() % UInt64(chars.count))
            switch generator.next() % 4 {
            case 0: chars.remove(at: at)
            case 1: chars.insert(chars[at], at: at)
            case 2: chars[at] = alphabet[Int(generator.next() % UInt64(alphabet.count))]
            default:
                // A digit becomes a longer number: sizes and counts far from the defaults.
                if chars[at].isNumber { chars.insert(contentsOf: Array(String(generator.next() % 100_000)), at: at) }
            }
        }
        return String(chars)
    }
}
