import AttnHardware
@testable import AttnModel
import KVCache
import Testing
import Workload
import AttnTestSupport

/// Today's model families (issue 20 item 2): each preset's parameters and KV bytes per
/// token, derived by hand from its published config.json, against what the layer
/// arithmetic counts (`ParameterCount`) and what the KV footprint gives (`KVFootprint`).
@Suite struct TodayModelsTests {
    struct Expected: Sendable, CustomStringConvertible {
        var model: String
        var total: Int
        /// Active parameters per token (MoE; the total for a dense model).
        var active: Int
        /// KV bytes per token over all attention layers at bf16.
        var kvBytesPerToken: Int
        var description: String { model }
    }

    /// The table. Per layer, with h hidden, H/Hkv heads, dh head size, I intermediate, V
    /// vocabulary (docs/model.md gives each formula):
    ///
    /// - gpt-oss (h 2880, 64/8 heads of 64, biases, 64 sink logits; experts of 2880, SwiGLU
    ///   with biases, router with bias; V 201,088 untied): attention 2880 x (64 + 16) x 64
    ///   + 4096 x 2880 + (5,120 + 2,880) biases + 64 = 26,550,144; one expert 3 x 2880 x 2880
    ///   + 2 x 2880 + 2880 = 24,891,840; router 2880 E + E; norms 2 x 2880 per layer + 2880;
    ///   embedding and head 2 x 579,133,440. 120b (36 layers, 128 experts, 4 active):
    ///   1,158,266,880 + 36 x (26,550,144 + 128 x 24,891,840 + 368,768 + 5,760) + 2,880 =
    ///   116,829,156,672 (card: 116.83B); active with 4 experts 5,711,982,912. 20b (24 layers,
    ///   32 experts): 20,914,757,184 (card: 20.91B), active 4,187,440,704.
    ///   KV: layers x 2 x 8 x 64 x 2 = 2,048 per layer: 73,728 (120b) and 49,152 (20b).
    /// - Llama 4 (h 5120, 40/8 heads of 128, no biases; experts and the shared expert of
    ///   8192; V 202,048 untied): attention 5120 x 56 x 128 + 5120 x 5120 = 62,914,560; one
    ///   expert 3 x 5120 x 8192 = 125,829,120; router 5120 E. Scout (48 MoE layers, 16
    ///   experts, top-1 + shared): 2,068,971,520 + 48 x (62,914,560 + 17 x 125,829,120 +
    ///   81,920 + 10,240) + 5,120 = 107,769,861,120; active 2 experts: 17,172,894,720.
    ///   Maverick (24 dense layers of 16,384 = 251,658,240 and 24 MoE layers of 128
    ///   experts): 400,711,848,960, active 17,184,691,200. KV 48 x 4,096 = 196,608.
    /// - Gemma 3 (GeGLU, 4 norms per layer, q/k norms of dh, tied): 1B (26 x (1152 x 1536
    ///   + 1024 x 1152 + 512 + 3 x 1152 x 6912 + 4 x 1152) + 262,144 x 1152 + 1152) =
    ///   999,885,952; 12B 11,766,034,176; 27B (62 x (5376 x 6144 + 4096 x 5376 + 256 +
    ///   3 x 5376 x 21504 + 4 x 5376) + 262,208 x 5376 + 5376) = 27,009,346,304. KV: 1B 26
    ///   x 2 x 1 x 256 x 2 = 26,624; 12B 48 x 8,192 = 393,216; 27B 62 x 8,192 = 507,904.
    /// - Qwen3 (q/k norms of 128, untied, V 151,936): 8B 36 x (4096 x 6144 + 4096 x 4096 +
    ///   256 + 3 x 4096 x 12288 + 8192) + 2 x 622,329,856 + 4096 = 8,190,735,360; 32B
    ///   32,762,123,264; 30B-A3B (48 layers, 128 experts of 768, top-8) 30,532,122,624,
    ///   active 3,353,032,704; 235B-A22B (94 layers, 128 experts of 1536) 235,093,634,560,
    ///   active 22,190,763,520. KV: 36 x 4,096 = 147,456; 64 x 4,096 = 262,144; 48 x 2 x 4
    ///   x 128 x 2 = 98,304; 94 x 2,048 = 192,512.
    /// - Qwen3-Next (48 layers, 36 Gated DeltaNet + 12 gated attention; 512 experts of 512,
    ///   top-10, one shared expert with a gate): DeltaNet 2048 x 12,288 + 2048 x 64 + 8192
    ///   x 4 + 32 + 32 + 128 + 4096 x 2048 = 33,718,464; attention 2048 x (16 + 4) x 256 +
    ///   2048 x 4096 (gate) + 4096 x 2048 + 512 = 27,263,488; MoE 513 x 3,145,728 + 2048 x 512
    ///   + 2048 = 1,614,809,088; total 79,674,391,296, active 3,874,929,408. KV only in the
    ///   12 attention layers: 12 x 2 x 2 x 256 x 2 = 24,576.
    /// - DeepSeek-V3.2: DeepSeek-V3's 671,026,419,200 plus 61 indexers of 1536 x 8192 + 7168
    ///   x 128 + 256 + 7168 x 64 = 13,959,424: 671,877,944,064 (active 38,403,822,336). KV:
    ///   61 x ((512 + 64) x 2 + 128 + 4) = 78,324 (the indexer key FP8 with an fp32 scale).
    /// - Kimi K2 (64 MLA heads, 384 experts of 2048, one shared, top-8, first layer dense,
    ///   V 163,840): MLA 29,885,952 + 12,517,888 + 58,720,256 = 101,124,096 per layer;
    ///   1,026,408,232,448 total, 32,861,500,928 active. KV 61 x 1,152 = 70,272.
    static let table: [Expected] = [
        Expected(model: "gpt-oss-20b", total: 20_914_757_184, active: 4_187_440_704, kvBytesPerToken: 49_152),
        Expected(model: "gpt-oss-120b", total: 116_829_156_672, active: 5_711_982_912, kvBytesPerToken: 73_728),
        Expected(model: "llama-4-scout", total: 107_769_861_120, active: 17_172_894_720, kvBytesPerToken: 196_608),
        Expected(model: "llama-4-maverick", total: 400_711_848_960, active: 17_184_691_200, kvBytesPerToken: 196_608),
        Expected(model: "gemma-3-1b", total: 999_885_952, active: 999_885_952, kvBytesPerToken: 26_624),
        Expected(model: "gemma-3-12b", total: 11_766_034_176, active: 11_766_034_176, kvBytesPerToken: 393_216),
        Expected(model: "gemma-3-27b", total: 27_009_346_304, active: 27_009_346_304, kvBytesPerToken: 507_904),
        Expected(model: "qwen3-8b", total: 8_190_735_360, active: 8_190_735_360, kvBytesPerToken: 147_456),
        Expected(model: "qwen3-32b", total: 32_762_123_264, active: 32_762_123_264, kvBytesPerToken: 262_144),
        Expected(model: "qwen3-30b-a3b", total: 30_532_122_624, active: 3_353_032_704, kvBytesPerToken: 98_304),
        Expected(model: "qwen3-235b-a22b", total: 235_093_634_560, active: 22_190_763_520, kvBytesPerToken: 192_512),
        Expected(model: "qwen3-next-80b", total: 79_674_391_296, active: 3_874_929_408, kvBytesPerToken: 24_576),
        Expected(model: "deepseek-v3.2", total: 671_877_944_064, active: 38_403_822_336, kvBytesPerToken: 78_324),
        Expected(model: "kimi-k2", total: 1_026_408_232_448, active: 32_861_500_928, kvBytesPerToken: 70_272),
    ]

