import AttnCLI
import Foundation
import Testing

/// The crashes and hangs reported against the core ("A core you can trust"), each as it
/// was typed: every one now ends with one error line and exit 1 (or 64), quickly. The
/// others of that report live with their fixes: help (`CLITests`), output files and
/// standard output (`CLIOutputTests`), JSON, KV and paged inputs (`InputRobustnessTests`),
/// parameters and nesting (`CheckedArithmeticTests`, `SourceTextTests`), drifts
/// (`CoreTrustTests`, `DifferentialTests`, `ImbalanceTests`, `VerdictTests`).
@Suite struct IssueRegressionTests {
    func run(_ arguments: [String]) -> (code: Int32, out: String, err: String) {
        let captured = CapturedConsole()
        let code = AttnSimCommand.main(arguments, console: captured.console)
        return (code, captured.stdout, captured.stderr)
    }

    /// Counts past 2^63 - 1 at realistic long contexts: refused with the size that is too
    /// large, not a trap.
    @Test(arguments: [
        ["run", "--algorithm", "flash2", "--heads", "32", "--head-dim", "128", "--context", "32m"],
        ["roofline", "--model", "llama-3-70b", "--context", "4m", "--batch", "16"],
        ["run", "--algorithm", "flash2-fwd-bwd", "--heads", "32", "--head-dim", "128", "--context", "16m"],
    ])
    func longContextsAreTooLargeNotACrash(_ arguments: [String]) {
        let result = run(arguments)
        #expect(result.code == 1)
        #expect(result.err.hasPrefix("error: "))
        #expect(result.err.contains("is more than the simulator counts exactly"))
    }

    /// `--param splits=1000000007` ran a billion split blocks; FlashAttention-2 allows at
    /// most 128 splits, and so does the program now.
    @Test func hugeSplitCountIsRefused() {
        let result = run(["run", "--algorithm", "flash-decoding", "--heads", "32", "--head-dim", "128", "--context", "32k", "--q-len", "1",
                          "--param", "splits=1000000007"])
        #expect(result.code == 1)
        #expect(result.err.contains("splits is at most 128"))
    }

    /// Negating the most negative integer inside a kernel is an overflow diagnostic.
    @Test func negationOverflowInAKernel() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("neg-\(UUID().uuidString).tile")
        try "output O[1, 1]\nkernel k grid(i: 1):\n  x = -9223372036854775807 - 1\n  y = -x\n  store O[0 ..< 1, :] = zeros(1, 1)\n"
            .write(to: url, atomically: false, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: url) }
        let result = run(["run", "--algorithm", url.path, "--heads", "1", "--head-dim", "1", "--context", "1"])
        #expect(result.code == 1)
        #expect(result.err.contains(":4:7: integer overflow in negation: -(-9223372036854775808) does not fit in 64 bits"))
    }

    /// A .tile file that is not UTF-8 is a diagnostic at the bad byte's line and column.
    @Test func nonUTF8ProgramNamesTheByte() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("latin1-\(UUID().uuidString).tile")
        var bytes = Array("output O[1, 1]\nkernel k grid(i: 1):\n  # caf".utf8)
        bytes.append(0xE9)  // Latin-1 e-acute
        bytes += Array("\n  store O[0 ..< 1, :] = zeros(1, 1)\n".utf8)
        try Data(bytes).write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        let result = run(["run", "--algorithm", url.path, "--heads", "1", "--head-dim", "1", "--context", "1"])
        #expect(result.code == 1)
        #expect(result.err.contains(url.path + ":3:8:"))
    }
}

extension IssueRegressionTests {
    /// Errors found after parsing (an unknown algorithm, a parameter the program does not
    /// declare, a `require` that fails) still name the scenario file and the field.
    @Test(arguments: [
        (#"{"algorithm": "nosuch"}"#, "algorithms[1].algorithm: unknown algorithm 'nosuch'"),
        (#"{"algorithm": "flash2", "params": {"Nope": 7}}"#, "algorithms[1]: flash2 at context 1024: unknown parameter 'Nope'"),
        (#"{"algorithm": "flash2", "params": {"Br": 0}}"#, "algorithms[1]: flash2 at context 1024: builtin:flash2.tile:30:1: block sizes Br and Bc must be positive"),
    ])
    func scenarioErrorsAfterParsingNameFileAndField(_ algorithm: String, _ expected: String) throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("late-\(UUID().uuidString).json")
        let text = """
            {"version": 1, "name": "late", "shape": {"batch": 1, "heads": 2, "head_dim": 64}, "contexts": [1024],
             "algorithms": [{"algorithm": "flash2"}, \(algorithm)]}
            """
        try text.write(to: url, atomically: false, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: url) }
        let result = run(["run", url.path])
        #expect(result.code == 1)
        #expect(result.err.hasPrefix("error: \(url.path): \(expected)"), "\(result.err)")
    }

    /// A broken hardware name in a scenario is located at its field too.
    @Test func scenarioHardwareIsLocated() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("hw-\(UUID().uuidString).json")
        try #"{"version": 1, "hardware": "h900", "shape": {"batch": 1, "heads": 2, "head_dim": 64}, "contexts": [64], "algorithms": [{"algorithm": "flash2"}]}"#
            .write(to: url, atomically: false, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: url) }
        let result = run(["run", url.path])
        #expect(result.code == 1)
        #expect(result.err.hasPrefix("error: \(url.path): hardware: "), "\(result.err)")
    }
}
