import AttnCLI
import AttnHardware
import AttnModel
import AttnNumerics
import CostModel
import Foundation
import Testing
import Workload
import AttnTestSupport
import TileTestSupport

/// `model --ep G`: routed experts over G GPUs, the all-to-all dispatch and combine, and the
/// busiest GPU's load under uniform routing (`ExpertRouting`).
@Suite struct ExpertParallelTests {
    func run(_ arguments: [String]) -> (code: Int32, out: String, err: String) {
        let captured = CapturedConsole()
        let code = AttnSimCommand.main(arguments, console: captured.console)
        return (code, captured.stdout, captured.stderr)
    }

    /// Dispatch bytes T_local k h e (G - 1)/G and the all-to-all time, one NCCL send of
    /// max(send, receive) on NVLink 4 (LL: 6.6 + 0.6 us + bytes / 141e9):
    /// - 4 tokens, top-2, h 1024, fp16, 4 GPUs: 4 x 2 x 1024 x 2 x 3/4 = 12,288 bytes;
    ///   receiving 16,384: 7.2 us + 16,384 / 141e9 = 7.316199 us;
    /// - DeepSeek-V3 decode, 8 tokens per GPU, top-8, h 7168, bf16, 8 GPUs: 802,816 bytes;
    /// - one GPU sends nothing and takes no time.
    @Test func dispatchBytesAndTime() throws {
        #expect(ModelPredictor.dispatchBytes(tokens: 4, topK: 2, hidden: 1024, elementBytes: 2, gpus: 4) == 12_288)
        #expect(ModelPredictor.dispatchBytes(tokens: 8, topK: 8, hidden: 7168, elementBytes: 2, gpus: 8) == 802_816)
        #expect(ModelPredictor.dispatchBytes(tokens: 8, topK: 8, hidden: 7168, elementBytes: 2, gpus: 1) == 0)
        let link = try #require(TestSupport.h100.interconnect)
        let cost = CostModel(hardware: TestSupport.h100, dtype: .fp16)
        #expect(abs(cost.allToAllSeconds(sendBytes: 12_288, receiveBytes: 16_384, gpus: 4, over: link) - 7.316198582e-6) < 1e-15)
        #expect(abs(cost.allToAllSeconds(sendBytes: 16_384, receiveBytes: 12_288, gpus: 4, over: link) - 7.316198582e-6) < 1e-15)
        #expect(cost.allToAllSeconds(sendBytes: 12_288, receiveBytes: 12_288, gpus: 1, over: link) == 0)
    }

    /// E = 4 experts, top-2, G = 2 ranks of 2, T = 2 tokens. One token sends rank 0
    /// c ~ HG(4, 2, 2): P = 1/6, 4/6, 1/6; over two tokens L = 0 ... 4 with P = (1, 8, 18,
    /// 8, 1)/36, F = 1/36, 9/36, 27/36, 35/36, 1. Independent ranks: E[max] = 4 - (1 + 81 +
    /// 729 + 1225)/1296 = 3148/1296. Enumerating the 36 routings (L_1 = 4 - L_0): E[max]
    /// = (2 x 4 + 16 x 3 + 18 x 2)/36 = 92/36, above it (negative association).
    @Test func tinyCaseAgainstEnumeration() throws {
        let one = ExpertRouting.perTokenDistribution(experts: 4, topK: 2, ranks: 2)
        #expect(zip(one, [1.0 / 6, 4.0 / 6, 1.0 / 6]).allSatisfy { abs($0 - $1) < 1e-14 }, "\(one)")
        let load = ExpertRouting.rankLoadDistribution(tokens: 2, experts: 4, topK: 2, ranks: 2)
        #expect(zip(load, [1.0, 8, 18, 8, 1].map { $0 / 36 }).allSatisfy { abs($0 - $1) < 1e-14 }, "\(load)")
        let model = ExpertRouting.expectedMaxLoad(tokens: 2, experts: 4, topK: 2, ranks: 2)
        #expect(abs(model - 3148.0 / 1296) < 1e-12, "\(model)")
        // The enumeration: every pair of 2-subsets of 4 experts, experts 0 and 1 on rank 0.
        let subsets = [[0, 1], [0, 2], [0, 3], [1, 2], [1, 3], [2, 3]]
        var sum = 0.0
        for a in subsets {
            for b in subsets {
                let rank0 = (a + b).filter { $0 < 2 }.count
                sum += Double(max(rank0, 4 - rank0))
            }
        }
        #expect(abs(sum / 36 - 92.0 / 36) < 1e-12)
        #expect(model <= sum / 36)
        // One rank holds every pair: T k.
        #expect(ExpertRouting.expectedMaxLoad(tokens: 5, experts: 8, topK: 2, ranks: 1) == 10)
        // E[max of 2 standard normals] = 1 / sqrt(pi).
        #expect(abs(ExpertRouting.expectedMaxOfNormals(2) - 1 / Double.pi.squareRoot()) < 1e-9)
    }