    @Test(arguments: table)
    func countsAndKVBytes(_ e: Expected) throws {
        let spec = try ModelSpec.named(e.model)
        let count = ParameterCount(try Architecture(model: spec))
        #expect(count.total == e.total)
        #expect(count.active == e.active)
        // The file states the counted figure (its source cites the card's rounding).
        #expect(spec.parameters == e.total)
        #expect(KVFootprint(model: spec, dtype: .bf16).bytesPerToken == e.kvBytesPerToken)
    }

    /// The published totals, within the rounding each card states: the count, in billions,
    /// rounded to the card's digits, is the card's figure.
    @Test func publishedTotalsWithinTheirRounding() throws {
        func billions(_ name: String) throws -> (total: Double, active: Double, embedding: Double) {
            let a = try Architecture(model: try ModelSpec.named(name))
            let p = ParameterCount(a)
            return (Double(p.total) / 1e9, Double(p.active) / 1e9, Double(p.embedding) / 1e9)
        }
        func pow10(_ n: Int) -> Double { (0..<n).reduce(1.0) { value, _ in value * 10 } }
        func rounded(_ x: Double, _ digits: Int) -> Double { (x * pow10(digits)).rounded() / pow10(digits) }
        // gpt-oss model card (arXiv 2508.10925), Table 1: 116.83B / 5.13B and 20.91B / 3.61B;
        // the card's active count leaves out the embedding (a gather), not the unembedding.
        let big = try billions("gpt-oss-120b"), small = try billions("gpt-oss-20b")
        #expect(rounded(big.total, 2) == 116.83 && rounded(big.active - big.embedding, 2) == 5.13)
        #expect(rounded(small.total, 2) == 20.91 && rounded(small.active - small.embedding, 2) == 3.61)
        // Qwen3 model cards: 8.2B, 32.8B, 30.5B (3.3B activated), 235B (22B activated),
        // Qwen3-Next 80B.
        #expect(rounded(try billions("qwen3-8b").total, 1) == 8.2)
        #expect(rounded(try billions("qwen3-32b").total, 1) == 32.8)
        // 30B-A3B: 3.35B activated, which the card truncates to 3.3B (as Kimi's below).
        let a3b = try billions("qwen3-30b-a3b")
        #expect(rounded(a3b.total, 1) == 30.5 && Int(a3b.active * 10) == 33)
        let a22b = try billions("qwen3-235b-a22b")
        #expect(rounded(a22b.total, 0) == 235 && rounded(a22b.active, 0) == 22)
        #expect(rounded(try billions("qwen3-next-80b").total, 0) == 80)
        // Gemma 3: 1B, 12B, 27B (the text decoders; the cards' 4B+ figures add a 417M
        // vision encoder, 27.4B for 27B).
        let gemma12 = try billions("gemma-3-12b").total, gemma27 = try billions("gemma-3-27b").total
        #expect(rounded(gemma12, 0) == 12 && rounded(gemma27, 0) == 27)
        // Llama 4: 17B active each; Maverick 400B (two significant digits); Scout's 109B
        // counts a vision encoder this text decoder leaves out, so only its active count.
        let maverick = try billions("llama-4-maverick")
        #expect(rounded(maverick.total / 100, 1) == 4.0 && rounded(maverick.active, 0) == 17)
        #expect(rounded(try billions("llama-4-scout").active, 0) == 17)
        // Kimi K2: "1T total, 32B activated" (the card truncates 32.86B).
        let kimi = try billions("kimi-k2")
        #expect(rounded(kimi.total / 1000, 0) == 1 && Int(kimi.active) == 32)
    }

