import Testing
import AttnHardware
@testable import KVCache
import Workload

/// KV-cache footprints and capacities against published figures.
@Suite struct KVFootprintTests {
    /// Each model text fails to decode with exactly the expected message.
    func expectModelErrors(_ cases: [(String, String)]) {
        for (text, expected) in cases {
            do {
                _ = try ModelSpec(jsonText: text, file: "m.json")
                Issue.record("no error for \(text)")
            } catch {
                #expect(error.description == expected)
            }
        }
    }

    static let gib = 1 << 30

    func footprint(_ model: String, _ dtype: KVDType = .fp16) throws -> KVFootprint {
        KVFootprint(model: try ModelSpec.named(model), dtype: dtype)
    }

    /// Bytes per token at fp16: 2 (K and V) x layers x kv_heads x head_dim x 2 bytes.
    @Test(arguments: [
        ("opt-13b", 819_200),        // vLLM paper, Section 3: 800 KB per token
        ("llama-2-70b", 327_680),    // GQA: 8 KV heads
        ("mistral-7b", 131_072),     // GQA: 8 KV heads
        ("llama-2-7b", 524_288),
        ("falcon-7b", 8_192),        // MQA: one KV head of 64
        ("gpt3-175b", 4_718_592),
        ("jamba-v0.1", 16_384),      // 4 attention layers of 32
    ])
    func bytesPerToken(_ model: String, _ expected: Int) throws {
        #expect(try footprint(model).bytesPerToken == expected)
    }

    @Test func longContextKnownAnswers() throws {
        // Llama-2-7B at 256K tokens: 128 GiB.
        #expect(try footprint("llama-2-7b").kvBytesPerSequence(context: 256 * 1024) == 128 * Self.gib)
        // Jamba at 256K: 4 GiB of KV (Lieber et al. 2024, Table 1); its Mamba state is
        // constant: 28 layers x 8192 x (16 + 3) elements x 2 bytes.
        let jamba = try footprint("jamba-v0.1")
        #expect(jamba.kvBytesPerSequence(context: 256 * 1024) == 4 * Self.gib)
        #expect(jamba.ssmStateBytesPerSequence == 28 * 8192 * 19 * 2)
        #expect(jamba.bytesPerSequence(context: 1024) - jamba.kvBytesPerSequence(context: 1024) == jamba.ssmStateBytesPerSequence)
        // Mistral's sliding window caps a sequence at 4096 tokens: 512 MiB at any longer context.
        let mistral = try footprint("mistral-7b")
        #expect(mistral.kvBytesPerSequence(context: 32 * 1024) == 4096 * 131_072)
        #expect(mistral.kvBytesPerSequence(context: 1000) == 1000 * 131_072)
    }

    /// The grouping factor: MHA over GQA over MQA at equal layers and head size.
    @Test func attentionKinds() throws {
        #expect(try ModelSpec.named("llama-2-70b").attentionKind == "GQA")
        #expect(try ModelSpec.named("falcon-7b").attentionKind == "MQA")
        #expect(try ModelSpec.named("opt-13b").attentionKind == "MHA")
    }

    @Test(arguments: [
        (KVDType.fp32, 4 * 128), (.fp16, 2 * 128), (.bf16, 2 * 128), (.fp8(.e4m3), 128), (.fp8(.e5m2), 128),
        // int4: 64 bytes of nibbles + 2 groups of 64 x (fp16 scale + fp16 zero point).
        (.int4(.elements(64)), 64 + 2 * 4), (.int4(.elements(128)), 64 + 4), (.int4(.elements(32)), 64 + 4 * 4),
        // Ragged: 100 elements in groups of 64 are 2 groups; per token one group.
        (.int4(.token), 64 + 4), (.int8(.token), 128 + 4), (.int8(.elements(32)), 128 + 4 * 4), (.int8(.elements(100)), 128 + 2 * 4),
    ])
    func vectorBytes(_ dtype: KVDType, _ expected: Int) {
        #expect(dtype.vectorBytes(128) == expected)
    }

    /// vLLM paper, Table 1: OPT-13B on one A100-40GB leaves 15.7K KV slots. With vLLM's
    /// default gpu_memory_utilization of 0.9: floor(0.9 x 40 GiB) - 2 x 12,853,473,280
    /// = 12,948,759,104 bytes / 819,200 = 15,806 slots, 0.7% above the paper's figure
    /// (which also sets aside activation memory profiled at start-up).
    @Test func vllmSlotCount() throws {
        let capacity = KVCapacity(footprint: try footprint("opt-13b"), hardware: try HardwareProfile.named("a100-40gb-sxm"))
        #expect(capacity.budgetBytes == Int((Double(40 * Self.gib) * 0.9).rounded(.down)) - 2 * 12_853_473_280)
        #expect(capacity.tokenSlots == capacity.budgetBytes / 819_200)
        #expect(abs(Double(capacity.tokenSlots) / 15_700 - 1) < 0.01)
        #expect(capacity.sequences(context: 2048) == capacity.budgetBytes / (2048 * 819_200))
    }

