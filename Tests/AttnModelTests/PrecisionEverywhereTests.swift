import AttnHardware
import AttnModel
import AttnNumerics
import CostModel
import Foundation
import KVCache
import Testing
import Workload
import AttnTestSupport

/// `--dtype`, `--weights`, `--activations` and `--kv` reach every part of the model study:
/// the speculative verify step's cache reads, the drafter's weights and GEMMs, and expert
/// parallelism's all-to-alls. Each expectation is derived by hand from the model's config.
@Suite struct PrecisionEverywhereTests {
    func architecture(_ name: String) throws -> Architecture { try Architecture(model: try ModelSpec.named(name)) }

    func options(batch: Int, _ dtype: String) -> ModelRunOptions {
        let (run, precision) = ModelPrecision.resolve(dtype: TensorFormat(name: dtype))
        return ModelRunOptions(batch: batch, dtype: run, precision: precision)
    }

    /// The verify step reads the cached prefix and the tree in the cache's format: Llama-2-7B
    /// (32 KV heads of 128), batch 2, 4,096 + 4 keys: 2 x 4,100 x 2 x 32 x vectorBytes(128)
    /// per layer, with vectorBytes(128) = 256 (fp16), 128 (fp8), 128 + 4 (int8 per token: one
    /// fp16 scale and zero), 64 + 4 x 2 (int4 in groups of 64), 64 + 128 / 16 (NVFP4: an E4M3
    /// scale per 16), 64 + 128 / 32 (MXFP4: an E8M0 scale per 32); the new tokens' append too.
    @Test(arguments: [("fp16", 256), ("fp8", 128), ("int8", 132), ("int4-g64", 72), ("nvfp4", 72), ("mxfp4", 68)])
    func verifyStepReadsTheCacheFormat(_ kv: String, _ vectorBytes: Int) throws {
        var o = ModelRunOptions(batch: 2)
        let format = try #require(KVDType.named(kv))
        o.precision.kv = format
        if kv == "fp16" { o.precision.kv = nil }
        var predictor = try ModelPredictor(architecture: try architecture("llama-2-7b"), hardware: TestSupport.h100, options: o)
        let step = try predictor.verifyStep(context: 4_100, tokens: 5, width: 1)
        let attention = try #require(step.operators.first { $0.name == "attention" })
        #expect(attention.kvBytes == 2 * 4_100 * 2 * 32 * vectorBytes)
        // Over a quantized cache the verify attention is tree-verify-quant (codes dequantized on chip).
        #expect(attention.kernel == (kv == "fp16" ? "tree-verify" : "tree-verify-quant"))
        let append = try #require(step.operators.first { $0.name == "kv_append" })
        #expect(append.kvBytes == 2 * 5 * 2 * 32 * vectorBytes)
    }

    /// A draft model's weights in the target's precision: Llama-2-7B under `--dtype fp8`
    /// holds its 6,476,005,376 linear-layer parameters at one byte and the other
    /// 262,410,240 (embedding, LM head, norms) at bf16: 7,000,825,856 bytes
    /// (docs/model.md, "Bytes with scales"); at fp16 2 x 6,738,415,616. Its decode steps run
    /// its GEMMs in FP8 as the target's do.
    @Test func draftModelInTheTargetsPrecision() throws {
        let s = try SpeculativeDecoding(drafter: .model(try architecture("llama-2-7b")), drafts: 4, acceptance: [0.8])
        for (dtype, bytes) in [("fp16", 2 * 6_738_415_616), ("fp8", 7_000_825_856)] {
            var study = try SpeculativeStudy(architecture: try architecture("llama-2-13b"), hardware: TestSupport.h100, options: options(batch: 1, dtype), speculation: s)
            let x = try study.summary(context: 1024)
            #expect(x.draftWeightBytes == bytes, "\(dtype)")
            let kernels = Set(x.draftSteps[0].operators.filter { $0.name == "qkv_proj" }.map(\.kernel))
            #expect(kernels == [dtype == "fp8" ? "gemm fp8e4m3" : "gemm"], "\(kernels)")
        }
    }

