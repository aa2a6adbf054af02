@testable import AttnCLI
import AttnHardware
import AttnModel
import AttnScenario
import Foundation
import KVCache
import Testing
import Workload
import AttnTestSupport

/// The library's study runner: every study kind from a file, with no command line.
@Suite struct StudyRunnerTests {
    /// Writes `files` (name -> text) into a fresh directory and returns its path.
    func directory(_ files: [String: String]) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("studies-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        for (name, text) in files { try text.write(to: url.appendingPathComponent(name), atomically: true, encoding: .utf8) }
        return url
    }

    /// Llama-2-7B (32 layers, 32 heads of 128, fp16) at 1,024 tokens, batch 1: its
    /// 6,738,415,616 parameters take 13,476,831,232 bytes; the KV cache holds 32 x 2 x 32 x
    /// 128 x 2 = 524,288 bytes per token, 536,870,912 at 1,024 tokens. The operators view
    /// has one step per context.
    @Test func modelStudyFileRunsThroughTheLibrary() throws {
        let url = try directory([
            "summary.json": #"{"version": 1, "study": "model", "model": "llama-2-7b", "contexts": [1024]}"#,
            "operators.json": #"{"version": 1, "study": "model", "model": "llama-2-7b", "contexts": ["1k", 2048], "view": "operators", "phase": "decode", "allow_long": true}"#,
        ])
        defer { try? FileManager.default.removeItem(at: url) }
        guard case .model(let summary) = try StudyRunner.run(path: url.appendingPathComponent("summary.json").path) else {
            throw TestFailure("not a model result")
        }
        #expect(summary.parameters.total == 6_738_415_616)
        #expect(summary.summaries.map(\.context) == [1024])
        let memory = try #require(summary.summaries.first?.memory)
        #expect(memory.weightBytes == 13_476_831_232 && memory.kvBytes == 536_870_912)
        #expect((summary.summaries.first?.ttftSeconds ?? 0) > 0 && (summary.summaries.first?.tpotSeconds ?? 0) > 0)
        #expect(summary.options.budgetUnits == Runner.countStatementBudget)
        guard case .model(let operators) = try StudyRunner.run(path: url.appendingPathComponent("operators.json").path) else {
            throw TestFailure("not a model result")
        }
        #expect(operators.steps.map(\.context) == [1024, 2048] && operators.steps.allSatisfy { $0.phase == .decode })
        #expect(operators.summaries.isEmpty && operators.options.budgetUnits == nil)
        // The CLI renders what the library predicted, byte for byte.
        guard case .model(let spec, _) = try StudyFile.load(path: url.appendingPathComponent("summary.json").path) else { throw TestFailure("not a model study") }
        #expect(try ModelCommand.report(spec, format: .json) == ModelCommand.render(try ModelStudyPlan(spec).run(), format: .json))
    }

    /// The model's tile programs run under the budget the study gives: with one unit of
    /// work the first GEMM stops with the budget diagnostic (every count replays at least a
    /// statement), which the model reports; without a budget the step is predicted.
    @Test func modelRunsItsProgramsUnderTheStudysBudget() throws {
        let architecture = try Architecture(model: try ModelSpec.named("llama-2-7b"))
        let hardware = try HardwareProfile.named("h100-sxm")
        var tight = try ModelPredictor(architecture: architecture, hardware: hardware, options: ModelRunOptions(budgetUnits: 1))
        do {
            _ = try tight.step(.decode, context: 1024)
            Issue.record("a budget of one statement did not stop the model")
        } catch {
            #expect(error.message.hasPrefix("gemm 1 x 4096 x 12288: "))
            #expect(error.message.contains("was stopped at its budget of 1 units of work"))
        }
        var free = try ModelPredictor(architecture: architecture, hardware: hardware, options: ModelRunOptions(budgetUnits: nil))
        #expect(try free.step(.decode, context: 1024).seconds > 0)
    }

