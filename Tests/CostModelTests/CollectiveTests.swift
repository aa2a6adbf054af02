import AttnHardware
import CostModel
import Testing

/// Collectives and sends timed by NCCL's tuning model (`CollectiveTuning`, NCCL 2.30.7
/// src/graph/tuning.cc), each expectation derived by hand from the cited constants.
@Suite struct CollectiveTests {
    typealias Tuning = CollectiveTuning

    struct Case: Sendable, CustomTestStringConvertible {
        var profile: String
        var bytes: Int
        var gpus: Int
        var seconds: Double
        var algorithm: Tuning.Algorithm
        var collectiveProtocol: Tuning.CollectiveProtocol
        var testDescription: String { "\(profile): \(bytes) bytes over \(gpus) GPUs" }
    }

    /// NVLink 4 (H100 SXM): bus bandwidth B = 450e9 x 20.6 / 25 = 370.8e9 B/s, LL ceiling
    /// 141e9 (Hopper). NVLink 3 (A100): B = 300e9 x 20 / 25 = 240e9, LL ceiling 87.7e9.
    /// PCIe Gen5 x16 (H100 PCIe): B = 64e9, no LL ceiling, PCI hop latencies, no LL128.
    static let cases: [Case] = [
        // 8,192 bytes (one token of a 4,096-wide fp16 hidden state), 8 GPUs: ring LL
        // 6.6 + 14 x 0.6 = 15.0 us + 8192 x 14 / (141e9 x 8); tree LL 6.8 + 14 x 0.6 = 15.2 us
        // before its bytes; ring LL128 14 + 14 x 1.9 = 40.6 us; Simple 8.4 + 14 x 3.4 = 56 us.
        Case(profile: "h100-sxm", bytes: 8192, gpus: 8, seconds: 15.101673758865e-6, algorithm: .ring, collectiveProtocol: .ll),
        // The same over 2 GPUs: ring LL 6.6 + 2 x 0.6 = 7.8 us + 8192 / 141e9 (G / (2 (G - 1)) = 1);
        // tree LL 6.8 + 1.2 = 8.0 us.
        Case(profile: "h100-sxm", bytes: 8192, gpus: 2, seconds: 7.858099290780e-6, algorithm: .ring, collectiveProtocol: .ll),
        // 32 MiB over 8 GPUs on the NVSwitch: NVLS 25 us + 33,554,432 x 14 / (476e9 x 8) =
        // 148.3619 us (nvlsBusBytesPerSecond below) beats ring LL128 40.6 us + 33,554,432 x 14 /
        // (0.92 x 370.8e9 x 8) = 212.7315 us and ring Simple 56 us + S x 14 / (370.8e9 x 8) =
        // 214.3610 us; tree Simple 64.4 us + S / (370.8e9 x 0.92 / 2 x 0.7) and ring LL lose.
        Case(profile: "h100-sxm", bytes: 33_554_432, gpus: 8, seconds: 148.361882353e-6, algorithm: .nvls, collectiveProtocol: .simple),
        // 1 MiB: ring LL 15.0 us + 1,048,576 x 14 / (141e9 x 8) = 28.0142 us beats NVLS
        // 25 us + 1,048,576 / 272e9 = 28.8551 us; 2 MiB: NVLS 32.7101 us beats ring LL 41.0284 us
        // and ring LL128 40.6 us + 2,097,152 x 14 / (0.92 x 370.8e9 x 8) = 51.3582 us.
        Case(profile: "h100-sxm", bytes: 1_048_576, gpus: 8, seconds: 28.014241135e-6, algorithm: .ring, collectiveProtocol: .ll),
        Case(profile: "h100-sxm", bytes: 2_097_152, gpus: 8, seconds: 32.710117647e-6, algorithm: .nvls, collectiveProtocol: .simple),
        // B200, 32 MiB over 8 GPUs: NVLS 25 us + 33,554,432 x 14 / (720e9 x 8) = 106.5559 us
        // beats ring LL128 40.6 us + S x 14 / (0.92 x 721.8e9 x 8) = 129.0267 us.
        Case(profile: "b200", bytes: 33_554_432, gpus: 8, seconds: 106.555911111e-6, algorithm: .nvls, collectiveProtocol: .simple),
        // A100, 8,192 bytes over 8 GPUs: ring LL 15.0 us + 8192 x 14 / (87.7e9 x 8).
        Case(profile: "a100-80gb-sxm", bytes: 8192, gpus: 8, seconds: 15.163466362600e-6, algorithm: .ring, collectiveProtocol: .ll),
        // PCIe, 1 MiB over 4 GPUs: ring LL 6.6 + 6 x 1.0 = 12.6 us + 1,048,576 x 6 / (32e9 x 4)
        // = 61.752 us beats ring Simple 8.4 + 6 x 5.7 = 42.6 us + 1,048,576 x 6 / (64e9 x 4)
        // = 67.176 us and tree Simple 8.4 + 6 x 4.0 = 32.4 us + S / (64e9 x 0.92 / 2 x 0.5).
        Case(profile: "h100-pcie", bytes: 1_048_576, gpus: 4, seconds: 61.752e-6, algorithm: .ring, collectiveProtocol: .ll),
        // 16 MiB: ring Simple 42.6 us + 16,777,216 x 6 / (64e9 x 4) = 435.816 us; ring LL
        // 12.6 us + 786.432 us loses.
        Case(profile: "h100-pcie", bytes: 16_777_216, gpus: 4, seconds: 435.816e-6, algorithm: .ring, collectiveProtocol: .simple),
    ]

