import AttnCLI
import AttnJSON
@testable import AttnModel
import AttnNumerics
import Foundation
@testable import KVCache
@testable import AttnReport
import Testing
import Workload
import AttnTestSupport

/// A timer for tests: 10 ms per iteration plus 1 ms per prompt token, recording batches.
struct LinearTimer: IterationTimer {
    var batches: [IterationBatch] = []
    var label: String { "test" }
    var fixedSeconds: Double? { nil }
    mutating func seconds(_ batch: IterationBatch) -> Double {
        batches.append(batch)
        return 0.010 + 0.001 * Double(batch.prefillTokens)
    }
}

/// Serving time: iteration times from a timer, TTFT/TPOT/normalized latency, chunked
/// prefill, and the whole-model timer (docs/kv-cache.md, "Serving time").
@Suite struct ServingTimeTests {
    func close(_ a: Double, _ b: Double) -> Bool { abs(a - b) < 1e-12 }

    /// A at 0 s (prompt 4, output 2), B at 15 ms (prompt 2, output 1), 10 ms + 1 ms per
    /// prompt token. Iteration 0 [0, 14 ms]: A's prompt (first token at 14 ms). Iteration 1
    /// [14, 24]: A decodes (B not yet arrived). Iteration 2 [24, 36]: A decodes and
    /// finishes, B admitted, its prompt (first token 36 ms). Iteration 3 [36, 46]: B
    /// decodes and finishes. TTFT 14 and 21 ms; TPOT (36 - 14) / 2 = 11 and 10 ms;
    /// normalized 36 / 2 = 18 and 31 ms; 2 requests / 46 ms.
    @Test func twoRequestsByHand() throws {
        let trace = [Request(id: 0, arrival: 0, promptTokens: 4, outputTokens: 2), Request(id: 1, arrival: 0.015, promptTokens: 2, outputTokens: 1)]
        var timer = LinearTimer()
        var simulator = ServingSimulator(.init(policy: .paged(blockSize: 16), poolTokens: 1024, maxLength: 64, checkInvariants: true))
        let stats = try simulator.run(trace, timer: &timer)
        #expect(stats.iterations == 4)
        #expect(timer.batches == [
            IterationBatch(prefill: [.init(tokens: 4, context: 4)]),
            IterationBatch(decodeSequences: 1, decodeContextTokens: 5),
            IterationBatch(prefill: [.init(tokens: 2, context: 2)], decodeSequences: 1, decodeContextTokens: 6),
            IterationBatch(decodeSequences: 1, decodeContextTokens: 3),
        ])
        #expect(close(stats.seconds, 0.046))
        #expect(close(stats.ttft.p50, 0.014) && close(stats.ttft.p99, 0.021) && close(stats.ttft.mean, 0.0175))
        #expect(close(stats.tpot.p50, 0.010) && close(stats.tpot.p99, 0.011))
        #expect(close(stats.normalizedLatency.p50, 0.018) && close(stats.normalizedLatency.p99, 0.031))
        #expect(close(stats.requestsPerSecond, 2 / 0.046) && close(stats.outputTokensPerSecond, 3 / 0.046))
        #expect(stats.timing == "test")
    }

    /// The same two requests with 5 ms of host time per iteration (`HostOverheadTimer`).
    /// Iteration 0 [0, 19 ms]: A's prompt (14 + 5). Iteration 1 [19, 36]: B arrived at 15 ms
    /// and is admitted; A decodes, B's prompt (10 + 2 + 5; B's first token at 36).
    /// Iteration 2 [36, 51]: both decode and finish (10 + 5). TTFT 19 and 21 ms; TPOT
    /// (51 - 19) / 2 = 16 and 15 ms; normalized 51 / 2 = 25.5 and 36 ms; 2 requests / 51 ms.
    @Test func hostOverheadByHand() throws {
        let trace = [Request(id: 0, arrival: 0, promptTokens: 4, outputTokens: 2), Request(id: 1, arrival: 0.015, promptTokens: 2, outputTokens: 1)]
        var timer = HostOverheadTimer(LinearTimer(), hostSeconds: 0.005)
        var simulator = ServingSimulator(.init(policy: .paged(blockSize: 16), poolTokens: 1024, maxLength: 64, checkInvariants: true))
        let stats = try simulator.run(trace, timer: &timer)
        #expect(stats.iterations == 3)
        #expect(timer.base.batches == [
            IterationBatch(prefill: [.init(tokens: 4, context: 4)]),
            IterationBatch(prefill: [.init(tokens: 2, context: 2)], decodeSequences: 1, decodeContextTokens: 5),
            IterationBatch(decodeSequences: 2, decodeContextTokens: 9),
        ])
        #expect(close(stats.seconds, 0.051))
        #expect(close(stats.ttft.p50, 0.019) && close(stats.ttft.p99, 0.021))
        #expect(close(stats.tpot.p50, 0.015) && close(stats.tpot.p99, 0.016))
        #expect(close(stats.normalizedLatency.p50, 0.0255) && close(stats.normalizedLatency.p99, 0.036))
        #expect(stats.timing == "test + host 5 ms")
    }

    /// On the fixed clock the host time lengthens every iteration: 50 ms + 10 ms runs as a
    /// fixed 60 ms (every statistic but the label equal); the study refuses a host time
    /// below 0, past 10 s or not a number.
    @Test func hostOverheadOnTheFixedClock() throws {
        var study = PagedStudy(model: "opt-13b", trace: "alpaca", requests: 40, rate: 4, policies: ["paged"], hardware: "a100-40gb-sxm")
        study.hostOverheadSeconds = 0.01
        var sixty = study
        sixty.hostOverheadSeconds = 0
        sixty.timing = .fixed(seconds: 0.06)
        let with = try study.run()[0], plain = try sixty.run()[0]
        #expect(with.timing == "fixed 0.05 s + host 10 ms" && plain.timing == "fixed 0.06 s")
        #expect(with.hostOverheadSeconds == 0.01 && plain.hostOverheadSeconds == 0)
        #expect(with.iterations == plain.iterations && with.meanBatch == plain.meanBatch && with.tokenFraction == plain.tokenFraction)
        // The clock's times agree to rounding (0.05 + 0.01 is not the double 0.06).
        func near(_ a: Double, _ b: Double) -> Bool { abs(a - b) <= 1e-9 * max(1, abs(b)) }
        #expect(near(with.seconds, plain.seconds) && near(with.tpot.p50, 0.06) && near(with.tpot.p99, plain.tpot.p99))
        #expect(near(with.ttft.mean, plain.ttft.mean) && near(with.normalizedLatency.p90, plain.normalizedLatency.p90))
        for bad in [-0.001, 10.5, Double.nan, Double.infinity] {
            study.hostOverheadSeconds = bad
            #expect(throws: KVInputError(input: "host-overhead", value: "\(bad)", message: "expected 0 to 10.0 seconds per iteration")) { try study.run() }
        }
    }

    /// Chunked prefill, 4 tokens per iteration, A (prompt 10, output 1) and B (prompt 3,
    /// output 2) at 0: A's chunks 4, 4, 2 (contexts 4, 8, 10), B's 2 beside A's last and 1
    /// beside A's decode (budget 4 - 1), then B's two decode steps.
    @Test func chunkedPrefillByHand() throws {
        let trace = [Request(id: 0, arrival: 0, promptTokens: 10, outputTokens: 1), Request(id: 1, arrival: 0, promptTokens: 3, outputTokens: 2)]
        var timer = LinearTimer()
        var simulator = ServingSimulator(.init(policy: .paged(blockSize: 4), poolTokens: 64, maxLength: 64, checkInvariants: true, prefillChunk: 4))
        let stats = try simulator.run(trace, timer: &timer)
        #expect(timer.batches == [
            IterationBatch(prefill: [.init(tokens: 4, context: 4)]),
            IterationBatch(prefill: [.init(tokens: 4, context: 8)]),
            IterationBatch(prefill: [.init(tokens: 2, context: 10), .init(tokens: 2, context: 2)]),
            IterationBatch(prefill: [.init(tokens: 1, context: 3)], decodeSequences: 1, decodeContextTokens: 11),
            IterationBatch(decodeSequences: 1, decodeContextTokens: 4),
            IterationBatch(decodeSequences: 1, decodeContextTokens: 5),
        ])
        // Iterations end at 14, 28, 42, 53, 63, 73 ms: A's first token at 42, finish 53;
        // B's first token at 53, finish 73.
        #expect(close(stats.ttft.p50, 0.042) && close(stats.ttft.p99, 0.053))
        #expect(close(stats.tpot.p50, 0.010) && close(stats.tpot.p99, 0.011))
        #expect(stats.prefillChunk == 4)
    }

    /// The fixed clock keeps its iteration counts: one request, prompt 16, 48 generated, in
    /// iterations of 50 ms: first token at 50 ms, finish at 49 x 50 ms, TPOT 50 ms.
    @Test func fixedClockLatency() throws {
        var simulator = ServingSimulator(.init(policy: .paged(blockSize: 16), poolTokens: 1600, maxLength: 1024))
        let stats = try simulator.run([Request(id: 0, arrival: 0, promptTokens: 16, outputTokens: 48)])
        #expect(stats.iterations == 49)
        #expect(close(stats.ttft.p50, 0.05) && close(stats.tpot.p99, 0.05) && close(stats.seconds, 49 * 0.05))
        #expect(stats.timing == "fixed 0.05 s")
    }

    /// Nearest-rank percentiles: of 1...10, p50 is the 5th, p90 the 9th, p99 the 10th.
    @Test func percentiles() {
        let s = LatencySummary((1...10).reversed().map(Double.init))
        #expect(s.p50 == 5 && s.p90 == 9 && s.p99 == 10 && s.mean == 5.5 && s.count == 10)
    }

    /// Duplicate request ids and an empty chunk budget are errors.
    @Test func badInputs() {
        var simulator = ServingSimulator(.init(policy: .paged(blockSize: 16), poolTokens: 1024, maxLength: 64))
        #expect(throws: ServingSimulator.SimulationError.invalid("request id 3 appears twice in the trace")) {
            try simulator.run([Request(id: 3, arrival: 0, promptTokens: 2, outputTokens: 1), Request(id: 3, arrival: 1, promptTokens: 2, outputTokens: 1)])
        }
        var chunked = ServingSimulator(.init(policy: .paged(blockSize: 16), poolTokens: 1024, maxLength: 64, prefillChunk: 0))
        #expect(throws: ServingSimulator.SimulationError.invalid("prefill chunk 0: expected at least 1 token per iteration")) {
            try chunked.run([Request(id: 0, arrival: 0, promptTokens: 2, outputTokens: 1)])
        }
    }

    /// The grid: 3 lies halfway between 2 and 4; cached tokens also have 0 and 1 as points.
    @Test func gridCells() {
        #expect(ModelIterationTimer.cell(3) == (2, 4, 0.5))
        #expect(ModelIterationTimer.cell(8) == (8, 8, 0))
        #expect(ModelIterationTimer.cell(0, fromZero: true) == (0, 0, 0))
        #expect(ModelIterationTimer.cell(1, fromZero: true) == (1, 1, 0))
        #expect(ModelIterationTimer.cell(1 << 31) == (1 << 29, 1 << 30, 3))
    }

    /// At grid points the timer is the predictor's own iteration: a 512-token prompt, and
    /// 8 sequences decoding at 1,024 tokens.
    @Test func modelTimerMatchesThePredictorAtGridPoints() throws {
        let architecture = try Architecture(model: try ModelSpec.named("llama-2-7b"))
        var predictor = try ModelPredictor(architecture: architecture, hardware: TestSupport.h100, options: ModelRunOptions())
        var timer = ModelIterationTimer(predictor: predictor)
        let prompt = try timer.seconds(IterationBatch(prefill: [.init(tokens: 512, context: 512)]))
        let expected = try predictor.iteration(ForwardLoad(prefill: [.init(tokens: 512, context: 512)])).seconds
        #expect(abs(prompt - expected) < 1e-9 * expected)
        let decode = try timer.seconds(IterationBatch(decodeSequences: 8, decodeContextTokens: 8 * 1024))
        let expectedDecode = try predictor.iteration(ForwardLoad(decode: [.init(context: 1024, sequences: 8)])).seconds
        #expect(abs(decode - expectedDecode) < 1e-9 * expectedDecode)
        // Between grid points the time lies between its neighbours'.
        let between = try timer.seconds(IterationBatch(decodeSequences: 12, decodeContextTokens: 12 * 1024))
        let sixteen = try timer.seconds(IterationBatch(decodeSequences: 16, decodeContextTokens: 16 * 1024))
        #expect(decode < between && between < sixteen)
        #expect(timer.label == "model llama-2-7b on h100-sxm fp16")
    }

    /// vLLM's Figure 12 shape (OPT-13B, ShareGPT-like, A100-40GB): at 2 requests/s the
    /// paged policy keeps its normalized latency near the unloaded one while
    /// contiguous-max, reserving 2,048 slots per request, saturates near 1 request/s.
    @Test func pagedSustainsMoreLoadThanContiguousMax() throws {
        let captured = CapturedConsole()
        let code = AttnSimCommand.main(
            ["paged", "--model", "opt-13b", "--hardware", "a100-40gb-sxm", "--trace", "sharegpt", "--requests", "300", "--rate", "2",
             "--policies", "paged,contiguous-max", "--format", "json"], console: captured.console)
        #expect(code == 0, "\(captured.stderr)")
        guard case .array(let records) = try JSONParser.parse(captured.stdout, file: "out") else { throw TestFailure("not an array") }
        func number(_ record: JSONValue, _ key: String) -> Double? {
            guard case .object(let members) = record, let value = members.first(where: { $0.key == key })?.value else { return nil }
            switch value {
            case .number(let x): return x
            case .integer(let i): return Double(i)
            default: return nil
            }
        }
        let latency = records.compactMap { number($0, "normalized_latency_mean_s") }
        let throughput = records.compactMap { number($0, "requests_per_s") }
        #expect(latency.count == 2 && throughput.count == 2)
        guard latency.count == 2, throughput.count == 2 else { return }
        #expect(latency[0] < 0.05, "paged: \(latency[0]) s per token")
        #expect(latency[1] > 10 * latency[0], "contiguous-max: \(latency[1]) s per token")
        #expect(throughput[1] < 1.1 && throughput[0] > 1.5 * throughput[1])
    }
}