    @Test func weightsThatDoNotFitLeaveNoSlots() throws {
        let capacity = KVCapacity(footprint: try footprint("opt-175b"), hardware: try HardwareProfile.named("h100-sxm"))
        #expect(capacity.budgetBytes < 0)
        #expect(capacity.tokenSlots == 0)
        #expect(capacity.sequences(context: 1024) == 0)
    }

    @Test func allPresetsLoadWithSources() throws {
        for name in ModelSpec.builtInNames {
            let model = try ModelSpec.named(name)
            #expect(model.id == name)
            #expect(model.layerKinds.count == model.layers)
            #expect(model.sources["architecture"]?.isEmpty == false, "\(name)")
            #expect(model.sources["parameters"]?.isEmpty == false, "\(name)")
        }
    }

    @Test func badModelFiles() {
        let cases: [(String, String)] = [
            (#"{"id": "m", "layers": 2, "hidden_size": 64, "heads": 4, "kv_heads": 3, "parameters": 1}"#,
             "m.json: kv_heads: expected a divisor of heads (4), found 3"),
            (#"{"id": "m", "layers": 2, "hidden_size": 64, "heads": 4, "parameters": 1, "layer_kinds": ["attention"]}"#,
             "m.json: layer_kinds: expected one entry per layer (2), found 1"),
            (#"{"id": "m", "layers": 1, "hidden_size": 64, "heads": 4, "parameters": 1, "layer_kinds": ["ssm"]}"#,
             #"m.json: ssm: is required when layer_kinds has "ssm" layers: {"inner_dim", "state_dim", "conv_width"}"#),
            (#"{"id": "m", "layers": 0, "hidden_size": 64, "heads": 4, "parameters": 1}"#,
             "m.json: layers: expected a positive integer, found 0"),
        ]
        expectModelErrors(cases)
        #expect(throws: ModelError.self) { try ModelSpec.named("gpt-5") }
    }

    /// MLA caches one latent of kv_lora_rank plus one RoPE key of qk_rope_head_dim per token
    /// and layer, whatever the head count (DeepSeek-V2, Table 1).
    @Test(arguments: [
        ("deepseek-v3", 61, 70_272),        // (512 + 64) x 61 = 35,136 elements, x 2 bytes
        ("deepseek-v2", 60, 69_120),        // (512 + 64) x 60 = 34,560 elements
        ("deepseek-v2-lite", 27, 31_104),   // (512 + 64) x 27 = 15,552 elements
    ])
    func mlaBytesPerToken(_ model: String, _ layers: Int, _ expected: Int) throws {
        let bf16 = try footprint(model, .bf16)
        #expect(bf16.model.attentionKind == "MLA")
        #expect(bf16.model.mla?.cachedElements == 576)
        #expect(bf16.bytesPerTokenPerLayer == 1_152)
        #expect(bf16.bytesPerToken == expected)
        #expect(expected == (512 + 64) * layers * 2)
        // fp8: one byte per element; at 128K one sequence of V3 is 35,136 x 131,072 bytes.
        #expect(try footprint(model, .fp8(.e4m3)).bytesPerToken == expected / 2)
        // int8 per token: one fp16 scale and zero point per 576-element latent.
        #expect(try footprint(model, .int8(.token)).bytesPerToken == (576 + 4) * layers)
    }

    @Test func deepSeekV3At128K() throws {
        let v3 = try footprint("deepseek-v3", .bf16)
        #expect(v3.kvBytesPerSequence(context: 131_072) == 9_210_691_584)   // 70,272 x 131,072 = 8.58 GiB
        // The same 61 layers as MHA with 128 heads caching K (192) and V (128) per head:
        // 61 x 128 x (192 + 128) x 2 bytes = 4,997,120 bytes per token, 71x the latent.
        #expect(61 * 128 * (192 + 128) * 2 / v3.bytesPerToken == 71)
    }

    /// Gemma 2 alternates local layers (window 4096) and global ones: layer 0 local, layer
    /// 1 global, ... so half the layers stop growing at 4096 tokens.
    @Test func gemma2InterleavedWindows() throws {
        let gemma = try footprint("gemma-2-9b")
        #expect(gemma.model.window(layer: 0) == 4096)
        #expect(gemma.model.window(layer: 1) == nil)
        #expect(gemma.model.window(layer: 41) == nil)
        #expect(gemma.model.attentionWindows.filter { $0 == nil }.count == 21)
        // 2 x 8 KV heads x 256 x 2 bytes = 8,192 bytes per token and layer; 42 layers.
        #expect(gemma.bytesPerTokenPerLayer == 8_192)
        #expect(gemma.bytesPerToken == 344_064)
        // Below the window every layer keeps every token: 42 x 2000 x 8,192.
        #expect(gemma.kvBytesPerSequence(context: 2000) == 688_128_000)
        // At 8K: 21 global layers x 8,192 + 21 local x 4,096 tokens = 258,048 token-layers.
        #expect(gemma.cachedTokenLayers(context: 8192) == 258_048)
        #expect(gemma.kvBytesPerSequence(context: 8192) == 2_113_929_216)
        // 27B: 2 x 16 x 128 x 2 = 8,192 bytes per layer, 46 layers, 23 of them global.
        let big = try footprint("gemma-2-27b")
        #expect(big.bytesPerToken == 376_832)
        #expect(big.kvBytesPerSequence(context: 8192) == (23 * 8192 + 23 * 4096) * 8192)
    }

    /// StreamingLLM: a rolling window of W tokens plus S attention sinks caps every layer
    /// at W + S tokens.
    @Test func sinkAndWindowEviction() throws {
        let streaming = KVFootprint(model: try ModelSpec.named("llama-2-7b").withPolicy(window: 4096, sinks: 4), dtype: .fp16)
        #expect(streaming.kvBytesPerSequence(context: 1000) == 1000 * 524_288)
        #expect(streaming.kvBytesPerSequence(context: 4100) == 4100 * 524_288)
        #expect(streaming.kvBytesPerSequence(context: 1 << 20) == 4100 * 524_288)   // 2,149,580,800 bytes at 1M
        // A window policy replaces Gemma's pattern: every layer windowed.
        let gemma = KVFootprint(model: try ModelSpec.named("gemma-2-9b").withPolicy(window: 1024, sinks: nil), dtype: .fp16)
        #expect(gemma.kvBytesPerSequence(context: 8192) == 42 * 1024 * 8_192)
        // Sinks alone keep Gemma's pattern: local layers keep 4096 + 4.
        let sinks = KVFootprint(model: try ModelSpec.named("gemma-2-9b").withPolicy(window: nil, sinks: 4), dtype: .fp16)
        #expect(sinks.cachedTokenLayers(context: 8192) == 21 * 8192 + 21 * 4100)
    }

    /// Per-layer windows from a model file, with sinks: layers [512, global, 1024].
    @Test func perLayerWindowsFromAFile() throws {
        let text = #"{"id": "m", "layers": 3, "hidden_size": 64, "heads": 4, "kv_heads": 2, "parameters": 1, "layer_windows": [512, null, 1024], "attention_sinks": 8}"#
        let model = try ModelSpec(jsonText: text, file: "m.json")
        let fp16 = KVFootprint(model: model, dtype: .fp16)
        // 2 x 2 KV heads x 16 x 2 bytes = 128 bytes per token and layer.
        #expect(fp16.bytesPerTokenPerLayer == 128)
        #expect(fp16.cachedTokenLayers(context: 10_000) == 520 + 10_000 + 1032)
        #expect(fp16.kvBytesPerSequence(context: 600) == (520 + 600 + 600) * 128)
    }

    @Test func badPolicyAndMLAModelFiles() {
        let base = #""id": "m", "layers": 2, "hidden_size": 64, "heads": 4, "parameters": 1"#
        let cases: [(String, String)] = [
            ("{\(base), \"sliding_window_pattern\": 2}", "m.json: sliding_window_pattern: needs sliding_window (the window of the local layers)"),
            ("{\(base), \"layer_windows\": [4]}", "m.json: layer_windows: expected one entry per layer (2), found 1"),
            ("{\(base), \"layer_windows\": [4, 0]}", "m.json: layer_windows[1]: expected a window from 1 to 1099511627776 tokens or null (a global layer), found 0"),
            ("{\(base), \"sliding_window\": 8, \"layer_windows\": [4, 4]}", "m.json: layer_windows: replaces sliding_window; give one of them"),
            ("{\(base), \"attention_sinks\": 4}", "m.json: attention_sinks: needs a window (sliding_window or layer_windows): sinks are kept beside a window"),
            ("{\(base), \"mla\": {\"kv_lora_rank\": 512}}", "m.json: mla.qk_rope_head_dim: is required (an integer from 1 to 65536)"),
        ]
        expectModelErrors(cases)
    }

    /// The study applies `--window`/`--sinks`; sinks need a window somewhere.
    @Test func studyPolicies() throws {
        // 4,096 + 4 positions: past Llama-2's 4,096, allowed.
        let rows = try KVStudy(model: "llama-2-7b", contexts: [1 << 20], window: 4096, sinks: 4, allowBeyondMax: true).run()
        #expect(rows[0].kvBytesPerSequence == 4100 * 524_288)
        #expect(rows[0].maxSequences == rows[0].budgetBytes / (4100 * 524_288))
        #expect(throws: KVInputError.self) { try KVStudy(model: "llama-2-7b", contexts: [4096], sinks: 4).run() }
        #expect(throws: KVInputError.self) { try KVStudy(model: "llama-2-7b", contexts: [4096], window: 0).run() }
        #expect(rows[0].cache == "window 4096 + 4 sinks")
        #expect(try KVStudy(model: "gemma-2-9b", contexts: [4096]).run()[0].cache == "window 4096 on 21 of 42 layers")
        #expect(try KVStudy(model: "llama-2-7b", contexts: [4096]).run()[0].cache == "full")
        let v3 = try KVStudy(model: "deepseek-v3", contexts: [4096], dtype: .bf16, hardware: "h200-sxm").run()
        #expect(v3[0].attention == "MLA")
        #expect(v3[0].kvBytesPerToken == 70_272)
    }
}
