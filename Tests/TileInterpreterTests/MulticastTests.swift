import Testing
import AttnHardware
import AttnNumerics
import TileLanguage
@testable import TileInterpreter
import AttnTestSupport
import TileTestSupport

/// TMA multicast over a thread-block cluster (`cluster(j: n)`, `load ... -> sram
/// multicast(j)`): the SM->L2 bytes of a multicast load are counted once per cluster;
/// DRAM bytes, shared-memory bytes, FLOPs and the numbers are those of the plain load.
@Suite struct MulticastTests {
    typealias S = TestSupport

    /// A blocked GEMM Y = X W, one 16 x 16 tile of Y per block, X's row panel multicast to
    /// the cluster of MC neighbouring column blocks (`multicast` false: the plain load).
    static func gemm(multicast: Bool) -> String {
        """
        param M = 64
        param Kin = 32
        param Nout = 64
        param B = 16
        param MC = 2
        input  X[M, Kin]
        input  W[Kin, Nout]
        output Y[M, Nout]
        kernel mm grid(i: cdiv(M, B), j: cdiv(Nout, B))\(multicast ? " cluster(j: MC)" : ""):
          acc = zeros(B, B)
          for k in 0 ..< cdiv(Kin, B):
            x = load X[rows(i, B), cols(k, B)] -> sram\(multicast ? " multicast(j)" : "")
            w = load W[rows(k, B), cols(j, B)] -> sram
            acc = acc + x @ w
          store Y[rows(i, B), cols(j, B)] = acc

        """
    }

    static let shape = ProblemShape(batch: 1, heads: 1, kvHeads: 1, queryLength: 1, keyLength: 1, headDim: 16)

    /// 4 x 4 blocks at fp32, X 64 x 32 and W 32 x 64 (8,192 bytes each): every block reads
    /// X's row panel (16 x 32 x 4 = 2,048 bytes) and W's column panel (2,048 bytes), so each
    /// tensor's HBM->SRAM bytes are 16 x 2,048 = 32,768 with or without multicast. With
    /// clusters of 2 along j, X's 32,768 bytes are all multicast and reach the L2 as
    /// 32,768 / 2 = 16,384; W's stay 32,768. FLOPs: 2 x 64 x 64 x 32 = 262,144 matmul,
    /// 64 x 64 x (2 - 1) = 4,096 accumulations (the first slice adds to zeros: 2 per element).
    @Test func multicastHalvesTheOperandsL2Bytes() throws {
        let plain = try S.count(try S.bindSource(Self.gemm(multicast: false), Self.shape)).total
        let shared = try S.count(try S.bindSource(Self.gemm(multicast: true), Self.shape)).total
        let (x, w) = (0, 1)
        for counters in [plain, shared] {
            #expect(counters.tensors[x].hbmToSram == 32_768 && counters.tensors[w].hbmToSram == 32_768)
            #expect(counters.hbmReadBytes == 65_536 && counters.hbmWriteBytes == 64 * 64 * 4)
            #expect(counters.flopsMatmul == 262_144)
            #expect(counters.tensors[w].multicastToSram == 0)
        }
        #expect(plain.tensors[x].multicastToSram == 0)
        #expect(shared.tensors[x].multicastToSram == 32_768)
        #expect(plain.tensors[x].l2RequestedBytes(clusterCTAs: 1) == 32_768)
        #expect(shared.tensors[x].l2RequestedBytes(clusterCTAs: 2) == 16_384)
        #expect(shared.tensors[w].l2RequestedBytes(clusterCTAs: 2) == 32_768)
        #expect(plain.flopsOther == shared.flopsOther && plain.sramWriteBytes == shared.sramWriteBytes && plain.peakSramBytes == shared.peakSramBytes)
    }

    /// The bound cluster: 2 CTAs along j on h100-sxm (sm_90); 1 without `cluster(j: n)`.
    @Test func bindingReadsTheClusterSize() throws {
        #expect(try S.bindSource(Self.gemm(multicast: true), Self.shape).kernelMulticastCTAs == [2])
        #expect(try S.bindSource(Self.gemm(multicast: false), Self.shape).kernelMulticastCTAs == [1])
        #expect(try S.bindSource(Self.gemm(multicast: true), Self.shape, params: ["MC": 1]).kernelMulticastCTAs == [1])
    }

    /// The same data arrives: Y equals the plain program's bit for bit, and a float64
    /// product of X and W within fp32 accumulation of 32 terms (32 x 2^-24 of the largest).
    @Test func multicastLeavesTheProductUnchanged() throws {
        let plain = try S.numeric(try S.bindSource(Self.gemm(multicast: false), Self.shape))
        let shared = try S.numeric(try S.bindSource(Self.gemm(multicast: true), Self.shape))
        let x = try #require(shared.tensors["X"]), w = try #require(shared.tensors["W"]), y = try #require(shared.tensors["Y"])
        #expect(y.values == (try #require(plain.tensors["Y"])).values)
        let (worst, largest) = S.productError(x: x.values, w: w.values, y: y.values, rows: 64, inner: 32, columns: 64)
        #expect(largest > 1 && worst / largest < 32 * 0x1p-24, "\(worst / largest)")
    }

