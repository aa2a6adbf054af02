import Foundation
import Testing
import AttnHardware
@testable import KVCache
import Workload

/// Encoder-decoder models (Whisper large-v3): the preset against its published config, and
/// the cross-attention K and V counted once per request, whatever the decoder's length.
@Suite struct CrossAttentionModelTests {
    /// Whisper large-v3's weights from its Hugging Face config.json (d_model 1280, 32 encoder
    /// and 32 decoder layers, ffn 5120, 128 mel bins, 1,500 source and 448 target positions,
    /// vocabulary 51,866; the token embedding is tied to the output projection). Attention:
    /// q, k, v, o of d x d, biases on q, v and o (Whisper's key projection has none); FFN:
    /// d x f + f and f x d + d; LayerNorm: weight and bias. 1,543,490,560, the model card's
    /// "1550M".
    @Test func whisperParametersFromTheConfig() throws {
        let d = 1280, f = 5120, layers = 32, mels = 128, sources = 1500, targets = 448, vocabulary = 51_866
        let attention = 4 * d * d + 3 * d
        let ffn = d * f + f + f * d + d
        let norm = 2 * d
        let convolutions = (mels * d * 3 + d) + (d * d * 3 + d)
        let encoder = convolutions + sources * d + layers * (attention + ffn + 2 * norm) + norm
        let decoder = vocabulary * d + targets * d + layers * (2 * attention + ffn + 3 * norm) + norm
        #expect(encoder == 636_968_960)
        #expect(decoder == 906_521_600)
        let model = try ModelSpec.named("whisper-large-v3")
        #expect(model.parameters == encoder + decoder)
        #expect(model.layers == layers && model.hiddenSize == d && model.heads == 20 && model.headDim == d / 20)
        #expect(model.maxContext == targets)
        #expect(model.crossAttention?.encoderStates == sources)
        #expect(model.sources["cross_attention"]?.isEmpty == false)
    }

    /// Per token 2 x 32 layers x 20 heads x 64 x e bytes in the decoder's self-attention;
    /// per request the same for each of the 1,500 encoder states, once: a sequence of L
    /// tokens keeps (L + 1,500) x 163,840 bytes at fp16. Under --tp G each GPU keeps 20 / G
    /// heads of both; int8 adds a 4-byte scale per vector (per-token groups).
    @Test(arguments: [
        (KVDType.fp16, 1, 163_840), (.fp16, 4, 40_960), (.fp32, 1, 327_680), (.int8(.token), 2, 32 * 2 * 10 * (64 + 4)),
    ])
    func whisperCrossAttentionOncePerRequest(_ dtype: KVDType, _ gpus: Int, _ perToken: Int) throws {
        let footprint = KVFootprint(model: try ModelSpec.named("whisper-large-v3"), dtype: dtype, tensorParallel: gpus)
        #expect(footprint.bytesPerToken == perToken)
        #expect(footprint.crossAttentionBytesPerSequence == 1500 * perToken)
        for context in [1, 100, 448] {
            #expect(footprint.kvBytesPerSequence(context: context) == (context + 1500) * perToken)
            #expect(footprint.bytesPerSequence(context: context) == (context + 1500) * perToken)
        }
        if dtype == .fp16 && gpus == 1 { #expect(footprint.crossAttentionBytesPerSequence == 245_760_000) }
    }

    /// The study's rows carry the cross-attention bytes; capacity divides the budget by the
    /// whole sequence (cross-attention included). Decoder-only models keep none.
    @Test func studyRows() throws {
        let rows = try KVStudy(model: "whisper-large-v3", contexts: [448], batch: 16).run()
        let row = try #require(rows.first)
        #expect(row.crossAttentionBytesPerSequence == 245_760_000 && row.encoderStates == 1500)
        #expect(row.kvBytesPerSequence == (448 + 1500) * 163_840)
        #expect(row.kvBytesTotal == 16 * (448 + 1500) * 163_840)
        #expect(row.maxSequences == row.budgetBytes / ((448 + 1500) * 163_840))
        let llama = try #require(try KVStudy(model: "llama-2-7b", contexts: [4096]).run().first)
        #expect(llama.crossAttentionBytesPerSequence == 0 && llama.encoderStates == nil)
        #expect(KVFootprint(model: try ModelSpec.named("llama-2-7b"), dtype: .fp16).crossAttentionBytesPerSequence == 0)
    }

    /// The paged pool does not allocate cross-attention blocks: it refuses such a model
    /// rather than undercount its memory.
    @Test func pagedRefusesCrossAttention() {
        do {
            _ = try PagedStudy(model: "whisper-large-v3", trace: "alpaca", requests: 10, maxLength: 448).run()
            Issue.record("no error")
        } catch {
            #expect("\(error)".contains("model whisper-large-v3: the paged pool does not model cross-attention K and V (1500 encoder states per request)"), "\(error)")
        }
    }

    /// A bad `cross_attention` object names its field.
    @Test func badCrossAttentionFiles() {
        let base = #""id": "m", "layers": 2, "hidden_size": 64, "heads": 4, "parameters": 1"#
        let cases: [(String, String)] = [
            ("{\(base), \"cross_attention\": {}}", "m.json: cross_attention.encoder_states: is required (an integer from 1 to 1099511627776)"),
            ("{\(base), \"cross_attention\": {\"encoder_states\": 0}}", "m.json: cross_attention.encoder_states: expected a positive integer, found 0"),
            ("{\(base), \"cross_attention\": {\"encoder_states\": 8, \"states\": 8}}",
             "m.json: cross_attention.states: unknown field (line 1); expected one of: encoder_states"),
            ("{\(base), \"cross_attention\": 3}", "m.json: cross_attention: expected an object, found 3"),
        ]
        KVFootprintTests().expectModelErrors(cases)
    }

    /// Cross-attention K and V past 2^63 - 1 bytes are an error naming the model and the
    /// most encoder states that fit: 65,536 layers x 2 x 65,536 heads x 64 x 2 bytes =
    /// 2^40 bytes per token, so at most (2^63 - 1) / 2^40 = 8,388,607 states.
    @Test func crossAttentionOverflowIsAnError() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("attnsim-cross-\(UUID().uuidString).json").path
        let text = #"{"id": "huge", "layers": 65536, "hidden_size": 4194304, "heads": 65536, "head_dim": 64, "parameters": 1, "cross_attention": {"encoder_states": 1099511627776}}"#
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        do {
            _ = try KVStudy(model: path, contexts: [1]).run()
            Issue.record("no error")
        } catch let error as KVInputError {
            #expect(error.description.contains("cross-attention over 1099511627776 encoder states"), "\(error)")
            #expect(error.description.contains("expected at most \(Int.max / (1 << 40)) encoder states"), "\(error)")
        }
    }
}
