import AttnCLI
import AttnHardware
import AttnModel
import AttnScenario
import KVCache
import Testing
import Workload
import AttnTestSupport
import TileTestSupport

/// `paged --disaggregate prefill=P,decode=D`: a prefill pool, the KV sent over the
/// interconnect, a decode pool (`DisaggregatedCluster`).
@Suite struct DisaggregationTests {
    func run(_ arguments: [String]) -> (code: Int32, out: String, err: String) {
        let captured = CapturedConsole()
        let code = AttnSimCommand.main(arguments, console: captured.console)
        return (code, captured.stdout, captured.stderr)
    }

    /// Llama-2-7B in fp16 keeps 32 layers x 2 x 32 heads x 128 x 2 = 524,288 bytes per
    /// token; a 1,000-token prompt sends 524,288,000 bytes. The model timer sends it as the
    /// cost model does (NCCL's send: ring Simple, 8.4 + 3.4 us + 524,288,000 / 370.8e9 B/s,
    /// NCCL's NVLink 4 bus bandwidth = 1.4257374 ms); a fixed clock on the profile's figures,
    /// 2 us + 524,288,000 / 450e9 = 1.1670844 ms.
    @Test func transferBytesAndTime() throws {
        let link = try #require(TestSupport.h100.interconnect)
        let footprint = KVFootprint(model: try ModelSpec.named("llama-2-7b"), dtype: .fp16)
        #expect(footprint.bytesPerToken == 524_288)
        let cluster = DisaggregatedCluster(
            ServingSimulator.Configuration(policy: .paged(blockSize: 16), poolTokens: 100_000, maxLength: 4096), prefillReplicas: 1,
            decodeReplicas: 1, router: .roundRobin, kvBytesPerToken: footprint.bytesPerToken, link: link)
        #expect(cluster.transferBytes(promptTokens: 1000) == 524_288_000)
        let bytes = cluster.transferBytes(promptTokens: 1000)
        #expect(abs(FixedIterationTime(0.05).transferSeconds(bytes: bytes, over: link) - (2e-6 + 524_288_000 / 450e9)) < 1e-15)
        let model = ModelIterationTimer(predictor: try ModelPredictor(
            architecture: try Architecture(model: try ModelSpec.named("llama-2-7b")), hardware: TestSupport.h100, options: ModelRunOptions()))
        #expect(abs(model.transferSeconds(bytes: bytes, over: link) - (11.8e-6 + 524_288_000 / 370.8e9)) < 1e-12)
        #expect(abs(HostOverheadTimer(model, hostSeconds: 0.013).transferSeconds(bytes: bytes, over: link) - model.transferSeconds(bytes: bytes, over: link)) == 0)
    }

    /// Fixed iterations of 0.05 s; one request at 0 s with a 100-token prompt and 3 output
    /// tokens; 450,000 KV bytes per token over a 450e9 B/s link without latency: 1e-4 s.
    /// Colocated: the prompt ends at 0.05 s (TTFT), three decode steps at 0.10, 0.15, 0.20
    /// (TPOT 0.05). Disaggregated: the prefill pool ends the prompt at 0.05, the KV arrives
    /// at 0.0501 (TTFT), the decode pool runs its three steps from then: finish 0.2001,
    /// TPOT 0.05. A second request at 0.06 s of 200 tokens: prefill 0.06 to 0.11, its KV
    /// (2e-4 s) arrives at 0.1102, TTFT 0.0502; in the decode pool it waits for the
    /// iteration running then (0.1001 to 0.1501) and decodes at 0.2001, 0.2501, 0.3001.
    @Test func handTimedRequests() throws {
        let link = try #require(Interconnect(name: "test", bytesPerSecond: 450e9, latencySeconds: 0))
        let configuration = ServingSimulator.Configuration(policy: .paged(blockSize: 16), poolTokens: 10_000, maxLength: 4096, iterationSeconds: 0.05)
        let one = [Request(id: 0, arrival: 0, promptTokens: 100, outputTokens: 3)]
        var timer = FixedIterationTime(0.05)
        var colocated = ServingSimulator(configuration)
        let base = try colocated.run(one, timer: &timer)
        #expect(abs(base.ttft.mean - 0.05) < 1e-12 && abs(base.tpot.mean - 0.05) < 1e-12)
        let cluster = DisaggregatedCluster(configuration, prefillReplicas: 1, decodeReplicas: 1, router: .roundRobin, kvBytesPerToken: 450_000, link: link)
        let split = try cluster.run(one, timer: &timer)
        #expect(abs(split.ttft.mean - 0.0501) < 1e-12 && abs(split.tpot.mean - 0.05) < 1e-12, "\(split.ttft) \(split.tpot)")
        let d = try #require(split.disaggregation)
        #expect(d.transferBytes == 45_000_000 && abs(d.transferSeconds - 1e-4) < 1e-15 && abs(d.prefillTTFT.mean - 0.05) < 1e-12)
        let two = one + [Request(id: 1, arrival: 0.06, promptTokens: 200, outputTokens: 3)]
        let both = try cluster.run(two, timer: &timer)
        #expect(abs(both.ttft.mean - (0.0501 + 0.0502) / 2) < 1e-12, "\(both.ttft)")
        // Request 1: first token 0.1102, finish 0.3001: (0.3001 - 0.1102) / 3.
        #expect(abs(both.tpot.mean - (0.05 + (0.3001 - 0.1102) / 3) / 2) < 1e-12, "\(both.tpot)")
        #expect(both.completed == 2 && both.disaggregation?.transferBytes == 135_000_000)
    }