    /// DeepSeek-V3's routing (256 experts, top-8, 8 ranks) against a seeded simulation of
    /// uniform routing, 4,000 trials: decode's 64 tokens (exact marginals, a lower bound)
    /// within 3% below; a prefill of 1,024 tokens (the normal law with the loads' fixed sum)
    /// within 1%. The simulation's standard error is below 0.2% of either.
    @Test func deepSeekRoutingAgainstSimulation() {
        func simulated(tokens: Int, trials: Int) -> Double {
            var generator = SeededGenerator(seed: 7)
            var total = 0.0
            for _ in 0..<trials {
                var loads = [Int](repeating: 0, count: 8)
                for _ in 0..<tokens {
                    var picked = Set<Int>()
                    while picked.count < 8 { picked.insert(Int(generator.next() % 256)) }
                    for expert in picked { loads[expert / 32] += 1 }
                }
                total += Double(loads.max() ?? 0)
            }
            return total / Double(trials)
        }
        let decode = ExpertRouting.expectedMaxLoad(tokens: 64, experts: 256, topK: 8, ranks: 8)
        let decodeSimulated = simulated(tokens: 64, trials: 4000)
        #expect(decode <= decodeSimulated && decode > decodeSimulated * 0.97, "\(decode) vs \(decodeSimulated)")
        let prefill = ExpertRouting.expectedMaxLoad(tokens: 1024, experts: 256, topK: 8, ranks: 8)
        let prefillSimulated = simulated(tokens: 1024, trials: 1000)
        #expect(abs(prefill / prefillSimulated - 1) < 0.01, "\(prefill) vs \(prefillSimulated)")
    }

    /// DeepSeek-V2-Lite (64 experts, top-6, 2 shared, 26 MoE layers) on 4 H100s with
    /// data-parallel attention, batch 8 decode: each GPU routes 2 tokens, the group 8;
    /// the mean is 8 x 6 / 4 = 12 pairs per GPU, the busiest the expected maximum rounded
    /// up; each GPU sends 2 x 6 x 2048 x 2 x 3/4 = 36,864 bytes and the busiest receives
    /// L_max x 2048 x 2 x 3/4; the expert GEMMs run L_max rows over the experts they reach.
    @Test func decodeStepUnderDataParallelAttention() throws {
        let lite = try Architecture(model: try ModelSpec.named("deepseek-v2-lite"))
        var options = ModelRunOptions(batch: 8)
        options.expertParallel = 4
        options.attentionDataParallel = true
        var predictor = try ModelPredictor(architecture: lite, hardware: TestSupport.h100, options: options)
        #expect(predictor.localBatch == 2)
        let step = try predictor.step(.decode, context: 512)
        let load = try #require(step.expertLoad)
        let expected = ExpertRouting.expectedMaxLoad(tokens: 8, experts: 64, topK: 6, ranks: 4)
        #expect(load.tokens == 8 && load.meanPairs == 12 && load.busiestPairs == Int(expected.rounded(.up)), "\(load) vs \(expected)")
        let dispatch = try #require(step.operators.first { $0.name == "ep_dispatch" })
        #expect(dispatch.linkBytes == max(36_864, load.busiestPairs * 2048 * 2 * 3 / 4) && dispatch.repeats == 26)
        let link = try #require(TestSupport.h100.interconnect)
        #expect(dispatch.linkBytes < 1_000_000 && abs(dispatch.seconds - (7.2e-6 + Double(dispatch.linkBytes) / 141e9)) < 1e-12)
        #expect(step.operators.contains { $0.name == "ep_combine" && $0.linkBytes == dispatch.linkBytes } && link.bytesPerSecond == 450e9)
        let active = ModelPredictor.activeExperts(experts: 16, topK: 1, tokens: load.busiestPairs)
        let gateUp = try #require(step.operators.first { $0.name == "expert_gate_up" })
        #expect(gateUp.repeats == 26 * active)
        #expect(gateUp.flops >= 2 * ((load.busiestPairs + active - 1) / active) * 2048 * 2 * 1408)
        // Each GPU holds a quarter of the routed experts: 26 layers x 64 x 3 x 2048 x 1408
        // parameters, 3/4 of them dropped.
        let study = try ModelStudy(architecture: lite, hardware: TestSupport.h100, options: options)
        let whole = ParameterCount(lite).weightBytes(elementBytes: 2)
        #expect(study.memory(context: 512, activationBytes: 0).weightBytes == whole - 26 * 64 * 3 * 2048 * 1408 * 2 * 3 / 4)
        // Tensor-parallel attention over the same GPUs: nothing dispatched, every GPU routes all 8.
        var tp = ModelRunOptions(batch: 8, tensorParallel: 4)
        tp.expertParallel = 4
        var tpPredictor = try ModelPredictor(architecture: lite, hardware: TestSupport.h100, options: tp)
        let tpStep = try tpPredictor.step(.decode, context: 512)
        #expect(tpStep.expertLoad?.tokens == 8 && !tpStep.operators.contains { $0.name == "ep_dispatch" })
        // A given imbalance: 1.5 x 12 = 18 pairs.
        options.expertImbalance = 1.5
        var given = try ModelPredictor(architecture: lite, hardware: TestSupport.h100, options: options)
        #expect(try given.step(.decode, context: 512).expertLoad?.busiestPairs == 18)
    }

