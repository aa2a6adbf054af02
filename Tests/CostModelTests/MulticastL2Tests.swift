import Testing
import AttnHardware
import CostModel
import TileInterpreter
import AttnTestSupport
import TileTestSupport

/// The cost model's SM->L2 reads of a multicast load: once per cluster, before the L2's
/// coalescing of the first round's requests (docs/cost-model.md, "SM <-> L2 traffic").
@Suite struct MulticastL2Tests {
    typealias S = TestSupport

    /// Y = X W in 16 x 16 tiles, M = Nout = 2048, Kin = 64, fp32: a grid of 128 x 128 =
    /// 16,384 blocks, j fastest, one stage (no L1 share), X multicast along j when `multicast`.
    static func program(multicast: Bool) -> String {
        """
        input  X[2048, 64]
        input  W[64, 2048]
        output Y[2048, 2048]
        kernel mm grid(i: 128, j: 128)\(multicast ? " cluster(j: 2)" : ""):
          acc = zeros(16, 16)
          for k in 0 ..< 4:
            x = load X[rows(i, 16), cols(k, 16)] -> sram\(multicast ? " multicast(j)" : "")
            w = load W[rows(k, 16), cols(j, 16)] -> sram
            acc = acc + x @ w
          store Y[rows(i, 16), cols(j, 16)] = acc
        """
    }

    /// X (524,288 bytes) is read by the 128 blocks of each row: 67,108,864 tile bytes. The
    /// first round of 132 blocks (w1 = 132 / 16,384) has its readers coalesced by the L2,
    /// g1 = min(128, 132 / gap 1) = 128:
    ///     X: 67,108,864 x (1 - 132/16,384 x 127/128) = 67,108,864 - 32 x 16,764 = 66,572,416.
    /// Multicast over pairs: 33,554,432 requested, g1 = 128 / 2 = 64 clusters:
    ///     X: 33,554,432 x (1 - 132/16,384 x 63/64) = 33,554,432 - 32 x 8,316 = 33,288,320.
    /// W (67,108,864 tile bytes; its readers along i are 128 blocks apart, g1 = 1) is
    /// unchanged; Y's 16,777,216 bytes are the writes. DRAM bytes and FLOPs are equal.
    @Test func multicastHalvesTheL2ReadsOfItsTensor() throws {
        func predict(_ multicast: Bool) throws -> KernelPrediction {
            let bound = try S.bindSource(Self.program(multicast: multicast), S.shape(heads: 1, n: 64, d: 64))
            return try #require(CostModel(hardware: S.h100, dtype: .fp32).predict(bound, try S.count(bound)).kernels.first)
        }
        let plain = try predict(false), shared = try predict(true)
        #expect(plain.l2ReadBytes == 66_572_416 + 67_108_864)
        #expect(shared.l2ReadBytes == 33_288_320 + 67_108_864)
        #expect(plain.l2WriteBytes == 16_777_216 && shared.l2WriteBytes == 16_777_216)
        #expect(plain.dramReadBytes == shared.dramReadBytes && plain.dramWriteBytes == shared.dramWriteBytes)
        #expect(plain.flopsMatmul == 2 * 2048 * 2048 * 64 && shared.flopsMatmul == plain.flopsMatmul)
        #expect(shared.l2Seconds < plain.l2Seconds)
    }
}
