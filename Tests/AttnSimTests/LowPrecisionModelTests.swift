import AttnCLI
import AttnHardware
@testable import AttnModel
import AttnNumerics
import AttnPipeline
import AttnScenario
import CostModel
import Foundation
import KVCache
import Testing
import TileInterpreter
import Workload
import AttnTestSupport
import TileTestSupport

/// Low precision end to end (`model --dtype fp8`, `--weights`, `--activations`, `--kv`; `kv`
/// and `paged --weights`, nvfp4/mxfp4 caches): bytes with scales, rates and errors, by hand.
@Suite struct LowPrecisionModelTests {
    func architecture(_ name: String) throws -> Architecture { try Architecture(model: try ModelSpec.named(name)) }

    func run(_ arguments: [String]) -> (code: Int32, out: String, err: String) {
        let captured = CapturedConsole()
        let code = AttnSimCommand.main(arguments, console: captured.console)
        return (code, captured.stdout, captured.stderr)
    }

    /// Bits per element with scales (`TensorFormat`, the table in its comment): NVFP4 4 +
    /// 8 / 16, MXFP4 4 + 8 / 32, int4-g128 4 + 16 / 128; a 4096 x 4096 matrix's bytes.
    @Test(arguments: [
        (TensorFormat.fp8(.e4m3), 8.0, 4096 * 4096 + 4),
        (TensorFormat.nvfp4, 4.5, 4096 * (2048 + 256) + 4),
        (TensorFormat.mxfp4, 4.25, 4096 * (2048 + 128)),
        (TensorFormat.int4(group: 128), 4.125, 4096 * (2048 + 32 * 2)),
        (TensorFormat.int8(group: 64), 8.25, 4096 * (4096 + 64 * 2)),
        (TensorFormat.float(.bf16), 16.0, 4096 * 4096 * 2),
    ])
    func formatBytes(_ format: TensorFormat, _ bits: Double, _ bytes: Int) {
        #expect(format.bitsPerElement == bits)
        #expect(format.bytes(rows: 4096, columns: 4096) == bytes)
    }

    /// Llama-2-7B's weights per format: the linear layers L = attention 2,147,483,648 + FFN
    /// 4,328,521,728 = 6,476,005,376 in the format, the embedding, LM head (2 x 131,072,000)
    /// and norms (266,240) at bf16: 2 x 262,410,240 = 524,820,480.
    ///   fp8:       L                      = 6,476,005,376 -> 7,000,825,856
    ///   int4-g128: L / 2 + L / 128 x 2    = 3,339,190,272 -> 3,864,010,752
    ///   nvfp4:     L / 2 + L / 16         = 3,642,753,024 -> 4,167,573,504
    ///   mxfp4:     L / 2 + L / 32         = 3,440,377,856 -> 3,965,198,336
    /// and the KV cache at 4,096 tokens: fp8 32 x 4096 x 2 x 32 x 128 = 1 GiB; int4-g64 with
    /// 4 bytes of scale and zero per 64: (64 + 8) / 128 of that... per vector 64 + 2 x 4 = 72.
    @Test(arguments: [
        ("fp8", 7_000_825_856, 1 << 30),
        ("int4", 3_864_010_752, 1 << 31),
        ("nvfp4", 4_167_573_504, 1 << 30),
        ("mxfp4", 3_965_198_336, 1 << 30),
    ])
    func weightAndKVBytesByHand(_ dtype: String, _ weights: Int, _ kv: Int) throws {
        let format = try #require(TensorFormat(name: dtype))
        let (run, precision) = ModelPrecision.resolve(dtype: format)
        #expect(run == .bf16)
        let hardware = try HardwareProfile.named("b200")
        let study = try ModelStudy(architecture: try architecture("llama-2-7b"), hardware: hardware, options: ModelRunOptions(dtype: run, precision: precision))
        let memory = study.memory(context: 4096, activationBytes: 0)
        #expect(memory.weightBytes == weights)
        #expect(memory.kvBytes == kv)
        let int4KV = ModelPrecision(kv: .int4(.elements(64)))
        let cached = try ModelStudy(architecture: try architecture("llama-2-7b"), hardware: hardware, options: ModelRunOptions(dtype: .bf16, precision: int4KV))
        #expect(cached.memory(context: 4096, activationBytes: 0).kvBytes == 32 * 4096 * 2 * 32 * 72)
    }