    /// Iterations of 0.01 s + 1e-5 s per prompt token. A: at 0 s, 10-token prompt, 4
    /// output tokens; B: at 0.015 s, 1,000-token prompt, no output. The link is instant.
    ///
    /// Colocated (one replica): A's prompt 0 to 0.0101; A decodes to 0.0201; B's prompt
    /// joins A's second decode step, 0.0201 to 0.0401 (0.02 s); A decodes to 0.0501 and
    /// 0.0601: TPOT (0.0601 - 0.0101) / 4 = 0.0125, B's TTFT 0.0251.
    ///
    /// Disaggregated (1 + 1): prefill runs A 0 to 0.0101 and B 0.015 to 0.035; the decode
    /// replica runs A's four steps from 0.0101 at 0.01 s each, untouched by B's prompt:
    /// TPOT 0.01 exactly; B joins at 0.0401 and leaves at 0.0501 (TTFT 0.035 - 0.015 = 0.02).
    @Test func decodeIsFreeOfPrefillInterference() throws {
        struct PromptCost: IterationTimer {
            var label: String { "0.01 s + 1e-5 s per prompt token" }
            var fixedSeconds: Double? { nil }
            func seconds(_ batch: IterationBatch) -> Double { 0.01 + 1e-5 * Double(batch.prefillTokens) }
        }
        let link = try #require(Interconnect(name: "instant", bytesPerSecond: 1e30, latencySeconds: 0))
        let configuration = ServingSimulator.Configuration(policy: .paged(blockSize: 16), poolTokens: 10_000, maxLength: 4096)
        let trace = [Request(id: 0, arrival: 0, promptTokens: 10, outputTokens: 4), Request(id: 1, arrival: 0.015, promptTokens: 1000, outputTokens: 0)]
        var timer = PromptCost()
        var colocated = ServingSimulator(configuration)
        let base = try colocated.run(trace, timer: &timer)
        #expect(base.tpot.count == 1 && abs(base.tpot.mean - 0.0125) < 1e-12, "\(base.tpot)")
        #expect(abs(base.ttft.mean - (0.0101 + 0.0251) / 2) < 1e-12, "\(base.ttft)")
        let split = try DisaggregatedCluster(configuration, prefillReplicas: 1, decodeReplicas: 1, router: .roundRobin, kvBytesPerToken: 1, link: link)
            .run(trace, timer: &timer)
        #expect(split.tpot.count == 1 && abs(split.tpot.mean - 0.01) < 1e-12, "\(split.tpot)")
        #expect(abs(split.ttft.mean - (0.0101 + 0.02) / 2) < 1e-12 && split.completed == 2, "\(split.ttft)")
    }

    @Test func optionsAndScenarioFields() throws {
        let base = ["paged", "--model", "llama-2-7b", "--trace", "alpaca", "--requests", "20", "--policies", "paged", "--timing", "fixed:0.05"]
        let ok = run(base + ["--disaggregate", "prefill=1,decode=1"])
        #expect(ok.code == 0, "\(ok.err)")
        #expect(ok.out.contains("disaggregated, 1 prefill and 1 decode replicas"), "\(ok.out)")
        for bad in ["prefill=1", "prefill=0,decode=1", "prefill=1,decode=x", "decode=1,decode=2"] {
            let result = run(base + ["--disaggregate", bad])
            #expect(result.code == 64 && result.err.contains("'--disaggregate' expects prefill=P,decode=D"), "\(bad): \(result.err)")
        }
        let both = run(base + ["--disaggregate", "prefill=1,decode=1", "--replicas", "2"])
        #expect(both.code == 64 && both.err.contains("a disaggregated study gives its prefill and decode replicas instead"), "\(both.err)")
        let text = #"{"version": 1, "study": "paged", "model": "llama-2-7b", "trace": "alpaca", "disaggregate": {"prefill_replicas": 1}}"#
        do {
            _ = try StudyFile.decode(text, file: "s.json")
            Issue.record("a disaggregate object without decode_replicas was accepted")
        } catch {
            #expect("\(error)".contains("s.json: disaggregate.decode_replicas: is required"), "\(error)")
        }
    }
}
