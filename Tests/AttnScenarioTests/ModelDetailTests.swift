import AttnHardware
import CostModel
@testable import AttnModel
import AttnScenario
import KVCache
import Testing
import Workload
import AttnTestSupport

/// Model details for `attnsim model`: Gemma 2's alternating local and global layers and
/// DeepSeek's MLA and shared-expert MoE (docs/model.md).
@Suite struct ModelDetailTests {
    func architecture(_ name: String) throws -> Architecture { try Architecture(model: try ModelSpec.named(name)) }

    /// Gemma 2 9B: even layers slide over 4,096 tokens, odd layers are global (the file's
    /// sliding_window_pattern 2). At 8k one sequence keeps (21 x 8,192 + 21 x 4,096) tokens
    /// x 2 x 8 KV heads x 256 x 2 bytes = 2,113,929,216 bytes, what `attnsim kv` says.
    @Test func gemma2AlternatesLocalAndGlobalLayers() throws {
        let gemma = try architecture("gemma-2-9b")
        #expect(gemma.layers.indices.filter { gemma.layers[$0].window == 4096 } == Array(stride(from: 0, to: 42, by: 2)))
        #expect(gemma.layers.filter { $0.window == nil }.count == 21)
        let study = try ModelStudy(architecture: gemma, hardware: TestSupport.h100, options: ModelRunOptions())
        let kv = study.memory(context: 8192, activationBytes: 0).kvBytes
        #expect(kv == 2_113_929_216)
        #expect(kv == KVFootprint(model: try ModelSpec.named("gemma-2-9b"), dtype: .fp16).kvBytesPerSequence(context: 8192))
        // A decode step at 8k: the local layers' attention reads half the keys of the global ones'.
        var predictor = study.predictor
        let step = try predictor.step(.decode, context: 8192)
        let attention = step.operators.filter { $0.name == "attention" }
        #expect(attention.count == 2)
        guard attention.count == 2 else { return }
        #expect(attention[0].layers.hasPrefix("0,2,4") && attention[1].layers.hasPrefix("1,3,5"))
        #expect(attention[0].kvBytes * 2 == attention[1].kvBytes)
        #expect(attention[0].seconds < attention[1].seconds)
    }
}

/// DeepSeek's decoders: MLA projections and shared-expert MoE with the first layers dense.
@Suite struct DeepSeekModelTests {
    func architecture(_ name: String) throws -> Architecture { try Architecture(model: try ModelSpec.named(name)) }

    /// DeepSeek-V3 from its config.json (hidden 7168, 128 heads, q_lora_rank 1536,
    /// kv_lora_rank 512, d_nope 128, d_rope 64, d_v 128): one MLA layer 7168 x 1536 + 1536
    /// + 1536 x 128 x 192 + 7168 x 576 + 512 + 512 x 128 x 256 + 128 x 128 x 7168 =
    /// 187,107,328; 3 dense SwiGLU layers of 18432 (396,361,728 each); 58 MoE layers of
    /// 257 experts (256 routed + 1 shared) x 3 x 7168 x 2048 + router 256 x 7168 + bias
    /// 256 = 11,320,164,608; norms 61 x 2 x 7168 + 7168; embedding and head 129280 x
    /// 7168 each: 671,026,419,200, the report's 671B main model. Active: 8 routed + 1
    /// shared expert per MoE layer: 37,552,297,472 (report: 37B).
    @Test func deepSeekV3Parameters() throws {
        let p = ParameterCount(try architecture("deepseek-v3"))
        #expect(p.attention == 61 * 187_107_328)
        #expect(p.ffn == 3 * 396_361_728 + 58 * 11_320_164_608)
        #expect(p.norms == 61 * 2 * 7168 + 7168)
        #expect(p.embedding == 926_679_040 && p.lmHead == 926_679_040)
        #expect(p.total == 671_026_419_200)
        #expect(p.active == 37_552_297_472)
    }

    /// DeepSeek-V2 (236B, 21B active) and V2-Lite (15.7B; no query latent) from their configs.
    @Test func deepSeekV2Parameters() throws {
        let v2 = ParameterCount(try architecture("deepseek-v2"))
        #expect(v2.total == 235_741_434_880 && v2.active == 21_375_800_320)
        let lite = ParameterCount(try architecture("deepseek-v2-lite"))
        // One layer: 2048 x 16 x 192 + 2048 x 576 + 512 + 512 x 16 x 256 + 16 x 128 x 2048.
        #expect(lite.attention == 27 * 13_763_072)
        #expect(lite.total == 15_706_484_224)
    }

