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
        // 32 MiB over 8 GPUs: ring LL128 40.6 us + 33,554,432 x 14 / (0.92 x 370.8e9 x 8) =
        // 212.7315 us beats ring Simple 56 us + 33,554,432 x 14 / (370.8e9 x 8) = 214.3610 us;
        // tree Simple 64.4 us + S / (370.8e9 x 0.92 / 2 x 0.7) and ring LL (S / 80.6e9) lose.
        Case(profile: "h100-sxm", bytes: 33_554_432, gpus: 8, seconds: 212.731513531e-6, algorithm: .ring, collectiveProtocol: .ll128),
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