    /// A drafter in its own format (`--speculative dtype=FMT`), Llama-2-7B drafting for
    /// Llama-2-13B (h 5120, 40 layers of 40 KV heads of 128) on an H100 (80 GiB =
    /// 85,899,345,920 bytes), batch 1 at 1,024 + 4 tokens:
    /// - an FP8 drafter beside an fp16 target: the draft model's 7,000,825,856 bytes (as under
    ///   `--dtype fp8`); its qkv_proj an FP8 GEMM reading 12,288 x 4,096 codes and one fp32
    ///   scale; its cache one byte per element, 32 layers x 2 x 4,096 = 262,144 bytes per token
    ///   (a layer's decode attention reads 1,024 x 2 x 4,096 = 8,388,608 through
    ///   flash-decoding-quant). max_batch: the target's 26,031,728,640 weight bytes (2 x
    ///   13,015,864,320) and its cache 40 x 2 x 5,120 x 2 = 819,200 bytes per token leave
    ///   (85,899,345,920 - 26,031,728,640 - 7,000,825,856) / ((819,200 + 262,144) x 1,028)
    ///   = 47.6: 47 sequences;
    /// - the reverse, a bf16 drafter beside an FP8 target: 2 x 6,738,415,616 =
    ///   13,476,831,232 bytes, its GEMMs gemm.tile at bf16 and its cache 524,288 bytes per
    ///   token, while the target keeps its FP8 GEMMs.
    @Test func drafterInItsOwnPrecision() throws {
        let target = try architecture("llama-2-13b")
        #expect(TestSupport.h100.hbmBytes == 85_899_345_920)
        let fp8 = try SpeculativeDecoding(drafter: .model(try architecture("llama-2-7b")), drafts: 4, acceptance: [0.8], draftFormat: .fp8(.e4m3))
        var study = try SpeculativeStudy(architecture: target, hardware: TestSupport.h100, options: options(batch: 1, "fp16"), speculation: fp8)
        let x = try study.summary(context: 1024)
        #expect(x.draftWeightBytes == 7_000_825_856)
        let qkv = try #require(x.draftSteps[0].operators.first { $0.name == "qkv_proj" })
        #expect(qkv.kernel == "gemm fp8e4m3" && qkv.weightBytes == 12_288 * 4_096 + 4, "\(qkv.kernel) \(qkv.weightBytes)")
        let attention = try #require(x.draftSteps[0].operators.first { $0.name == "attention" })
        #expect(attention.kernel == "flash-decoding-quant" && attention.kvBytes == 8_388_608, "\(attention.kernel) \(attention.kvBytes)")
        #expect(x.verify.operators.first { $0.name == "qkv_proj" }?.kernel == "gemm")
        #expect(x.maxBatch == (85_899_345_920 - 26_031_728_640 - 7_000_825_856) / ((819_200 + 262_144) * 1_028) && x.maxBatch == 47)
        // The same draft model in the target's fp16 takes longer per pass: its GEMMs read twice the bytes.
        let same = try SpeculativeDecoding(drafter: .model(try architecture("llama-2-7b")), drafts: 4, acceptance: [0.8])
        var plain = try SpeculativeStudy(architecture: target, hardware: TestSupport.h100, options: options(batch: 1, "fp16"), speculation: same)
        let y = try plain.summary(context: 1024)
        #expect(y.draftWeightBytes == 13_476_831_232 && y.draftSeconds > x.draftSeconds && y.verifySeconds == x.verifySeconds)

        let bf16 = try SpeculativeDecoding(drafter: .model(try architecture("llama-2-7b")), drafts: 4, acceptance: [0.8], draftFormat: .float(.bf16))
        var reverse = try SpeculativeStudy(architecture: target, hardware: TestSupport.h100, options: options(batch: 1, "fp8"), speculation: bf16)
        let z = try reverse.summary(context: 1024)
        #expect(z.draftWeightBytes == 13_476_831_232)
        #expect(z.draftSteps[0].operators.first { $0.name == "qkv_proj" }?.kernel == "gemm")
        #expect(z.draftSteps[0].operators.first { $0.name == "attention" }.map { $0.kernel == "flash-decoding" && $0.kvBytes == 16_777_216 } == true)
        #expect(z.verify.operators.first { $0.name == "qkv_proj" }?.kernel == "gemm fp8e4m3")
    }

