import AttnHardware
import AttnModel
import CostModel
import Foundation
import KVCache
import Testing
import Workload
import AttnTestSupport

/// The interconnect object of hardware profiles: the built-in figures, the collective
/// formulas, validation errors and the model's refusal of a profile without one.
@Suite struct InterconnectTests {
    func message(_ body: () throws -> Void) -> String? {
        do { try body() } catch { return "\(error)" }
        return nil
    }

    /// The built-in links per direction (datasheets) with their latencies (assumed).
    @Test func builtInProfilesCarryTheirLinks() throws {
        let expected: [String: (String, Double, Double)] = [
            "h100-sxm": ("NVLink 4", 450e9, 2e-6), "h200-sxm": ("NVLink 4", 450e9, 2e-6),
            "h100-pcie": ("PCIe Gen5 x16", 64e9, 5e-6), "a100-80gb-sxm": ("NVLink 3", 300e9, 2e-6),
            "a100-40gb-sxm": ("NVLink 3", 300e9, 2e-6), "mi300x": ("Infinity Fabric", 448e9, 2e-6),
            "rtx-4090": ("PCIe Gen4 x16", 32e9, 5e-6),
            // 2026's parts (docs/hardware.md): NVLink 5 at 1.8 TB/s per GPU, H20's NVLink 4,
            // and 7 Infinity Fabric links of 64 (MI325X) or 76.8 GB/s (MI355X) per direction.
            "b200": ("NVLink 5", 900e9, 2e-6), "b300": ("NVLink 5", 900e9, 2e-6), "gb200": ("NVLink 5", 900e9, 2e-6),
            "h20": ("NVLink 4", 450e9, 2e-6), "mi325x": ("Infinity Fabric", 448e9, 2e-6), "mi355x": ("Infinity Fabric", 537.6e9, 2e-6),
        ]
        #expect(Set(expected.keys) == Set(HardwareProfile.builtInNames))
        for (id, (name, bandwidth, latency)) in expected {
            let link = try #require(try HardwareProfile.named(id).interconnect, "\(id)")
            #expect(link.name == name && link.bytesPerSecond == bandwidth && link.latencySeconds == latency, "\(id)")
            #expect(link.sources["bytes_per_second"]?.isEmpty == false, "\(id)")
            #expect(link.sources["latency_seconds"]?.hasPrefix("assumed") == true, "\(id): the latency is an assumption")
            // NVLink SHARP: the HGX boards' third-generation NVSwitch (H100, H200) and the
            // NVLink Switch chips of HGX B200/B300 and the GB200 NVL72 trays.
            let multicast: Set<String> = ["h100-sxm", "h200-sxm", "b200", "b300", "gb200"]
            #expect(link.nvswitchMulticast == multicast.contains(id), "\(id)")
            #expect((link.sources["nvswitch_multicast"] != nil) == multicast.contains(id), "\(id)")
        }
    }

    /// NVLink 4, 33,554,432 bytes (4096 tokens x 4096 x fp16) over 8 GPUs: each GPU sends
    /// 2 x 7/8 x S = 58,720,256 bytes over a ring; on the HGX board's NVSwitch NCCL's tuner
    /// times it as NVLS, 25 us + 14 S / (476e9 x 8) = 148.3619 us, and without the switch as
    /// ring LL128, 40.6 us + 14 S / (0.92 x 370.8e9 x 8) = 212.7315 us (CostModelTests'
    /// CollectiveTests derive the rest). One GPU: nothing.
    @Test func allReduceOnNVLink4() throws {
        var link = try #require(TestSupport.h100.interconnect)
        #expect(link.nvswitchMulticast && link.sources["nvswitch_multicast"]?.contains("NVSwitch") == true)
        #expect(Interconnect.allReduceBytesPerGPU(bytes: 33_554_432, gpus: 8) == 58_720_256)
        #expect(abs(CostModel(hardware: TestSupport.h100, dtype: .fp16).allReduceSeconds(bytes: 33_554_432, gpus: 8, over: link) - 148.361882353e-6) < 1e-12)
        link.nvswitchMulticast = false
        #expect(abs(CostModel(hardware: TestSupport.h100, dtype: .fp16).allReduceSeconds(bytes: 33_554_432, gpus: 8, over: link) - 212.731513531e-6) < 1e-12)
        #expect(Interconnect.allReduceBytesPerGPU(bytes: 33_554_432, gpus: 1) == 0)
        #expect(CostModel(hardware: TestSupport.h100, dtype: .fp16).allReduceSeconds(bytes: 33_554_432, gpus: 1, over: link) == 0)
        #expect(Interconnect(name: "x", bytesPerSecond: 0, latencySeconds: 0) == nil)
        #expect(Interconnect(name: "x", bytesPerSecond: 1, latencySeconds: -1) == nil)
    }

