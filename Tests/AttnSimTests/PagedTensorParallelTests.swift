import AttnCLI
import AttnHardware
import KVCache
import Testing
import Workload
import AttnTestSupport

/// `paged --tp G`: the pool is the token slots one GPU holds next to its share of the
/// weights, at its bytes per token (KV heads split, replicated past kv_heads).
@Suite struct PagedTensorParallelTests {
    func run(_ arguments: [String]) -> (code: Int32, out: String, err: String) {
        let captured = CapturedConsole()
        let code = AttnSimCommand.main(arguments, console: captured.console)
        return (code, captured.stdout, captured.stderr)
    }

    /// Llama-2-70B (68,976,648,192 parameters, 80 layers, 8 KV heads of 128) on H100,
    /// budget floor(0.9 x 85,899,345,920) = 77,309,411,328 bytes per GPU:
    /// - tp 4: weights 137,953,296,384 / 4 = 34,488,324,096; 2 KV heads per GPU,
    ///   80 x 2 x 2 x 128 x 2 = 81,920 bytes per token; 42,821,087,232 / 81,920 = 522,718 slots;
    /// - tp 16: weights 8,622,081,024; 1 KV head (each replicated on 2 GPUs), 40,960 bytes
    ///   per token; 68,687,330,304 / 40,960 = 1,676,936 slots;
    /// - tp 1: 137,953,296,384 bytes of weights leave no room.
    @Test func poolIsOneGPUsSlots() throws {
        let h100 = TestSupport.h100
        let spec = try ModelSpec.named("llama-2-70b")
        let four = try PagedStudy(model: "llama-2-70b", trace: "sharegpt", tensorParallel: 4).capacity(spec, profile: h100)
        #expect(four.weightBytes == 34_488_324_096 && four.footprint.bytesPerToken == 81_920 && four.tokenSlots == 522_718)
        let sixteen = try PagedStudy(model: "llama-2-70b", trace: "sharegpt", tensorParallel: 16).capacity(spec, profile: h100)
        #expect(sixteen.weightBytes == 8_622_081_024 && sixteen.footprint.bytesPerToken == 40_960 && sixteen.tokenSlots == 1_676_936)
        #expect(throws: KVInputError.self) { try PagedStudy(model: "llama-2-70b", trace: "sharegpt", tensorParallel: 3).capacity(spec, profile: h100) }
        let one = PagedStudy(model: "llama-2-70b", trace: "sharegpt", requests: 5, policies: ["paged"])
        #expect(throws: ServingSimulator.SimulationError.self) { try one.run() }
        let stats = try PagedStudy(model: "llama-2-70b", trace: "sharegpt", requests: 5, policies: ["paged"], tensorParallel: 4).run()
        #expect(stats.map(\.poolTokens) == [522_718] && stats[0].completed == 5)
    }

    @Test func command() {
        let base = ["paged", "--model", "llama-2-70b", "--trace", "alpaca", "--requests", "10", "--policies", "paged", "--timing", "fixed:0.05"]
        let four = run(base + ["--tp", "4"])
        #expect(four.code == 0, "\(four.err)")
        #expect(four.out.contains("KV pool of 522,718 token slots"), "\(four.out)")
        let three = run(base + ["--tp", "3"])
        #expect(three.code == 64)
        #expect(three.err.contains("tp 3: 3 GPUs do not divide llama-2-70b's 64 query heads"), "\(three.err)")
        #expect(run(base + ["--tp", "0"]).code == 64)
        #expect(run(base).code == 1)  // the weights alone fill one H100
    }

    /// Model timing under --tp: one GPU's share of the model, all-reduces over NVLink 4.
    /// Llama-2-7B over 2 GPUs keeps 70,570,995,712 / (32 x 2 x 16 x 128 x 2) = 269,206 slots.
    @Test func modelTimingSplitsTheModel() {
        let result = run(["paged", "--model", "llama-2-7b", "--trace", "alpaca", "--requests", "10", "--policies", "paged", "--tp", "2"])
        #expect(result.code == 0, "\(result.err)")
        #expect(result.out.contains("KV pool of 269,206 token slots"), "\(result.out)")
        #expect(result.out.contains("timing: model llama-2-7b on h100-sxm x2 (tp) fp16 per iteration"), "\(result.out)")
    }
}
