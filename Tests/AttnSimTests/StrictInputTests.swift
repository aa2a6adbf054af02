#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
@testable import AttnCLI
import AttnNumerics
@testable import AttnReport
import AttnScenario
import Foundation
import Testing
import AttnTestSupport

/// Issue 19 on the command line and in scenario files: values read strictly (sizes,
/// block masks, parameters, selections), inputs read with a size limit, outputs that
/// never overwrite an input (`-` is standard output), `tune` saying why it found
/// nothing; and output formatting linear in its size.
@Suite struct StrictInputTests {
    func run(_ arguments: [String]) -> (code: Int32, out: String, err: String) {
        let captured = CapturedConsole()
        let code = AttnSimCommand.main(arguments, console: captured.console)
        return (code, captured.stdout, captured.stderr)
    }

    /// A fresh folder in the temporary directory, removed by the caller.
    func temporaryFolder() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("attnsim-strict-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
        return path
    }

    // MARK: sizes

    /// The one size parser: digits and an optional k/m suffix, nothing else.
    @Test(arguments: [
        ("4096", 4096), ("4k", 4096), ("4K", 4096), ("1m", 1_048_576), ("1M", 1_048_576), ("0", 0), ("007", 7),
        ("9223372036854775807", Int.max), ("8796093022207m", 8_796_093_022_207 << 20),
    ] as [(String, Int)])
    func sizesThatRead(_ text: String, _ value: Int) {
        #expect(NumberFormat.size(text) == value)
        #expect(NumberFormat.signedSize(text) == value)
        #expect(NumberFormat.signedSize("-" + text) == -value)
    }