    @Test func badParallelismIsRefused() {
        let base = ["model", "--model", "deepseek-v2-lite", "--context", "1k", "--batch", "8"]
        let cases: [([String], String)] = [
            (["--ep", "4"], "--ep 4: say how attention runs on the same GPUs: --tp 4 (tensor parallel) or --attention-dp (data parallel)"),
            (["--ep", "3", "--attention-dp"], "--ep 3: layer 1's 64 experts do not split evenly"),
            (["--ep", "16", "--attention-dp"], "batch 8 does not split evenly over 16 data-parallel attention GPUs"),
            (["--attention-dp"], "data-parallel attention runs beside expert parallelism; give --ep G as well"),
            (["--ep", "4", "--attention-dp", "--expert-imbalance", "0.5"], "'--expert-imbalance' expects the busiest GPU's load over the mean"),
        ]
        for (extra, message) in cases {
            let result = run(base + extra)
            #expect(result.code == 64 && result.err.contains(message), "\(extra): \(result.err)")
        }
        // B200's NVLink Switch joins 8 GPUs: 16 expert-parallel GPUs would leave it.
        let wide = run(["model", "--model", "deepseek-v2-lite", "--context", "1k", "--batch", "16", "--ep", "16", "--attention-dp", "--hardware", "b200"])
        #expect(wide.code == 64 && wide.err.contains("16 GPUs (pipeline stages x tensor or expert parallel) exceed b200's NVLink 5 domain of 8 GPUs"), "\(wide.err)")
        // Tensor parallelism alone is held to the domain too (its all-reduces use the link).
        let tensor = run(["model", "--model", "llama-2-70b", "--context", "1k", "--tp", "16", "--hardware", "b200"])
        #expect(tensor.code == 64 && tensor.err.contains("16 GPUs (pipeline stages x tensor or expert parallel) exceed b200's NVLink 5 domain of 8 GPUs"), "\(tensor.err)")
        #expect(run(["model", "--model", "llama-2-70b", "--context", "1k", "--tp", "8", "--hardware", "b200"]).code == 0)
        let dense = run(["model", "--model", "llama-2-7b", "--context", "1k", "--ep", "2", "--tp", "2"])
        #expect(dense.code == 64 && dense.err.contains("--ep 2: llama-2-7b has no MoE layers to split"), "\(dense.err)")
    }

    @Test func command() {
        let result = run(["model", "--model", "deepseek-v2-lite", "--context", "1k", "--batch", "8", "--ep", "4", "--attention-dp"])
        #expect(result.code == 0, "\(result.err)")
        #expect(result.out.contains("expert parallel over 4 GPUs with attention data parallel"), "\(result.out)")
        #expect(result.out.contains("ep imb prefill"), "\(result.out)")
        let json = run(["model", "--model", "deepseek-v2-lite", "--context", "1k", "--batch", "8", "--ep", "4", "--attention-dp", "--format", "json"])
        #expect(json.code == 0 && json.out.contains("\"ep\": 4") && json.out.contains("\"decode_expert_imbalance\""), "\(json.out.prefix(400))")
    }
}
