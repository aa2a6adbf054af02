import AttnScenario
import Foundation
import Testing
@testable import AttnCLI
import AttnJSON
import TileLanguage
import AttnTestSupport

/// The command line end to end through `AttnSimCommand.main`: output, errors, exit codes.
@Suite struct CLITests {
    func run(_ arguments: [String]) -> (code: Int32, out: String, err: String) {
        let captured = CapturedConsole()
        let code = AttnSimCommand.main(arguments, console: captured.console)
        return (code, captured.stdout, captured.stderr)
    }

    var scenario: String { repositoryRoot.appendingPathComponent("scenarios/standard-vs-flash.json").path }

    @Test(arguments: [["--help"], ["-h"], ["help"]])
    func summaryListsEveryCommandOfTheTable(_ arguments: [String]) {
        let result = run(arguments)
        #expect(result.code == 0)
        #expect(result.out.contains("USAGE: attnsim <command>"))
        #expect(result.err.isEmpty)
        let listed = result.out.split(separator: "\n").compactMap { line -> String? in
            guard line.hasPrefix("  "), let word = line.split(separator: " ").first else { return nil }
            return String(word)
        }
        #expect(listed == AttnSimCommand.subcommandNames)
        #expect(listed == ["run", "kv", "paged", "roofline", "model", "tune", "validate", "rope", "list", "bench", "help", "version"])
    }

    /// `NAME --help`, `NAME -h` and `help NAME` print the same usage, for every command in
    /// the table (help and version included).
    @Test(arguments: AttnSimCommand.subcommandNames)
    func helpOnEveryCommand(_ name: String) {
        let long = run([name, "--help"])
        #expect(long.code == 0, "\(name): \(long.err)")
        #expect(long.out.hasPrefix("USAGE: attnsim \(name)"))
        #expect(long.out.contains("-h, --help"))
        #expect(long.err.isEmpty)
        for arguments in [[name, "-h"], ["help", name], ["-h", name], ["--help", name]] {
            let other = run(arguments)
            #expect(other.code == 0 && other.out == long.out && other.err.isEmpty, "\(arguments)")
        }
    }

    /// The table's one preamble: `--help` or `-h` prints the help text without running the
    /// body (even after a positional), a bad option is a usage error naming the command, and
    /// the body gets the parsed arguments.
    @Test func subcommandPreambleAnswersHelpBeforeTheBody() throws {
        let options = [OptionSpec(name: "n", value: "N", help: "A number."), OptionSpec(name: "help", value: nil, help: "Show this help.")]
        let command = Subcommand(name: "demo", summary: "", options: options, help: "HELP\n") { parsed, console in
            console.out("body \(parsed.positionals) \(parsed.value("n") ?? "-")\n")
            return .failure
        }
        for arguments in [["--help"], ["-h"], ["x", "--help"], ["--n", "3", "-h"]] {
            let captured = CapturedConsole()
            #expect(try command.entry(arguments, captured.console) == .success)
            #expect(captured.stdout == "HELP\n", "\(arguments)")
        }
        let captured = CapturedConsole()
        #expect(try command.entry(["a", "--n=4", "b"], captured.console) == .failure)
        #expect(captured.stdout == "body [\"a\", \"b\"] 4\n")
        #expect(throws: UsageError.self) { try command.entry(["--m"], CapturedConsole().console) }
        do {
            _ = try command.entry(["--help", "--bogus"], CapturedConsole().console)
            Issue.record("no usage error")
        } catch let error as UsageError {
            #expect(error.message == "unknown option '--bogus' for 'demo'")
        }
    }

    /// `help --help` used to call itself without end (a crash).
    @Test func helpOfHelpTerminates() {
        for arguments in [["help", "--help"], ["help", "help"], ["help", "-h"]] {
            let result = run(arguments)
            #expect(result.code == 0, "\(arguments)")
            #expect(result.out.hasPrefix("USAGE: attnsim help [COMMAND]\n"), "\(arguments)")
        }
        let unknown = run(["help", "nosuch"])
        #expect(unknown.code == 64)
        #expect(unknown.out.isEmpty)
        #expect(unknown.err == "error: unknown command 'nosuch'\nSee 'attnsim --help'.\n")
        #expect(run(["help", "run", "kv"]).code == 64)
    }

    @Test func versionPrintsTheVersion() {
        for arguments in [["--version"], ["version"]] {
            let result = run(arguments)
            #expect(result.code == 0)
            #expect(result.out == "attnsim 0.1.0\n")
            #expect(result.err.isEmpty)
        }
        #expect(run(["version", "extra"]).code == 64)
    }