    /// gpt-oss ships its experts in MXFP4 (32 FP4 values and one E8M0 scale: 17 bytes per
    /// 32): 120b's 36 x 128 x 3 x 2880 x 2880 = 114,661,785,600 expert weights take
    /// 60,914,073,600 bytes, the other 2,167,371,072 parameters 2 bytes each: 65,248,815,744
    /// bytes = 60.77 GiB (card, Table 1: 60.8 GiB). 20b: 19,110,297,600 expert weights in
    /// 10,152,345,600 bytes + 1,804,459,584 x 2 = 13,761,264,768 bytes = 12.82 GiB (12.8).
    @Test func mxfp4ExpertBytes() throws {
        for (name, experts, bytes, gib) in [("gpt-oss-120b", 114_661_785_600, 65_248_815_744, 60.8), ("gpt-oss-20b", 19_110_297_600, 13_761_264_768, 12.8)] {
            let spec = try ModelSpec.named(name)
            #expect(spec.lowPrecisionExpertWeights == experts)
            #expect(spec.weightBytes(bytesPerParameter: 2) == bytes)
            let count = ParameterCount(try Architecture(model: spec))
            #expect(count.lowPrecisionExpertWeights == experts)
            #expect(count.weightBytes(elementBytes: 2) == bytes)
            #expect((Double(bytes) / Double(1 << 30) * 10).rounded() / 10 == gib)
            let capacity = KVCapacity(footprint: KVFootprint(model: spec, dtype: .bf16), hardware: TestSupport.h100)
            #expect(capacity.weightBytes == bytes)
        }
        // A model without an expert dtype keeps parameters x bytes.
        let llama = try ModelSpec.named("llama-2-7b")
        #expect(llama.weightBytes(bytesPerParameter: 2) == 2 * llama.parameters)
        #expect(DecoderBlock.ExpertDType.mxfp4.bytes(elements: 32) == 17)
        #expect(DecoderBlock.ExpertDType.mxfp4.bytes(elements: 33) == 17 + 2)
    }