    @Test(arguments: cases)
    func allReduceFollowsNCCLsTuner(_ c: Case) throws {
        let hardware = try HardwareProfile.named(c.profile)
        let link = try #require(hardware.interconnect)
        let choice = try #require(CostModel(hardware: hardware, dtype: .fp16).allReduce(bytes: c.bytes, gpus: c.gpus, over: link))
        #expect(abs(choice.seconds - c.seconds) < 1e-12, "\(choice.seconds)")
        #expect(choice.algorithm == c.algorithm && choice.collectiveProtocol == c.collectiveProtocol, "\(choice)")
    }

    /// NVLS's bus bandwidth (`nvlsBusBytesPerSecond`, NCCL 2.30.7): c = min(G, 32) channels,
    /// the largest per-channel w of the speed array with (c + 1) w <= B, then
    /// c x min(2 w eff (c - 1) / c, top). H100 SXM (B = 370.8e9, eff 0.85, top 60e9): G = 8,
    /// 9w <= 370.8 gives w = 40: 8 x min(59.5, 60) = 476e9; G = 2, w = 60: 2 x 51 = 102e9;
    /// G = 4, w = 60: 4 x min(76.5, 60) = 240e9; G = 16, 17w <= 370.8 gives w = 20:
    /// 16 x 31.875 = 510e9. B200 (B = 721.8e9, eff 0.74, top 90e9): G = 8, 9w <= 721.8 gives
    /// w = 80: 8 x min(103.6, 90) = 720e9. GB200 NVL72 over 72 GPUs: c = 32 (the arity cap;
    /// 73 channels would fit no w), 33w <= 721.8 gives w = 20: 32 x 2 x 20 x 0.74 x 31/32 =
    /// 917.6e9. No NVLS without the switch (A100, H20's profile,
    /// PCIe), before Hopper (NVLink 3 with the flag set: no efficiency) or on one GPU.
    @Test func nvlsBandwidthFollowsNCCLsSearchAndTuner() throws {
        let tuning = Tuning.nccl
        let cases: [(String, Int, Double?)] = [
            ("h100-sxm", 8, 476e9), ("h100-sxm", 2, 102e9), ("h100-sxm", 4, 240e9), ("h100-sxm", 16, 510e9),
            ("h200-sxm", 8, 476e9), ("b200", 8, 720e9), ("gb200", 72, 917.6e9), ("h100-sxm", 1, nil),
            ("a100-80gb-sxm", 8, nil), ("h20", 8, nil), ("h100-pcie", 8, nil),
        ]
        for (profile, gpus, expected) in cases {
            let link = try #require(try HardwareProfile.named(profile).interconnect)
            let bus = tuning.nvlsBusBytesPerSecond(link, gpus: gpus)
            if let expected {
                #expect(abs((bus ?? 0) / expected - 1) < 1e-12, "\(profile) x\(gpus): \(String(describing: bus))")
            } else {
                #expect(bus == nil, "\(profile) x\(gpus)")
            }
        }
        var ampere = try #require(try HardwareProfile.named("a100-80gb-sxm").interconnect)
        ampere.nvswitchMulticast = true
        #expect(tuning.nvlsBusBytesPerSecond(ampere, gpus: 8) == nil)
        // Without the switch the H100's 32 MiB all-reduce is ring LL128's 212.7315 us again.
        var plain = try #require(try HardwareProfile.named("h100-sxm").interconnect)
        plain.nvswitchMulticast = false
        let ring = try #require(CostModel(hardware: try HardwareProfile.named("h100-sxm"), dtype: .fp16).allReduce(bytes: 33_554_432, gpus: 8, over: plain))
        #expect(abs(ring.seconds - 212.731513531e-6) < 1e-12 && ring.algorithm == .ring && ring.collectiveProtocol == .ll128, "\(ring)")
    }