    @Test func signedSizesReachIntMin() {
        #expect(NumberFormat.signedSize("-9223372036854775808") == Int.min)
        #expect(NumberFormat.signedSize("-8796093022208m") == Int.min)
        #expect(NumberFormat.signedSize("-9223372036854775809") == nil)
        #expect(NumberFormat.signedSize("9223372036854775808") == nil)
        for bad in ["-", "--4", "- 4", "-+4"] { #expect(NumberFormat.signedSize(bad) == nil, "\(bad)") }
    }

    @Test(arguments: [
        "", " 4", "4 ", " 4k", "+4", "-4", "4kk", "k", "m", "4km", "4.0", "4e3", "0x10", "1_000", "\u{FF14}", "4\u{212A}",
        "9223372036854775808", "9007199254740992k", "8796093022208m",
    ])
    func sizesThatDoNot(_ text: String) {
        #expect(NumberFormat.size(text) == nil)
    }

    @Test func contextListsAreStrict() {
        #expect(ContextList.parse("1k,4k,16k") == [1024, 4096, 16384])
        #expect(ContextList.parse("100,2K") == [100, 2048])
        for bad in ["", "0", "1k,", ",1k", "1k,,4k", "1k, 4k", " 1k", "-1", "4q"] {
            #expect(ContextList.parse(bad) == nil, "\(bad)")
        }
    }

    // MARK: the command line

    static let adHoc = ["run", "--algorithm", "flash2", "--heads", "1", "--head-dim", "16", "--context", "256"]
    static let mask = "local:L[,stride:S] or random:DENSITY[,seed:N]"

    /// Bad values on the command line: a usage error (64) naming the option and the value,
    /// with the pointer to the command's help; never a silent default.
    @Test(arguments: [
        (StrictInputTests.adHoc + ["--block-mask", "local:2,stride:abc"], "'--block-mask' expects \(StrictInputTests.mask), found 'local:2,stride:abc' (stride: expected a whole number of at least 0, found 'abc')"),
        (StrictInputTests.adHoc + ["--block-mask", "local:2,stride:nan"], "'--block-mask' expects \(StrictInputTests.mask), found 'local:2,stride:nan' (stride: expected a whole number of at least 0, found 'nan')"),
        (StrictInputTests.adHoc + ["--block-mask", "local:2,stride:1kk"], "'--block-mask' expects \(StrictInputTests.mask), found 'local:2,stride:1kk' (stride: expected a whole number of at least 0, found '1kk')"),
        (StrictInputTests.adHoc + ["--block-mask", "local:2,stride:"], "'--block-mask' expects \(StrictInputTests.mask), found 'local:2,stride:' (stride: expected a whole number of at least 0, found '')"),
        (StrictInputTests.adHoc + ["--block-mask", "local:2,,stride:3"], "'--block-mask' expects \(StrictInputTests.mask), found 'local:2,,stride:3' (expected NAME:VALUE fields separated by commas, found '')"),
        (StrictInputTests.adHoc + ["--block-mask", "local: 2"], "'--block-mask' expects \(StrictInputTests.mask), found 'local: 2' (local: expected a whole number of at least 1, found ' 2')"),
        (StrictInputTests.adHoc + ["--block-mask", "random:nan"], "'--block-mask' expects \(StrictInputTests.mask), found 'random:nan' (random: expected a fraction in [0, 1], found 'nan')"),
        (StrictInputTests.adHoc + ["--block-mask", "random:0.5,seed:x"], "'--block-mask' expects \(StrictInputTests.mask), found 'random:0.5,seed:x' (seed: expected an integer, found 'x')"),
        (StrictInputTests.adHoc + ["--block-mask", "random:0.5,stride:2"], "'--block-mask' expects \(StrictInputTests.mask), found 'random:0.5,stride:2' (stride: not a field of a random mask (random, seed))"),
        (StrictInputTests.adHoc + ["--block-mask", "stride:2"], "'--block-mask' expects \(StrictInputTests.mask), found 'stride:2' (expected local:L or random:DENSITY first, found 'stride:2')"),
        (StrictInputTests.adHoc + ["--param", "Br=1kk"], "'--param Br' expects a number, found '1kk'"),
        (StrictInputTests.adHoc + ["--param", "Br= 64"], "'--param Br' expects a number, found ' 64'"),
        (StrictInputTests.adHoc + ["--batch", "+2"], "'--batch' expects an integer of at least 1 (k and m suffixes allowed: 4k = 4096), found '+2'"),
        (StrictInputTests.adHoc + ["--batch", " 2"], "'--batch' expects an integer of at least 1 (k and m suffixes allowed: 4k = 4096), found ' 2'"),
        (["run", "--algorithm", "", "--heads", "1", "--head-dim", "16", "--context", "256"], "'--algorithm' expects one or more names separated by commas, found ''"),
        (["run", "--algorithm", "flash2,", "--heads", "1", "--head-dim", "16", "--context", "256"], "'--algorithm' expects one or more names separated by commas, found 'flash2,'"),
        (["run", "--algorithm", "flash2", "--algorithm", "", "--heads", "1", "--head-dim", "16", "--context", "256"], "'--algorithm' expects one or more names separated by commas, found ''"),
        (["run", "--algorithm", "flash2", "--heads", "1", "--head-dim", "16", "--context", "1k, 4k"], "'--context' expects lengths such as 1024 or 1k,4k,16k, found '1k, 4k'"),
        (["run", "--algorithm", "flash2", "--heads", "1", "--head-dim", "16", "--context", "0"], "'--context' expects lengths such as 1024 or 1k,4k,16k, found '0'"),
        (["run", "--algorithm", "flash2", "--heads", "1", "--head-dim", "16", "--context", ""], "'--context' expects lengths such as 1024 or 1k,4k,16k, found ''"),
        (["run", "--algorithm", "flash2", "--heads", "1", "--head-dim", "16", "--context", "1k,4k,1024"], "'--context' gives 1k more than once, in '1k,4k,1024'"),
        (["kv", "--model", "llama-2-7b", "--context", " 4k"], "'--context' expects lengths such as 4k,32k,128k, found ' 4k'"),
        (["model", "--model", "llama-2-7b", "--context", "4k,"], "'--context' expects lengths such as 1k,4k,32k, found '4k,'"),
        (["model", "--model", "llama-2-7b", "--context", "4k", "--prune", "ffn= 64"], "'--prune ffn' expects a size of at least 1 or a kept fraction in (0, 1] such as 0.5, found ' 64'"),
        (["model", "--model", "llama-2-7b", "--context", "4k", "--prune", "heads=16,heads=8"], "'--prune' gives 'heads' more than once"),
        (["model", "--model", "llama-2-7b", "--context", "4k", "--prune", "depth=3"], "'--prune' knows heads, ffn, layers and hidden, found 'depth'"),
        (["tune", "--algorithm", "flash2", "--heads", "1", "--head-dim", "16", "--context", "0"], "'--context' expects one length such as 16k"),
        (["roofline", "--model", "llama-2-7b", "--context", "1k", "--algorithms", ""], "'--algorithms' expects one or more names separated by commas, found ''"),
        (["roofline", "--model", "llama-2-7b", "--context", "1k", "--algorithms", "flash2,,standard"], "'--algorithms' expects one or more names separated by commas, found 'flash2,,standard'"),
        (["paged", "--model", "opt-13b", "--trace", "alpaca", "--policies", ""], "'--policies' expects one or more names separated by commas, found ''"),
        (["paged", "--model", "opt-13b", "--trace", "alpaca", "--policies", "paged, contiguous-max"], "unknown policy ' contiguous-max'; expected: paged, contiguous-max, contiguous-pow2, contiguous-oracle"),
        (["paged", "--model", "opt-13b", "--trace", "alpaca", "--rate", "1, 2"], "'--rate' expects positive numbers separated by commas, found '1, 2'"),
        (["paged", "--model", "opt-13b", "--trace", "alpaca", "--sharing", "beam: 4"], "'--sharing' expects parallel:N, beam:W or prefix:T, found 'beam: 4'"),
        (["run", "my.tile"], "my.tile is a tile program, not a scenario file: give it as '--algorithm my.tile' with --heads, --head-dim and --context"),
        (["roofline", "my.tile"], "my.tile is a tile program, not a scenario file: name it in an attention scenario's \"algorithms\" and give the scenario, or run it with 'attnsim run --algorithm my.tile'"),
        (["roofline", "--model", "llama-2-7b", "--context", "1k", "--svg", "a.svg", "--timeline", "a.svg"], "'--svg' and '--timeline' both write 'a.svg'; give each its own file"),
        (["roofline", "--model", "llama-2-7b", "--context", "1k", "--svg", "-", "--timeline", "-"], "'--svg' and '--timeline' both write to standard output ('-'); give one of them a file"),
    ] as [([String], String)])
    func usageErrors(_ arguments: [String], _ message: String) {
        let result = run(arguments)
        #expect(result.code == 64, "\(arguments)")
        #expect(result.err == "error: \(message)\nSee 'attnsim \(arguments[0]) --help'.\n", "\(arguments)")
        #expect(result.out.isEmpty)
    }

    /// A parameter outside its meaningful range is refused by the program's `require`,
    /// which names it (exit 1: the run failed), from the command line and from a scenario.
    @Test(arguments: [
        (["flash2"], ["--param", "block_density=-1"], "block_density is a permille, 0 to 1000"),
        (["flash2"], ["--param", "block_density=1001"], "block_density is a permille, 0 to 1000"),
        (["memory-efficient"], ["--param", "block_density=-1"], "block_density is a permille, 0 to 1000"),
        (["flash-decoding"], ["--param", "packed=-1"], "packed is 0 or 1 (GQA heads in the query axis)"),
        (["flash2-gqa"], ["--param", "packed=2"], "packed is 0 or 1 (GQA heads in the query axis)"),
        (["flash-decoding-quant"], ["--param", "packed=-1"], "packed is 0 or 1 (GQA heads in the query axis)"),
        (["paged-decode-v2"], ["--param", "per=-1"], "per (pages per partition) must be positive"),
    ] as [([String], [String], String)])
    func parametersOutOfRange(_ algorithm: [String], _ option: [String], _ message: String) {
        let result = run(["run", "--algorithm", algorithm[0], "--heads", "2", "--head-dim", "16", "--context", "256"] + option)
        #expect(result.code == 1, "\(algorithm) \(option)")
        #expect(result.err.hasPrefix("error: \(algorithm[0]) at context 256: builtin:"), "\(result.err)")
        #expect(result.err.contains(" \(message)\n"), "\(result.err)")
        #expect(result.out.isEmpty)
    }

    // MARK: scenario files

    /// A scenario's block mask and policies are read as strictly as the options.
    @Test(arguments: [
        (#""block_mask": "local:2,stride:abc", "algorithms": [{"algorithm": "flash2"}]"#,
         #"s.json: block_mask: expected local:L[,stride:S] or random:DENSITY[,seed:N], found "local:2,stride:abc" (stride: expected a whole number of at least 0, found 'abc')"#),
        (#""block_mask": "local:2,stride:", "algorithms": [{"algorithm": "flash2"}]"#,
         #"s.json: block_mask: expected local:L[,stride:S] or random:DENSITY[,seed:N], found "local:2,stride:" (stride: expected a whole number of at least 0, found '')"#),
        (#""algorithms": [{"algorithm": "flash2", "params": {"block_density": -1}}]"#, "block_density is a permille, 0 to 1000"),
    ])
    func strictScenarioFields(_ fields: String, _ message: String) throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = folder + "/s.json"
        try #"{"version": 1, "shape": {"batch": 1, "heads": 1, "head_dim": 16}, "contexts": [256], \#(fields)}"#.write(toFile: path, atomically: true, encoding: .utf8)
        let result = run(["run", path])
        #expect(result.code == 1)
        #expect(result.err.hasPrefix("error: \(folder)/") && result.err.contains(message), "\(result.err)")
        #expect(result.out.isEmpty)
    }

    @Test func emptyPolicyListInAScenario() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = folder + "/p.json"
        try #"{"version": 1, "study": "paged", "model": "opt-13b", "trace": "alpaca", "policies": []}"#.write(toFile: path, atomically: true, encoding: .utf8)
        let result = run(["run", path])
        #expect(result.code == 1)
        #expect(result.err == "error: \(path): policies: expected one or more of paged, contiguous-max, contiguous-pow2, contiguous-oracle, found []\n")
        #expect(result.out.isEmpty)
    }

    // MARK: output paths

    /// An output that names an input (itself, through `./`, or through a symlink; a file
    /// the scenario reads) is refused before anything is written: the input is intact.
    @Test func outputsNeverOverwriteAnInput() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let scenario = folder + "/s.json"
        let program = folder + "/k.tile"
        let profile = folder + "/gpu.json"
        try FileManager.default.copyItem(atPath: repositoryRoot.appendingPathComponent("Sources/AttnAlgorithms/Programs/flash2.tile").path, toPath: program)
        try FileManager.default.copyItem(atPath: repositoryRoot.appendingPathComponent("Sources/AttnHardware/Profiles/h100-sxm.json").path, toPath: profile)
        let text = #"{"version": 1, "shape": {"batch": 1, "heads": 1, "head_dim": 16}, "contexts": [64], "algorithms": [{"algorithm": "k.tile"}]}"#
        try text.write(toFile: scenario, atomically: true, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: folder + "/link.svg", withDestinationPath: scenario)
        let programText = try String(contentsOfFile: program, encoding: .utf8)
        let profileText = try String(contentsOfFile: profile, encoding: .utf8)
        let cases: [([String], String, String)] = [
            (["roofline", scenario, "--svg", scenario], "svg", scenario),
            (["roofline", scenario, "--timeline", folder + "/./s.json"], "timeline", scenario),
            (["roofline", scenario, "--svg", folder + "/link.svg"], "svg", scenario),
            (["roofline", scenario, "--svg", program], "svg", program),
            (["roofline", scenario, "--hardware", profile, "--timeline", profile], "timeline", profile),
            (["roofline", "--model", "llama-2-7b", "--context", "1k", "--algorithms", "flash2," + program, "--svg", program], "svg", program),
            (["run", scenario, "--trace", scenario], "trace", scenario),
            (["run", scenario, "--trace", program], "trace", program),
            (["run", "--algorithm", program, "--heads", "1", "--head-dim", "16", "--context", "64", "--trace", program], "trace", program),
            (["run", "--algorithm", "flash2", "--heads", "1", "--head-dim", "16", "--context", "64", "--hardware", profile, "--trace", profile], "trace", profile),
        ]
        for (arguments, option, input) in cases {
            let result = run(arguments)
            #expect(result.code == 64, "\(arguments)")
            #expect(result.err == "error: '--\(option)' would overwrite the input '\(input)'; give another path\nSee 'attnsim \(arguments[0]) --help'.\n", "\(arguments)")
        }
        #expect(try String(contentsOfFile: scenario, encoding: .utf8) == text)
        #expect(try String(contentsOfFile: program, encoding: .utf8) == programText)
        #expect(try String(contentsOfFile: profile, encoding: .utf8) == profileText)
        // A built-in name is not a file: an output may be called after it.
        let named = run(["roofline", "--model", "llama-2-7b", "--context", "1k", "--svg", folder + "/flash2"])
        #expect(named.code == 0, "\(named.err)")
    }

    /// `--trace -`: the trace on standard output, one JSON object per line, and the report
    /// on standard error, so that the two never mix.
    @Test func traceToStandardOutput() throws {
        let result = run(Array(Self.adHoc.dropLast()) + ["64", "--param", "Br=32", "--param", "Bc=32", "--trace", "-"])
        #expect(result.code == 0, "\(result.err)")
        let lines = result.out.split(separator: "\n")
        #expect(!lines.isEmpty)
        for (index, line) in lines.enumerated() {
            #expect(line.hasPrefix("{\"seq\":\(index),"), "\(line)")
        }
        #expect(result.err.hasPrefix("trace: \(lines.count) events written to standard output\nalgorithm  context"))
        let report = run(Array(Self.adHoc.dropLast()) + ["64", "--param", "Br=32", "--param", "Bc=32"])
        #expect(result.err.hasSuffix(report.out))
    }

    /// `--svg -` and `--timeline -`: the plot (or the trace events) on standard output, the
    /// table on standard error.
    @Test func plotAndTimelineToStandardOutput() throws {
        let base = ["roofline", "--model", "llama-2-7b", "--context", "1k"]
        let table = run(base)
        #expect(table.code == 0)
        let svg = run(base + ["--svg", "-"])
        #expect(svg.code == 0)
        #expect(svg.out.hasPrefix("<svg ") && svg.out.hasSuffix("</svg>\n"))
        #expect(svg.err == "roofline plot written to standard output\n" + table.out)
        let plot = FileManager.default.temporaryDirectory.appendingPathComponent("attnsim-\(UUID()).svg").path
        defer { try? FileManager.default.removeItem(atPath: plot) }
        let timeline = run(base + ["--timeline", "-", "--svg", plot])
        #expect(timeline.code == 0)
        #expect(timeline.out.hasPrefix("{") || timeline.out.hasPrefix("["))
        #expect(timeline.err == "roofline plot written to \(plot)\n" + "timeline written to standard output (open it in Perfetto)\n" + table.out)
    }

    // MARK: tune

    /// A sweep where nothing fits says so on standard error, with exit code 1.
    @Test func tuneWithNoConfigurationSaysWhy() {
        let result = run(["tune", "--algorithm", "flash2", "--heads", "1", "--head-dim", "65536", "--context", "256"])
        #expect(result.code == 1)
        #expect(result.out.contains("0 configurations fit h100-sxm; 25 over its shared memory or registers; 0 refused by the program"))
        #expect(result.err == "error: no configuration of flash2 runs on h100-sxm: 25 over its shared memory or registers, 0 refused by the program (listed above)\n")
    }

    // MARK: inputs

    /// Devices are refused before a byte is read; every command reads through `TextFile`.
    @Test(arguments: [
        (["run", "/dev/zero"], "error: /dev/zero: cannot read scenario: a character device, not a file\n"),
        (["run", "/dev/urandom"], "error: /dev/urandom: cannot read scenario: a character device, not a file\n"),
        (["roofline", "/dev/zero"], "error: /dev/zero: cannot read scenario: a character device, not a file\n"),
        (["validate", "/dev/zero"], "error: cannot read '/dev/zero': a character device, not a file\n"),
        (["validate", "/dev/urandom"], "error: cannot read '/dev/urandom': a character device, not a file\n"),
        (["paged", "--model", "opt-13b", "--trace", "/dev/zero"], "error: /dev/zero: cannot read trace: a character device, not a file\n"),
        (["paged", "--model", "opt-13b", "--trace", "/dev/urandom"], "error: /dev/urandom: cannot read trace: a character device, not a file\n"),
    ] as [([String], String)])
    func specialFilesAreRefused(_ arguments: [String], _ message: String) {
        let result = run(arguments)
        #expect(result.code == 1, "\(arguments)")
        #expect(result.err == message)
        #expect(result.out.isEmpty)
    }

    /// The limit: a larger regular file is refused from its size (a sparse 5 GiB file,
    /// never read), a pipe once it passes the limit; one at the limit is read.
    @Test func inputsAreReadUpToTheLimit() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let sparse = folder + "/big.json"
        #expect(FileManager.default.createFile(atPath: sparse, contents: nil))
        #expect(truncate(sparse, 5 << 30) == 0)
        let big = run(["run", sparse])
        #expect(big.code == 1)
        #expect(big.err == "error: \(sparse): cannot read scenario: 5,368,709,120 bytes, more than the 64 MiB (67,108,864 bytes) an input file may hold\n")

        let exact = folder + "/exact.txt"
        try String(repeating: "x", count: 1000).write(toFile: exact, atomically: true, encoding: .utf8)
        #expect(try TextFile.read(exact, limit: 1000).count == 1000)
        #expect(throws: TextFileError(path: exact, reason: "1,000 bytes, more than the 999 bytes an input file may hold")) {
            try TextFile.read(exact, limit: 999)
        }

