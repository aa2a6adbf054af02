import AttnCLI
import AttnHardware
import AttnJSON
import AttnNumerics
import AttnScenario
import Foundation
import KVCache
import Testing
import Workload

/// Numbers a user writes (in scenario, model and hardware files, or on the command line)
/// that would overflow, trap or hang are errors naming the input and what was expected.
@Suite struct InputRobustnessTests {
    func cli(_ arguments: [String]) -> (code: Int32, out: String, err: String) {
        let captured = CapturedConsole()
        let code = AttnSimCommand.main(arguments, console: captured.console)
        return (code, captured.stdout, captured.stderr)
    }

    func jsonError(_ body: () throws -> Void) -> String? {
        do { try body() } catch { return "\(error)" }
        return nil
    }

    // MARK: JSON

    @Test func integerLimitsNameTheRange() {
        func read(_ value: JSONValue) -> String? {
            jsonError { _ = try JSONObjectReader.integer(value, minimum: 1, maximum: 65_536, file: "f.json", path: "a.b") }
        }
        #expect(read(.integer(Int.max)) == "f.json: a.b: expected a positive integer of at most 65,536, found 9223372036854775807")
        #expect(read(.number(1e300)) == "f.json: a.b: expected a positive integer of at most 65,536, found 1e+300")
        #expect(read(.integer(Int.min)) == "f.json: a.b: expected a positive integer, found -9223372036854775808")
        #expect(read(.number(0.5)) == "f.json: a.b: expected a positive integer, found 0.5")
        #expect((try? JSONObjectReader.integer(.integer(65_536), minimum: 1, maximum: 65_536, file: "f", path: "p")) == 65_536)
        #expect((try? JSONObjectReader.integer(.number(4096), minimum: 1, maximum: 65_536, file: "f", path: "p")) == 4096)
        // Past Int: the parser keeps it as a double, which is then out of range.
        #expect(jsonError { _ = try JSONParser.parse("9223372036854775808", file: "f") } == nil)
    }