    /// FP8 (W8A8) changes the GEMMs' time, not their matmul FLOPs. One compute-bound GEMM
    /// (4096 x 4096 x 22016, Llama-2-7B's gate/up at a 4K prompt) on an H100, the same tiling
    /// (128 x 128 x 64, 8 warps) through gemm.tile at bf16 and gemm-quant.tile's FP8 mode:
    /// the cost model's compute time is f (t_mma + other / vector peak) + iterations (the
    /// loop's cycles, alike in both), t_mma = matmul FLOPs / (ceiling x eta), so the two
    /// differ by exactly f (F / (R_bf16 eta) - F / (R_fp8 eta) + (other_bf16 - other_fp8) /
    /// vector peak), with R the profile's rates (FP8: the datasheet's 1,978.9 TFLOPS x 0.75
    /// sustained) and f = SMs ceil(blocks / SMs) / blocks; to 1e-9 relative (floating-point
    /// sums). In the model the operator's matmul FLOPs are
    /// unchanged (its other FLOPs grow by the two per-tensor scale multiplies per output)
    /// and its time falls, by at most the ratio of the ceilings (only t_mma shrinks).
    @Test func fp8GEMMsTakeTheFP8Rate() throws {
        let hardware = TestSupport.h100
        let pipeline = Pipeline(hardware: hardware)
        let sizes: [String: ScalarValue] = ["M": .int(4096), "Kin": .int(4096), "Nout": .int(22016), "BM": .int(128), "BN": .int(128), "NW": .int(8)]
        let shape = ModelProgramLibrary.gemmBinding(GEMMShape(m: 4096, k: 4096, n: 22016)).shape
        let half = try #require(try pipeline.evaluate(try ModelProgramLibrary.gemm(), shape: shape, dtype: .bf16, parameters: sizes).prediction.kernels.first)
        var quant = ModelProgramLibrary.quantBinding(.fp8(.e4m3), mode: 1)
        for (name, value) in sizes { quant[name] = value }
        let fp8 = try #require(try pipeline.evaluate(try ModelProgramLibrary.gemmQuant(), shape: shape, dtype: .fp8e4m3, parameters: quant).prediction.kernels.first)
        #expect(half.flopsMatmul == 2 * 4096 * 4096 * 22016 && fp8.flopsMatmul == half.flopsMatmul)
        let eta = CalibrationSet.standard.matmulEfficiency
        let rate16 = CostModel(hardware: hardware, dtype: .bf16).matmulFlopsPerSecond
        let rate8 = CostModel(hardware: hardware, dtype: .fp8e4m3).matmulFlopsPerSecond
        let datasheet = try #require(hardware.matmulFlopsPerSecond[.fp8e4m3])
        #expect(datasheet == 1978.9e12 && rate8 == datasheet * CalibrationSet.standard.sustainedMatmulFraction && rate8 > rate16)
        let blocks = Double(half.blocks), sms = Double(hardware.smCount)
        let f = sms * (blocks / sms).rounded(.up) / blocks
        let flops = Double(half.flopsMatmul)
        let expected = f * (flops / (rate16 * eta) - flops / (rate8 * eta) + Double(half.flopsOther - fp8.flopsOther) / hardware.vectorFlopsPerSecond)
        let difference = half.computeSeconds - fp8.computeSeconds
        #expect(abs(difference / expected - 1) < 1e-9, "\(difference) s against \(expected) s")

        let (run, precision) = ModelPrecision.resolve(dtype: .fp8(.e4m3))
        var bf16Model = try ModelPredictor(architecture: try architecture("llama-2-7b"), hardware: hardware, options: ModelRunOptions(dtype: .bf16))
        var fp8Model = try ModelPredictor(architecture: try architecture("llama-2-7b"), hardware: hardware, options: ModelRunOptions(dtype: run, precision: precision))
        let a = try #require(try bf16Model.step(.prefill, context: 4096).operators.first { $0.name == "qkv_proj" })
        let b = try #require(try fp8Model.step(.prefill, context: 4096).operators.first { $0.name == "qkv_proj" })
        #expect(b.flops == a.flops + 2 * 4096 * 12288)
        #expect(b.kernel == "gemm fp8e4m3")
        #expect(a.weightBytes == 4096 * 12288 * 2 && b.weightBytes == 4096 * 12288 + 4)
        #expect(b.activationBytes == 4096 * 4096 + 4096 * 12288 * 2)
        #expect(a.seconds > b.seconds && a.seconds / b.seconds <= rate8 / rate16, "\(a.seconds / b.seconds)")
    }