    /// One request at 0 s with a 4-token prompt and 2 output tokens, fixed 0.1 s
    /// iterations: a prompt iteration and two decode iterations (TTFT 0.1 s, done at 0.3 s).
    /// Paged, blocks of 16: it holds 4, 5, 6 tokens in one block whose 16 slots it will
    /// fill to 6: tokens 15, reserved 2 + 1 + 0 = 3, internal 3 x 10 = 30 of 48.
    /// Contiguous-oracle reserves exactly 6 slots: tokens 15, reserved 3 of 18.
    @Test func pagedStudyFileRunsThroughTheLibrary() throws {
        let url = try directory([
            "one.csv": "arrival,prompt_tokens,output_tokens\n0,4,2\n",
            "paged.json": #"{"version": 1, "study": "paged", "model": "llama-2-7b", "trace": "one.csv", "policies": ["paged", "contiguous-oracle"], "timing": "fixed:0.1", "allow_long": true}"#,
        ])
        defer { try? FileManager.default.removeItem(at: url) }
        let path = url.appendingPathComponent("paged.json").path
        guard case .paged(let study, _) = try StudyFile.load(path: path) else { throw TestFailure("not a paged study") }
        #expect(study.allowLong)
        guard case .paged(let stats) = try StudyRunner.run(path: path) else { throw TestFailure("not a paged result") }
        #expect(stats.map(\.policy) == ["paged", "contiguous-oracle"])
        for s in stats {
            #expect(s.iterations == 3 && s.completed == 1)
            #expect(abs(s.ttft.mean - 0.1) < 1e-12 && abs(s.seconds - 0.3) < 1e-12)
        }
        #expect(stats[0].tokenFraction == 15.0 / 48 && stats[0].reservedFraction == 3.0 / 48 && stats[0].internalFragmentationFraction == 30.0 / 48)
        #expect(stats[1].tokenFraction == 15.0 / 18 && stats[1].reservedFraction == 3.0 / 18 && stats[1].internalFragmentationFraction == 0)
    }

    /// The other kinds: a KV study's bytes per token (Llama-2-7B fp16: 524,288) and an
    /// attention scenario's records, one per algorithm and context.
    @Test func kvAndAttentionStudiesRunThroughTheLibrary() throws {
        let url = try directory([
            "kv.json": #"{"version": 1, "study": "kv", "model": "llama-2-7b", "contexts": [4096, "32k"], "allow_beyond_max": true}"#,
            "attention.json": #"{"version": 1, "name": "a", "shape": {"batch": 1, "heads": 2, "head_dim": 16}, "contexts": [64, 128], "algorithms": [{"algorithm": "flash2"}, {"algorithm": "standard"}]}"#,
        ])
        defer { try? FileManager.default.removeItem(at: url) }
        guard case .kv(let records) = try StudyRunner.run(path: url.appendingPathComponent("kv.json").path) else { throw TestFailure("not kv") }
        #expect(records.map(\.context) == [4096, 32_768] && records.allSatisfy { $0.kvBytesPerToken == 524_288 })
        guard case .attention(let runs) = try StudyRunner.run(path: url.appendingPathComponent("attention.json").path) else {
            throw TestFailure("not attention")
        }
        #expect(runs.map(\.algorithm) == ["flash2", "flash2", "standard", "standard"])
    }

    /// An empty selection of policies is refused: in a file (naming the field) and on the
    /// command line (a usage error).
    @Test func emptyPolicySelectionsAreRefused() throws {
        let url = try directory(["p.json": #"{"version": 1, "study": "paged", "model": "opt-13b", "trace": "alpaca", "policies": []}"#])
        defer { try? FileManager.default.removeItem(at: url) }
        let path = url.appendingPathComponent("p.json").path
        do {
            _ = try StudyFile.load(path: path)
            Issue.record("an empty policies array was accepted")
        } catch {
            #expect(error.description == "\(path): policies: expected one or more of paged, contiguous-max, contiguous-pow2, contiguous-oracle, found []")
        }
        #expect(throws: KVInputError.self) { try PagedStudy(model: "opt-13b", trace: "alpaca", policies: []).validate() }
        let captured = CapturedConsole()
        let code = AttnSimCommand.main(["paged", "--model", "opt-13b", "--trace", "alpaca", "--policies", ""], console: captured.console)
        #expect(code == 64)
        #expect(captured.stderr == "error: '--policies' expects one or more names separated by commas, found ''\nSee 'attnsim paged --help'.\n")
    }
}
