import AttnCLI
import AttnHardware
import AttnJSON
import AttnModel
import AttnNumerics
import AttnPipeline
import Foundation
import KVCache
import Testing
import TileInterpreter
import Workload
import AttnTestSupport

/// `attnsim model`: parameter counts, the GEMM program's counts, decode FLOPs, tensor and
/// context parallelism, pruning and the command, against hand-derived values
/// (docs/model.md has the formulas).
@Suite struct ModelTests {
    func architecture(_ name: String) throws -> Architecture { try Architecture(model: try ModelSpec.named(name)) }

    func run(_ arguments: [String]) -> (code: Int32, out: String, err: String) {
        let captured = CapturedConsole()
        let code = AttnSimCommand.main(arguments, console: captured.console)
        return (code, captured.stdout, captured.stderr)
    }

    // MARK: Parameters

    /// Llama-2-7B by hand: attention 32 x 4 x 4096^2 = 2,147,483,648; FFN 32 x 3 x 4096 x
    /// 11008 = 4,328,521,728; norms (2 x 32 + 1) x 4096 = 266,240; embedding and LM head
    /// 32000 x 4096 each = 131,072,000: 6,738,415,616, the released count.
    @Test func llama2_7bParametersByHand() throws {
        let p = ParameterCount(try architecture("llama-2-7b"))
        #expect(p.attention == 2_147_483_648)
        #expect(p.ffn == 4_328_521_728)
        #expect(p.norms == 266_240)
        #expect(p.embedding == 131_072_000 && p.lmHead == 131_072_000)
        #expect(p.total == 6_738_415_616)
        // Attention about 1/3 of the layer parameters, the FFN about 2/3: 4 h^2 vs 3 h 11008.
        #expect(abs(p.attentionShare - 2_147_483_648.0 / 6_476_005_376.0) < 1e-12)
        #expect(abs(p.attentionShare - 1.0 / 3) < 0.002)
        #expect(abs(p.ffnShare - 2.0 / 3) < 0.002)
    }

    /// Every preset whose file gives an exact count is reproduced from its decoder fields:
    /// Llama 2/3 and Mistral (untied, RMSNorm, no biases), GPT-2 and OPT (biases, LayerNorm,
    /// learned positions, tied), Falcon (one or two LayerNorms, tied), Mixtral and Gemma 2.
    @Test(arguments: ["llama-2-7b", "llama-2-13b", "llama-2-70b", "llama-3-8b", "llama-3-70b", "mistral-7b", "gpt2-medium",
                      "opt-13b", "opt-66b", "opt-175b", "falcon-7b", "falcon-40b", "mixtral-8x7b", "gemma-2-9b", "gemma-2-27b"])
    func exactPresetCounts(_ name: String) throws {
        let a = try architecture(name)
        #expect(ParameterCount(a).total == a.statedParameters, "\(name)")
    }

    /// GPT-3's file says 175B (the paper's rounded figure): the GPT-2 layout gives
    /// 174,604,259,328 = 96 (12 h^2 + 13 h) + 50257 h + 2048 h + 2 h, h = 12288. Jamba's
    /// 51.6B is rounded too, and its Mamba inner norms are not counted.
    @Test func roundedPresetCountsAreClose() throws {
        #expect(ParameterCount(try architecture("gpt3-175b")).total == 174_604_259_328)
        let jamba = ParameterCount(try architecture("jamba-v0.1"))
        #expect(abs(Double(jamba.total) / 51.6e9 - 1) < 0.001)
        // Active per token: 12B in Lieber et al. 2024 (top 2 of 16 experts in 16 MoE layers).
        #expect(abs(Double(jamba.active) / 12.1e9 - 1) < 0.01)
    }