    /// Decode attention runs mla-decode-absorbed over the latent cache: 576 elements per
    /// token and layer, (512 + 64) x 61 x 2 = 70,272 bytes per token at fp16, what `attnsim
    /// kv` says; a prompt decompresses K and V (kv_b_proj) and runs flash2.
    @Test func deepSeekV3Operators() throws {
        let v3 = try architecture("deepseek-v3")
        var study = try ModelStudy(architecture: v3, hardware: TestSupport.h100, options: ModelRunOptions(tensorParallel: 8))
        #expect(study.memory(context: 4096, activationBytes: 0).kvBytes == 4096 * 70_272)
        #expect(KVFootprint(model: try ModelSpec.named("deepseek-v3"), dtype: .fp16).bytesPerToken == 70_272)
        let decode = try study.predictor.step(.decode, context: 4096)
        let attention = decode.operators.filter { $0.name == "attention" }
        #expect(attention.map(\.kernel) == ["mla-decode-absorbed", "mla-decode-absorbed"])  // dense and MoE layer groups
        #expect(attention.first?.kvBytes == 4096 * 576 * 2)
        #expect(!decode.operators.contains { $0.name == "kv_b_proj" })
        let prefill = try study.predictor.step(.prefill, context: 1024)
        // kv_b_proj over the 1,024 context tokens, 512 -> 16 local heads x (128 + 128).
        let kvB = prefill.operators.first { $0.name == "kv_b_proj" }
        #expect(kvB?.weightBytes == 512 * 16 * 256 * 2)
        #expect(prefill.operators.contains { $0.name == "shared_expert_gate_up" })
    }
}

/// MoE experts as grouped GEMMs: Mixtral's decode step runs its 2 active experts with one
/// launch per matrix, so each expert GEMM carries half of the launch overhead.
@Suite struct GroupedExpertTests {
    @Test func activeExpertsShareTheLaunch() throws {
        let mixtral = try Architecture(model: try ModelSpec.named("mixtral-8x7b"))
        var predictor = try ModelPredictor(architecture: mixtral, hardware: TestSupport.h100, options: ModelRunOptions())
        let step = try predictor.step(.decode, context: 1024)
        guard let gateUp = step.operators.first(where: { $0.name == "expert_gate_up" }) else { throw TestFailure("no expert GEMM") }
        #expect(gateUp.kernel == "grouped gemm" && gateUp.repeats == 32 * 2)
        let single = try predictor.gemmRun(GEMMShape(m: 1, k: 4096, n: 2 * 14336))
        let launch = CostModel(hardware: TestSupport.h100, dtype: .fp16).calibration.kernelOverheadSeconds
        #expect(abs(gateUp.seconds - (single.seconds - Double(single.kernels) * launch / 2)) < 1e-12)
    }
}

/// `"study": "model"` scenario files.
@Suite struct ModelScenarioTests {
    @Test func badModelStudies() {
        let cases: [(String, String)] = [
            (#"{"version": 1, "study": "model", "contexts": [4096]}"#, "m.json: model: is required: a built-in model with a decoder object or a model .json path"),
            (#"{"version": 1, "study": "model", "model": "llama-2-7b", "contexts": [4096], "view": "ops"}"#,
             #"m.json: view: expected "summary", "operators", "parameters", found "ops""#),
            (#"{"version": 1, "study": "model", "model": "llama-2-7b", "contexts": [4096], "dtype": "fp5"}"#,
             #"m.json: dtype: expected fp32, fp16, bf16, fp8 (= fp8e4m3), fp8e5m2, fp8-block128, nvfp4, mxfp4, int8 or int4 (int8-gN, int4-gN: N per fp16 scale, default 128), found "fp5""#),
            (#"{"version": 1, "study": "model", "model": "llama-2-7b", "contexts": [4096], "activations": "int4"}"#,
             #"m.json: activations: expected fp32, fp16, bf16, fp8, fp8e5m2, nvfp4 or mxfp4 (integer formats are weight-only), found "int4-g128""#),
            (#"{"version": 1, "study": "model", "model": "llama-2-7b", "contexts": [4096], "kv": "int3"}"#,
             #"m.json: kv: expected fp32, fp16, bf16, fp8 (= fp8e4m3), fp8e5m2, int8, int4, nvfp4 or mxfp4 (int8-token, int4-g64: a group), found "int3""#),
        ]
        for (text, expected) in cases {
            do {
                _ = try StudyFile.decode(text, file: "m.json")
                Issue.record("no error for \(text)")
            } catch {
                #expect(error.description == expected)
            }
        }
    }

    /// The fields reach the study: tp 2 and the decode operator view.
    @Test func fieldsAreRead() throws {
        let text = #"{"version": 1, "study": "model", "model": "llama-2-7b", "contexts": ["4k"], "tp": 2, "view": "operators", "phase": "decode", "batch": 4}"#
        guard case .model(let study, _) = try StudyFile.decode(text, file: "m.json") else { throw TestFailure("not a model study") }
        #expect(study.contexts == [4096] && study.tensorParallel == 2 && study.view == "operators" && study.phase == "decode" && study.batch == 4)
    }
}
