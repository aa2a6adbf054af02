@testable import AttnCLI
import AttnModel
import AttnScenario
import Foundation
import KVCache
import Testing
import AttnTestSupport

/// Paged scenarios choose their clock: `"timing": "model"` or `"fixed:S"` (absent: fixed
/// 0.05 s, so older scenarios keep their numbers), with `chunk` and `tp` as the options.
@Suite struct PagedScenarioTimingTests {
    func paged(_ fields: String) throws -> PagedStudy {
        let text = #"{"version": 1, "study": "paged", "model": "llama-2-7b", "trace": "alpaca""# + fields + "}"
        guard case .paged(let study, _) = try StudyFile.decode(text, file: "p.json") else { throw TestFailure("not a paged study") }
        return study
    }

    @Test func fieldsAndDefaults() throws {
        let plain = try paged("")
        #expect(plain.timing == .fixed(seconds: 0.05) && plain.prefillChunk == nil && plain.tensorParallel == 1 && plain.hostOverheadSeconds == 0)
        #expect(try paged(#", "host_overhead_s": 0.013"#).hostOverheadSeconds == 0.013)
        let model = try paged(#", "timing": "model", "chunk": 256, "tp": 2"#)
        #expect(model.timing == .model && model.prefillChunk == 256 && model.tensorParallel == 2)
        #expect(try paged(#", "timing": "fixed:0.1""#).timing == .fixed(seconds: 0.1))
        let cases = [
            (#", "timing": "soon""#, #"p.json: timing: expected "model" or "fixed:SECONDS" (e.g. "fixed:0.05"), found "soon""#),
            (#", "timing": "fixed:0""#, #"p.json: timing: expected "model" or "fixed:SECONDS" (e.g. "fixed:0.05"), found "fixed:0""#),
            (#", "tp": 0"#, "p.json: tp: expected a positive integer, found 0"),
            (#", "host_overhead_s": -0.01"#, "p.json: host_overhead_s: expected 0 to 10.0 seconds per iteration, found -0.01"),
            (#", "host_overhead_s": 11"#, "p.json: host_overhead_s: expected 0 to 10.0 seconds per iteration, found 11.0"),
        ]
        for (fields, expected) in cases {
            do {
                _ = try paged(fields)
                Issue.record("no error for \(fields)")
            } catch {
                #expect("\(error)".hasPrefix(expected), "\(error)")
            }
        }
        #expect(IterationTiming(parsing: "fixed:inf") == nil && IterationTiming(parsing: "fixed:-1") == nil)
        #expect(IterationTiming.model.description == "model" && IterationTiming.fixed(seconds: 0.25).description == "fixed:0.25")
    }

    /// One request at 0 s, prompt 4, output 2: a prompt iteration (first token at its end),
    /// then two decode iterations. At fixed 0.1 s: TTFT 0.1 s, finished at 0.3 s. With the
    /// model's clock the TTFT is the timer's own prediction for a 4-token prompt.
    @Test func scenarioClockByHand() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("paged-timing-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try "arrival,prompt_tokens,output_tokens\n0,4,2\n".write(to: directory.appendingPathComponent("one.csv"), atomically: true, encoding: .utf8)
        func stats(_ timing: String) throws -> AllocationStats {
            let path = directory.appendingPathComponent("s.json").path
            try #"{"version": 1, "study": "paged", "model": "llama-2-7b", "trace": "one.csv", "policies": ["paged"]\#(timing)}"#
                .write(toFile: path, atomically: true, encoding: .utf8)
            guard case .paged(let study, _) = try StudyFile.load(path: path) else { throw TestFailure("not a paged study") }
            let all = try StudyRunner.run(study)
            return try #require(all.first)
        }
        let fixed = try stats(#", "timing": "fixed:0.1""#)
        #expect(fixed.iterations == 3 && abs(fixed.ttft.mean - 0.1) < 1e-12 && abs(fixed.seconds - 0.3) < 1e-12)
        #expect(fixed.timing == "fixed 0.1 s")
        let standard = try stats("")
        #expect(abs(standard.seconds - 0.15) < 1e-12 && standard.timing == "fixed 0.05 s")
        let model = try stats(#", "timing": "model""#)
        var timer = try StudyRunner.modelTimer(PagedStudy(model: "llama-2-7b", trace: "one.csv"))
        let prompt = try timer.seconds(IterationBatch(prefill: [.init(tokens: 4, context: 4)]))
        #expect(model.timing == "model llama-2-7b on h100-sxm fp16")
        #expect(abs(model.ttft.mean - prompt) < 1e-12 && prompt > 0 && prompt < 0.1)
    }
}
