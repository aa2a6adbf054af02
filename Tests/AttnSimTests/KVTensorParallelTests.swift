import AttnCLI
import AttnHardware
import Testing
@testable import KVCache
import Workload

/// `attnsim kv --tp G`: KV heads and weights split over G GPUs (docs/kv-cache.md,
/// "Several GPUs").
@Suite struct KVTensorParallelTests {
    func run(_ arguments: [String]) -> (code: Int32, out: String, err: String) {
        let captured = CapturedConsole()
        let code = AttnSimCommand.main(arguments, console: captured.console)
        return (code, captured.stdout, captured.stderr)
    }

    /// Llama-2-70B (80 layers, 8 KV heads of 128, fp16): 327,680 bytes per token on one
    /// GPU; 4 KV heads each over 2 GPUs: 163,840; 1 head over 8: 40,960; over 16 GPUs each
    /// KV head is replicated on 2 and a GPU still holds one: 40,960.
    @Test(arguments: [(1, 8, 327_680), (2, 4, 163_840), (8, 1, 40_960), (16, 1, 40_960)])
    func kvHeadsPerGPU(_ gpus: Int, _ heads: Int, _ bytes: Int) throws {
        let footprint = KVFootprint(model: try ModelSpec.named("llama-2-70b"), dtype: .fp16, tensorParallel: gpus)
        #expect(footprint.kvHeadsPerGPU == heads)
        #expect(footprint.bytesPerToken == bytes)
    }

    /// Weights per GPU: 68,976,648,192 parameters x 2 bytes / 16 = 8,622,081,024. The
    /// budget on one H100 (80 GiB x 0.9 = 77,309,411,328 bytes): one GPU has none left;
    /// 2 GPUs leave 77,309,411,328 - 68,976,648,192 = 8,332,763,136 bytes, enough for 8
    /// sequences of 4k at 163,840 bytes per token (5,368,709,120) but not of 32k
    /// (42,949,672,960); 4 GPUs leave 42,821,087,232, enough for 8 x 32k x 81,920 =
    /// 21,474,836,480.
    @Test func llama2_70bSmallestFittingTP() throws {
        let records = try KVStudy(model: "llama-2-70b", contexts: [4096, 32768], batch: 8, allowBeyondMax: true).run()
        #expect(records.map(\.fits) == [false, false])
        #expect(records.map(\.budgetBytes) == [77_309_411_328 - 137_953_296_384, 77_309_411_328 - 137_953_296_384])
        #expect(records.map(\.smallestFittingTP) == [2, 4])
        let split = try KVStudy(model: "llama-2-70b", contexts: [4096], batch: 8, tensorParallel: 16).run()
        #expect(split[0].weightBytes == 8_622_081_024)
        #expect(split[0].kvBytesTotal == 8 * 4096 * 40_960)
        #expect(split[0].fits && split[0].kvHeadsPerGPU == 1 && split[0].tensorParallel == 16)
    }

    /// The table names the fewest GPUs, the replication and a bad --tp (exit 64).
    @Test func command() {
        let one = run(["kv", "--model", "llama-2-70b", "--context", "4k", "--batch", "8"])
        #expect(one.code == 0)
        #expect(one.out.contains("context 4k, batch 8 does not fit on 1 x h100-sxm; the fewest GPUs that fit it: --tp 2\n"))
        let sixteen = run(["kv", "--model", "llama-2-70b", "--context", "4k", "--tp", "16"])
        #expect(sixteen.out.contains("weights 8,622,081,024 bytes per GPU"))
        #expect(sixteen.out.contains("1 KV head per GPU (each of the 8 replicated on 2 GPUs, as vLLM does)"))
        let bad = run(["kv", "--model", "llama-2-70b", "--context", "4k", "--tp", "3"])
        #expect(bad.code == 64)
        #expect(bad.err.contains("tp 3: 3 GPUs do not divide llama-2-70b's 64 query heads"))
    }
}
