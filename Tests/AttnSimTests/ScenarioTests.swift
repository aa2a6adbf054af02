import Foundation
import Testing
import AttnAlgorithms
@testable import AttnCLI
import AttnHardware
import AttnJSON
import AttnNumerics
import AttnScenario
import KVCache
import TileInterpreter
import AttnTestSupport
import TileTestSupport

/// Every shipped scenario runs end to end; bad scenario files fail with the file, the
/// field path and what was expected.
@Suite struct ScenarioTests {
    static var scenarioFiles: [String] {
        let directory = repositoryRoot.appendingPathComponent("scenarios")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.filter { $0.hasSuffix(".json") }.sorted().map { directory.appendingPathComponent($0).path }
    }

    @Test func scenariosExist() {
        #expect(Self.scenarioFiles.count >= 10)
    }

    @Test func badStudyFiles() throws {
        let cases: [(String, String)] = [
            (#"{"version": 1, "study": "kvv"}"#, #"bad.json: study: expected "attention", "kv", "paged" or "model", found "kvv""#),
            (#"{"version": 1, "study": "kv", "contexts": [1024]}"#, "bad.json: model: is required: a built-in model or a model .json path"),
            (#"{"version": 1, "study": "kv", "model": "opt-13b", "contexts": [1024], "dtype": "int3"}"#,
             #"bad.json: dtype: expected "fp32", "fp16", "bf16", "fp8", "fp8e5m2", "int8", "int4", "nvfp4" or "mxfp4", found "int3""#),
            (#"{"version": 1, "study": "paged", "model": "opt-13b", "trace": "alpaca", "policies": ["paged", "lru"]}"#,
             #"bad.json: policies[1]: expected one of paged, contiguous-max, contiguous-pow2, contiguous-oracle, found "lru""#),
            (#"{"version": 1, "study": "paged", "model": "opt-13b", "trace": "alpaca", "sharing": "beam"}"#,
             #"bad.json: sharing: expected "parallel:N", "beam:W", "prefix:T" or "none", found "beam""#),
            (#"{"version": 1, "study": "paged", "model": "opt-13b", "trace": "alpaca", "block_size": 0}"#,
             "bad.json: block_size: expected a positive integer, found 0"),
            (#"{"version": 1, "study": "kv", "model": "opt-13b", "contexts": [1024, "4k", "1k"]}"#,
             "bad.json: contexts[2]: 1024 repeats contexts[0]; give each length once"),
        ]
        for (text, expected) in cases {
            do {
                _ = try StudyFile.decode(text, file: "bad.json")
                Issue.record("no error for \(text)")
            } catch {
                #expect(error.description == expected)
            }
        }
    }

    @Test(arguments: scenarioFiles)
    func shippedScenarioRuns(_ path: String) throws {
        let study = try StudyFile.load(path: path)
        #expect(study.description?.isEmpty == false, "every scenario says what it shows")
        switch study {
        case .attention(let scenario):
            try checkAttention(scenario)
        case .kv(let kv, _):
            let records = try kv.run()
            #expect(records.count == kv.contexts.count)
            for record in records {
                #expect(record.kvBytesTotal == kv.batch * (record.kvBytesPerSequence + record.ssmStateBytesPerSequence))
                #expect(record.fits == (record.budgetBytes >= 0 && record.kvBytesTotal <= record.budgetBytes))
            }
        case .paged(let paged, _):
            // Builds the model timer for "timing": "model"; a sweep's results are shared
            // with the reproduction tests (VLLMPaperTests), which would run it again.
            let stats = try PagedResults.shared.stats(path, paged)
            let rates = paged.rates ?? [paged.rate]
            #expect(stats.map(\.policy) == rates.flatMap { _ in paged.policies })
            for s in stats {
                #expect(s.completed == s.requests)
                if let token = s.tokenFraction {
                    let sum = token + (s.reservedFraction ?? 0) + (s.internalFragmentationFraction ?? 0) + (s.externalFragmentationFraction ?? 0)
                    #expect(abs(sum - 1) < 1e-9)
                } else {
                    #expect(s.sharingSavedFraction > 0)
                }
            }
        case .model(let model, _):
            // One JSON record per context (summary view) with a positive TTFT.
            let out = try ModelCommand.report(model, format: .json)
            guard case .array(let records) = try JSONParser.parse(out, file: "out") else { throw TestFailure("not an array") }
            if model.view == "summary", model.speculative != nil {
                // Speculative decoding: one record per context, TPOT = step / tokens and the
                // speedup plain TPOT / TPOT.
                #expect(records.count == model.contexts.count)
                for record in records {
                    let (step, tokens, tpot, plain, speedup) = (
                        record["step_ms"].number, record["expected_tokens"].number, record["tpot_ms"].number, record["plain_tpot_ms"].number,
                        record["speedup"].number)
                    #expect(tokens > 1 && abs(tpot - step / tokens) <= 1e-12 * tpot && abs(speedup - plain / tpot) <= 1e-12 * speedup)
                }
            } else if model.view == "summary" {
                #expect(records.count == model.contexts.count)
                for case .object(let members) in records {
                    guard case .number(let ttft)? = members.first(where: { $0.key == "ttft_ms" })?.value else { throw TestFailure("no ttft_ms") }
                    #expect(ttft > 0)
                }
            }
        }
    }

    func checkAttention(_ scenario: Scenario) throws {
        let records = try Runner.run(scenario)
        #expect(records.count == scenario.algorithms.count * scenario.contexts.count)
        for record in records {
            let t = record.total
            #expect(t.hbmReadBytes > 0 && t.hbmWriteBytes > 0)
            // Every algorithm here is exact attention: 4 N Nkv d matmul FLOPs per head,
            // or fewer when a mask skips blocks.
            let s = record.shape
            // A forward + backward pass does 12 (standard) or 14 (FlashAttention-2) N Nkv d.
            let passes = record.program == "standard-fwd-bwd" ? 3 : record.program == "flash2-fwd-bwd" ? 3.5 : 1
            // Paged decoding computes on whole pages: Nkv rounded up to the page size.
            var keys = s.keyLength
            if record.program == "paged-decode", let page = record.parameters.first(where: { $0.name == "P" }), case .int(let p) = page.value {
                keys = (s.keyLength + p - 1) / p * p
            }
            let dense = Int(passes * Double(4 * s.batch * s.heads * s.queryLength * keys * s.headDim))
            let masked = record.parameters.contains { ["causal", "window", "block_pattern"].contains($0.name) && $0.value != .int(0) }
            if record.program.hasPrefix("selective-scan") {
                // The scan is not attention: elementwise work only, linear in the length.
                #expect(t.flopsMatmul == 0 && t.flopsOther > 0)
            } else if ["linear-attention", "linformer", "mamba2-ssd", "gated-deltanet"].contains(record.program) {
                // Linear and low-rank attention, and the chunked linear-time layers, do less
                // than exact attention at these lengths.
                #expect(t.flopsMatmul > 0 && t.flopsMatmul < dense, "\(record.algorithm)")
            } else if ["quest", "moba", "dsa", "nsa", "lsh", "routing"].contains(record.program) {
                // Data-dependent sparse attention: the selection's scoring (an indexer, page
                // bounds, pooled or compressed keys, hashing, centroids) is extra work beside
                // the attention over what it keeps, so neither side of `dense` holds at every
                // shape; their closed forms are in SparseAttentionTests.
                #expect(t.flopsMatmul > 0, "\(record.algorithm)")
            } else if ["tree-verify", "swin-window", "flash2-prefix-lm"].contains(record.program) {
                // Structured masks compute at most every score (their closed forms are in
                // TreeVerifyTests and VisionAttentionTests).
                #expect(t.flopsMatmul > 0 && t.flopsMatmul <= dense, "\(record.algorithm)")
            } else if record.program.hasPrefix("mla-decode") {
                // Latent attention decompresses or absorbs through extra products: its
                // closed forms are in LatentAttentionTests.
                #expect(t.flopsMatmul > dense, "\(record.algorithm)")
            } else if masked {
                #expect(t.flopsMatmul > 0 && t.flopsMatmul < dense, "\(record.algorithm)")
            } else {
                #expect(t.flopsMatmul == dense, "\(record.algorithm)")
            }
            #expect(t.peakSramBytes <= 232_448)
            if scenario.mode == .numeric {
                let error = try #require(record.maxRelativeError)
                // A loose common bound; NumericTests holds the per-algorithm ones.
                // Quantized KV kernels are compared with the unquantized inputs: their
                // bound is the derived tolerance's quantization term (QuantizedKVKernelTests).
                let quantized = record.program.hasSuffix("-quant")
                #expect(error < (quantized ? 0.4 : 32 * scenario.dtype.unitRoundoff), "\(record.algorithm) at \(record.context): \(error)")
                #expect(record.passed == true, "\(record.failures)")
            } else {
                #expect(record.checks.isEmpty)
            }
        }
    }

    func decodeError(_ text: String) -> JSONInputError? {
        do {
            _ = try Scenario(jsonText: text, file: "bad.json")
            return nil
        } catch {
            return error
        }
    }

    static let valid = """
        {"version": 1, "shape": {"batch": 1, "heads": 2, "head_dim": 16}, "contexts": [64], "algorithms": [{"algorithm": "flash2"}]}
        """

    @Test func validMinimalScenario() throws {
        let scenario = try Scenario(jsonText: Self.valid, file: "ok.json")
        #expect(scenario.name == "ok")
        #expect(scenario.mode == .count)
        #expect(scenario.dtype == .fp16)
        #expect(scenario.kvHeads == 2)
        #expect(scenario.hardware == "h100-sxm")
    }

    /// (broken scenario, expected "file: path: message").
    static let badCases: [(String, String)] = [
        (#"{"shape": {"batch": 1, "heads": 2, "head_dim": 16}, "contexts": [64], "algorithms": [{"algorithm": "flash2"}]}"#,
         "bad.json: version: is required (the current version is 1)"),
        (valid.replacingOccurrences(of: #""version": 1"#, with: #""version": 2"#),
         "bad.json: version: expected 1, found 2"),
        (valid.replacingOccurrences(of: #"{"algorithm": "flash2"}"#, with: #"{"algorithm": "flash2"}, {"algorithm": "flash1", "params": {"M": "big"}}"#),
         #"bad.json: algorithms[1].params.M: expected a number, found "big""#),
        (valid.replacingOccurrences(of: "[64]", with: #"[64, "4q"]"#),
         #"bad.json: contexts[1]: expected a length such as 4096 or "4k", found "4q""#),
        (valid.replacingOccurrences(of: "[64]", with: #"[64, 128, "64"]"#),
         "bad.json: contexts[2]: 64 repeats contexts[0]; give each length once"),
        (valid.replacingOccurrences(of: #""heads": 2"#, with: #""heads": -2"#),
         "bad.json: shape.heads: expected a positive integer, found -2"),
        (valid.replacingOccurrences(of: #""head_dim": 16"#, with: #""head_dim": 16, "kv_heads": 3"#),
         "bad.json: shape.kv_heads: expected a divisor of heads (2), found 3"),
        (valid.replacingOccurrences(of: #""version": 1"#, with: #""version": 1, "modes": "count""#),
         "bad.json: modes: unknown field (line 1); expected one of: algorithms, allow_long, block_mask, causal, contexts, description, dtype, hardware, mode, name, seed, shape, study, tolerance, version, window"),
        (valid.replacingOccurrences(of: #""version": 1"#, with: #""version": 1, "mode": "fast""#),
         #"bad.json: mode: expected "count" or "numeric", found "fast""#),
        (valid.replacingOccurrences(of: "[64]", with: "[]"),
         #"bad.json: contexts: is required: a non-empty array of lengths such as [1024, "4k"]"#),
        ("{\"version\": 1,\n  \"shape\": {,}}", "bad.json: line 2, column 13: expected a quoted member name"),
    ]

    @Test func badScenariosNameFileFieldAndExpectation() throws {
        for (text, expected) in Self.badCases {
            let error = try #require(decodeError(text), "no error for \(text)")
            #expect(error.description == expected)
        }
    }

    @Test func runtimeProblemsNameAlgorithmAndContext() throws {
        let scenario = try Scenario(jsonText: Self.valid.replacingOccurrences(of: #"{"algorithm": "flash2"}"#, with: #"{"algorithm": "flash2", "params": {"Br": 0}}"#), file: "s.json")
        do {
            _ = try Runner.run(scenario)
            Issue.record("expected an error")
        } catch {
            let line = try TestSupport.line(of: "require Br > 0", in: "flash2")
            #expect(error.description.hasPrefix("s.json: algorithms[0]: flash2 at context 64: builtin:flash2.tile:\(line):1: error: block sizes Br and Bc must be positive"))
        }
    }

    @Test func unknownHardwareAndAlgorithm() throws {
        let badHardware = try Scenario(jsonText: Self.valid.replacingOccurrences(of: #""version": 1"#, with: #""version": 1, "hardware": "h200""#), file: "s.json")
        #expect(throws: ScenarioError.self) { try Runner.run(badHardware) }
        do { _ = try Runner.run(badHardware) } catch {
            #expect(error.description == "s.json: hardware: unknown hardware 'h200'; built-in profiles: "
                + HardwareProfile.builtInNames.joined(separator: ", ") + ", or a path to a profile .json file")
        }
        // A name no built-in takes ('flash3' was one until FlashAttention-3 shipped).
        #expect(!AlgorithmLibrary.builtInNames.contains("flash0"))
        let badAlgorithm = try Scenario(jsonText: Self.valid.replacingOccurrences(of: "flash2", with: "flash0"), file: "s.json")
        #expect(throws: ScenarioError.self) { try Runner.run(badAlgorithm) }
        do { _ = try Runner.run(badAlgorithm) } catch {
            #expect(error.description == "s.json: algorithms[0].algorithm: unknown algorithm 'flash0'; built-in algorithms: "
                + AlgorithmLibrary.builtInNames.joined(separator: ", ") + ", or a path to a .tile file")
        }
    }

    @Test func contextListParsing() {
        #expect(ContextList.parse("1k,4k,16k") == [1024, 4096, 16384])
        #expect(ContextList.parse("1m") == [1_048_576])
        #expect(ContextList.parse("100,2K") == [100, 2048])
        #expect(ContextList.parse("100, 2K") == nil)  // strict: no spaces (StrictInputTests)
        #expect(ContextList.parse("4q") == nil)
        #expect(ContextList.parse("0") == nil)
        #expect(ContextList.parse("") == nil)
        #expect(ContextList.format(131_072) == "128k")
        #expect(ContextList.format(1000) == "1000")
    }
}