    /// Mixtral: 8 experts of 3 x 4096 x 14336 and a 4096 x 8 router per layer; top 2 active:
    /// 12,879,925,248 active parameters (Jiang et al. 2024: 13B).
    @Test func mixtralActiveParameters() throws {
        let p = ParameterCount(try architecture("mixtral-8x7b"))
        #expect(p.ffn == 32 * (8 * 3 * 4096 * 14336 + 4096 * 8))
        #expect(p.active == p.total - 32 * 6 * 3 * 4096 * 14336)
        #expect(p.active == 12_879_925_248)
    }

    /// Sheared-LLaMA's targets from Llama-2-7B: 1.3B (24 layers, hidden 2048, 16 heads, FFN
    /// 5504) and 2.7B (32 layers, hidden 2560, 20 heads, FFN 6912), by hand.
    @Test func shearedLlamaTargets() throws {
        let base = try architecture("llama-2-7b")
        let small = try Pruning(parsing: "layers=24,hidden=2048,heads=16,ffn=5504").apply(to: base)
        // 24 (4 x 2048^2 + 3 x 2048 x 5504 + 2 x 2048) + 2 x 32000 x 2048 + 2048
        #expect(ParameterCount(small).total == 1_345_423_360)
        let medium = try Pruning(parsing: "heads=20,ffn=6912,hidden=2560").apply(to: base)
        #expect(ParameterCount(medium).total == 2_701_560_320)
        // Fractions: half the heads of an MHA model keep it MHA.
        let half = try Pruning(parsing: "heads=0.5").apply(to: base)
        #expect(half.layers[0].mixer == .attention(heads: 16, kvHeads: 16))
    }

    @Test func pruningErrors() throws {
        let base = try architecture("llama-3-8b")
        #expect(throws: ModelShapeError.self) { try Pruning(parsing: "heads=12").apply(to: base) }  // 8 KV heads do not divide 12
        #expect(throws: ModelShapeError.self) { try Pruning(parsing: "heads=64").apply(to: base) }
        #expect(throws: PruningSpecError.unknownKey("depth")) { try Pruning(parsing: "depth=3") }
        #expect(throws: PruningSpecError.repeated("ffn")) { try Pruning(parsing: "ffn=1,ffn=2") }
        #expect(throws: PruningSpecError.badTarget(key: "ffn", value: "1.5")) { try Pruning(parsing: "ffn=1.5") }
        #expect(throws: PruningSpecError.badTarget(key: "ffn", value: " 64")) { try Pruning(parsing: "ffn= 64") }
        #expect(throws: PruningSpecError.notKeyValue(item: "")) { try Pruning(parsing: "heads=16,") }
        #expect(try Pruning(parsing: "ffn=5k") == Pruning(ffn: .size(5120)))
    }

    // MARK: Model files

    func decoderError(_ decoder: String, layers: Int = 2) -> String? {
        let text = #"{"id": "m", "layers": \#(layers), "hidden_size": 64, "heads": 4, "kv_heads": 2, "parameters": 1, "decoder": \#(decoder)}"#
        do {
            _ = try ModelSpec(jsonText: text, file: "m.json")
            return nil
        } catch {
            return error.description
        }
    }