    /// Medusa's heads and EAGLE's head in their own format beside an fp16 target (Llama-3-8B):
    /// with dtype=fp8 their bytes are those of `--dtype fp8` below (3,202,375,680 for three
    /// Medusa heads, 251,691,008 for EAGLE's head), their linear layers FP8 GEMMs; a drafter
    /// format the GPU cannot multiply (nvfp4 on an H100) is refused naming the drafter.
    @Test func draftHeadsInTheirOwnPrecision() throws {
        let target = try architecture("llama-3-8b")
        let medusa = try SpeculativeDecoding(drafter: .medusa, drafts: 3, acceptance: [0.6], draftFormat: .fp8(.e4m3))
        var m = try SpeculativeStudy(architecture: target, hardware: TestSupport.h100, options: options(batch: 2, "fp16"), speculation: medusa)
        let y = try m.summary(context: 1024)
        #expect(y.draftWeightBytes == 3 * (4096 * 4096 + 4096 * 2 + 4096 * 128_256 * 2))
        #expect(y.draftSteps[0].operators.first { $0.name == "medusa_fc" }?.kernel == "gemm fp8e4m3")
        #expect(y.verify.operators.first { $0.name == "qkv_proj" }?.kernel == "gemm")
        let eagle = try SpeculativeDecoding(drafter: .eagle, drafts: 4, acceptance: [0.8], draftFormat: .fp8(.e4m3))
        var e = try SpeculativeStudy(architecture: target, hardware: TestSupport.h100, options: options(batch: 2, "fp16"), speculation: eagle)
        let x = try e.summary(context: 1024)
        #expect(x.draftWeightBytes == 251_691_008)
        #expect(x.draftSteps[0].operators.first { $0.name == "eagle_fc" }?.kernel == "gemm fp8e4m3")
        let fp4 = try SpeculativeDecoding(drafter: .eagle, drafts: 4, acceptance: [0.8], draftFormat: .nvfp4)
        do {
            _ = try SpeculativeStudy(architecture: target, hardware: TestSupport.h100, options: options(batch: 2, "fp16"), speculation: fp4)
            Issue.record("an nvfp4 drafter ran on an H100")
        } catch {
            #expect(error.message.contains("the drafter's dtype=nvfp4") && error.message.contains("no fp4e2m1 tensor-core rate"), "\(error.message)")
        }
    }

    /// EAGLE's head shares the target's LM head, stored once in the target's format: its
    /// logits GEMM reads those weights whatever the drafter's own dtype. Llama-3-8B (h 4096,
    /// vocabulary 128,256), batch 2, a tree of width 2 and depth 2 (6 drafts: passes over 1
    /// and 2 nodes per sequence, 2 and 4 logit rows):
    /// - fp16 target, EAGLE in fp32: each pass's lm_head reads 4096 x 128,256 x 2 =
    ///   1,050,673,152 bytes (fp16); the first pass's (2 rows) is the plain decode step's
    ///   operator, the second's (4 rows) does twice its FLOPs; the head's own FC reads its
    ///   8192 x 4096 weights at fp32, 134,217,728 bytes;
    /// - fp32 target, EAGLE in bf16: 4096 x 128,256 x 4 = 2,101,346,304 bytes, the FC
    ///   67,108,864 (bf16).
    /// Each pass's embedding gather reads and writes its rows (tokens x hidden) at the
    /// drafter's element bytes: 2 x 2 x 4096 x 4 = 65,536 bytes for the fp32 head's first
    /// pass (2 tokens), 131,072 for its second (4); 32,768 and 65,536 in bf16.
    @Test(arguments: [("fp16", TensorFormat.float(.fp32), 2, 4), ("fp32", .float(.bf16), 4, 2)])
    func eagleReadsTheTargetsLMHead(_ targetDType: String, _ own: TensorFormat, _ headBytes: Int, _ fcBytes: Int) throws {
        let target = try architecture("llama-3-8b")
        let eagle = try SpeculativeDecoding(drafter: .eagle, drafts: 6, width: 2, acceptance: [0.6], draftFormat: own)
        var study = try SpeculativeStudy(architecture: target, hardware: TestSupport.h100, options: options(batch: 2, targetDType), speculation: eagle)
        let x = try study.summary(context: 1024)
        #expect(x.draftSteps.count == 2)
        let plainHead = try #require(x.plain.operators.first { $0.name == "lm_head" })
        #expect(plainHead.weightBytes == 4096 * 128_256 * headBytes)
        for (pass, rows) in zip(x.draftSteps, [2, 4]) {
            let head = try #require(pass.operators.first { $0.name == "lm_head" })
            #expect(head.weightBytes == 4096 * 128_256 * headBytes, "\(head.weightBytes)")
            #expect(head.flops == rows / 2 * plainHead.flops)
            let fc = try #require(pass.operators.first { $0.name == "eagle_fc" })
            #expect(fc.weightBytes == 8192 * 4096 * fcBytes, "\(fc.weightBytes)")
            // The embedding gather reads and writes one row per token at the drafter's dtype.
            let embedding = try #require(pass.operators.first { $0.name == "embedding" })
            #expect(embedding.dramBytes == 2 * rows * 4096 * fcBytes, "\(embedding.dramBytes)")
        }
        #expect(x.draftSteps[0].operators.first { $0.name == "lm_head" } == plainHead)
    }