    /// Multicast loads the checker refuses, at file:line:column (lines of `gemm`'s text).
    static let staticCases: [(from: String, to: String, line: Int, column: Int, fragment: String)] = [
        // No cluster on the kernel line.
        (" cluster(j: MC):", ":", 12, 48, "needs a cluster kernel"),
        // The cluster spans i, the load multicasts over j.
        ("cluster(j: MC)", "cluster(i: MC)", 12, 48, "spans grid axis 'i', not 'j'"),
        // W's column panel is j's own: the CTAs of a cluster along j load different tiles.
        ("cols(j, B)] -> sram", "cols(j, B)] -> sram multicast(j)", 13, 33, "load different tiles of 'W'"),
        // An index computed from the axis.
        ("    x = load X[rows(i, B)", "    c = j / 2\n    x = load X[rows(i, c)", 13, 24, "load different tiles of 'X'"),
        // Only some CTAs of the cluster would run it.
        ("    x = load X", "    if j < 1:\n      x = load X", 13, 50, "may not all run this multicast load"),
        // Without its level: `multicast` follows `-> sram`.
        ("cols(k, B)] -> sram multicast(j)", "cols(k, B)] multicast(j)", 12, 40, "names its level first: 'load T[...] -> sram multicast(c)'"),
        // Into registers.
        ("cols(k, B)] -> sram multicast(j)", "cols(k, B)] -> reg multicast(j)", 12, 47, "writes a tile into shared memory"),
        // Not a grid axis.
        ("cluster(j: MC)", "cluster(q: MC)", 9, 60, "'q' is not a grid axis"),
    ]

    @Test func badMulticastsAreErrorsWithACaret() throws {
        for (from, to, line, column, fragment) in Self.staticCases {
            let text = Self.gemm(multicast: true).replacingOccurrences(of: from, with: to)
            #expect(text != Self.gemm(multicast: true), "\(from)")
            do {
                _ = try Checker.check(SourceFile(name: "mc.tile", text: text))
                Issue.record("expected an error for \(to)")
            } catch {
                #expect(error.location == SourceLocation(line: line, column: column), "\(error)")
                #expect(error.message.contains(fragment), "\(error.message)")
                let rendered = error.description.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
                #expect(rendered[0].hasPrefix("mc.tile:\(line):\(column): error: "))
                let caretLine = rendered[2]
                let bar = try #require(caretLine.firstIndex(of: "|"))
                let caretOffset = caretLine.distance(from: bar, to: try #require(caretLine.firstIndex(of: "^"))) - 2
                #expect(caretOffset == column - 1, "\(error)")
            }
        }
    }

    /// Binding refuses a cluster a GPU cannot launch: none before sm_90 (a100), more than 8
    /// CTAs, or a grid axis that is not whole clusters (64 / 16 = 4 column blocks, cluster of 3).
    @Test func badClustersAreBindingErrors() throws {
        let program = try Checker.check(SourceFile(name: "mc.tile", text: Self.gemm(multicast: true)))
        func failure(_ hardware: HardwareProfile, _ mc: Int, columns: Int = 64) -> String? {
            do {
                _ = try BoundProgram(program: program, shape: Self.shape, dtype: .fp32, hardware: hardware, overrides: ["MC": .int(mc), "Nout": .int(columns)])
                return nil
            } catch {
                return error.description
            }
        }
        let a100 = try HardwareProfile.named("a100-80gb-sxm"), b200 = try HardwareProfile.named("b200")
        #expect(failure(a100, 2)?.contains("which a100-80gb-sxm cannot") == true)
        #expect(failure(a100, 1) == nil)
        #expect(failure(b200, 2) == nil)
        #expect(failure(S.h100, 3)?.contains("4 blocks along grid axis 'j', not a multiple of its cluster of 3 CTAs") == true)
        #expect(failure(S.h100, 16)?.contains("expected 1 to 8 CTAs") == true)
        #expect(failure(S.h100, 0)?.contains("has cluster(j: 0); expected 1 to 8 CTAs (h100-sxm's cluster size, max_cluster_ctas)") == true)
        #expect(failure(a100, 0)?.contains("has cluster(j: 0); expected 1 CTA (a100-80gb-sxm launches no clusters)") == true)
        // Nout = 16: one column block, which holds no whole cluster of 2 (one CTA alone is fine).
        #expect(failure(S.h100, 2, columns: 16)?.contains("has 1 block along grid axis 'j', not a multiple of its cluster of 2 CTAs") == true)
        #expect(failure(S.h100, 1, columns: 16) == nil)
        #expect(S.h100.hasThreadBlockClusters && !a100.hasThreadBlockClusters && b200.hasThreadBlockClusters)
        // The a100's note lists the built-in GPUs with clusters (max_cluster_ctas 8: sm_90
        // and later): Hopper's (both H100s, the H200, the H20) and Blackwell's, none of
        // Ampere, Ada or CDNA.
        let hopperAndBlackwell = ["h100-sxm", "h100-pcie", "h200-sxm", "b200", "b300", "gb200", "h20"]
        #expect(HardwareProfile.builtInProfilesWithClusters == hopperAndBlackwell)
        #expect(failure(a100, 2)?.contains("the built-in profiles with clusters: \(hopperAndBlackwell.joined(separator: ", "))") == true)
    }
}