        // A FIFO: the writer sends 3,000 bytes; the reader stops after the limit.
        let fifo = folder + "/pipe"
        #expect(mkfifo(fifo, 0o600) == 0)
        let writer = Thread {
            let fd = open(fifo, O_WRONLY)
            guard fd >= 0 else { return }
            let bytes = [UInt8](repeating: 0x61, count: 3000)
            _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            close(fd)
        }
        writer.start()
        #expect(throws: TextFileError(path: fifo, reason: "more than the 1,000 bytes an input file may hold")) {
            try TextFile.bytes(fifo, limit: 1000)
        }
    }

    // MARK: formatting

    /// A 100,000-character cell, in every format and through the commands that print
    /// one (a run's label, a KV model id, a validation row's name). The layout was
    /// quadratic in the cell's width (82 s for `run` in a release build).
    @Test func wideCellsLayOutLinearly() throws {
        let wide = String(repeating: "L", count: 100_000)
        let table = TextTable(headers: ["name", "n"], rows: [[wide, "1"], ["a", "22"]], rightAligned: [1])
        let pad = String(repeating: " ", count: 99_999)
        #expect(table.renderText() == "name\(String(repeating: " ", count: 99_996))   n\n\(String(repeating: "-", count: 100_000))  --\n\(wide)   1\na\(pad)  22\n")
        #expect(table.renderMarkdown() == "| name\(String(repeating: " ", count: 99_996)) |  n |\n| \(String(repeating: "-", count: 100_000)) | --: |\n| \(wide) |  1 |\n| a\(pad) | 22 |\n")

        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let scenario = folder + "/wide.json"
        try #"{"version": 1, "shape": {"batch": 1, "heads": 1, "head_dim": 16}, "contexts": [64], "algorithms": [{"algorithm": "flash2", "label": "\#(wide)"}]}"#
            .write(toFile: scenario, atomically: true, encoding: .utf8)
        let result = run(["run", scenario])
        #expect(result.code == 0)
        let lines = result.out.split(separator: "\n")
        #expect(lines.count == 3 && lines[2].hasPrefix(wide + "  ") && lines[0].hasPrefix("algorithm" + String(repeating: " ", count: 100_000 - 9) + "  context"))

        let model = folder + "/wide-model.json"
        var spec = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: repositoryRoot.appendingPathComponent("Sources/Workload/Models/llama-2-7b.json"))) as? [String: Any])
        spec["id"] = wide
        try JSONSerialization.data(withJSONObject: spec).write(to: URL(fileURLWithPath: model))
        let kv = run(["kv", "--model", model, "--context", "4k"])
        #expect(kv.code == 0, "\(kv.err)")
        #expect(kv.out.split(separator: "\n").dropFirst(2).first?.hasPrefix(wide + "  MHA") == true)

        let csv = try String(contentsOf: repositoryRoot.appendingPathComponent("docs/data/h100-sdpa.csv"), encoding: .utf8).split(whereSeparator: \.isNewline)
        let header = try #require(csv.first)
        let measured = try #require(csv.dropFirst().first?.split(separator: ",", maxSplits: 1).last)
        let file = folder + "/wide.csv"
        try (header + "\n" + wide + "," + measured + "\n").write(toFile: file, atomically: true, encoding: .utf8)
        let validate = run(["validate", file])
        #expect(validate.code == 0, "\(validate.err)")
        #expect(validate.out.split(separator: "\n").dropFirst(2).first?.hasPrefix(wide + "  ") == true)
    }

    /// Trailing white space is dropped exactly as the regular expression `\s+$` (ICU)
    /// that the linear pass replaces.
    @Test func trailingWhitespaceAsTheRegularExpression() throws {
        let samples = [
            "", " ", "a", "a ", "a  \t", " a", "a b  ", "a\n", "a \n", "a \r\n", "a\u{0B}", "a \u{0B}", "a \u{85}", "a\u{85} ",
            "a\u{A0}", "a\u{2028}", "a\u{3000} ", "a \u{0B} ", "a\u{0C}", "\u{0B}", "  \u{85}", "é  ", "👍🏽 ", "a\u{200B}", "a\u{FEFF}",
            "a\u{1680}", "a\u{180E}", "a\u{202F}", "a\u{205F}", "e\u{301} ", "a \u{301}",
        ]
        let regex = try NSRegularExpression(pattern: "\\s+$")
        for sample in samples {
            let expected = regex.stringByReplacingMatches(in: sample, range: NSRange(sample.startIndex..., in: sample), withTemplate: "")
            #expect(TextTable.droppingTrailingWhitespace(sample) == expected, "\(sample.unicodeScalars.map { String($0.value, radix: 16) })")
        }
    }

    // MARK: threads

    /// Workers write and report progress on their own threads: every piece of text
    /// arrives whole, none is lost, and the bar's state stays consistent.
    @Test func consoleAndProgressBarAreSafeAcrossThreads() {
        let captured = CapturedConsole()
        let console = captured.console
        let clock = Locked(0.0)
        let bar = ProgressBar(console: console, isTerminal: true, clock: { clock.withLock { $0 } })
        clock.withLock { $0 = 2 }
        DispatchQueue.concurrentPerform(iterations: 8) { worker in
            for i in 0..<500 {
                console.out("worker \(worker) line \(i)\n")
                clock.withLock { $0 += 0.001 }
                bar.update(label: "w\(worker)", fraction: Double(i) / 500)
            }
        }
        bar.finish()
        let lines = captured.stdout.split(separator: "\n")
        #expect(lines.count == 4000)
        for worker in 0..<8 {
            #expect(lines.filter { $0.hasPrefix("worker \(worker) line ") }.map { Int($0.split(separator: " ")[3]) ?? -1 } == Array(0..<500))
        }
        // 4 s of clock after the first second: at most one redraw per 0.1 s, so 40 (and
        // at least one).
        #expect(bar.draws >= 1 && bar.draws <= 40)
        let redraws = captured.stderr.components(separatedBy: "\r").filter { $0.contains("ETA") }
        #expect(redraws.count == bar.draws)
        #expect(captured.stderr.hasSuffix("\r" + String(repeating: " ", count: 79) + "\r"))
    }
}