    /// EAGLE's head and Medusa's heads in the target's precision (Llama-3-8B: h 4096, 32
    /// heads and 8 KV heads of 128, FFN 14,336, vocabulary 128,256), `--dtype fp8`:
    /// - EAGLE: the layer's linear weights 4096 x (32 + 16) x 128 + 4096 x 4096 (attention)
    ///   + 3 x 4096 x 14,336 (FFN) = 218,103,808 at one byte, its two norms and the final norm
    ///   3 x 4096 at bf16, the FC's 2 x 4096 x 4096 at one byte and its 4096 bias at bf16:
    ///   218,103,808 + 24,576 + 33,554,432 + 8,192 = 251,691,008 bytes; the FC runs as an
    ///   FP8 GEMM whose W is 4096 rows of 8192 codes and one fp32 scale.
    /// - Medusa, 3 heads: each h x h at one byte, its bias and its h x V LM head at bf16:
    ///   3 x (16,777,216 + 8,192 + 1,050,673,152) = 3,202,375,680 bytes.
    @Test func draftHeadsInTheTargetsPrecision() throws {
        let target = try architecture("llama-3-8b")
        let eagle = try SpeculativeDecoding(drafter: .eagle, drafts: 4, acceptance: [0.8])
        var e = try SpeculativeStudy(architecture: target, hardware: TestSupport.h100, options: options(batch: 2, "fp8"), speculation: eagle)
        let x = try e.summary(context: 1024)
        #expect(x.draftWeightBytes == 251_691_008)
        let fc = try #require(x.draftSteps[0].operators.first { $0.name == "eagle_fc" })
        #expect(fc.kernel == "gemm fp8e4m3" && fc.weightBytes == 4096 * 8192 + 4)
        let medusa = try SpeculativeDecoding(drafter: .medusa, drafts: 3, acceptance: [0.6])
        var m = try SpeculativeStudy(architecture: target, hardware: TestSupport.h100, options: options(batch: 2, "fp8"), speculation: medusa)
        let y = try m.summary(context: 1024)
        #expect(y.draftWeightBytes == 3 * (4096 * 4096 + 4096 * 2 + 4096 * 128_256 * 2))
        let ops = try #require(y.draftSteps.first).operators
        #expect(ops.first { $0.name == "medusa_fc" }?.kernel == "gemm fp8e4m3")
        #expect(ops.first { $0.name == "medusa_lm_head" }?.kernel == "gemm")
    }

    /// Expert parallelism's all-to-alls under FP8 activations: Qwen3-30B-A3B (h 2048, 128
    /// experts, top-8) on 8 H100s with data-parallel attention, batch 64 decode (8 tokens per
    /// GPU) and the busiest GPU at the mean (`--expert-imbalance 1`: 64 pairs). The dispatch
    /// moves FP8 rows of 2048 codes and 2048 / 128 = 16 fp32 scales, 2,112 bytes: sent 8 x 8
    /// x 2,112 x 7/8 = 118,272, received 64 x 2,112 x 7/8 = 118,272; the combine bf16 rows of
    /// 4,096 bytes: 229,376 each way. Each is one NCCL send on NVLink 4 under LL (below
    /// about 1 MB LL beats Simple): 6.6 + 0.6 us + bytes / 141e9. At bf16 both move 229,376.
    @Test func allToAllsAtTheActivationFormat() throws {
        for (dtype, dispatch) in [("bf16", 229_376), ("fp8", 118_272)] {
            var o = options(batch: 64, dtype)
            o.expertParallel = 8
            o.attentionDataParallel = true
            o.expertImbalance = 1
            var predictor = try ModelPredictor(architecture: try architecture("qwen3-30b-a3b"), hardware: TestSupport.h100, options: o)
            let step = try predictor.step(.decode, context: 256)
            let d = try #require(step.operators.first { $0.name == "ep_dispatch" })
            let c = try #require(step.operators.first { $0.name == "ep_combine" })
            #expect(d.linkBytes == dispatch && c.linkBytes == 229_376, "\(dtype): \(d.linkBytes), \(c.linkBytes)")
            #expect(abs(d.seconds - (7.2e-6 + Double(dispatch) / 141e9)) < 1e-12)
            #expect(abs(c.seconds - (7.2e-6 + 229_376 / 141e9)) < 1e-12)
        }
        #expect(ModelPredictor.dispatchBytes(tokens: 8, topK: 8, rowBytes: 2_112, gpus: 8) == 118_272)
    }