    /// Many unknown fields: reported once (the first, three more, a count), in linear
    /// time. Before, 20,000 fields took 25 s (a linear scan per member); 200,000 now take
    /// well under a second in a debug build.
    @Test func manyUnknownFieldsAreLinearAndReportedBriefly() throws {
        let count = 200_000
        var text = #"{"version": 1, "shape": {"batch": 1, "heads": 1, "head_dim": 64}, "contexts": [16], "algorithms": [{"algorithm": "flash2"}]"#
        for i in 0..<count { text += ", \"f\(i)\": \(i)" }
        text += "}"
        let start = Date()
        let message = jsonError { _ = try Scenario(jsonText: text, file: "many.json") }
        let seconds = Date().timeIntervalSince(start)
        #expect(message == "many.json: f0: unknown field (line 1); expected one of: algorithms, allow_long, block_mask, causal, contexts, description, dtype, "
            + "hardware, mode, name, seed, shape, study, tolerance, version, window; also unknown: f1 (line 1), f2 (line 1), f3 (line 1) and \(count - 4) more")
        #expect(seconds < 10, "\(count) unknown fields took \(seconds) s")
    }

    @Test func duplicateMembersStillRejected() {
        #expect(jsonError { _ = try JSONParser.parse(#"{"a": 1, "a": 2}"#, file: "t.json") } == #"t.json: line 1, column 13: duplicate member "a""#)
    }

    // MARK: Hardware profiles and models

    func profileText(_ field: String, _ value: String) throws -> String {
        let text = try #require(BuiltinProfiles.sources["h100-sxm"])
        let pattern = try NSRegularExpression(pattern: "\"\(field)\": [-0-9][^,}\\n]*")
        let range = NSRange(text.startIndex..., in: text)
        #expect(pattern.numberOfMatches(in: text, range: range) == 1)
        return pattern.stringByReplacingMatches(in: text, range: range, withTemplate: "\"\(field)\": \(value)")
    }

    @Test func hugeHardwareFigures() throws {
        let cases: [(String, String, String)] = [
            ("registers_per_sm", "9223372036854775807", "registers_per_sm: expected a positive integer of at most 4,294,967,296, found 9223372036854775807"),
            ("hbm_bytes", "1e300", "hbm_bytes: expected a positive integer of at most 1,125,899,906,842,624, found 1e+300"),
            ("sm_count", "-9223372036854775808", "sm_count: expected a positive integer, found -9223372036854775808"),
            ("clock_hz", "1e300", "clock_hz: expected a number at most 1e24, found 1e+300"),
        ]
        for (field, value, expected) in cases {
            let text = try profileText(field, value)
            #expect(jsonError { _ = try HardwareProfile(jsonText: text, file: "gpu.json") } == "gpu.json: " + expected)
        }
        // At the limit a profile loads and its register bytes fit.
        let atLimit = try HardwareProfile(jsonText: try profileText("registers_per_sm", "4294967296"), file: "gpu.json")
        #expect(atLimit.levels.last?.capacityBytes == 4 * 4_294_967_296)
    }

    func modelText(_ replacements: [String: String]) throws -> String {
        var text = try #require(BuiltinModels.sources["llama-2-7b"])
        for (field, value) in replacements {
            let pattern = try NSRegularExpression(pattern: "\"\(field)\": [-0-9][^,}\\n]*")
            text = pattern.stringByReplacingMatches(in: text, range: NSRange(text.startIndex..., in: text), withTemplate: "\"\(field)\": \(value)")
        }
        return text
    }

    @Test func hugeModelFigures() throws {
        #expect(jsonError { _ = try ModelSpec(jsonText: try modelText(["layers": "9223372036854775807"]), file: "m.json") }
            == "m.json: layers: expected a positive integer of at most 65,536, found 9223372036854775807")
        #expect(jsonError { _ = try ModelSpec(jsonText: try modelText(["parameters": "1e300"]), file: "m.json") }
            == "m.json: parameters: expected a non-negative integer of at most 1,125,899,906,842,624, found 1e+300")
        // Without head_dim, hidden_size / heads must be a head size.
        let noHeadDim = try modelText(["hidden_size": "2", "heads": "4", "kv_heads": "4"]).replacingOccurrences(
            of: #""head_dim": [0-9]+,?"#, with: "", options: .regularExpression)
        #expect(jsonError { _ = try ModelSpec(jsonText: noHeadDim, file: "m.json") }
            == "m.json: head_dim: is required when hidden_size / heads (2 / 4) is not from 1 to 65536")
        // The largest model the limits allow: bytes per token = 65,536 x 2 x 65,536 x 65,536 x 4 = 2^51 at fp32.
        let largest = try ModelSpec(
            jsonText: try modelText(["layers": "65536", "heads": "65536", "kv_heads": "65536", "head_dim": "65536"]), file: "m.json")
        #expect(KVFootprint(model: largest, dtype: .fp32).bytesPerToken == 1 << 51)
    }

    // MARK: KV footprint

    @Test func kvBatchOverflowNamesTheBatch() throws {
        // llama-2-7b at 4096 tokens: 4096 x 524,288 = 2^31 bytes per sequence, so the
        // largest batch is (2^63 - 1) / 2^31 = 2^32 - 1.
        #expect(jsonError { _ = try KVStudy(model: "llama-2-7b", contexts: [4096], batch: 99_999_999_999_999).run() }
            == "batch 99999999999999: 99999999999999 sequences of 2147483648 bytes (llama-2-7b at context 4096) overflow a 64-bit byte count; "
            + "expected a batch of at most 4294967295")
        let largest = try KVStudy(model: "llama-2-7b", contexts: [4096], batch: 4_294_967_295).run()
        #expect(largest.first?.kvBytesTotal == 4_294_967_295 * 2_147_483_648)
        #expect(largest.first?.fits == false)

        let result = cli(["kv", "--model", "llama-2-7b", "--context", "4k", "--batch", "99999999999999"])
        #expect(result.code == 1)
        #expect(result.err.hasPrefix("error: batch 99999999999999: 99999999999999 sequences of 2147483648 bytes"))
    }

    @Test func kvContextAndWeightOverflow() throws {
        // 524,288 = 2^19 bytes per token: at most (2^63 - 1) / 2^19 = 2^44 - 1 tokens.
        #expect(jsonError { _ = try KVStudy(model: "llama-2-7b", contexts: [4096, Int.max]).run() }
            == "context 9223372036854775807: llama-2-7b keeps 524288 KV bytes per token at fp16, so one sequence overflows a 64-bit byte count; "
            + "expected a context of at most 17592186044415")
        let longest = try KVStudy(model: "llama-2-7b", contexts: [17_592_186_044_415], allowBeyondMax: true).run()
        #expect(longest.first?.kvBytesPerSequence == 17_592_186_044_415 * 524_288)
        #expect(jsonError { _ = try KVStudy(model: "llama-2-7b", contexts: [4096], weightBytesPerParameter: Int.max).run() }
            == "weight-bytes 9223372036854775807: expected bytes per weight parameter from 1 to 64")
        #expect(jsonError { _ = try KVStudy(model: "llama-2-7b", contexts: [4096], dtype: .int4(.elements(0))).run() }
            == "quant-group 0: expected a positive group size or token")
        // A group larger than the head: one group of metadata, no overflow in ceil(128 / group).
        #expect(KVDType.int4(.elements(.max)).vectorBytes(128) == 64 + 4)
    }

    @Test func kvStudyFileOverflowNamesFileAndField() {
        let text = #"{"version": 1, "study": "kv", "model": "llama-2-7b", "contexts": [4096, "16k"], "batch": 9223372036854775807}"#
        #expect(jsonError { _ = try StudyFile.decode(text, file: "kv.json") }
            == "kv.json: batch: 9223372036854775807 sequences of 2147483648 bytes (llama-2-7b at context 4096) overflow a 64-bit byte count; "
            + "expected a batch of at most 4294967295")
        let long = #"{"version": 1, "study": "kv", "model": "llama-2-7b", "contexts": [4096, 9223372036854775807]}"#
        #expect(jsonError { _ = try StudyFile.decode(long, file: "kv.json") }?.hasPrefix("kv.json: contexts[1]: llama-2-7b keeps 524288 KV bytes per token") == true)
    }

    /// A kv, model or paged study's unknown hardware is reported with the file and the
    /// field before the study runs, as an attention scenario's is. Found by the long fuzz
    /// run: a kv study past its model's maximum context printed its warnings, then
    /// "error: unknown hardware ..." naming neither.
    @Test(arguments: [
        #""study": "kv", "model": "llama-2-7b", "contexts": [32768], "allow_beyond_max": true"#,
        #""study": "model", "model": "llama-2-7b", "contexts": [1024]"#,
        #""study": "paged", "model": "opt-13b", "trace": "alpaca""#,
    ])
    func studyHardwareNamesFileAndField(_ fields: String) throws {
        let text = #"{"version": 1, "# + fields + #", "hardware": "h1x-sxm"}"#
        let known = HardwareProfile.builtInNames.joined(separator: ", ")
        #expect(jsonError { _ = try StudyFile.decode(text, file: "s.json") }
            == "s.json: hardware: unknown hardware 'h1x-sxm'; built-in profiles: \(known), or a path to a profile .json file")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("study-hw-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("s.json").path
        try text.write(toFile: path, atomically: false, encoding: .utf8)
        let run = cli(["run", path])
        #expect(run.code == 1)
        #expect(run.err == "error: \(path): hardware: unknown hardware 'h1x-sxm'; built-in profiles: \(known), or a path to a profile .json file\n")
    }

    // MARK: Paged serving

    @Test func pagedRateAndRequestLimits() {
        #expect(jsonError { _ = try PagedStudy(model: "opt-13b", trace: "sharegpt", rate: 1e-300).run() }
            == "rate 1e-300: expected at least 1e-09 requests per second")
        #expect(jsonError { _ = try PagedStudy(model: "opt-13b", trace: "sharegpt", requests: 1_000_000_000).run() }
            == "requests 1000000000: expected a synthetic trace of 1 to 1000000 requests")
        let rate = cli(["paged", "--model", "opt-13b", "--trace", "sharegpt", "--rate", "1e-300"])
        #expect(rate.code == 1)
        #expect(rate.err == "error: rate 1e-300: expected at least 1e-09 requests per second\n")
        let requests = cli(["paged", "--model", "opt-13b", "--trace", "sharegpt", "--requests", "1000000000"])
        #expect(requests.code == 1)
        #expect(requests.err == "error: requests 1000000000: expected a synthetic trace of 1 to 1000000 requests\n")
        let file = #"{"version": 1, "study": "paged", "model": "opt-13b", "trace": "alpaca", "requests": 1e9}"#
        #expect(jsonError { _ = try StudyFile.decode(file, file: "p.json") } == "p.json: requests: expected a positive integer of at most 1,000,000, found 1000000000.0")
    }

    @Test func simulatorRejectsWhatWouldTrap() {
        func simulate(_ configuration: ServingSimulator.Configuration, _ trace: [Request]) -> String? {
            var simulator = ServingSimulator(configuration)
            return jsonError { _ = try simulator.run(trace) }
        }
        // An arrival past the iteration clock (it used to trap converting to Int).
        #expect(simulate(.init(policy: .paged(blockSize: 16), poolTokens: 1024, maxLength: 64), [Request(id: 7, arrival: 1e300, promptTokens: 4, outputTokens: 4)])
            == "request 7 arrives at 1e+300 s, past the simulator's clock (1.152921504606847e+17 s in iterations of 0.05 s); expected earlier arrivals or a higher arrival rate")
        // prompt + output past Int (it used to trap in finalTokens).
        #expect(simulate(.init(policy: .contiguousPow2, poolTokens: 1024, maxLength: 64), [Request(id: 1, arrival: 0, promptTokens: Int.max, outputTokens: 1)])?
            .hasPrefix("request 1 (arrival 0.0 s, 9223372036854775807 prompt and 1 output tokens): expected") == true)
        // A beam far wider than any pool.
        #expect(simulate(.init(policy: .paged(blockSize: 16), poolTokens: 1024, maxLength: 64, sharing: .beamSearch(width: Int.max)), [])
            == "sharing beam-search(9223372036854775807): expected at most 1024 sequences per request, found 9223372036854775807")
        // A pool of 2^30 one-token blocks would take 16 GiB of bookkeeping.
        #expect(simulate(.init(policy: .paged(blockSize: 1), poolTokens: 1 << 30, maxLength: 64), [])
            == "block-size 1: the pool of 1073741824 token slots makes 1073741824 blocks, more than the simulator holds (16777216); expected a block size of at least 64")
    }

    /// These loops used to run forever (a shift past bit 63 wraps to 0 or Int.min).
    @Test func powersOfTwoStopAtTheLargestInt() {
        #expect(ContiguousAllocator.powerOfTwo(atLeast: 1000) == 1024)
        #expect(ContiguousAllocator.powerOfTwo(atLeast: .max) == 1 << 62)
        #expect(ContiguousAllocator(capacity: .max, strategy: .buddy).capacity == .max)
    }

    @Test func traceTokenCountsAreBounded() {
        #expect(jsonError { _ = try RequestTrace.parseCSV("arrival,prompt_tokens,output_tokens\n0,9223372036854775807,1\n", file: "t.csv") }
            == "t.csv: line 2: prompt_tokens: expected at most 1099511627776 tokens, found '9223372036854775807'")
    }

    // MARK: Attention scenarios

    @Test func hugeScenarioShapes() {
        func scenario(shape: String, contexts: String) -> String? {
            jsonError {
                _ = try Scenario(jsonText: #"{"version": 1, "shape": \#(shape), "contexts": \#(contexts), "algorithms": [{"algorithm": "flash2"}]}"#, file: "s.json")
            }
        }
        let shape = #"{"batch": 2, "heads": 16, "head_dim": 64}"#
        // 2 x 16 x 2^40 x 2^40 x 64 is far past 2^56; it used to trap in the interpreter's counters.
        #expect(scenario(shape: shape, contexts: "[1024, 1099511627776]")
            == "s.json: contexts[1]: batch x heads x q_len x context x head_dim = 2 x 16 x 1099511627776 x 1099511627776 x 64 is more than the simulator counts exactly; expected at most 2^56 (72057594037927936)")
        // 2 x 16 x 2^20 x 2^20 x 64 = 2^51 fits.
        #expect(scenario(shape: shape, contexts: #"["1m"]"#) == nil)
        #expect(scenario(shape: #"{"batch": 2, "heads": 16, "head_dim": 9223372036854775807}"#, contexts: "[1024]")
            == "s.json: shape.head_dim: expected a positive integer of at most 65,536, found 9223372036854775807")
        #expect(scenario(shape: shape, contexts: #"["9007199254740991k"]"#)
            == #"s.json: contexts[0]: expected a length of at most 1099511627776, found "9007199254740991k" (9223372036854774784)"#)
        #expect(scenario(shape: shape, contexts: "[1e300]") == "s.json: contexts[0]: expected a positive integer of at most 1,099,511,627,776, found 1e+300")
    }

    /// Runs built on the command line (not read from a file) are checked before they reach
    /// the interpreter, whose 64-bit counters they used to overflow (a trap).
    @Test func hugeCommandLineShapes() {
        let tooLong = "2 x 16 x 1099511627776 x 1099511627776 x 64 is more than the simulator counts exactly; expected at most 2^56 (72057594037927936)\n"
        let run = cli(["run", "--algorithm", "flash2", "--context", "1099511627776", "--heads", "16", "--batch", "2", "--head-dim", "64"])
        #expect(run.code == 1)
        #expect(run.err == "error: command line: --context: batch x heads x q_len x context x head_dim = " + tooLong)
        let headDim = cli(["run", "--algorithm", "flash2", "--context", "1k", "--heads", "16", "--head-dim", "9223372036854775807"])
        #expect(headDim.code == 1)
        #expect(headDim.err == "error: command line: --head-dim: expected a positive integer of at most 65536, found 9223372036854775807\n")
        let tune = cli(["tune", "--algorithm", "flash2", "--context", "1099511627776", "--heads", "16", "--batch", "2", "--head-dim", "64"])
        #expect(tune.code == 1)
        #expect(tune.err == "error: tune: batch x heads x q_len x context x head_dim = " + tooLong)
        let roofline = cli(["roofline", "--model", "llama-2-7b", "--context", "9223372036854775807"])
        #expect(roofline.code == 1)
        #expect(roofline.err == "error: command line: --context: expected a positive length of at most 1099511627776, found 9223372036854775807\n")
        // A single traced run goes through Runner.run(request).
        let shape = ProblemShape(batch: 2, heads: 16, kvHeads: 16, queryLength: 1 << 40, keyLength: 1 << 40, headDim: 64)
        #expect(jsonError { try Scenario.checkSize(shape, label: "flash2") } == "flash2: batch x heads x q_len x context x head_dim = " + tooLong.dropLast())
    }
}