    /// The layer layouts the presets declare, layer by layer.
    @Test func layerLayouts() throws {
        let oss = try ModelSpec.named("gpt-oss-120b")
        #expect((0..<36).map { oss.span(layer: $0) } == (0..<36).map { $0 % 2 == 0 ? .window(128) : .global })
        let scout = try ModelSpec.named("llama-4-scout")
        #expect((0..<8).map { scout.span(layer: $0) } == [.chunk(8192), .chunk(8192), .chunk(8192), .global, .chunk(8192), .chunk(8192), .chunk(8192), .global])
        // Global layers have no RoPE (NoPE), the chunked ones do.
        let scoutLayers = try Architecture(model: scout).layers
        #expect(scoutLayers.indices.filter { !scoutLayers[$0].rope } == Array(stride(from: 3, to: 48, by: 4)))
        #expect(scoutLayers.allSatisfy { $0.rope == ($0.chunk != nil) })
        let maverick = try Architecture(model: try ModelSpec.named("llama-4-maverick")).layers
        #expect(maverick.indices.filter { if case .moe = maverick[$0].ffn { return true } else { return false } } == Array(stride(from: 1, to: 48, by: 2)))
        let gemma = try ModelSpec.named("gemma-3-27b")
        #expect(gemma.attentionSpans.filter { $0 == .global }.count == 10)
        #expect(gemma.attentionSpans.filter { $0 == .window(1024) }.count == 52)
        let next = try ModelSpec.named("qwen3-next-80b")
        #expect(next.deltanetLayers == 36 && next.attentionLayers == 12)
        #expect(next.layerKinds.indices.filter { next.layerKinds[$0] == .attention } == Array(stride(from: 3, to: 48, by: 4)))
    }