    /// A usage error points to the failing command's --help (read from the table), or to
    /// `attnsim --help` for an unknown command.
    @Test func usageErrorsPointToTheCommandsHelp() {
        let bogus = run(["run", "--bogus"])
        #expect(bogus.err == "error: unknown option '--bogus' for 'run'\nSee 'attnsim run --help'.\n")
        let validate = run(["validate"])
        #expect(validate.err == "error: 'validate' takes one or more CSV files\nSee 'attnsim validate --help'.\n")
        let unknown = run(["frobnicate"])
        #expect(unknown.err == "error: unknown command 'frobnicate'\nSee 'attnsim --help'.\n")
    }

    @Test func usageErrorsExit64() {
        for arguments in [[], ["frobnicate"], ["run", "--bogus"], ["run"], ["run", "--algorithm", "flash2", "--heads", "2"],
                          ["run", "--algorithm", "flash2", "--heads", "2", "--head-dim", "16", "--context", "4q"],
                          ["run", scenario, "--batch", "2"], ["run", "--algorithm", "flash2", "--heads", "2", "--head-dim", "16", "--context", "64", "--param", "Zz=1"],
                          ["run", "--algorithm", "flash2", "--heads", "3", "--kv-heads", "2", "--head-dim", "16", "--context", "64"],
                          ["run", scenario, "--format", "xml"]] {
            let result = run(arguments)
            #expect(result.code == 64, "\(arguments)")
            #expect(!result.err.isEmpty)
        }
    }

    @Test func scenarioRunPrintsTable() {
        let result = run(["run", scenario])
        #expect(result.code == 0)
        let lines = result.out.split(separator: "\n")
        #expect(lines.count == 2 + 12)
        #expect(lines[0].split(separator: " ").prefix(4) == ["algorithm", "context", "hbm_read_bytes", "hbm_write_bytes"])
        // flash2 at 1k, batch 2, 16 heads, d 64, fp16, Br = Bc = 128:
        // reads 32*1024*64*2 + 2*32*8*1024*64*2 = 71,303,168.
        #expect(lines.contains { $0.hasPrefix("flash2") && $0.contains("1k") && $0.contains("71,303,168") })
    }

    @Test func jsonRecordsHaveDocumentedFields() throws {
        let result = run(["run", "--algorithm", "flash2", "--heads", "2", "--head-dim", "16", "--context", "100",
                          "--mode", "numeric", "--dtype", "fp32", "--param", "Br=32", "--format", "json"])
        #expect(result.code == 0)
        guard case .array(let records) = try JSONParser.parse(result.out, file: "out") else { throw TestFailure("not an array") }
        #expect(records.count == 1)
        guard case .object(let members) = records[0] else { throw TestFailure("not an object") }
        let keys = members.map(\.key)
        for field in ["algorithm", "context", "hbm_read_bytes", "hbm_write_bytes", "flops_matmul", "flops_other",
                      "peak_sram_bytes", "max_abs_error", "max_rel_error", "arithmetic_intensity", "params",
                      "hbm_bytes_by_tensor", "kernels", "checks"] {
            #expect(keys.contains(field), "missing \(field)")
        }
        let matmul = members.first { $0.key == "flops_matmul" }?.value
        #expect(matmul == .integer(4 * 2 * 100 * 100 * 16))
        if case .number(let error) = members.first(where: { $0.key == "max_rel_error" })?.value {
            #expect(error < 1e-5)
        } else {
            Issue.record("max_rel_error is not a number")
        }
    }

    @Test func csvAndMarkdown() {
        let csv = run(["run", scenario, "--format", "csv"])
        #expect(csv.code == 0)
        #expect(csv.out.hasPrefix("algorithm,program,hardware,mode,dtype,batch,heads,kv_heads,head_dim,q_len,context,hbm_read_bytes"))
        #expect(csv.out.split(separator: "\n").count == 13)
        let markdown = run(["run", scenario, "--format", "markdown"])
        #expect(markdown.out.hasPrefix("| algorithm |"))
    }

