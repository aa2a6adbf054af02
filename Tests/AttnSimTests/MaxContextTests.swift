import Foundation
import Testing
@testable import AttnCLI
import Workload

/// Issue 21 item 8: every preset carries its maximum context; `kv`, `paged`, `model` and
/// `roofline` refuse a context past it (exit 64, naming the model and its limit) unless
/// `--allow-beyond-max` (then a warning on standard error), and scenario files say the
/// same with `"allow_beyond_max"`.
@Suite struct MaxContextTests {
    func run(_ arguments: [String]) -> (code: Int32, out: String, err: String) {
        let captured = CapturedConsole()
        let code = AttnSimCommand.main(arguments, console: captured.console)
        return (code, captured.stdout, captured.stderr)
    }

    /// Each preset's limit, from its config (max_position_embeddings with its RoPE scaling).
    @Test func presetsCarryTheirLimit() throws {
        let limits: [(String, Int)] = [
            ("llama-2-7b", 4096), ("gpt2-medium", 1024), ("gpt-oss-120b", 131_072), ("llama-4-scout", 10_485_760), ("llama-4-maverick", 1_048_576),
            ("gemma-3-1b", 32_768), ("gemma-3-27b", 131_072), ("qwen3-8b", 40_960), ("qwen3-235b-a22b", 40_960), ("qwen3-next-80b", 262_144),
            ("deepseek-v3.2", 131_072), ("kimi-k2", 131_072),
        ]
        for (name, limit) in limits {
            let spec = try ModelSpec.named(name)
            #expect(spec.maxContext == limit, "\(name)")
            #expect(spec.contextLimit(limit) == nil)
            #expect(spec.contextLimit(limit + 1) == ContextLimit(model: name, maxContext: limit, context: limit + 1))
        }
        // Every preset states one.
        for name in ModelSpec.builtInNames { #expect(try ModelSpec.named(name).maxContext != nil, "\(name)") }
    }

    /// (arguments, exit code, standard error).
    static let cases: [([String], Int32, String)] = [
        (["kv", "--model", "llama-2-7b", "--context", "4k,8k"], 64,
         "error: 8,192 tokens are past llama-2-7b's maximum context of 4,096 tokens; give --allow-beyond-max to run it anyway\nSee 'attnsim kv --help'.\n"),
        (["kv", "--model", "llama-2-7b", "--context", "4k,8k", "--allow-beyond-max"], 0,
         "warning: 8,192 tokens are past llama-2-7b's maximum context of 4,096 tokens; running past it as allowed\n"),
        // A rolling window gives positions within the cache (StreamingLLM): 2,048 of them.
        (["kv", "--model", "llama-2-7b", "--context", "1m", "--window", "2k"], 0, ""),
        (["kv", "--model", "llama-2-7b", "--context", "1m", "--window", "4k", "--sinks", "4"], 64,
         "error: 4,100 tokens are past llama-2-7b's maximum context of 4,096 tokens; give --allow-beyond-max to run it anyway\nSee 'attnsim kv --help'.\n"),
        (["model", "--model", "llama-2-7b", "--context", "128k", "--view", "parameters"], 64,
         "error: 131,072 tokens are past llama-2-7b's maximum context of 4,096 tokens; give --allow-beyond-max to run it anyway\nSee 'attnsim model --help'.\n"),
        (["model", "--model", "llama-2-7b", "--context", "128k", "--view", "parameters", "--allow-beyond-max"], 0,
         "warning: 131,072 tokens are past llama-2-7b's maximum context of 4,096 tokens; running past it as allowed\n"),
        (["roofline", "--model", "gpt2-medium", "--context", "2k"], 64,
         "error: 2,048 tokens are past gpt2-medium's maximum context of 1,024 tokens; give --allow-beyond-max to run it anyway\nSee 'attnsim roofline --help'.\n"),
        (["kv", "--model", "qwen3-8b", "--context", "40960"], 0, ""),
        (["kv", "--model", "qwen3-8b", "--context", "128k"], 64,
         "error: 131,072 tokens are past qwen3-8b's maximum context of 40,960 tokens; give --allow-beyond-max to run it anyway\nSee 'attnsim kv --help'.\n"),
    ]

    @Test func commandsRefuseOrWarn() {
        for (arguments, code, err) in Self.cases {
            let result = run(arguments)
            #expect(result.code == code, "\(arguments)")
            #expect(result.err == err, "\(arguments)")
            #expect((result.code == 0) == !result.out.isEmpty, "\(arguments)")
        }
    }

    /// Roofline warns past the limit with the option, and notes which layer it shows of a
    /// model with chunked layers.
    @Test func rooflineWarnsAndNotes() {
        let allowed = run(["roofline", "--model", "gpt2-medium", "--context", "2k", "--allow-beyond-max"])
        #expect(allowed.code == 0)
        #expect(allowed.err == "warning: 2,048 tokens are past gpt2-medium's maximum context of 1,024 tokens; running past it as allowed\n")
        let scout = run(["roofline", "--model", "llama-4-scout", "--context", "1k"])
        #expect(scout.code == 0)
        #expect(scout.err == "note: llama-4-scout: roofline shows a global attention layer; its chunked layers (8192 tokens) are in 'attnsim model --view operators'\n")
    }

    /// A paged trace whose request is longer than the model's context (a 3,000-token prompt
    /// for OPT-13B's 2,048) is refused, or run with the option.
    @Test func pagedChecksTheTrace() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("maxctx-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let trace = directory.appendingPathComponent("t.csv").path
        try "arrival,prompt_tokens,output_tokens\n0,3000,10\n0,100,10\n".write(toFile: trace, atomically: true, encoding: .utf8)
        let base = ["paged", "--model", "opt-13b", "--trace", trace, "--timing", "fixed:0.05", "--policies", "paged"]
        let refused = run(base)
        #expect(refused.code == 64)
        #expect(refused.err == "error: 3,000 tokens are past opt-13b's maximum context of 2,048 tokens; give --allow-beyond-max (or a smaller --max-len) to run it anyway\nSee 'attnsim paged --help'.\n")
        let allowed = run(base + ["--allow-beyond-max"])
        #expect(allowed.code == 0)
        #expect(allowed.err.hasPrefix("warning: 3,000 tokens are past opt-13b's maximum context of 2,048 tokens; running past it as allowed\n"))
        // The scenario field: refused with the file named, or run with a warning.
        let scenario = directory.appendingPathComponent("p.json").path
        let json = #"{"version": 1, "study": "paged", "model": "opt-13b", "trace": "t.csv", "policies": ["paged"]"#
        try (json + "}").write(toFile: scenario, atomically: true, encoding: .utf8)
        let fromFile = run(["run", scenario])
        #expect(fromFile.code == 64)
        #expect(fromFile.err.hasPrefix(
            "error: 3,000 tokens are past opt-13b's maximum context of 2,048 tokens; set \"allow_beyond_max\": true (or a smaller \"max_len\") in \(scenario) to run it anyway\n"))
        try (json + #", "allow_beyond_max": true}"#).write(toFile: scenario, atomically: true, encoding: .utf8)
        let allowedFile = run(["run", scenario])
        #expect(allowedFile.code == 0)
        #expect(allowedFile.err.hasPrefix("warning: 3,000 tokens are past opt-13b's maximum context"))
    }

    /// kv and model scenario files: the error names the file and the context's field.
    @Test func scenarioFilesNameTheField() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("maxctx-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        for study in ["kv", "model"] {
            let file = directory.appendingPathComponent("\(study).json").path
            let json = #"{"version": 1, "study": "\#(study)", "model": "llama-3-8b", "contexts": ["4k", "16k"]"#
            let extra = study == "model" ? #", "view": "parameters""# : ""
            try (json + extra + "}").write(toFile: file, atomically: true, encoding: .utf8)
            let refused = run(["run", file])
            #expect(refused.code == 1, "\(study)")
            #expect(refused.err == "error: \(file): contexts[1]: 16,384 tokens are past llama-3-8b's maximum context of 8,192 tokens; "
                + "expected at most 8192 tokens, or \"allow_beyond_max\": true to run it anyway\n", "\(study)")
            try (json + extra + #", "allow_beyond_max": true}"#).write(toFile: file, atomically: true, encoding: .utf8)
            let allowed = run(["run", file])
            #expect(allowed.code == 0, "\(study): \(allowed.err)")
            #expect(allowed.err == "warning: 16,384 tokens are past llama-3-8b's maximum context of 8,192 tokens; running past it as allowed\n", "\(study)")
        }
    }
}