/// The paged command's timing options.
@Suite struct PagedTimingCommandTests {
    func run(_ arguments: [String]) -> (code: Int32, out: String, err: String) {
        let captured = CapturedConsole()
        let code = AttnSimCommand.main(arguments, console: captured.console)
        return (code, captured.stdout, captured.stderr)
    }

    @Test func timingOptions() {
        let base = ["paged", "--model", "opt-13b", "--trace", "alpaca", "--requests", "20", "--policies", "paged"]
        let fixed = run(base + ["--timing", "fixed:0.05"])
        #expect(fixed.code == 0)
        #expect(fixed.out.contains("timing: fixed 0.05 s per iteration;"))
        let model = run(base + ["--chunk", "256"])
        #expect(model.out.contains("timing: model opt-13b on h100-sxm fp16 per iteration, chunked prefill of 256 tokens;"))
        #expect(run(base + ["--timing", "soon"]).err.hasPrefix("error: '--timing' expects model or fixed:SECONDS (e.g. fixed:0.05), found 'soon'\n"))
        #expect(run(base + ["--timing", "fixed:0"]).code == 64)
        let host = run(base + ["--timing", "fixed:0.05", "--host-overhead", "0.013"])
        #expect(host.out.contains("timing: fixed 0.05 s + host 13 ms per iteration;"))
        let small = run(base + ["--timing", "fixed:0.05", "--host-overhead", "1e-5"])
        #expect(small.out.contains("timing: fixed 0.05 s + host 10 us per iteration;"))
        // JSON: the host time as a number in seconds beside the label; 0 without it.
        let json = run(base + ["--timing", "fixed:0.05", "--host-overhead", "0.013", "--format", "json"])
        #expect(json.out.contains(#""timing": "fixed 0.05 s + host 13 ms","#) && json.out.contains(#""host_overhead_s": 0.013,"#))
        #expect(run(base + ["--timing", "fixed:0.05", "--format", "json"]).out.contains(#""host_overhead_s": 0,"#))
        #expect(run(base + ["--host-overhead", "-1"]).err.hasPrefix("error: '--host-overhead' expects 0 to 10.0 seconds per iteration, found '-1'\n"))
        #expect(run(base + ["--rate", "1,-2"]).code == 64)
    }
}

