import AttnHardware
import AttnModel
import Testing
import Workload

/// `attnsim model` against published end-to-end latencies of dense decoders (docs/model.md,
/// "Against published latencies"): each row is a figure from its source with the source's
/// setup, the prediction is computed by the model study in that setup, and the test holds
/// the prediction within the row's tolerance of the published value.
@Suite struct PublishedLatencyTests {
    enum Phase: Sendable { case prefill, decode }

    /// One published figure and the setup it was measured in.
    struct Published: Sendable, CustomTestStringConvertible {
        var source: String
        var model: String
        var hardware: String
        /// `--dtype`.
        var dtype: String
        var tensorParallel: Int
        /// Prefill: the prompt; decode: the mean context of the measured steps.
        var context: Int
        var phase: Phase
        /// TTFT (prefill) or time per output token (decode), in milliseconds.
        var milliseconds: Double
        /// The prediction over the published value may lie in this range (docs/model.md says why).
        var ratio: ClosedRange<Double>
        var testDescription: String { "\(source): \(model) on \(hardware) x\(tensorParallel), \(dtype), \(phase) at \(context)" }
    }

    /// TensorRT-LLM's batch-1 first-token latencies at 2,048 input tokens (compute-bound
    /// prefill). The published figures are whole milliseconds (at most 1.4% here); the
    /// engine fuses norms, residual adds and RoPE into neighbouring kernels, which the model
    /// runs as separate streaming kernels, and gemm.tile's accumulation adds are charged as
    /// vector work (docs/model.md, "Limits of the model"): 10% either way.
    static let prefill = 0.90...1.10
    /// gpt-fast's batch-1 decode (torch.compile with CUDA graphs). The model streams the
    /// weights at the profile's copy ceiling and times the step's small kernels by their
    /// latency (Little's law, one round of the DRAM latency, a barrier per reduction);
    /// gpt-fast reports its own effective bandwidth at 1.40 TB/s for Llama-2-7B, 77% of that
    /// ceiling (its kernels at one row and the gaps between the step's ~400 kernels), so the
    /// prediction may be up to 25% below the published time and at most 5% above it
    /// (-16.1% for Llama-2-7B, -10.1% to -17.6% over 2 to 8 GPUs).
    static let decode = 0.75...1.05
    /// gpt-fast's tensor-parallel decode adds 2 all-reduces per layer, timed by NCCL's own
    /// tuning model (ring LL at these sizes: 6.6 us + 2 (G - 1) x 0.6 us, 7.8 us at 2 GPUs,
    /// 15.0 at 8; CostModel.CollectiveTuning). With it the tensor-parallel rows fall in the
    /// one-GPU rows' band (docs/model.md, "Against published latencies"): nothing widens it.
    static let tensorParallelDecode = decode