    /// gpt-oss-120b keeps its experts in MXFP4 (`moe.expert_dtype`) with bf16 attention: the
    /// expert gate/up GEMM (k = 2,880, n = 5,760) reads 5,760 x (1,440 + 90) bytes, weight-only
    /// on an H100 (dequantized to bf16); the QKV projection stays bf16; `--experts bf16`
    /// overrides the model's format.
    @Test func gptOssExpertsAreMXFP4() throws {
        var predictor = try ModelPredictor(architecture: try architecture("gpt-oss-120b"), hardware: TestSupport.h100, options: ModelRunOptions(dtype: .bf16))
        let step = try predictor.step(.decode, context: 4096)
        let expert = try #require(step.operators.first { $0.name == "expert_gate_up" })
        #expect(expert.weightBytes == 5760 * (1440 + 90))
        #expect(expert.kernel == "grouped gemm mxfp4 w-only")
        let qkv = try #require(step.operators.first { $0.name == "qkv_proj" })
        #expect(qkv.kernel == "gemm" && qkv.weightBytes == 2880 * (64 + 2 * 8) * 64 * 2)
        let plain = ModelPrecision.resolve(dtype: .float(.bf16), experts: .float(.bf16)).precision
        var bf16 = try ModelPredictor(architecture: try architecture("gpt-oss-120b"), hardware: TestSupport.h100, options: ModelRunOptions(dtype: .bf16, precision: plain))
        let dense = try #require(try bf16.step(.decode, context: 4096).operators.first { $0.name == "expert_gate_up" })
        #expect(dense.weightBytes == 2880 * 5760 * 2)
        #expect(dense.seconds > expert.seconds)
    }

    /// KV bytes per vector of 128 with scales: fp8 128; NVFP4 64 + 128 / 16 = 72; MXFP4 64 +
    /// 128 / 32 = 68; and Llama-3-70B's per token (80 layers x 2 x 8 KV heads) at each.
    @Test func fp4KVCaches() throws {
        #expect(KVDType.fp8(.e4m3).vectorBytes(128) == 128)
        #expect(KVDType.nvfp4.vectorBytes(128) == 72)
        #expect(KVDType.mxfp4.vectorBytes(128) == 68)
        #expect(KVDType.named("int4-g32") == .int4(.elements(32)) && KVDType.named("int8-token") == .int8(.token))
        let spec = try ModelSpec.named("llama-3-70b")
        #expect(KVFootprint(model: spec, dtype: .nvfp4).bytesPerToken == 80 * 2 * 8 * 72)
        #expect(KVFootprint(model: spec, dtype: .mxfp4).bytesPerToken == 80 * 2 * 8 * 68)
        // kv --weights fp8: the layers' 68,452,360,192 parameters at one byte, the embedding
        // and LM head (2 x 128,256 x 8,192) at two.
        let capacity = KVCapacity(footprint: KVFootprint(model: spec, dtype: .fp8(.e4m3)), hardware: TestSupport.h100, weightFormat: .fp8(.e4m3))
        #expect(capacity.weightBytes == 68_452_360_192 + 4 * 1_050_673_152)
    }

    /// What no kernel runs is an error naming what to give instead (exit 64 from the
    /// command): FP8 inputs on an A100 (no FP8 tensor cores), FP4 inputs on an H100, integer
    /// activations, FP8 inputs against int4 weights, an FP4 latent cache (MLA).
    @Test func unsupportedPrecisionsAreRefused() {
        let base = ["model", "--model", "llama-2-7b", "--context", "1k"]
        let cases: [([String], String)] = [
            (["--dtype", "fp8", "--hardware", "a100-80gb-sxm"], "no fp8e4m3 tensor-core rate"),
            (["--dtype", "nvfp4"], "no fp4e2m1 tensor-core rate"),
            (["--activations", "int8"], "integer formats are weight-only"),
            (["--weights", "int4", "--activations", "fp8"], "fp8e4m3 activations multiply fp8e4m3 weights"),
            (["--weights", "fp5"], "'--weights' expects"),
        ]
        for (extra, message) in cases {
            let result = run(base + extra)
            #expect(result.code == 64, "\(extra)")
            #expect(result.err.contains(message), "\(extra): \(result.err)")
        }
        let latent = run(["model", "--model", "deepseek-v3", "--context", "1k", "--kv", "nvfp4"])
        #expect(latent.code == 64 && latent.err.contains("an FP4 latent cache is not modelled for MLA"), "\(latent.err)")
        // On B200 NVFP4 runs; on the H100 FP4 weights with bf16 inputs run weight-only.
        #expect(run(base + ["--dtype", "nvfp4", "--hardware", "b200"]).code == 0)
        let weightOnly = run(base + ["--weights", "nvfp4", "--activations", "bf16", "--view", "operators"])
        #expect(weightOnly.code == 0 && weightOnly.out.contains("nvfp4 w-only"))
    }

