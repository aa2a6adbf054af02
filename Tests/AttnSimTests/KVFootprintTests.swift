import Testing
import AttnHardware
@testable import KVCache

/// KV-cache footprints and capacities against published figures.
@Suite struct KVFootprintTests {
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
        (KVDType.fp32, 4 * 128), (.fp16, 2 * 128), (.bf16, 2 * 128), (.fp8, 128),
        // int4: 64 bytes of nibbles + 2 groups of 64 x (fp16 scale + fp16 zero point).
        (.int4(groupSize: 64), 64 + 2 * 4), (.int4(groupSize: 128), 64 + 4), (.int4(groupSize: 32), 64 + 4 * 4),
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
        for (text, expected) in cases {
            do {
                _ = try ModelSpec(jsonText: text, file: "m.json")
                Issue.record("no error for \(text)")
            } catch {
                #expect(error.description == expected)
            }
        }
        #expect(throws: ModelError.self) { try ModelSpec.named("gpt-5") }
    }
}
