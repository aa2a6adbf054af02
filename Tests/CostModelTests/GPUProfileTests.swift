import Foundation
import Testing
import AttnHardware
import CostModel
import AttnJSON
import AttnNumerics

/// The 2026 profiles (B200, B300, GB200, H20, MI325X, MI355X), the low-precision rates of
/// every profile, the Blackwell facts (tensor memory, CTA-wide and CTA-pair MMA) and the
/// reader's strictness about them (docs/hardware.md).
@Suite struct GPUProfileTests {
    /// Figures read off the datasheets cited in each profile's `sources` (per GPU, dense).
    @Test(arguments: [
        // B200 (HGX B200): 2.25 / 4.5 / 9 PFLOPS FP16 / FP8 / FP4, 180 GB, 8 TB/s, 148 SMs.
        ("b200", "fp16", 2.25e15), ("b200", "fp8e4m3", 4.5e15), ("b200", "fp8e5m2", 4.5e15), ("b200", "fp4e2m1", 9e15),
        ("b200", "int8", 4.5e15), ("b200", "hbm", 180e9), ("b200", "hbm/s", 8e12), ("b200", "sms", 148),
        // GB200 NVL72 (1200 W): 2.5 / 5 / 10 PFLOPS; NVLink 5 at 1.8 TB/s per GPU in a domain of 72.
        ("gb200", "fp16", 2.5e15), ("gb200", "fp8e4m3", 5e15), ("gb200", "fp4e2m1", 10e15), ("gb200", "hbm", 186e9),
        ("gb200", "link/s", 900e9), ("gb200", "domain", 72),
        // B300 (HGX B300): FP4 108 PFLOPS dense for 8 GPUs, INT8 cut to 2 POPS sparse for 8.
        ("b300", "fp4e2m1", 13.5e15), ("b300", "fp8e4m3", 4.5e15), ("b300", "int8", 0.125e15), ("b300", "hbm", 288e9), ("b300", "sfu", 32),
        // H20: 148 TFLOPS FP16, 296 FP8, 96 GB at 4.0 TB/s.
        ("h20", "fp16", 148e12), ("h20", "fp8e4m3", 296e12), ("h20", "hbm", 96e9), ("h20", "hbm/s", 4e12),
        // MI325X (CDNA 3): 1,307.4 / 2,614.9 TFLOPS, 256 GB at 6 TB/s.
        ("mi325x", "fp16", 1307.4e12), ("mi325x", "fp8e5m2", 2614.9e12), ("mi325x", "hbm", 256e9), ("mi325x", "hbm/s", 6e12),
        // MI355X (CDNA 4): 2.5 / 5 / 10 PFLOPS, 256 CUs at 2.4 GHz, 160 KB LDS.
        ("mi355x", "fp16", 2516.6e12), ("mi355x", "fp8e4m3", 5033.2e12), ("mi355x", "fp4e2m1", 10066.3e12), ("mi355x", "sms", 256),
        ("mi355x", "sram", 163_840),
        // FP8 on the existing profiles (H100 SXM 1,978.9, PCIe 1,513, RTX 4090 330.3 with FP32 accumulate, MI300X 2,614.9).
        ("h100-sxm", "fp8e4m3", 1978.9e12), ("h100-pcie", "fp8e4m3", 1513e12), ("h200-sxm", "fp8e5m2", 1978.9e12),
        ("rtx-4090", "fp8e4m3", 330.3e12), ("mi300x", "fp8e4m3", 2614.9e12), ("a100-40gb-sxm", "int8", 624e12),
    ] as [(String, String, Double)])
    func citedFigures(_ name: String, _ field: String, _ expected: Double) throws {
        let p = try HardwareProfile.named(name)
        let value: Double?
        switch field {
        case "int8": value = p.matmulInt8OpsPerSecond
        case "hbm": value = Double(p.hbmBytes)
        case "hbm/s": value = p.hbmBytesPerSecond
        case "sms": value = Double(p.smCount)
        case "sfu": value = Double(p.specialFunctionOpsPerClockPerSM)
        case "sram": value = Double(p.sharedMemoryBytesPerBlock)
        case "link/s": value = p.interconnect?.bytesPerSecond
        case "domain": value = p.interconnect?.domainGPUs.map(Double.init)
        default: value = DType(matmulRateKey: field).flatMap { p.matmulFlopsPerSecond[$0] }
        }
        #expect(value == expected, "\(name) \(field)")
    }