    @Test func badScenarioFileExits1WithPath() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("attnsim-bad-\(UUID().uuidString).json").path
        try #"{"version": 1, "shape": {"batch": 1, "heads": 2, "head_dim": "x"}}"#.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let result = run(["run", path])
        #expect(result.code == 1)
        #expect(result.err == "error: \(path): shape.head_dim: expected a positive integer, found \"x\"\n")
        let missing = run(["run", "/nonexistent/scenario.json"])
        #expect(missing.code == 1)
        #expect(missing.err == "error: /nonexistent/scenario.json: cannot read scenario: No such file or directory\n")
    }

    @Test func userProgramRunsFromTheCommandLine() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("attnsim-\(UUID().uuidString).tile").path
        try """
            input  Q[batch * heads, N, d]
            output O[batch * heads, N, d]
            kernel copy grid(bh: batch * heads, i: cdiv(N, 32)):
              x = load Q[bh, rows(i, 32), :] -> reg
              store O[bh, rows(i, 32), :] = x
            """.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let result = run(["run", "--algorithm", path, "--heads", "2", "--head-dim", "8", "--context", "100", "--format", "csv"])
        #expect(result.code == 0, "\(result.err)")
        // A copy moves each element once each way: 2 * 100 * 8 * 2 bytes.
        let row = result.out.split(separator: "\n")[1].split(separator: ",", omittingEmptySubsequences: false)
        #expect(row[11] == "3200" && row[12] == "3200")
    }

    @Test func programErrorsExit1WithCaret() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("attnsim-\(UUID().uuidString).tile").path
        try "input Q[N, d]\nkernel k grid(i: 1):\n  x = load Q[rows(i, 4), :] -> sram\n  y = x @ z\n".write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let result = run(["run", "--algorithm", path, "--heads", "1", "--head-dim", "8", "--context", "16"])
        #expect(result.code == 1)
        // One `error:` prefix: the diagnostic's own "error:" is not repeated.
        #expect(result.err == "error: \(path):4:11: unknown name 'z'\n 4 |   y = x @ z\n   |           ^\n")
    }

    @Test func traceWritesJSONLines() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("attnsim-\(UUID().uuidString).jsonl").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let result = run(["run", "--algorithm", "flash2", "--heads", "1", "--head-dim", "16", "--context", "64",
                          "--param", "Br=32", "--param", "Bc=32", "--trace", path])
        #expect(result.code == 0, "\(result.err)")
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        #expect(result.err == "trace: \(lines.count) events written to \(path)\n")
        var loadBytes = 0
        for line in lines {
            guard case .object(let members) = try JSONParser.parse(String(line), file: "trace") else { throw TestFailure("bad line") }
            if members.contains(where: { $0.key == "op" && $0.value == .string("load") }),
               case .integer(let bytes)? = members.first(where: { $0.key == "bytes" })?.value {
                loadBytes += bytes
            }
        }
        // Q once (64*16*2) plus K and V once per query block (2 blocks): 2048 + 2*2*2048.
        #expect(loadBytes == 2048 + 2 * 2 * 2048)
        let twoContexts = run(["run", "--algorithm", "flash2", "--heads", "1", "--head-dim", "16", "--context", "64,128", "--trace", path])
        #expect(twoContexts.code == 64)
    }

    @Test func listShowsAlgorithmsAndHardware() {
        let result = run(["list"])
        #expect(result.code == 0)
        for name in ["standard", "flash1", "flash2", "h100-sxm", "a100-40gb-sxm", "params: Br = 128, Bc = 128"] {
            #expect(result.out.contains(name))
        }
    }

    /// `--allow-long` lifts the work budget of `model`, `tune`, `roofline` and `paged` as it
    /// does `run`'s: each
    /// command's help lists it, a run that stays under the budget prints the same with it,
    /// and a model page's JSON command lines carry it.
    @Test func allowLongReachesModelAndTune() throws {
        for command in ["model", "tune", "roofline", "paged", "validate"] {
            #expect(run([command, "--help"]).out.contains("--allow-long"), "\(command) --help")
        }
        let model = ["model", "--model", "llama-2-7b", "--context", "1k", "--format", "json"]
        let plain = run(model), lifted = run(model + ["--allow-long"])
        #expect(plain.code == 0 && lifted.code == 0 && plain.out == lifted.out, "\(lifted.err)")
        let tune = ["tune", "--algorithm", "flash2", "--heads", "2", "--head-dim", "64", "--context", "1k", "--format", "json"]
        let tunePlain = run(tune), tuneLifted = run(tune + ["--allow-long"])
        #expect(tunePlain.code == 0 && tuneLifted.code == 0 && tunePlain.out == tuneLifted.out, "\(tuneLifted.err)")
        var spec = ModelStudyFile(model: "llama-2-7b", contexts: [1024])
        spec.allowLong = true
        #expect(ModelCommand.jsonCommandLine(spec, view: "summary").contains(" --allow-long "))
    }

    /// Every family is named in words, block-sparse with the algorithms that declare
    /// `block_pattern` (flash2 and its aliases), not only as block_* parameters.
    @Test func listNamesEveryFamilyInWords() {
        let result = run(["list"])
        #expect(result.code == 0)
        let lines = result.out.split(separator: "\n").map(String.init)
        let blockSparse = lines.first { $0.contains("block-sparse attention") }
        #expect(blockSparse == "  block-sparse attention (local + strided, or random blocks): flash2, memory-efficient, vit-global")
        #expect(result.out.contains(blockSparse.map { $0 + "\n    select: --block-mask local:L[,stride:S] or random:DENSITY[,seed:N]\n" } ?? "missing"))
        #expect(lines.contains("  sliding-window (local) attention: flash2, flash2-gqa, memory-efficient, flash-decoding, flash2-fwd-bwd, flash2-triton, flash3, flash3-fp8, flash4, sage3, flash2-alibi, flash2-softcap, flash2-sinks, flash-decoding-quant, vit-global, cross-attention"))
        #expect(lines.contains { $0.hasPrefix("  causal mask: standard,") })
        #expect(lines.contains { $0.hasPrefix("  state-space scan (Mamba)") && $0.hasSuffix(": selective-scan, selective-scan-naive") })
        #expect(lines.contains("  multi-head latent attention (MLA, DeepSeek-V2/V3) decoding: mla-decode-naive, mla-decode-absorbed, dsa"))
        #expect(lines.contains("  data-dependent sparse attention (top-k tokens, blocks or pages chosen from the data; LSH buckets; k-means clusters): quest, moba, dsa, nsa, lsh, routing"))
        // Dense: every program checked against the softmax attention reference (not the scan).
        #expect(lines.contains("  dense (full) softmax attention: standard, flash1, flash2, flash2-gqa, memory-efficient, flash-decoding, paged-decode, standard-fwd-bwd, flash2-fwd-bwd, flash2-triton, paged-decode-v2, paged-decode-triton, memory-efficient-cutlass, flash3, flash3-fp8, flash4, sage3, flash2-rope, rope-prepass, flash2-alibi, flash2-softcap, flash2-sinks, flash-decoding-quant, paged-decode-quant, vit-global, cross-attention"))
        // The zoo's families, each with the programs that declare or check it.
        #expect(lines.contains("  rotary position embedding (RoPE; linear, NTK and YaRN scaling): flash2-rope, rope-prepass"))
        #expect(lines.contains("  logit softcapping (Gemma 2): flash2-softcap"))
        #expect(lines.contains("  attention sinks + sliding window (StreamingLLM): flash2-sinks"))
        #expect(lines.contains("  causal linear attention (elu + 1 features, running state): linear-attention"))
        #expect(lines.contains("  low-rank attention (Linformer): linformer"))
        #expect(lines.contains("  paged KV cache (block table): paged-decode, paged-decode-v2, paged-decode-triton, paged-decode-quant"))
        #expect(lines.contains("  cascade (shared-prefix) attention (FlashInfer): cascade"))
        #expect(lines.contains("  split-KV decoding: flash2-gqa, flash-decoding, mla-decode-absorbed, paged-decode-v2, flash-decoding-quant, dsa, tree-verify, cross-attention"))
        #expect(lines.contains("  quantized KV cache read by the kernels (fp8, int8, int4; per-group or per-token scales; nvfp4, mxfp4 block scales): flash-decoding-quant, paged-decode-quant"))
        // The frontier families (issue 20): chunked linear-time layers, tree verify, vision, cross-attention, prefix-LM.
        #expect(lines.contains { $0.hasPrefix("  chunked linear-time layers of 2025") && $0.hasSuffix(": mamba2-ssd, gated-deltanet") })
        #expect(lines.contains { $0.hasPrefix("  speculative decoding's tree verify") && $0.hasSuffix(": tree-verify") })
        #expect(lines.contains("  vision attention: ViT global over patch tokens, Swin (shifted) windows: vit-global, swin-window"))
        #expect(lines.contains("  encoder-decoder cross-attention (Whisper): cross-attention"))
        #expect(lines.contains("  prefix-LM mask: image tokens bidirectional, text causal (multimodal decoders): flash2-prefix-lm"))
        #expect(lines.contains("  FP4 attention (NVFP4 or MXFP4 Q, K, V with block scales; P quantized to FP4 with two-level scales; FP4 tensor cores): sage3"))
    }

    /// The GQA/MQA family is every built-in whose program takes kv_heads (K and V shaped
    /// [batch * kv_heads, ...], or a parameter computed from it), aliases included:
    /// flash1 and flash2-triton were missing from the hand-kept list it replaced. MLA's
    /// programs ignore kv_heads and the scan has no heads at all.
    @Test(arguments: [
        ("flash1", true), ("flash2", true), ("flash2-gqa", true), ("flash2-triton", true), ("memory-efficient", true),
        ("standard", true), ("paged-decode", true), ("cascade", true), ("linformer", true), ("flash-decoding-quant", true),
        ("mla-decode-naive", false), ("mla-decode-absorbed", false), ("selective-scan", false), ("selective-scan-naive", false),
        ("quest", true), ("moba", true), ("nsa", true), ("dsa", false), ("lsh", false), ("routing", false),
        ("tree-verify", true), ("swin-window", true), ("mamba2-ssd", false), ("gated-deltanet", false),
    ])
    func gqaFamilyListsEveryProgramThatTakesKVHeads(_ name: String, _ member: Bool) {
        let result = run(["list"])
        #expect(result.code == 0)
        let prefix = "  grouped-query and multi-query attention (GQA, MQA): "
        let line = result.out.split(separator: "\n").first { $0.hasPrefix(prefix) }
        let members = line.map { $0.dropFirst(prefix.count).components(separatedBy: ", ") } ?? []
        #expect(members.contains(name) == member, "\(name) in \(members)")
        #expect(result.out.contains(prefix + "standard, flash1, flash2, flash2-gqa, memory-efficient, flash-decoding, paged-decode, standard-fwd-bwd, flash2-fwd-bwd, flash2-triton, paged-decode-v2, paged-decode-triton, memory-efficient-cutlass, flash3, flash3-fp8, flash4, sage3, flash2-rope, rope-prepass, flash2-alibi, flash2-softcap, flash2-sinks, linear-attention, linformer, cascade, flash-decoding-quant, paged-decode-quant, quest, moba, nsa, tree-verify, vit-global, swin-window, cross-attention, flash2-prefix-lm\n    select: --kv-heads N, fewer than --heads\n"))
    }

    /// A program takes a built-in parameter when an input's shape or a declared
    /// parameter's default names it; a `require`, an output or a kernel alone does not.
    @Test(arguments: [
        ("input K[kv_heads, 4]\noutput O[4]\n", true),
        ("param G = heads / kv_heads\ninput K[4, 4]\noutput O[4]\n", true),
        ("param G = 2 * max(1, kv_heads - 1)\ninput K[4, 4]\noutput O[4]\n", true),
        ("require heads % kv_heads == 0, \"x\"\ninput K[4, 4]\noutput O[4]\n", false),
        ("input K[4, 4]\noutput O[kv_heads * 4]\n", false),
        ("param G = heads\ninput K[batch * heads, 4]\noutput O[4]\n", false),
    ])
    func takesBuiltInParameterReadsInputsAndParameters(_ header: String, _ takes: Bool) throws {
        let program = try Checker.check(SourceFile(name: "t.tile", text: header + "kernel k grid(i: 1):\n  for j in 0 ..< kv_heads:\n    store O[0 ..< 4] = zeros(4)\n"))
        #expect(AlgorithmFamily.takes(.kvHeads, program) == takes)
        #expect(!AlgorithmFamily.takes(.smCount, program))
    }

    /// `--window`, `--q-len` and the other sizes take the suffixes `--context` takes: 1k
    /// is 1,024, so the runs are the same byte for byte; a malformed size is a usage error.
    @Test func sizeFlagsTakeKAndMSuffixes() {
        let base = ["run", "--algorithm", "flash2", "--heads", "1", "--head-dim", "16", "--context", "2k", "--format", "csv"]
        let suffixed = run(base + ["--window", "1k", "--q-len", "1k"])
        let plain = run(base + ["--window", "1024", "--q-len", "1024"])
        #expect(suffixed.code == 0, "\(suffixed.err)")
        #expect(suffixed.out == plain.out)
        #expect(suffixed.out.contains(",2048,"))
        let param = run(base + ["--param", "window=1k", "--q-len", "1024"])
        #expect(param.out == plain.out)
        let bad = run(base + ["--window", "1x"])
        #expect(bad.code == 64)
        #expect(bad.err.contains("'--window' expects an integer of at least 1 (k and m suffixes allowed: 4k = 4096), found '1x'"))
        let overflow = run(base + ["--q-len", "99999999999999m"])
        #expect(overflow.code == 64)
        let kv = run(["kv", "--model", "llama-2-7b", "--context", "4k", "--batch", "1k", "--format", "csv"])
        let kvPlain = run(["kv", "--model", "llama-2-7b", "--context", "4k", "--batch", "1024", "--format", "csv"])
        #expect(kv.code == 0)
        #expect(kv.out == kvPlain.out)
    }

    @Test func kvFootprintJSON() throws {
        // 128K is past Llama-2-70B's 4,096 tokens: allowed, with a warning on standard error.
        let kv = run(["kv", "--model", "llama-2-70b", "--context", "4k,128k", "--batch", "2", "--format", "json", "--allow-beyond-max"])
        #expect(kv.code == 0, "\(kv.err)")
        #expect(kv.err == "warning: 131,072 tokens are past llama-2-70b's maximum context of 4,096 tokens; running past it as allowed\n")
        guard case .array(let records) = try JSONParser.parse(kv.out, file: "out") else { throw TestFailure("not an array") }
        #expect(records.count == 2)
        guard case .object(let members) = records[1] else { throw TestFailure("not an object") }
        func field(_ key: String) -> JSONValue? { members.first { $0.key == key }?.value }
        #expect(field("model") == .string("llama-2-70b"))
        #expect(field("context") == .integer(131_072))
        #expect(field("batch") == .integer(2))
        #expect(field("dtype") == .string("fp16"))
        #expect(field("kv_bytes_per_token") == .integer(327_680))
        #expect(field("kv_bytes_per_sequence") == .integer(327_680 * 131_072))
        #expect(field("kv_bytes_total") == .integer(2 * 327_680 * 131_072))
        #expect(field("fits") == .bool(false))
    }

    @Test func kvAndPagedUsageErrors() {
        for arguments in [["kv"], ["kv", "--model", "opt-13b"], ["kv", "--model", "opt-13b", "--context", "1k", "--dtype", "int3"],
                          ["paged", "--model", "opt-13b"], ["paged", "--model", "opt-13b", "--trace", "alpaca", "--sharing", "beam"],
                          ["paged", "--model", "opt-13b", "--trace", "alpaca", "--preemption", "drop"],
                          ["paged", "--model", "opt-13b", "--trace", "alpaca", "--router", "prefix-affinity", "--replicas", "2"],
                          ["paged", "--model", "opt-13b", "--trace", "alpaca", "--replicas", "0"],
                          ["paged", "--model", "opt-13b", "--trace", "alpaca", "--allocator", "slab"]] {
            let result = run(arguments)
            #expect(result.code == 64, "\(arguments)")
        }
        let unknown = run(["kv", "--model", "gpt-9", "--context", "1k"])
        #expect(unknown.code == 1)
        #expect(unknown.err.hasPrefix("error: unknown model 'gpt-9'; built-in models: gpt2-medium"))
    }

    @Test func pagedPrintsOneRecordPerPolicy() throws {
        let result = run(["paged", "--model", "opt-13b", "--hardware", "a100-40gb-sxm", "--trace", "alpaca", "--requests", "200", "--format", "json"])
        #expect(result.code == 0, "\(result.err)")
        guard case .array(let records) = try JSONParser.parse(result.out, file: "out") else { throw TestFailure("not an array") }
        let policies = records.compactMap { record -> String? in
            guard case .object(let members) = record, case .string(let p)? = members.first(where: { $0.key == "policy" })?.value else { return nil }
            for key in ["token_fraction", "reserved_fraction", "internal_fragmentation_fraction", "external_fragmentation_fraction", "max_batch"] {
                #expect(members.contains { $0.key == key }, "missing \(key)")
            }
            return p
        }
        #expect(policies == ["paged", "contiguous-max", "contiguous-pow2", "contiguous-oracle"])
    }

    @Test func pagedReadsACSVTrace() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("attnsim-\(UUID().uuidString).csv").path
        try "arrival,prompt_tokens,output_tokens\n0,100,20\n0.1,,5\n".write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let result = run(["paged", "--model", "opt-13b", "--trace", path])
        #expect(result.code == 1)
        #expect(result.err == "error: \(path): line 3: prompt_tokens: missing value\n")
    }
}


