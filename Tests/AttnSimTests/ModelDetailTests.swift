import AttnHardware
import AttnModel
import KVCache
import Testing

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
