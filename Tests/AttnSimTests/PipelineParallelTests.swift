import AttnCLI
import AttnHardware
import AttnModel
import Testing
import Workload
import AttnTestSupport
import TileTestSupport

/// `model --pp P --microbatches M`: stages, the send between them, the bubble.
@Suite struct PipelineParallelTests {
    func run(_ arguments: [String]) -> (code: Int32, out: String, err: String) {
        let captured = CapturedConsole()
        let code = AttnSimCommand.main(arguments, console: captured.console)
        return (code, captured.stdout, captured.stderr)
    }

    /// 10 layers over 4 stages: 3, 3, 2, 2; 32 over 4: 8 each.
    @Test func stagesSplitTheLayers() {
        #expect(ModelPredictor.stageLayers(layers: 10, stages: 4) == [0..<3, 3..<6, 6..<8, 8..<10])
        #expect(ModelPredictor.stageLayers(layers: 32, stages: 4) == [0..<8, 8..<16, 16..<24, 24..<32])
    }

    /// Four equal stages of 1 s, no send. Prefill with M = 4: 4 + 3 x 1 = 7 s, idle
    /// 1 - 16/28 = 3/7 = (P - 1)/(M + P - 1) (GPipe). Decode with M = 2 < P: max(2, 4) =
    /// 4 s per token, idle (P - M)/P = 1/2; with M = 8: 8 s, no idle. Unequal stages 1, 2,
    /// 1 with a 0.5 s send, M = 3: t' = 1.5, 2.5, 1; prefill 5 + 2 x 2.5 = 10 s.
    @Test func scheduleAndBubble() {
        func step(_ phase: ModelPhase, _ stages: [Double], send: Double, m: Int) -> PipelineStep {
            var p = PipelineStep(
                phase: phase, stages: stages.count, microbatches: m, stageLayers: [], stageSeconds: stages, sendBytes: 0, sendSeconds: send, seconds: 0)
            p.seconds = PipelineStep.seconds(phase, stageCycleSeconds: p.stageCycleSeconds, microbatches: m)
            return p
        }
        let prefill = step(.prefill, [1, 1, 1, 1], send: 0, m: 4)
        #expect(prefill.seconds == 7 && abs(prefill.bubbleFraction - 3.0 / 7) < 1e-15)
        let few = step(.decode, [1, 1, 1, 1], send: 0, m: 2)
        #expect(few.seconds == 4 && abs(few.bubbleFraction - 0.5) < 1e-15)
        let many = step(.decode, [1, 1, 1, 1], send: 0, m: 8)
        #expect(many.seconds == 8 && many.bubbleFraction == 0)
        #expect(step(.prefill, [1, 2, 1], send: 0.5, m: 3).seconds == 10)
    }

    /// Llama-2-7B (32 layers, h 4096) batch 8 over 4 stages in 4 micro-batches of 2
    /// sequences, prefill of 1k: every stage holds 8 layers, the first the embedding and
    /// the last the final norm and LM head, so the stages add up to the micro-batch's
    /// step; each send carries 2 x 1024 x 4096 x 2 = 16,777,216 bytes, one NCCL send under
    /// Simple: 8.4 + 3.4 us + bytes / (450e9 x 20.6 / 25 = 370.8e9); TTFT = sum of t' + 3 max t'. Decode sends 2 x 4096 x 2 = 16,384 bytes.
    @Test func llamaOverFourStages() throws {
        let llama = try Architecture(model: try ModelSpec.named("llama-2-7b"))
        var options = ModelRunOptions(batch: 8)
        options.pipelineParallel = 4
        options.microbatches = 4
        var study = try ModelStudy(architecture: llama, hardware: TestSupport.h100, options: options)
        let summary = try #require(try study.summaries(contexts: [1024]).first)
        let pipe = try #require(summary.prefillPipeline)
        #expect(summary.prefill.batch == 8 && pipe.stageLayers == ModelPredictor.stageLayers(layers: 32, stages: 4))
        #expect(abs(pipe.stageSeconds.reduce(0, +) - summary.prefill.seconds) < 1e-12 * summary.prefill.seconds)
        #expect(pipe.sendBytes == 16_777_216 && abs(pipe.sendSeconds - (11.8e-6 + 16_777_216 / 370.8e9)) < 1e-12)
        let cycle = pipe.stageCycleSeconds
        #expect(abs(summary.ttftSeconds - (cycle.reduce(0, +) + 3 * (cycle.max() ?? 0))) < 1e-15)
        let decode = try #require(summary.decodePipeline)
        #expect(decode.sendBytes == 16_384 && summary.tpotSeconds == decode.seconds)
        // Memory: the fullest stage's weights, a quarter of the layers plus the embedding or LM head.
        #expect(summary.memory.weightBytes < ParameterCount(llama).weightBytes(elementBytes: 2) / 3)
    }

    @Test func badPipelinesAreRefused() {
        let base = ["model", "--model", "llama-2-7b", "--context", "1k", "--batch", "8"]
        let cases: [([String], String)] = [
            (["--pp", "40"], "--pp 40: llama-2-7b has only 32 layers to split into stages"),
            (["--pp", "4", "--microbatches", "3"], "batch 8 does not split evenly into 3 micro-batches"),
            (["--microbatches", "2"], "micro-batches split the batch for a pipeline; give --pp P as well"),
        ]
        for (extra, message) in cases {
            let result = run(base + extra)
            #expect(result.code == 64 && result.err.contains(message), "\(extra): \(result.err)")
        }
        let ok = run(base + ["--pp", "4", "--microbatches", "4"])
        #expect(ok.code == 0 && ok.out.contains("pipeline parallel over 4 stages with 4 micro-batches") && ok.out.contains("bubble prefill"), "\(ok.err)")
    }
}