    /// fp8-block128's GEMMs promote the FP8 MMA's partial sums every 128 inner elements and
    /// scale them there (DeepSeek-V3's report, Section 3.3.2): Llama-2-7B's 1K prefill
    /// qkv_proj (M 1,024, Kin 4,096, Nout 12,288; every tiling 128 columns wide under block
    /// scales, BK 64) counts 2 x M x Nout x 32 blocks + M x 96 column tiles x 32 other FLOPs
    /// for its promotions where per-tensor FP8 counts 2 x M x Nout for its two scales, both
    /// with the same slice adds: 783,286,272 more; and it reads X's scales (M x 4 bytes per
    /// column tile and block) and W's, so its time grows.
    @Test func blockScaledFP8PromotionInTheModel() throws {
        func qkv(_ dtype: String) throws -> ModelOperator {
            var predictor = try ModelPredictor(architecture: try architecture("llama-2-7b"), hardware: TestSupport.h100, options: options(batch: 1, dtype))
            return try #require(try predictor.step(.prefill, context: 1024).operators.first { $0.name == "qkv_proj" })
        }
        let (block, tensor) = (try qkv("fp8-block128"), try qkv("fp8"))
        let (m, n) = (1_024, 12_288)
        #expect(block.flops - tensor.flops == 2 * m * n * 32 + m * 96 * 32 - 2 * m * n && block.flops - tensor.flops == 783_286_272)
        #expect(block.dramBytes > tensor.dramBytes && block.seconds > tensor.seconds)
    }

    /// DeepSeek-V3's block-scaled FP8 (`fp8-block128`; technical report Section 3.3.1):
    /// one fp32 scale per 128 x 128 weight block and per 1 x 128 activation tile.
    /// - kv_a_proj_with_mqa, 576 output rows of 7,168: 576 x 7,168 codes and ceil(576 / 128)
    ///   x 7,168 / 128 = 5 x 56 scales (the checkpoint's weight_scale_inv is [5, 56]);
    ///   4 tokens of 7,168 as a GEMM input: 4 x (7,168 + 56 x 4) = 29,568 bytes.
    /// - The whole model on one GPU, from its config (docs/model.md, Parameters): the linear
    ///   layers L = 61 MLA layers x 187,107,328 + 3 dense FFNs x 396,361,728 + 58 shared experts
    ///   x 3 x 7,168 x 2,048 = 15,156,963,328 and the routed experts R = 58 x 256 x 44,040,192 =
    ///   653,908,770,816 at one byte plus 4 bytes per 16,384 (925,108 and 39,911,424 blocks);
    ///   the embedding and LM head 2 x 129,280 x 7,168, the norms 61 x 2 x 7,168 + 7,168 and
    ///   the routers 58 x (7,168 x 256 + 256) at bf16: 1,960,685,056 x 2. In all
    ///   673,150,450,384 bytes, 163,346,128 more than per-tensor FP8's 672,987,104,256.
    @Test func deepSeekBlockScaledFP8() throws {
        let f = try #require(TensorFormat(name: "fp8-block128"))
        #expect(f == .fp8Block128 && f.description == "fp8-block128")
        #expect(f.bytes(rows: 576, columns: 7168) == 576 * 7168 + 5 * 56 * 4)
        #expect(f.activationBytes(rows: 4, columns: 7168) == 29_568)
        let a = try architecture("deepseek-v3")
        let count = ParameterCount(a)
        #expect(count.weightBytes(elementBytes: 2, weights: f, experts: f) == 673_150_450_384)
        #expect(count.weightBytes(elementBytes: 2, weights: .fp8(.e4m3), experts: .fp8(.e4m3)) == 672_987_104_256)
        // `--dtype fp8-block128`: weights and GEMM inputs block-scaled, the cache in FP8, bf16 between kernels.
        let (run, precision) = ModelPrecision.resolve(dtype: f)
        #expect(run == .bf16 && precision == ModelPrecision(weights: f, activations: f, kv: .fp8(.e4m3)))
        let study = try ModelStudy(architecture: a, hardware: try HardwareProfile.named("h200-sxm"), options: ModelRunOptions(batch: 1, dtype: run, precision: precision))
        #expect(study.memory(context: 4096, activationBytes: 0).weightBytes == 673_150_450_384)
    }
}