    @Test func decoderFieldsAreChecked() {
        #expect(decoderError(#"{"intermediate_size": 128, "activation": "swish", "vocab_size": 10, "norm": "rmsnorm"}"#)
            == #"m.json: decoder.activation: expected one of "gelu", "relu", "swiglu", "geglu", found "swish""#)
        #expect(decoderError(#"{"intermediate_size": 128, "activation": "gelu", "norm": "rmsnorm"}"#)
            == "m.json: decoder.vocab_size: is required (an integer from 1 to 16777216)")
        #expect(decoderError(#"{"intermediate_size": 128, "activation": "gelu", "vocab_size": 10, "norm": "rmsnorm", "layer_heads": [4]}"#)
            == "m.json: decoder.layer_heads: expected one entry per layer (2), found 1")
        #expect(decoderError(#"{"intermediate_size": 128, "activation": "gelu", "vocab_size": 10, "norm": "rmsnorm", "layer_heads": [4, 3]}"#)
            == "m.json: decoder.layer_heads[1]: layer 1: 2 KV heads do not divide 3 query heads")
        #expect(decoderError(#"{"intermediate_size": 128, "activation": "gelu", "vocab_size": 10, "norm": "rmsnorm", "position_embeddings": 8}"#)
            == #"m.json: decoder.position_embeddings: is only for "positions": "learned""#)
        #expect(decoderError(#"{"intermediate_size": 128, "activation": "gelu", "vocab_size": 10, "norm": "rmsnorm", "moe": {"experts": 4, "top_k": 5}}"#)
            == "m.json: decoder.moe.top_k: expected a positive integer of at most 4, found 5")
        #expect(decoderError(#"{"intermediate_size": 128, "activation": "gelu", "vocab_size": 10, "norm": "rmsnorm", "ffn": 3}"#)?
            .hasPrefix("m.json: decoder.ffn: unknown field") == true)
        // Per-layer heads of a pruned model: the count follows each layer.
        let text = #"{"id": "m", "layers": 2, "hidden_size": 64, "heads": 4, "kv_heads": 4, "head_dim": 16, "parameters": 1, "decoder": {"intermediate_size": 128, "activation": "gelu", "vocab_size": 10, "norm": "rmsnorm", "layer_heads": [4, 2], "layer_intermediate_sizes": [128, 32]}}"#
        do {
            let a = try Architecture(model: try ModelSpec(jsonText: text, file: "m.json"))
            // Layer 0: 4 x 64 x 64 + 2 x 64 x 128; layer 1: 4 x 64 x 32 + 2 x 64 x 32; norms 5 x 64;
            // embedding and head 2 x 10 x 64.
            #expect(ParameterCount(a).total == (16_384 + 16_384) + (8_192 + 4_096) + 320 + 1_280)
        } catch {
            Issue.record("\(error)")
        }
    }

    @Test func aModelWithoutDecoderSaysSo() throws {
        let text = #"{"id": "m", "layers": 2, "hidden_size": 64, "heads": 4, "parameters": 1}"#
        #expect(throws: ModelShapeError.self) { try Architecture(model: try ModelSpec(jsonText: text, file: "m.json")) }
    }

    // MARK: The GEMM program

    /// gemm.tile's IO law: M = 256, Kin = 128, Nout = 384, 128 x 128 tiles, BK = 64, fp16:
    /// reads 2 (256 x 128 x 3 + 128 x 384 x 2) = 393,216; writes 2 x 256 x 384 = 196,608;
    /// matmul 2 x 256 x 384 x 128 = 25,165,824; accumulation adds M Nout cdiv(Kin, BK) = 196,608.
    /// Split-K S = 2 adds 4 S M Nout fp32 partial bytes written and read back.
    @Test func gemmCountsFollowItsIOLaw() throws {
        let program = try ModelProgramLibrary.gemm()
        let pipeline = Pipeline(hardware: TestSupport.h100)
        let shape = ProblemShape(batch: 1, heads: 1, kvHeads: 1, queryLength: 1, keyLength: 1, headDim: 64)
        func counts(_ s: Int) throws -> Counters {
            let parameters: [String: ScalarValue] = ["M": .int(256), "Kin": .int(128), "Nout": .int(384), "S": .int(s)]
            return try pipeline.evaluate(program, shape: shape, dtype: .fp16, parameters: parameters).stats.total
        }
        let one = try counts(1)
        #expect(one.hbmReadBytes == 393_216)
        #expect(one.hbmWriteBytes == 196_608)
        #expect(one.flopsMatmul == 25_165_824)
        #expect(one.flopsOther == 196_608)
        let split = try counts(2)
        #expect(split.hbmWriteBytes == 4 * 2 * 256 * 384 + 196_608)
        #expect(split.hbmReadBytes == 393_216 + 4 * 2 * 256 * 384)
        #expect(split.flopsMatmul == 25_165_824)
    }

    /// gemm.tile computes X W: numeric mode on ragged tiles (M = 37, Kin = 70, Nout = 45 with
    /// 16-wide tiles), with and without split-K, against a float64 product of the same inputs.
    @Test func gemmComputesTheProduct() throws {
        let program = try ModelProgramLibrary.gemm()
        let pipeline = Pipeline(hardware: TestSupport.h100)
        let shape = ProblemShape(batch: 1, heads: 1, kvHeads: 1, queryLength: 1, keyLength: 1, headDim: 16)
        for s in [1, 3] {
            let parameters: [String: ScalarValue] = [
                "M": .int(37), "Kin": .int(70), "Nout": .int(45), "BM": .int(16), "BN": .int(16), "BK": .int(16), "S": .int(s),
            ]
            let bound = try pipeline.bind(program, shape: shape, dtype: .fp32, parameters: parameters)
            let tensors = try pipeline.run(bound, options: RunOptions(mode: .numeric)).tensors
            let x = try #require(tensors["X"]), w = try #require(tensors["W"]), y = try #require(tensors["Y"])
            let (worst, largest) = TestSupport.productError(x: x.values, w: w.values, y: y.values, rows: 37, inner: 70, columns: 45)
            // fp32 accumulation of 70 terms: well under 70 x 2^-24 relative.
            #expect(largest > 1 && worst / largest < 70 * 0x1p-24, "S = \(s): \(worst / largest)")
        }
    }

    // MARK: Steps

    /// A decode step of Llama-2-7B at 4096 tokens does about 2 x (matrix parameters) FLOPs
    /// in its GEMMs, plus attention's 4 x context x heads x head_dim per layer (QK^T and PV),
    /// plus a little elementwise work.
    @Test func decodeFlopsAreTwiceTheParametersPlusAttention() throws {
        var predictor = try ModelPredictor(architecture: try architecture("llama-2-7b"), hardware: TestSupport.h100, options: ModelRunOptions())
        let step = try predictor.step(.decode, context: 4096)
        let matrices = 6_738_415_616 - 131_072_000 - 266_240  // no embedding gather, no norms
        let gemmFlops = step.operators.filter { $0.kernel == "gemm" }.reduce(0) { $0 + $1.repeats * $1.flops }
        #expect(gemmFlops >= 2 * matrices)
        #expect(Double(gemmFlops) < 2.02 * Double(matrices))
        let attention = step.operators.filter { $0.name == "attention" }.reduce(0) { $0 + $1.repeats * $1.flops }
        #expect(attention >= 4 * 4096 * 32 * 128 * 32)
        let expected = Double(2 * matrices + 4 * 4096 * 32 * 128 * 32)
        #expect(Double(step.flops) >= expected && Double(step.flops) < 1.02 * expected)
    }

    /// Prefill's attention share grows with context and passes the FFN's somewhere: at 1k
    /// the FFN dominates, at 64k attention does.
    @Test func attentionOvertakesTheFFNAsContextGrows() throws {
        var predictor = try ModelPredictor(architecture: try architecture("llama-2-7b"), hardware: TestSupport.h100, options: ModelRunOptions())
        let short = try predictor.step(.prefill, context: 1024)
        let long = try predictor.step(.prefill, context: 65536)
        #expect(short.seconds(.attention) < short.seconds(.ffn))
        #expect(long.seconds(.attention) > long.seconds(.ffn))
        #expect(long.attentionCoreSeconds / long.seconds > short.attentionCoreSeconds / short.seconds)
    }

    /// Memory of Llama-2-7B at 4096 tokens, batch 1, fp16: weights 2 x 6,738,415,616 bytes;
    /// KV 32 layers x 4096 x 2 x 32 x 128 x 2 = 2 GiB.
    @Test func memoryByHand() throws {
        var study = try ModelStudy(architecture: try architecture("llama-2-7b"), hardware: TestSupport.h100, options: ModelRunOptions())
        let summary = try #require(try study.summaries(contexts: [4096]).first)
        #expect(summary.memory.weightBytes == 2 * 6_738_415_616)
        #expect(summary.memory.kvBytes == 1 << 31)
        #expect(summary.memory.fits)
        #expect(summary.decode != nil && summary.ttftSeconds > summary.tpotSeconds ?? .infinity)
    }

    // MARK: Several GPUs

    /// Tensor parallelism over 8 GPUs, Llama-2-7B prefill of 4096 tokens: each all-reduce
    /// moves 4096 x 4096 x 2 = 33,554,432 bytes; a ring sends 2 x 7/8 of it per GPU
    /// (58,720,256), twice per layer; on the H100's NVSwitch NCCL's NVLS: 25 us + 14 x
    /// 33,554,432 / (8 x 476e9) (CostModelTests' CollectiveTests; the bytes shown stay the ring's).
    @Test func tensorParallelAllReduceBytes() throws {
        var predictor = try ModelPredictor(
            architecture: try architecture("llama-2-7b"), hardware: TestSupport.h100, options: ModelRunOptions(tensorParallel: 8))
        let step = try predictor.step(.prefill, context: 4096)
        let reduces = step.operators.filter { $0.name == "all_reduce" }
        #expect(reduces.count == 2)
        #expect(reduces.allSatisfy { $0.linkBytes == 58_720_256 && $0.repeats == 32 })
        #expect(reduces.reduce(0) { $0 + $1.linkBytes } == 117_440_512)  // per layer
        let seconds = 25e-6 + 14 * 33_554_432.0 / (8 * 476e9)
        #expect(reduces.allSatisfy { abs($0.seconds - seconds) < 1e-12 && $0.kernel == "NVLink 4 NVLS/Simple" })
        // Decode's 4096 x 2 = 8,192 bytes: ring LL, 6.6 + 14 x 0.6 us + 8192 x 14 / (141e9 x 8).
        let decode = try predictor.step(.decode, context: 4096).operators.filter { $0.name == "all_reduce" }
        #expect(decode.count == 2 && decode.allSatisfy { abs($0.seconds - 15.101673759e-6) < 1e-12 && $0.kernel == "NVLink 4 ring/LL" })
        // Each GPU holds 4 of the 32 heads: its QKV GEMM is 4096 x 4096 x (3 x 4 x 128).
        let qkv = try #require(step.operators.first { $0.name == "qkv_proj" })
        #expect(qkv.weightBytes == 4096 * 1536 * 2)
        // Llama-3-8B's 8 KV heads replicate over 16 GPUs? 32 / 16 heads split; 8 KV heads: one each.
        let sharded = try architecture("llama-3-8b").sharded(tensorParallel: 16)
        #expect(sharded.layers[0].mixer == .attention(heads: 2, kvHeads: 1))
        #expect(throws: ModelShapeError.self) { try architecture("llama-2-7b").sharded(tensorParallel: 3) }
    }

    /// Ring attention over 4 GPUs at 32,768 tokens: chunks of 8192; each step a GPU passes
    /// one K/V chunk of 8192 x 2 x 32 x 128 x 2 = 134,217,728 bytes; 3 steps per layer.
    @Test func ringAttentionBytesPerStep() throws {
        #expect(ModelPredictor.ringBlockBytes(batch: 1, chunk: 8192, kvHeads: 32, headDim: 128, elementBytes: 2) == 134_217_728)
        var predictor = try ModelPredictor(
            architecture: try architecture("llama-2-7b"), hardware: TestSupport.h100, options: ModelRunOptions(contextParallel: 4))
        let step = try predictor.step(.prefill, context: 32768)
        let ring = try #require(step.operators.first { $0.name == "ring_kv" })
        #expect(ring.linkBytes == 3 * 134_217_728)
        #expect(ring.repeats == 32)
        // On NVLink a chunk moves in one NCCL send under Simple, 8.4 + 3.4 us + 134,217,728 /
        // 370.8e9 = 373.8 us, less than a full 8192 x 8192 block's compute: the transfer is hidden.
        #expect(ring.seconds == 0)
        let attention = try #require(step.operators.first { $0.name == "attention" })
        #expect(attention.seconds > 3 * (11.8e-6 + 134_217_728 / 370.8e9))
        #expect(throws: ModelShapeError.self) { try predictor.step(.decode, context: 32768) }
    }

    /// A serving iteration mixing a 512-token prompt chunk (of a 1024-token prompt) with 15
    /// decoding sequences at 2048 tokens: the GEMMs run once over 512 + 15 = 527 rows, reading
    /// the weights once, so the iteration costs less than the chunk and the decode steps apart.
    @Test func mixedIterationSharesTheWeights() throws {
        var predictor = try ModelPredictor(architecture: try architecture("llama-2-7b"), hardware: TestSupport.h100, options: ModelRunOptions())
        let chunk = ForwardLoad.Chunk(tokens: 512, context: 1024)
        let decode = ForwardLoad.Decode(context: 2048, sequences: 15)
        let mixed = try predictor.iteration(ForwardLoad(prefill: [chunk], decode: [decode]))
        let qkv = try #require(mixed.operators.first { $0.name == "qkv_proj" })
        #expect(qkv.activationBytes == (527 * 4096 + 527 * 12288) * 2)
        let attention = mixed.operators.filter { $0.name == "attention" }
        #expect(attention.map(\.kernel) == ["flash2", "flash-decoding"])
        // Each sequence gets one row of logits: 16 x 32000 x 4 bytes beside the activations.
        let lm = try #require(mixed.operators.first { $0.name == "lm_head" })
        #expect(lm.activationBytes == (16 * 4096 + 16 * 32000) * 2)
        let alone = try predictor.iteration(ForwardLoad(prefill: [chunk])).seconds + (try predictor.iteration(ForwardLoad(decode: [decode])).seconds)
        #expect(mixed.seconds < alone)
        #expect(throws: ModelShapeError.self) { try predictor.iteration(ForwardLoad(prefill: [ForwardLoad.Chunk(tokens: 10, context: 5)])) }
        #expect(throws: ModelShapeError.self) { try predictor.iteration(ForwardLoad()) }
    }

    /// Experts a batch reaches with uniform top-k routing: E (1 - (1 - k/E)^T), rounded up.
    @Test func activeExperts() {
        #expect(ModelPredictor.activeExperts(experts: 8, topK: 2, tokens: 1) == 2)
        #expect(ModelPredictor.activeExperts(experts: 8, topK: 2, tokens: 2) == 4)  // 8 (1 - 0.75^2) = 3.5
        #expect(ModelPredictor.activeExperts(experts: 8, topK: 2, tokens: 16) == 8)  // 7.92
        #expect(ModelPredictor.activeExperts(experts: 256, topK: 8, tokens: 4) == 31)  // 256 (1 - (31/32)^4) = 30.1
    }

    // MARK: The command

    @Test func commandPrintsSummaryOperatorsAndParameters() throws {
        let summary = run(["model", "--model", "llama-2-7b", "--context", "1k,4k", "--format", "json"])
        #expect(summary.code == 0, "\(summary.err)")
        guard case .array(let rows) = try JSONParser.parse(summary.out, file: "out") else { throw TestFailure("not an array") }
        #expect(rows.count == 2)
        let csv = run(["model", "--model", "llama-2-7b", "--context", "1k", "--view", "operators", "--phase", "decode", "--format", "csv"])
        #expect(csv.code == 0)
        #expect(csv.out.hasPrefix("phase,context,layers,operator,category,kernel,repeats,flops,weight_bytes"))
        #expect(csv.out.contains("decode,1024,0-31,attention,attention,flash-decoding,32,"))
        let parameters = run(["model", "--model", "llama-2-7b", "--context", "1k", "--view", "parameters"])
        #expect(parameters.out.contains("total               6,738,415,616"))
    }

    @Test func commandUsageErrors() {
        let cases: [([String], String)] = [
            (["model", "--context", "4k"], "error: '--model' is required"),
            (["model", "--model", "llama-2-7b"], "error: '--context' is required"),
            (["model", "--model", "llama-2-7b", "--context", "4k", "--tp", "3"], "error: --tp 3: layer 0's 32 query heads do not split evenly"),
            (["model", "--model", "llama-2-7b", "--context", "4k", "--cp", "3"], "error: context 4096 does not split evenly over 3 GPUs (--cp)"),
            (["model", "--model", "llama-2-7b", "--context", "4k", "--view", "x"], "error: '--view' expects summary, operators or parameters, found 'x'"),
            (["model", "--model", "llama-2-7b", "--context", "4k", "--prune", "heads"], "error: '--prune' expects KEY=VALUE items (heads, ffn, layers, hidden), found 'heads'"),
        ]
        for (arguments, message) in cases {
            let result = run(arguments)
            #expect(result.code == 64, "\(arguments)")
            #expect(result.err.hasPrefix(message), "\(arguments): \(result.err)")
        }
    }
}

