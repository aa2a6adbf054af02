import AttnHardware
import CostModel
import Testing

/// Copies between HBM and the levels below it (`CostModel.tierTransferSeconds`):
/// transfers x the tier's fixed cost per copy + bytes / the link's bandwidth, with the
/// built-in profiles' figures, each expectation derived by hand.
@Suite struct TierTransferTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var profile: String
        var storage: Bool
        var bytes: Int
        var transfers: Int
        var seconds: Double
        var testDescription: String { "\(profile) \(storage ? "storage" : "host memory"): \(bytes) bytes in \(transfers) copies" }
    }

    static let cases: [Case] = [
        // A 2 MiB block over PCIe 5.0 x16 (H100 SXM: 64e9 B/s per direction, 10 us per
        // copy) in 16 copies: 16 x 10 us + 2,097,152 / 64e9 = 160 us + 32.768 us.
        Case(profile: "h100-sxm", storage: false, bytes: 2_097_152, transfers: 16, seconds: 192.768e-6),
        // The same block in one copy: 10 us + 32.768 us.
        Case(profile: "h100-sxm", storage: false, bytes: 2_097_152, transfers: 1, seconds: 42.768e-6),
        // From the H100's NVMe drive (7e9 B/s, 100 us per read) in 16 reads:
        // 1,600 us + 2,097,152 / 7e9 = 1,600 + 299.593142857 us.
        Case(profile: "h100-sxm", storage: true, bytes: 2_097_152, transfers: 16, seconds: 1899.593142857e-6),
        // OPT-13B's 16-token block (16 x 819,200 bytes) to an A100's host memory over
        // PCIe 4.0 x16 (32e9 B/s) as 80 copies (K and V of 40 layers): 800 us + 409.6 us.
        Case(profile: "a100-40gb-sxm", storage: false, bytes: 13_107_200, transfers: 80, seconds: 1209.6e-6),
        // Nothing to move costs nothing; negative counts count as 0.
        Case(profile: "h100-sxm", storage: false, bytes: 0, transfers: 0, seconds: 0),
        Case(profile: "h100-sxm", storage: false, bytes: -5, transfers: -2, seconds: 0),
    ]

    @Test(arguments: cases)
    func copiesPayAFixedCostEachAndStreamAtTheLinksBandwidth(_ c: Case) throws {
        let hardware = try HardwareProfile.named(c.profile)
        let tier = try #require(c.storage ? hardware.storage : hardware.hostMemory)
        let seconds = CostModel(hardware: hardware, dtype: .fp16).tierTransferSeconds(bytes: c.bytes, transfers: c.transfers, tier: tier)
        #expect(abs(seconds - c.seconds) < 1e-15, "\(seconds)")
    }
}