    /// Every profile: a lower precision is at least as fast as a higher one, both FP8
    /// formats run at one rate, and each rate and the INT8 rate has a source.
    @Test(arguments: HardwareProfile.builtInNames)
    func ratesByPrecision(_ name: String) throws {
        let p = try HardwareProfile.named(name)
        let rates = p.matmulFlopsPerSecond
        let fp16 = try #require(rates[.fp16])
        #expect(rates[.bf16] == fp16)
        #expect(rates[.fp8e4m3] == rates[.fp8e5m2], "\(name): one FP8 rate")
        // Twice FP16 up to the datasheets' rounding to 4 digits (H100 PCIe: 1,513 = 2 x 756 + 1).
        if let fp8 = rates[.fp8e4m3] { #expect(abs(fp8 / (2 * fp16) - 1) < 1e-3, "\(name): FP8 is 2x FP16 on every part") }
        if let fp4 = rates[.fp4e2m1] {
            let fp8 = try #require(rates[.fp8e4m3], "\(name): FP4 without FP8")
            #expect(fp4 >= fp8, "\(name): FP4 at least FP8")
        }
        #expect(p.sources["matmul_flops_per_second"]?.isEmpty == false)
        if p.matmulInt8OpsPerSecond != nil { #expect(p.sources["matmul_int8_ops_per_second"]?.isEmpty == false) }
    }

    /// Which parts have which low-precision tensor cores: FP8 from Hopper, Ada and CDNA 3
    /// on; FP4 on Blackwell and CDNA 4 only; none on the A100.
    @Test func lowPrecisionPerGeneration() throws {
        var fp8: [String] = [], fp4: [String] = []
        for name in HardwareProfile.builtInNames {
            let p = try HardwareProfile.named(name)
            if p.matmulFlopsPerSecond[.fp8e4m3] != nil { fp8.append(name) }
            if p.matmulFlopsPerSecond[.fp4e2m1] != nil { fp4.append(name) }
        }
        #expect(Set(HardwareProfile.builtInNames).subtracting(fp8) == ["a100-40gb-sxm", "a100-80gb-sxm"])
        #expect(fp4 == ["b200", "b300", "gb200", "mi355x"])
    }

    /// Blackwell's facts: 256 KB of tensor memory per SM, a 128-row CTA-wide MMA that a
    /// CTA pair extends to 256 rows, no wgmma; every other part has none of them.
    @Test(arguments: HardwareProfile.builtInNames)
    func tensorMemoryAndCTAPairs(_ name: String) throws {
        let p = try HardwareProfile.named(name)
        let blackwell = ["b200", "b300", "gb200"].contains(name)
        #expect(p.tensorMemoryBytesPerSM == (blackwell ? 128 * 512 * 4 : 0))
        #expect(p.mmaRowsPerCTA == (blackwell ? 128 : 0))
        #expect(p.mmaCTAGroupSize == (blackwell ? 2 : 1))
        if blackwell { #expect(p.mmaRowsPerWarpGroup == 0) }
    }

    /// The derived Blackwell clocks reproduce the dense FP16 rate: SMs x 8,192 FLOPs per
    /// clock x clock, within the rounding of the clock to three digits.
    @Test(arguments: ["b200", "b300", "gb200"])
    func blackwellClockGivesTheTensorRate(_ name: String) throws {
        let p = try HardwareProfile.named(name)
        let rate = Double(p.smCount) * 8192 * p.clockHz
        #expect(abs(rate / (try #require(p.matmulFlopsPerSecond[.fp16])) - 1) < 0.003)
    }

    /// Every figure the reader loads is the one written in the file: each numeric field of
    /// the JSON (top level, every rate, the interconnect) against the loaded value.
    @Test(arguments: HardwareProfile.builtInNames)
    func loadedValuesEqualTheJSON(_ name: String) throws {
        let p = try HardwareProfile.named(name)
        let text = try #require(BuiltinProfiles.sources[name])
        let json = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        func number(_ key: String) -> Double? { (json[key] as? NSNumber)?.doubleValue }
        let loaded: [String: Double?] = [
            "hbm_bytes": Double(p.hbmBytes), "hbm_bytes_per_second": p.hbmBytesPerSecond, "l2_bytes": p.l2Bytes.map(Double.init),
            "sm_count": Double(p.smCount), "clock_hz": p.clockHz, "shared_memory_bytes_per_sm": Double(p.sharedMemoryBytesPerSM),
            "shared_memory_bytes_per_block": Double(p.sharedMemoryBytesPerBlock),
            "shared_memory_bytes_per_clock_per_sm": Double(p.sharedMemoryBytesPerClockPerSM),
            "registers_per_sm": Double(p.registersPerSM), "registers_per_block": Double(p.registersPerBlock),
            "max_threads_per_sm": Double(p.maxThreadsPerSM), "max_blocks_per_sm": Double(p.maxBlocksPerSM),
            "vector_flops_per_second": p.vectorFlopsPerSecond,
            "special_function_ops_per_clock_per_sm": Double(p.specialFunctionOpsPerClockPerSM),
            "matmul_int8_ops_per_second": p.matmulInt8OpsPerSecond,
            "tensor_memory_bytes_per_sm": Double(p.tensorMemoryBytesPerSM), "mma_rows_per_cta": Double(p.mmaRowsPerCTA),
            "mma_cta_group_size": Double(p.mmaCTAGroupSize), "mma_rows_per_warp_group": Double(p.mmaRowsPerWarpGroup),
            "max_cluster_ctas": Double(p.maxClusterCTAs),
        ]
        for (key, value) in loaded {
            if let written = number(key) {
                #expect(value == written, "\(name) \(key)")
            }
        }
        // Fields the file leaves out take their documented defaults (docs/hardware.md).
        if number("tensor_memory_bytes_per_sm") == nil { #expect(p.tensorMemoryBytesPerSM == 0) }
        if number("mma_cta_group_size") == nil { #expect(p.mmaCTAGroupSize == 1) }
        if number("max_cluster_ctas") == nil { #expect(p.maxClusterCTAs == 1 && !p.hasThreadBlockClusters) }
        if number("matmul_int8_ops_per_second") == nil { #expect(p.matmulInt8OpsPerSecond == nil) }
        let rates = try #require(json["matmul_flops_per_second"] as? [String: NSNumber])
        #expect(rates.count == p.matmulFlopsPerSecond.count, "\(name): one rate per key")
        for (key, rate) in rates {
            let dtype = try #require(DType(matmulRateKey: key))
            #expect(p.matmulFlopsPerSecond[dtype] == rate.doubleValue, "\(name) \(key)")
        }
        if let link = json["interconnect"] as? [String: Any] {
            let loadedLink = try #require(p.interconnect)
            #expect(loadedLink.name == link["name"] as? String)
            #expect(loadedLink.bytesPerSecond == (link["bytes_per_second"] as? NSNumber)?.doubleValue)
            #expect(loadedLink.latencySeconds == (link["latency_seconds"] as? NSNumber)?.doubleValue)
            #expect(loadedLink.domainGPUs == (link["domain_gpus"] as? NSNumber)?.intValue)
        } else {
            #expect(p.interconnect == nil)
        }
        // Every figure of the file has its source.
        let sources = try #require(json["sources"] as? [String: String])
        for key in json.keys where !["id", "name", "sources", "interconnect", "host_memory", "storage"].contains(key) {
            #expect(sources[key]?.isEmpty == false, "\(name): \(key) has no source")
        }
        // The levels below HBM carry their own sources, one per figure.
        for level in ["host_memory", "storage"] {
            guard let tier = json[level] as? [String: Any] else { continue }
            let tierSources = try #require(tier["sources"] as? [String: String], "\(name): \(level) has no sources")
            for key in ["bytes", "bytes_per_second", "latency_seconds"] {
                #expect(tierSources[key]?.isEmpty == false, "\(name): \(level).\(key) has no source")
            }
        }
    }

    /// The roofline's ridge point, FLOPs per DRAM byte where the matmul and memory roofs
    /// meet: (datasheet rate x 0.75) / (HBM bandwidth x 0.895), the standard calibration's
    /// sustained fractions (docs/cost-model.md), computed by hand:
    /// B200 FP16 2.25e15 x 0.75 / (8e12 x 0.895) = 1.6875e15 / 7.16e12 = 235.684;
    /// B200 FP8 twice that, 471.369; B300 FP4 13.5e15 x 0.75 / 7.16e12 = 1,414.11;
    /// H20 FP16 148e12 x 0.75 / (4e12 x 0.895) = 1.11e14 / 3.58e12 = 31.0056;
    /// MI355X FP8 5,033.2e12 x 0.75 / 7.16e12 = 527.221; GB200 FP4 7.5e15 / 7.16e12 = 1,047.49.
    @Test(arguments: [
        ("b200", DType.fp16, 235.684), ("b200", .fp8e4m3, 471.369), ("b300", .fp4e2m1, 1414.11),
        ("h20", .fp16, 31.0056), ("mi355x", .fp8e5m2, 527.221), ("gb200", .fp4e2m1, 1047.49),
    ])
    func ridgePointByHand(_ name: String, _ dtype: DType, _ expected: Double) throws {
        let model = CostModel(hardware: try HardwareProfile.named(name), dtype: dtype)
        // The hand values are rounded to 6 significant digits.
        #expect(abs(model.ridgePoint / expected - 1) < 5e-6, "\(name) \(dtype): \(model.ridgePoint)")
    }

    // MARK: - The reader

    /// The H100 profile with one substring replaced (it must occur).
    func profile(replacing old: String, with new: String) throws -> String {
        let text = try #require(BuiltinProfiles.sources["h100-sxm"])
        try #require(text.contains(old))
        return text.replacingOccurrences(of: old, with: new)
    }

    func message(_ text: String) -> String? {
        do {
            _ = try HardwareProfile(jsonText: text, file: "gpu.json")
            return nil
        } catch {
            return error.description
        }
    }

    /// The rate keys: storage dtype names with their spellings, `fp4e2m1` (also `fp4`);
    /// one key per dtype; u8 codes and unknown formats are refused, naming the key.
    @Test func rateKeysParseStrictly() throws {
        let fp4 = try HardwareProfile(jsonText: try profile(replacing: #""fp8e5m2": 1978900000000000.0"#, with: #""fp8e5m2": 1978900000000000.0, "fp4": 3.9e15"#), file: "gpu.json")
        #expect(fp4.matmulFlopsPerSecond[.fp4e2m1] == 3.9e15)
        let e4m3 = try HardwareProfile(jsonText: try profile(replacing: #""fp8e4m3":"#, with: #""e4m3":"#), file: "gpu.json")
        #expect(e4m3.matmulFlopsPerSecond[.fp8e4m3] == 1978.9e12)
        #expect(message(try profile(replacing: #""fp8e4m3":"#, with: #""fp6":"#))
            == "gpu.json: matmul_flops_per_second.fp6: unknown dtype; expected fp32 (TF32), fp16, bf16, fp8e4m3, fp8e5m2 or fp4e2m1")
        #expect(message(try profile(replacing: #""fp8e4m3":"#, with: #""u8":"#))?.contains("matmul_flops_per_second.u8: unknown dtype") == true)
        #expect(message(try profile(replacing: #""fp8e4m3":"#, with: #""half":"#))
            == "gpu.json: matmul_flops_per_second.half: names the same dtype as 'fp16' (fp16); give each dtype once")
        #expect(message(try profile(replacing: #""fp8e4m3": 1978900000000000.0"#, with: #""fp8e4m3": 1978.9"#))
            == "gpu.json: matmul_flops_per_second.fp8e4m3: expected a number from 1e+09 to 1e+18 (FLOP/s), found 1978.9")
    }

    /// The new fields are optional, ranged and consistent with each other.
    @Test func blackwellFieldsAreChecked() throws {
        let int8 = #""matmul_int8_ops_per_second": 1978900000000000.0"#
        #expect(message(try profile(replacing: int8, with: #""matmul_int8_ops_per_second": 2e20"#))
            == "gpu.json: matmul_int8_ops_per_second: expected a number from 1e+09 to 1e+18 (op/s), found 2e+20")
        let wgmma = #""mma_rows_per_warp_group": 64,"#
        #expect(message(try profile(replacing: wgmma, with: wgmma + #" "mma_cta_group_size": 2,"#))
            == "gpu.json: mma_cta_group_size: is above 1 without mma_rows_per_cta (a CTA-pair MMA is a CTA-wide MMA, tcgen05's cta_group::2)")
        #expect(message(try profile(replacing: wgmma, with: wgmma + #" "mma_rows_per_cta": 128,"#))
            == "gpu.json: mma_rows_per_cta: needs tensor_memory_bytes_per_sm (a CTA-wide MMA accumulates into tensor memory)")
        #expect(message(try profile(replacing: wgmma, with: wgmma + #" "tensor_memory_bytes_per_sm": -1,"#))?.contains("tensor_memory_bytes_per_sm") == true)
        let blackwellLike = try HardwareProfile(
            jsonText: try profile(replacing: wgmma, with: wgmma + #" "mma_rows_per_cta": 128, "mma_cta_group_size": 2, "tensor_memory_bytes_per_sm": 262144,"#),
            file: "gpu.json")
        #expect(blackwellLike.mmaRowsPerCTA == 128 && blackwellLike.mmaCTAGroupSize == 2 && blackwellLike.tensorMemoryBytesPerSM == 262_144)
        #expect(message(try profile(replacing: wgmma, with: wgmma + #" "tensor_memory_kb": 256,"#))?.contains("tensor_memory_kb") == true)
        // A CTA pair is a cluster of two: the GPU's clusters must hold it.
        let pair = wgmma + #" "mma_rows_per_cta": 128, "mma_cta_group_size": 2, "tensor_memory_bytes_per_sm": 262144,"#
        #expect(message(try profile(replacing: wgmma, with: pair).replacingOccurrences(of: #""max_cluster_ctas": 8,"#, with: #""max_cluster_ctas": 1,"#))
            == "gpu.json: mma_cta_group_size: is 2 but max_cluster_ctas is 1 (the CTAs of one MMA are a cluster)")
        #expect(message(try profile(replacing: #""max_cluster_ctas": 8,"#, with: #""max_cluster_ctas": 17,"#))?.contains("max_cluster_ctas") == true)
        #expect(message(try profile(replacing: #""max_cluster_ctas": "CUDA"#, with: #""cluster_note": "CUDA"#))
            == "gpu.json: sources.max_cluster_ctas: is required (where the figure comes from)")
        #expect(try HardwareProfile.named("h100-sxm").maxClusterCTAs == 8 && HardwareProfile.named("a100-80gb-sxm").maxClusterCTAs == 1)
    }

    /// An interconnect's `domain_gpus` needs its source, and at least 2 GPUs.
    @Test func linkDomainNeedsItsSource() throws {
        let latency = #""latency_seconds": 2e-06,"#
        #expect(message(try profile(replacing: latency, with: latency + #" "domain_gpus": 8,"#))
            == "gpu.json: interconnect.sources.domain_gpus: is required (where the figure comes from)")
        #expect(message(try profile(replacing: latency, with: latency + #" "domain_gpus": 1,"#))?.contains("interconnect.domain_gpus") == true)
        let h100 = try HardwareProfile.named("h100-sxm")
        #expect(h100.interconnect?.domainGPUs == nil)
    }

    // MARK: - FP4 E2M1

    /// Round to nearest, ties to even, over E2M1's eight magnitudes 0, 0.5, 1, 1.5, 2, 3,
    /// 4, 6 (OCP Microscaling v1.0), saturating at 6.
    @Test(arguments: [
        (Float(0.2), Float(0)), (Float(0.25), Float(0)), (Float(0.26), Float(0.5)), (Float(0.75), Float(1)),
        (Float(1.25), Float(1)), (Float(1.75), Float(2)), (Float(2.5), Float(2)), (Float(3.5), Float(4)),
        (Float(5), Float(4)), (Float(5.01), Float(6)), (Float(7), Float(6)), (Float(1e30), Float(6)), (Float.infinity, Float(6)),
    ])
    func e2m1Rounding(_ x: Float, _ expected: Float) {
        #expect(DType.fp4e2m1.round(x) == expected)
        #expect(DType.fp4e2m1.round(-x) == -expected)
    }

    /// Below saturation the error of one rounding is at most u = 2^-2 of the value; FP4 is
    /// a rate key, not a name the tile language's dtypes accept.
    @Test func e2m1ErrorAndNames() {
        var generator = SeededGenerator(seed: 11)
        for _ in 0..<2000 {
            let x = Float(generator.nextNormal() * 2)
            guard abs(x) <= 6 else { continue }
            let r = DType.fp4e2m1.round(x)
            #expect(DType.fp4e2m1.round(r) == r)
            // Half the quantum 0.5 below 1 (the subnormal range) is absolute; above, relative.
            #expect(abs(r - x) <= max(0.25, 0.25 * abs(x)))
        }
        #expect(DType(name: "fp4e2m1") == nil && DType(name: "fp4") == nil)
        #expect(DType(matmulRateKey: "fp4") == .fp4e2m1 && DType(matmulRateKey: "u8") == nil)
        #expect(DType.fp4e2m1.bits == 4 && DType.fp8e4m3.bits == 8 && DType.bf16.bits == 16)
        #expect(DType.fp4e2m1.round(.nan).isNaN)
    }
}