/// The commands docs/model.md shows run, and the models with unusual layers predict.
@Suite struct ModelCommandDocsTests {
    /// Every `attnsim model` line of docs/model.md's first example block exits 0.
    @Test func documentedCommandsRun() throws {
        let text = try String(contentsOf: repositoryRoot.appendingPathComponent("docs/model.md"), encoding: .utf8)
        let lines = text.split(separator: "\n").map(String.init).filter { $0.hasPrefix("attnsim model ") }
        #expect(lines.count >= 5)
        for line in lines {
            let arguments = Array(line.split(separator: " ").map(String.init).dropFirst())
            let captured = CapturedConsole()
            let code = AttnSimCommand.main(arguments, console: captured.console)
            #expect(code == 0, "\(line): \(captured.stderr)")
            #expect(captured.stdout.contains("parameters "), "\(line)")
        }
    }

    /// The compiled GEMM program equals Sources/AttnModel/Programs/gemm.tile byte for byte
    /// (rerun scripts/embed-resources.py after editing it).
    @Test func modelProgramsAreUpToDate() throws {
        let folder = repositoryRoot.appendingPathComponent("Sources/AttnModel/Programs")
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".tile") }
        #expect(Set(names.map { String($0.dropLast(5)) }) == Set(ModelPrograms.sources.keys))
        for name in names {
            let text = try String(contentsOf: folder.appendingPathComponent(name), encoding: .utf8)
            #expect(ModelPrograms.sources[String(name.dropLast(5))] == text, "\(name): run python3 scripts/embed-resources.py")
        }
    }

    /// Gemma 2's head size 256 does not fit flash2's default 128 x 128 tiles in 256 KB of
    /// registers; the model falls back to 64 x 64 tiles. Jamba mixes SSM, attention, dense
    /// and MoE layers: SSM + dense (even layers), SSM + MoE (odd layers), attention + dense
    /// (layers 4, 12, 20, 28: attention every 8 from 4, experts every 2 from 1).
    @Test func unusualLayersPredict() throws {
        var gemma = try ModelPredictor(
            architecture: try Architecture(model: try ModelSpec.named("gemma-2-9b")), hardware: TestSupport.h100, options: ModelRunOptions())
        let step = try gemma.step(.prefill, context: 2048)
        #expect(step.operators.contains { $0.name == "attention" && $0.seconds > 0 })
        let jamba = try Architecture(model: try ModelSpec.named("jamba-v0.1"))
        #expect(jamba.layerGroups.count == 3)
        let attention = try #require(jamba.layerGroups.first { $0.shape.mixer != .ssm })
        #expect(Architecture.formatIndices(attention.indices) == "4,12,20,28")
        #expect(attention.shape.ffn == .dense(intermediate: 14336))
        #expect(Architecture.formatIndices([0, 1, 2, 5, 7, 8]) == "0-2,5,7-8")
    }
}