/// Seconds in a human unit (`NumberFormat.seconds`), as the host time's label prints them.
@Suite struct HumanSecondsTests {
    /// By hand: the unit is the largest of s, ms, us, ns that leaves the value at 1 or
    /// more; three significant digits, trailing zeros dropped (0.013 s x 1000 is the
    /// double 13.000000000000002, printed 13); 0.9996 s is 999.6 ms, 1000 at three
    /// digits, so 1 s; 5e-10 s is below 1 ns and stays in ns.
    @Test func table() {
        let cases: [(Double, String)] = [
            (0, "0 s"), (0.013, "13 ms"), (1e-5, "10 us"), (0.0125, "12.5 ms"), (0.01234, "12.3 ms"), (0.123456, "123 ms"),
            (0.05, "50 ms"), (2, "2 s"), (12.5, "12.5 s"), (0.9996, "1 s"), (0.0009996, "1 ms"), (2.5e-9, "2.5 ns"), (5e-10, "0.5 ns"),
            (-1, "-1.0 s"),
        ]
        for (seconds, text) in cases { #expect(NumberFormat.seconds(seconds) == text, "\(seconds)") }
    }
}

/// The sweep's summary line: per policy the rate where its mean latency reaches 2x the
/// lightest, interpolated between the swept rates, and the first policy's against each.
@Suite struct SustainedRateTests {
    func stats(_ policy: String, rate: Double, latency: Double) -> AllocationStats {
        AllocationStats(
            policy: policy, requests: 1, completed: 1, iterations: 1, poolTokens: 1, tokenFraction: nil, reservedFraction: nil,
            internalFragmentationFraction: nil, externalFragmentationFraction: nil, maxBatch: 1, meanBatch: 1, preemptions: 0,
            copyOnWriteCopies: 0, sharingSavedFraction: 0, timing: "test", prefillChunk: nil, seconds: 1, requestsPerSecond: rate,
            outputTokensPerSecond: 1, ttft: LatencySummary([0.1]), tpot: LatencySummary([0.01]), normalizedLatency: LatencySummary([latency]), rate: rate)
    }