    /// Model files reject layouts they cannot mean.
    @Test func fileErrors() {
        let base = #""id": "m", "layers": 2, "hidden_size": 64, "heads": 4, "parameters": 1"#
        let cases: [(String, String)] = [
            ("{\(base), \"attention_chunk_pattern\": 4}", "m.json: attention_chunk_pattern: needs attention_chunk_size (the chunk of the chunked layers)"),
            ("{\(base), \"attention_chunk_size\": 8, \"sliding_window\": 4}",
             "m.json: attention_chunk_size: cannot be combined with sliding_window or layer_windows: a layer is windowed or chunked, not both"),
            ("{\(base), \"layer_kinds\": [\"attention\", \"deltanet\"]}",
             "m.json: deltanet: is required when layer_kinds has \"deltanet\" layers: {\"linear_num_key_heads\", \"linear_num_value_heads\", \"linear_key_head_dim\", \"linear_value_head_dim\", \"linear_conv_kernel_dim\"}"),
            ("{\(base), \"layer_kinds\": [\"attention\", \"mamba\"]}", "m.json: layer_kinds[1]: expected \"attention\", \"ssm\" or \"deltanet\", found \"mamba\""),
            ("{\(base), \"indexer\": {\"index_n_heads\": 4, \"index_head_dim\": 8, \"index_topk\": 16}}",
             "m.json: indexer: needs mla: the lightning indexer selects keys for multi-head latent attention (DeepSeek-V3.2)"),
            ("{\(base), \"decoder\": {\"intermediate_size\": 8, \"activation\": \"swiglu\", \"vocab_size\": 8, \"norm\": \"rmsnorm\", \"moe\": {\"experts\": 4, \"top_k\": 1, \"expert_dtype\": \"fp4\"}}}",
             "m.json: decoder.moe.expert_dtype: expected one of \"mxfp4\", found \"fp4\""),
            ("{\(base), \"decoder\": {\"intermediate_size\": 8, \"activation\": \"swiglu\", \"vocab_size\": 8, \"norm\": \"rmsnorm\", \"moe\": {\"experts\": 4, \"top_k\": 1, \"shared_expert_gate\": true}}}",
             "m.json: decoder.moe.shared_expert_gate: needs shared_experts (the gate scales the shared experts' output)"),
        ]
        for (text, message) in cases {
            do {
                _ = try ModelSpec(jsonText: text, file: "m.json")
                Issue.record("accepted: \(text)")
            } catch {
                #expect(error.description == message)
            }
        }
    }
}

/// `attnsim model` honours the layouts: chunked attention per chunk, NoPE layers, gated
/// attention, Gated DeltaNet's operators, the lightning indexer's top-k attention.
@Suite struct TodayModelOperatorTests {
    func predictor(_ name: String, tp: Int = 1) throws -> ModelPredictor {
        try ModelPredictor(
            architecture: try Architecture(model: try ModelSpec.named(name)), hardware: TestSupport.h100, options: ModelRunOptions(dtype: .bf16, tensorParallel: tp))
    }

    /// Llama 4 Scout prefill at 20,000 tokens: a chunked layer runs the causal blocks of
    /// chunks 0 and 1 (8,192 tokens each) and of the last 3,616 tokens; the global layers'
    /// attention at 8,192 and 3,616 tokens is each of those blocks alone. A decode step at
    /// 20,000 reads ((20,000 - 1) mod 8,192) + 1 = 3,616 keys x 2 x 8 x 128 x 2 bytes in a
    /// chunked layer, all 20,000 in a global one. NoPE: rope runs in the 36 chunked layers only.
    @Test func chunkedAttentionRunsChunkByChunk() throws {
        var p = try predictor("llama-4-scout", tp: 8)
        func attention(_ step: StepPrediction) -> (chunked: ModelOperator?, global: ModelOperator?) {
            let ops = step.operators.filter { $0.name == "attention" }
            return (ops.first { $0.kernel.contains("chunked") || $0.layers.hasPrefix("0-2") }, ops.first { $0.layers.hasPrefix("3,7") })
        }
        let at20000 = attention(try p.step(.prefill, context: 20_000))
        let at8192 = attention(try p.step(.prefill, context: 8192))
        let at3616 = attention(try p.step(.prefill, context: 3616))
        let chunked = try #require(at20000.chunked)
        #expect(chunked.kernel == "flash2 (chunked)")
        #expect(chunked.flops == 2 * (try #require(at8192.global)).flops + (try #require(at3616.global)).flops)
        #expect(chunked.repeats == 36 && at20000.global?.repeats == 12)
        let decode = attention(try p.step(.decode, context: 20_000))
        // tp 8: one KV head per GPU.
        #expect(decode.chunked?.kvBytes == 3616 * 2 * 1 * 128 * 2)
        #expect(decode.global?.kvBytes == 20_000 * 2 * 1 * 128 * 2)
        let rope = try p.step(.prefill, context: 4096).operators.filter { $0.name == "rope" }
        #expect(rope.map(\.repeats) == [36])
    }