    func profile(replacing old: String, with new: String) throws -> String {
        let text = try #require(BuiltinProfiles.sources["h100-sxm"])
        #expect(text.contains(old))
        return text.replacingOccurrences(of: old, with: new)
    }

    @Test func badInterconnectsNameTheField() throws {
        let cases: [(String, String, String)] = [
            (#""bytes_per_second": 450000000000.0"#, #""bytes_per_second": -1"#,
             "interconnect.bytes_per_second: expected a positive number, found -1.0"),
            (#""latency_seconds": 2e-06,"#, "", "interconnect.latency_seconds: is required"),
            (#""latency_seconds": 2e-06,"#, #""latency_seconds": 5,"#, "interconnect.latency_seconds: expected a number from 0 to 1, found 5.0"),
            (#""name": "NVLink 4","#, #""name": "NVLink 4", "lanes": 18,"#, "interconnect.lanes: unknown field"),
            (#""latency_seconds": "assumed"#, #""latency": "assumed"#,
             "interconnect.sources.latency: unknown field; expected bytes_per_second, latency_seconds, domain_gpus, nvswitch_multicast or name"),
            (#""nvswitch_multicast": true,"#, #""nvswitch_multicast": 1,"#, "interconnect.nvswitch_multicast: expected true or false, found 1"),
            (#""nvswitch_multicast": "NVIDIA H100"#, #""name": "NVIDIA H100"#,
             "interconnect.sources.nvswitch_multicast: is required (where the figure comes from)"),
        ]
        for (old, new, expected) in cases {
            let text = try profile(replacing: old, with: new)
            let error = try #require(message { _ = try HardwareProfile(jsonText: text, file: "gpu.json") })
            #expect(error.hasPrefix("gpu.json: " + expected), "\(error)")
        }
        // A missing source: the figure's entry is required.
        let text = try #require(BuiltinProfiles.sources["h100-sxm"])
        let unsourced = try NSRegularExpression(pattern: #",\n      "latency_seconds": "assumed[^\n]*"#)
            .stringByReplacingMatches(in: text, range: NSRange(text.startIndex..., in: text), withTemplate: "")
        #expect(message { _ = try HardwareProfile(jsonText: unsourced, file: "gpu.json") }
            == "gpu.json: interconnect.sources.latency_seconds: is required (where the figure comes from)")
    }

    /// A profile without a link models one GPU: --tp or --cp above 1 is refused, by name.
    @Test func profileWithoutLinkRefusesSeveralGPUs() throws {
        var single = TestSupport.h100
        single.interconnect = nil
        let llama = try Architecture(model: try ModelSpec.named("llama-2-7b"))
        _ = try ModelPredictor(architecture: llama, hardware: single, options: ModelRunOptions())
        for options in [ModelRunOptions(tensorParallel: 2), ModelRunOptions(contextParallel: 2)] {
            let error = message { _ = try ModelPredictor(architecture: llama, hardware: single, options: options) }
            #expect(error?.contains("hardware 'h100-sxm' has no interconnect object") == true, "\(error ?? "no error")")
        }
    }
}