    /// One GPU: no all-reduce. A send of 450,000 bytes on NVLink 4: LL 6.6 + 0.6 us +
    /// 450,000 / 141e9 = 10.3915 us beats Simple 8.4 + 3.4 us + 450,000 / 370.8e9 = 13.0136 us;
    /// 64 MiB: Simple 11.8 us + 67,108,864 / 370.8e9 = 192.784 us beats LL's 483.1 us. An
    /// all-to-all is one send of its larger direction.
    @Test func sendsAndAllToAllTakeOneRingHop() throws {
        let hardware = try HardwareProfile.named("h100-sxm")
        let link = try #require(hardware.interconnect)
        let model = CostModel(hardware: hardware, dtype: .fp16)
        #expect(model.allReduce(bytes: 8192, gpus: 1, over: link) == nil)
        #expect(model.allReduceSeconds(bytes: 8192, gpus: 1, over: link) == 0)
        let small = model.send(bytes: 450_000, over: link)
        #expect(abs(small.seconds - 10.391489361702e-6) < 1e-12 && small.collectiveProtocol == .ll, "\(small)")
        let large = model.send(bytes: 67_108_864, over: link)
        #expect(abs(large.seconds - 192.783991370e-6) < 1e-12 && large.collectiveProtocol == .simple, "\(large)")
        #expect(model.transferSeconds(bytes: 67_108_864, over: link) == large.seconds)
        #expect(model.allToAllSeconds(sendBytes: 67_108_864, receiveBytes: 450_000, gpus: 8, over: link) == large.seconds)
        #expect(model.allToAllSeconds(sendBytes: 0, receiveBytes: 0, gpus: 8, over: link) == 0)
        #expect(model.allToAllSeconds(sendBytes: 450_000, receiveBytes: 450_000, gpus: 1, over: link) == 0)
    }

    /// The link classes and NCCL's tree correction (k = floor(log2(bytes / 64))).
    @Test func linkClassesAndTreeCorrection() throws {
        let tuning = Tuning.nccl
        let cases: [(String, Int?, Tuning.HopClass, Bool)] = [
            ("h100-sxm", 4, .nvlink, true), ("a100-80gb-sxm", 3, .nvlink, true), ("b200", 5, .nvlink, true),
            ("h100-pcie", nil, .pci, false), ("rtx-4090", nil, .pci, false), ("mi300x", nil, .nvlink, true),
        ]
        for (id, generation, hop, ll128) in cases {
            let link = try #require(try HardwareProfile.named(id).interconnect, "\(id)")
            #expect(link.nvlinkGeneration == generation && Tuning.hopClass(link) == hop, "\(id)")
            #expect(Tuning.enables(.ll128, on: link) == ll128 && Tuning.enables(.simple, on: link), "\(id)")
        }
        let b200 = try #require(try HardwareProfile.named("b200").interconnect)
        #expect(abs(tuning.busBytesPerSecond(b200) - 900e9 * 40.1 / 50) < 1 && tuning.llCeiling(b200) == 282e9)
        #expect(tuning.treeCorrection(.simple, bytes: 63) == 1)  // below 64 B: none
        #expect(tuning.treeCorrection(.simple, bytes: 64) == 0.9)  // k = 0
        #expect(tuning.treeCorrection(.ll, bytes: 64 << 12) == 0.4)  // k = 12
        #expect(tuning.treeCorrection(.ll128, bytes: 64 << 22) == 1.0)  // k = 22, the last entry
        #expect(tuning.treeCorrection(.simple, bytes: 64 << 23) == 1)  // beyond the table
    }
}