    /// Qwen3-Next: the attention layers' QKV projection carries the output gate (16 + 2 x 2
    /// + 16 heads of 256 per token: 9,216 columns) and its sigmoid; the DeltaNet layers'
    /// decode recurrence does 7 x 32 x 128 x 128 = 3,670,016 FLOPs per token and reads and
    /// writes the fp32 state, 2 x 32 x 128 x 128 x 4 = 4,194,304 bytes per sequence.
    @Test func gatedAttentionAndDeltaNet() throws {
        var p = try predictor("qwen3-next-80b")
        let decode = try p.step(.decode, context: 4096)
        let qkv = try #require(decode.operators.first { $0.name == "qkv_proj" })
        #expect(qkv.weightBytes == 2048 * 9216 * 2)
        #expect(decode.operators.contains { $0.name == "attn_gate" && $0.repeats == 12 })
        let recurrent = try #require(decode.operators.first { $0.name == "gdn_recurrent" })
        #expect(recurrent.repeats == 36)
        #expect(recurrent.flops == 3_670_016 + 32)
        #expect(recurrent.kvBytes == 4_194_304)
        // A prompt runs the chunked form instead: 4,096 tokens are 64 chunks of 64.
        let prefill = try p.step(.prefill, context: 4096)
        #expect(!prefill.operators.contains { $0.name == "gdn_recurrent" })
        let state = try #require(prefill.operators.first { $0.name == "gdn_chunk_state" })
        // Three c x d_k x d_v products per chunk and head: 2 x 3 x 64 x 32 x 64 x 128 x 128 matmul FLOPs.
        #expect(state.flops >= 2 * 3 * 64 * 32 * 64 * 128 * 128)
        let states = try #require(prefill.operators.first { $0.name == "gdn_chunk_states" })
        #expect(states.activationBytes == 2 * 64 * 32 * 128 * 128 * 2)
    }

    /// DeepSeek-V3.2 decodes over its top 2,048 keys: at 8,192 tokens the MLA read is
    /// 2,048 x (512 + 64) x 2 bytes (DeepSeek-V3: all 8,192), and the indexer scores all
    /// 8,192 keys; each token appends its FP8 indexer key, 132 bytes, beside the latent.
    @Test func sparseAttentionReadsTheTopK() throws {
        var sparse = try predictor("deepseek-v3.2", tp: 8)
        var dense = try predictor("deepseek-v3", tp: 8)
        let s = try sparse.step(.decode, context: 8192).operators, d = try dense.step(.decode, context: 8192).operators
        #expect(s.first { $0.name == "attention" }?.kvBytes == 2048 * 576 * 2)
        #expect(d.first { $0.name == "attention" }?.kvBytes == 8192 * 576 * 2)
        #expect(s.first { $0.name == "index_k_append" }?.kvBytes == 132)
        let indexer = try #require(s.first { $0.name == "indexer" })
        #expect(indexer.flops >= 2 * 64 * 128 * 8192)
        let memory = try ModelStudy(architecture: sparse.architecture, hardware: TestSupport.h100, options: sparse.options).memory(context: 8192, activationBytes: 0)
        #expect(memory.kvBytes == 8192 * 61 * (576 * 2 + 132))
    }
}