/// The cost-model commands end to end.
@Suite struct CostModelCLITests {
    func run(_ arguments: [String]) -> (code: Int32, out: String, err: String) {
        let captured = CapturedConsole()
        let code = AttnSimCommand.main(arguments, console: captured.console)
        return (code, captured.stdout, captured.stderr)
    }

    @Test(arguments: [["roofline", "--help"], ["tune", "--help"], ["validate", "--help"]])
    func help(_ arguments: [String]) {
        let result = run(arguments)
        #expect(result.code == 0 && result.out.contains("USAGE: attnsim"))
    }

    @Test func rooflineWritesPlotAndTimeline() throws {
        let directory = FileManager.default.temporaryDirectory
        let svg = directory.appendingPathComponent("attnsim-\(UUID().uuidString).svg").path
        let timeline = directory.appendingPathComponent("attnsim-\(UUID().uuidString).json").path
        defer { try? FileManager.default.removeItem(atPath: svg); try? FileManager.default.removeItem(atPath: timeline) }
        let result = run(["roofline", "--model", "llama-2-7b", "--context", "1k,4k", "--svg", svg, "--timeline", timeline, "--format", "json"])
        #expect(result.code == 0, "\(result.err)")
        guard case .array(let records) = try JSONParser.parse(result.out, file: "out") else { throw TestFailure("not an array") }
        // flash2: fwd + total; standard: 4 launched kernels + total; per context.
        #expect(records.count == 2 * (2 + 5))
        let plot = try String(contentsOfFile: svg, encoding: .utf8)
        #expect(plot.hasPrefix("<svg") && plot.components(separatedBy: "<circle").count - 1 == 4)
        guard case .object(let trace) = try JSONParser.parse(try String(contentsOfFile: timeline, encoding: .utf8), file: "timeline"),
              case .array(let events)? = trace.first(where: { $0.key == "traceEvents" })?.value
        else { throw TestFailure("bad trace") }
        // flash2 at 1K on Llama-2 7B: 32 heads x 8 query blocks = 256 blocks, two per SM
        // (255 registers per thread allocated, the rest spilled): one wave, one event per
        // SM, plus the overhead event and the process name.
        #expect(events.count == 2 + 132)
    }