    /// Lightest latency 0.02 s, so the bound is 0.04: contiguous goes from 0.035 at 1 req/s
    /// to 0.5 at 3, reaching 0.04 at 1 + 0.005 / 0.465 x 2 = 1.0215 req/s. Paged goes to
    /// 0.06 at 3 req/s, reaching 0.04 at 1 + 0.02 / 0.04 x 2 = 2 req/s: paged sustains
    /// 2 / 1.0215 = 1.96x. With paged at 0.03 at 3 req/s instead it never reaches it and
    /// sustains at least 3 (a lower bound): at least 3 / 1.0215 = 2.94x. With contiguous
    /// never reaching it (0.039) paged's 2 is at most 2 / 3 = 0.67x its; both never: no gain.
    @Test(arguments: [
        (0.06, 0.5, "paged 2.00, contiguous-max 1.02; paged sustains 1.96x contiguous-max"),
        (0.03, 0.5, "paged >3.00, contiguous-max 1.02; paged sustains >2.94x contiguous-max (>: never reached within the swept rates, a lower bound)"),
        (0.06, 0.039, "paged 2.00, contiguous-max >3.00; paged sustains <0.67x contiguous-max (>: never reached within the swept rates, a lower bound)"),
        (0.03, 0.039, "paged >3.00, contiguous-max >3.00 (>: never reached within the swept rates, a lower bound)"),
    ])
    func sustainedRateInterpolatesTheCrossing(paged: Double, contiguous: Double, expected: String) {
        let line = KVReport.sustainedRates([
            stats("paged", rate: 1, latency: 0.02), stats("contiguous-max", rate: 1, latency: 0.035),
            stats("paged", rate: 3, latency: paged), stats("contiguous-max", rate: 3, latency: contiguous),
        ])
        #expect(line == "sustained rate (req/s) where mean norm_latency reaches 2.0x the lightest load's (0.020 s): " + expected)
    }
}