    /// FP4 activations on a GPU with an FP4 rate run prefill attention through sage3
    /// (SageAttention3: Q, K, V and P in FP4, both GEMMs at the FP4 rate), NVFP4 as fmt 4
    /// and MXFP4 as fmt 5; FP8 or 16-bit activations, or FP4 weights alone (weight-only),
    /// keep flash2. Llama-3-70B, 4 x B200, batch 8, 4K prompts: the per-layer prefill
    /// attention falls from 1,570.6 us (flash2 at bf16) to 496.1 us, 3.17x (the FP4 rate is
    /// 4x bf16's; the exponentials are the same), and TTFT from 698.0 ms to 612.0 ms.
    @Test func fp4ActivationsRunPrefillAttentionInFP4() throws {
        let b200 = try HardwareProfile.named("b200"), mi355x = try HardwareProfile.named("mi355x"), h100 = try HardwareProfile.named("h100-sxm")
        let nv = ModelPrecision(weights: .nvfp4, activations: .nvfp4), mx = ModelPrecision(weights: .mxfp4, activations: .mxfp4)
        #expect(ModelPredictor.fp4AttentionFormat(nv, hardware: b200) == 4)
        #expect(ModelPredictor.fp4AttentionFormat(mx, hardware: mi355x) == 5)
        #expect(ModelPredictor.fp4AttentionFormat(nv, hardware: h100) == nil)
        #expect(ModelPredictor.fp4AttentionFormat(ModelPrecision(weights: .nvfp4), hardware: b200) == nil)
        #expect(ModelPredictor.fp4AttentionFormat(ModelPrecision(weights: .fp8(.e4m3), activations: .fp8(.e4m3)), hardware: b200) == nil)
        let base = ["model", "--model", "llama-3-70b", "--context", "4k", "--batch", "8", "--tp", "4", "--view", "operators"]
        let fp4 = run(base + ["--hardware", "b200", "--dtype", "nvfp4"])
        #expect(fp4.code == 0 && fp4.out.contains("attention    sage3 nvfp4") && fp4.out.contains("496.1"), "\(fp4.out)")
        #expect(fp4.out.contains("611978.1"))
        let bf16 = run(base + ["--hardware", "b200", "--dtype", "nvfp4", "--activations", "bf16"])
        #expect(bf16.code == 0 && bf16.out.contains("attention    flash2") && bf16.out.contains("1570.6"), "\(bf16.out)")
        #expect(run(base + ["--hardware", "mi355x", "--dtype", "mxfp4"]).out.contains("sage3 mxfp4"))
    }

    /// An FP4 cache is read by flash-decoding-quant (quant 4, 5) in decode: Llama-2-7B at a
    /// 4K context, one sequence, per layer 4,096 tokens x 2 x 32 KV heads x the vector's
    /// bytes with scales (128 elements: NVFP4 64 + 8 = 72, MXFP4 64 + 4 = 68, fp8 128, fp16
    /// 256), and the fewer bytes the faster the memory-bound decode attention.
    @Test func fp4CachesAreReadInDecode() throws {
        var seconds: [Double] = []
        for (kv, vector) in [(KVDType.fp16, 256), (.fp8(.e4m3), 128), (.nvfp4, 72), (.mxfp4, 68)] {
            let precision = ModelPrecision(kv: kv == .fp16 ? nil : kv)
            var predictor = try ModelPredictor(architecture: try architecture("llama-2-7b"), hardware: TestSupport.h100, options: ModelRunOptions(dtype: .fp16, precision: precision))
            let attention = try #require(try predictor.step(.decode, context: 4096).operators.first { $0.name == "attention" })
            #expect(attention.kernel == (kv == .fp16 ? "flash-decoding" : "flash-decoding-quant"))
            #expect(attention.kvBytes == 4096 * 2 * 32 * vector)
            seconds.append(attention.seconds)
        }
        #expect(seconds == seconds.sorted(by: >), "\(seconds)")
        // `paged` times its iterations with the model over an FP4 cache too.
        for dtype in ["nvfp4", "mxfp4"] {
            let paged = run(["paged", "--model", "llama-3-8b", "--trace", "sharegpt", "--requests", "20", "--rate", "5", "--policies", "paged", "--dtype", dtype])
            #expect(paged.code == 0 && paged.out.contains("timing: model llama-3-8b"), "\(dtype): \(paged.err)")
        }
    }

    /// A model scenario's `dtype`, `weights` and `kv` reach the study as `--dtype`,
    /// `--weights` and `--kv` do.
    @Test func scenarioFieldsReachTheStudy() throws {
        let text = #"{"version": 1, "study": "model", "model": "gpt-oss-120b", "contexts": [4096], "dtype": "bf16", "kv": "fp8", "weights": "int4-g64"}"#
        guard case .model(let study, _) = try StudyFile.decode(text, file: "m.json") else {
            Issue.record("not a model study")
            return
        }
        #expect(study.dtype == .bf16)
        #expect(study.precision == ModelPrecision(weights: .int4(group: 64), kv: .fp8(.e4m3)))
        let fp8 = ModelPrecision.resolve(dtype: .fp8(.e4m3), activations: .float(.bf16))
        #expect(fp8.dtype == .bf16 && fp8.precision == ModelPrecision(weights: .fp8(.e4m3), kv: .fp8(.e4m3)))
    }
}