    @Test func tuneRanksConfigurations() {
        let result = run(["tune", "--algorithm", "flash2", "--heads", "16", "--head-dim", "64", "--context", "4k", "--top", "3"])
        #expect(result.code == 0)
        let lines = result.out.split(separator: "\n")
        #expect(lines.count >= 5 && lines[2].hasPrefix("   1  "))
        #expect(result.out.contains("configurations fit h100-sxm"))
    }

    @Test func validatePrintsSummary() {
        let result = run(["validate", repositoryRoot.appendingPathComponent("docs/data/h100-sdpa.csv").path])
        #expect(result.code == 0)
        #expect(result.out.contains("quantity") && result.out.contains("dram_read") && result.out.contains("time"))
        let missing = run(["validate", "/nonexistent.csv"])
        #expect(missing.code == 1)
        #expect(missing.err == "error: cannot read '/nonexistent.csv': No such file or directory\n")
    }

    /// `validate --fit --held-out`: the set is fitted on the positional file alone (the
    /// same constants as fitting that file by itself), and the held-out file's rows are
    /// validated with it beside the fitted file's. `--held-out` without `--fit` is a usage
    /// error.
    @Test func validateFitsWithoutItsHeldOutFiles() throws {
        let lines = try String(contentsOf: repositoryRoot.appendingPathComponent("docs/data/h100-sdpa.csv"), encoding: .utf8)
            .split(whereSeparator: \.isNewline).map(String.init)  // the file ends its lines in CRLF
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("attnsim-heldout-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        // Fitted on: the flash and efficient calls at 512 and 1,024 tokens; held out: the naive calls.
        let fitted = directory.appendingPathComponent("fitted.csv").path, held = directory.appendingPathComponent("held.csv").path
        try ([lines[0]] + [lines[2], lines[3], lines[5], lines[6]]).joined(separator: "\n").write(toFile: fitted, atomically: true, encoding: .utf8)
        try ([lines[0]] + [lines[1], lines[4]]).joined(separator: "\n").write(toFile: held, atomically: true, encoding: .utf8)
        let alone = run(["validate", fitted, "--fit"])
        let withHeld = run(["validate", fitted, "--fit", "--held-out", held, "--format", "json"])
        #expect(alone.code == 0 && withHeld.code == 0, "\(withHeld.err)")
        func constants(_ err: String) -> String? { err.split(separator: "\n").first { $0.hasPrefix("fitted: ") }.map(String.init) }
        #expect(constants(alone.err) != nil && constants(alone.err) == constants(withHeld.err))
        let rows = try JSONParser.parse(withHeld.out, file: "out")["rows"].array.map { $0["name"].string ?? "" }
        #expect(rows == ["prefill-flash-B2-H16-Hkv16-N512-Nkv512-d64", "prefill-efficient-B2-H16-Hkv16-N512-Nkv512-d64",
                         "prefill-flash-B2-H16-Hkv16-N1024-Nkv1024-d64", "prefill-efficient-B2-H16-Hkv16-N1024-Nkv1024-d64",
                         "prefill-naive-B2-H16-Hkv16-N512-Nkv512-d64", "prefill-naive-B2-H16-Hkv16-N1024-Nkv1024-d64"])
        let usage = run(["validate", fitted, "--held-out", held])
        #expect(usage.code == 64 && usage.err.contains("'--held-out' needs '--fit'"))
    }

    /// `roofline --model` takes the run options of a decoder's attention call. Llama-3-8B
    /// (32 heads, d = 128) at 8K with flash2's 128 x 128 tiles: T = 64 query blocks, each
    /// key block costs 2 x 2 x 128^3 = 8,388,608 matmul FLOPs per head; causal keeps
    /// T (T + 1) / 2 = 2,080 of the 4,096 block pairs: 32 x 2,080 x 8,388,608 =
    /// 558,345,748,480 FLOPs, against 1,099,511,627,776 without the mask.
    @Test func rooflineModelTakesCausalAndParameters() {
        func flash2Flops(_ extra: [String]) -> String? {
            let result = run(["roofline", "--model", "llama-3-8b", "--context", "8k", "--algorithms", "flash2", "--format", "csv"] + extra)
            return result.out.split(separator: "\n").first { $0.hasPrefix("flash2,8192,8192,total,") }?.split(separator: ",", omittingEmptySubsequences: false).dropFirst(7).first.map(String.init)
        }
        #expect(flash2Flops(["--causal"]) == "558345748480")
        #expect(flash2Flops([]) == "1099511627776")
        // Br = 64, Bc = 128: query block i (of 128) sees key blocks 0 ... floor(i / 2), so
        // 2 (1 + ... + 64) = 4,160 pairs of 2 x 2 x 64 x 128 x 128 = 4,194,304 FLOPs per
        // head: 32 x 4,160 x 4,194,304 = 558,345,748,480 again.
        #expect(flash2Flops(["--causal", "--param", "Br=64"]) == "558345748480")
        let bogus = run(["roofline", "--model", "llama-3-8b", "--context", "8k", "--param", "bogus=1"])
        #expect(bogus.code == 64)
        #expect(bogus.err.hasPrefix("error: no selected algorithm declares parameter 'bogus'"))
        let mixed = run(["roofline", repositoryRoot.appendingPathComponent("scenarios/standard-vs-flash.json").path, "--causal"])
        #expect(mixed.code == 64)
    }

    /// Several files are validated together: the rows of both calibration files (53 SDPA
    /// calls and 36 Triton runs) in one table and one summary, as one concatenated file
    /// gives, plus the figures of each file (`summary:file:NAME:...`).
    @Test func validateTakesSeveralFiles() throws {
        let sdpa = repositoryRoot.appendingPathComponent("docs/data/h100-sdpa.csv")
        let triton = repositoryRoot.appendingPathComponent("docs/data/h100-triton-d64.csv")
        let both = run(["validate", sdpa.path, triton.path, "--format", "csv"])
        #expect(both.code == 0, "\(both.err)")
        #expect(both.out.contains("\nsummary:all:time,all,,,,,,,,,,,,89,"))
        // The files end lines with CRLF, one Character in Swift: made LF before splitting.
        let tritonLines = try String(contentsOf: triton, encoding: .utf8).replacingOccurrences(of: "\r\n", with: "\n").split(separator: "\n").dropFirst()
        let joined = FileManager.default.temporaryDirectory.appendingPathComponent("validate-both-\(UUID().uuidString).csv")
        defer { try? FileManager.default.removeItem(at: joined) }
        try (try String(contentsOf: sdpa, encoding: .utf8) + tritonLines.joined(separator: "\n") + "\n").write(to: joined, atomically: true, encoding: .utf8)
        let concatenated = run(["validate", joined.path, "--format", "csv"])
        #expect(concatenated.code == 0)
        let perFile = both.out.split(separator: "\n").filter { $0.hasPrefix("summary:file:") }
        #expect(perFile.contains { $0.hasPrefix("summary:file:h100-sdpa.csv:time,file:h100-sdpa.csv,,,,,,,,,,,,53,") })
        #expect(perFile.contains { $0.hasPrefix("summary:file:h100-triton-d64.csv:time,file:h100-triton-d64.csv,,,,,,,,,,,,36,") })
        #expect(concatenated.out == both.out.split(separator: "\n").filter { !$0.hasPrefix("summary:file:") }.joined(separator: "\n") + "\n")
    }
}