    /// Sources: TensorRT-LLM docs/source/performance.md (release 0.6.1, "Low Latency"
    /// tables, measured with v0.5: batch 1, first-token latency; "LLaMA 7B" is
    /// Llama-2-7B's shape, H100 engines FP8 with an FP8 KV cache, A100 engines FP16);
    /// gpt-fast README.md, "Benchmarks" and "Tensor Parallelism" (8 x A100-80GB
    /// power-limited to 330 W, batch 1, bf16, a 5-token prompt and 200 new tokens: mean
    /// context 105; 1000 / tokens/s). Llama-3.1-8B has llama-3-8b's shapes. TensorRT-LLM's
    /// 128-token first-token latencies are not held: per-request costs outside a step
    /// dominate them (docs/model.md).
    static let rows: [Published] = [
        Published(source: "TensorRT-LLM v0.5", model: "llama-2-7b", hardware: "a100-80gb-sxm", dtype: "fp16", tensorParallel: 1,
                  context: 2048, phase: .prefill, milliseconds: 133, ratio: prefill),
        Published(source: "TensorRT-LLM v0.5", model: "llama-2-7b", hardware: "h100-sxm", dtype: "fp8", tensorParallel: 1,
                  context: 2048, phase: .prefill, milliseconds: 36, ratio: prefill),
        Published(source: "TensorRT-LLM v0.5", model: "llama-2-70b", hardware: "a100-80gb-sxm", dtype: "fp16", tensorParallel: 4,
                  context: 2048, phase: .prefill, milliseconds: 377, ratio: prefill),
        Published(source: "TensorRT-LLM v0.5", model: "llama-2-70b", hardware: "h100-sxm", dtype: "fp8", tensorParallel: 4,
                  context: 2048, phase: .prefill, milliseconds: 109, ratio: prefill),
        Published(source: "gpt-fast", model: "llama-2-7b", hardware: "a100-80gb-sxm", dtype: "bf16", tensorParallel: 1,
                  context: 105, phase: .decode, milliseconds: 1000 / 104.9, ratio: decode),
        Published(source: "gpt-fast", model: "llama-3-8b", hardware: "a100-80gb-sxm", dtype: "bf16", tensorParallel: 1,
                  context: 105, phase: .decode, milliseconds: 1000 / 93.89, ratio: decode),
        Published(source: "gpt-fast", model: "llama-2-7b", hardware: "a100-80gb-sxm", dtype: "bf16", tensorParallel: 2,
                  context: 105, phase: .decode, milliseconds: 1000 / 168.84, ratio: tensorParallelDecode),
        Published(source: "gpt-fast", model: "llama-2-7b", hardware: "a100-80gb-sxm", dtype: "bf16", tensorParallel: 4,
                  context: 105, phase: .decode, milliseconds: 1000 / 254.02, ratio: tensorParallelDecode),
        Published(source: "gpt-fast", model: "llama-2-7b", hardware: "a100-80gb-sxm", dtype: "bf16", tensorParallel: 8,
                  context: 105, phase: .decode, milliseconds: 1000 / 328.43, ratio: tensorParallelDecode),
        Published(source: "gpt-fast", model: "llama-2-70b", hardware: "a100-80gb-sxm", dtype: "bf16", tensorParallel: 2,
                  context: 105, phase: .decode, milliseconds: 1000 / 21.32, ratio: tensorParallelDecode),
        Published(source: "gpt-fast", model: "llama-2-70b", hardware: "a100-80gb-sxm", dtype: "bf16", tensorParallel: 4,
                  context: 105, phase: .decode, milliseconds: 1000 / 38.01, ratio: tensorParallelDecode),
        Published(source: "gpt-fast", model: "llama-2-70b", hardware: "a100-80gb-sxm", dtype: "bf16", tensorParallel: 8,
                  context: 105, phase: .decode, milliseconds: 1000 / 62.50, ratio: tensorParallelDecode),
    ]

    /// The model study's TTFT or TPOT for a row's setup, in milliseconds (what `attnsim model
    /// --model M --hardware H --dtype D --tp G --context C` prints).
    static func predictedMilliseconds(_ row: Published) throws -> Double {
        let format = try #require(TensorFormat(name: row.dtype), "\(row.dtype)")
        let (run, precision) = ModelPrecision.resolve(dtype: format)
        var study = try ModelStudy(
            architecture: try Architecture(model: try ModelSpec.named(row.model)), hardware: try HardwareProfile.named(row.hardware),
            options: ModelRunOptions(batch: 1, dtype: run, tensorParallel: row.tensorParallel, precision: precision))
        let summary = try #require(try study.summaries(contexts: [row.context]).first)
        switch row.phase {
        case .prefill: return summary.ttftSeconds * 1e3
        case .decode: return try #require(summary.tpotSeconds) * 1e3
        }
    }

    @Test(arguments: rows)
    func withinItsToleranceOfThePublishedFigure(_ row: Published) throws {
        let predicted = try Self.predictedMilliseconds(row)
        let ratio = predicted / row.milliseconds
        #expect(row.ratio.contains(ratio), "\(row.testDescription): predicted \(predicted) ms against \(row.milliseconds) ms published (x\(ratio))")
    }
}
