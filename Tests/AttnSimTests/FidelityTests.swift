import AttnCLI
import AttnHardware
import AttnNumerics
import Calibration
import Foundation
import Testing
@testable import TileLanguage
@testable import CostModel
@testable import TileInterpreter
import AttnTestSupport
import TileTestSupport

/// Fidelity v2 (issue 10): warps and stages, register demand and spills, the Triton
/// kernel's program, row mapping, and the error bounds reached on both calibration files.
@Suite struct FidelityTests {
    typealias S = TestSupport

    // MARK: Kernel header

    @Test func warpsStagesAndMMAAreDeclared() throws {
        let text = """
            input  X[batch * heads, N, d]
            output Y[batch * heads, N, d]
            kernel copy grid(i: cdiv(N, 16)) warps(8) stages(3) mma(async):
              x = load X[0, rows(i, 16), :] -> reg
              store Y[0, rows(i, 16), :] = x
            """
        let bound = try S.bindSource(text, S.shape(heads: 1, n: 64, d: 16))
        #expect(bound.kernelThreads == [256])
        #expect(bound.kernelStages == [3])
        #expect(bound.program.kernels[0].mma == .async)
        let plain = try S.bind("flash2", S.shape(n: 64, d: 16))
        #expect(plain.kernelThreads == [128] && plain.kernelStages == [1] && plain.program.kernels[0].mma == nil)
    }

    @Test(arguments: [
        ("kernel k grid(i: 1) threads(64) warps(2):", "gives both 'threads' and 'warps'"),
        ("kernel k grid(i: 1) stages(2) stages(3):", "'stages' is given twice"),
        ("kernel k grid(i: 1) mma(fast):", "unknown MMA kind 'fast'; expected sync or async"),
    ])
    func badHeadersAreSyntaxErrors(_ header: String, _ message: String) {
        let text = "output O[1, 4]\n\(header)\n  store O[0 ..< 1, :] = zeros(1, 4)\n"
        do {
            _ = try Checker.check(SourceFile(name: "h.tile", text: text))
            Issue.record("no error for \(header)")
        } catch {
            #expect(error.description.contains(message), "\(error)")
        }
    }

    @Test func warpCountsAreChecked() throws {
        let text = "param w = 4\noutput O[1, 4]\nkernel k grid(i: 1) warps(w):\n  store O[0 ..< 1, :] = zeros(1, 4)\n"
        #expect(throws: (any Error).self) { try S.bindSource(text, S.shape(n: 4, d: 4), params: ["w": 33]) }
        #expect(try S.bindSource(text, S.shape(n: 4, d: 4), params: ["w": 32]).kernelThreads == [1024])
    }

    // MARK: Registers and spills

    /// flash2-triton at Br = Bc = 128, d = 64: the peak is at `m2 = max(m, rowmax(s))`:
    /// q (128 x 64 fp16, 16,384 B) + o (128 x 64 fp32, 32,768) + s (128 x 128 fp32, 65,536)
    /// + m, l, the rowmax temporary (512 each) = 116,224 B, 227 registers per thread of 128;
    /// with 24 base registers 251, rounded to 256, capped at 255: 2 blocks per SM, no spill.
    @Test func registerDemandOfTheTritonKernel() throws {
        let bound = try S.bind("flash2-triton", S.shape(batch: 2, heads: 16, n: 4096, d: 64), dtype: .fp16, params: ["Br": 128, "Bc": 128])
        let stats = try S.count(bound)
        let c = stats.kernels[0].counters
        #expect(c.peakRegisterBytes == 116_224)
        #expect(c.spillBytes == 0)
        let model = CostModel(hardware: S.h100, dtype: .fp16)
        #expect(model.registersPerThread(peakRegisterBytes: c.peakRegisterBytes, threads: 128) == 255)
        let kernel = try #require(model.predict(bound, stats).kernels.first)
        #expect(kernel.blocksPerSM == 2 && kernel.registersPerThread == 255 && kernel.spillBytes == 0)
    }

    /// Br = 256, Bc = 128: q 32,768 + o 65,536 + s 131,072 + 3 x 1,024 = 232,448 B, over the
    /// 255 x 128 x 4 = 130,560 B 128 threads can hold. Each iteration spills its largest
    /// excess, 101,888 B; N = 1,024 gives 4 blocks of 8 iterations: 32 x 101,888 bytes.
    /// The kernel is predicted, never refused.
    @Test func spillBytesOfAKernelOverTheLimit() throws {
        let bound = try S.bind("flash2-triton", S.shape(batch: 1, heads: 1, n: 1024, d: 64), dtype: .fp16, params: ["Br": 256, "Bc": 128])
        let stats = try S.count(bound)
        let c = stats.kernels[0].counters
        #expect(c.peakRegisterBytes == 232_448)
        #expect(c.spillBytes == 32 * 101_888)
        #expect(c.loopIterations == 32)
        #expect(try S.count(bound, compress: false).kernels[0].counters.spillBytes == 32 * 101_888)
        let prediction = CostModel(hardware: S.h100, dtype: .fp16).predict(bound, stats)
        #expect(prediction.spillBytes == 32 * 101_888)
        // Spill stores write through the L1 to the L2.
        #expect(prediction.l2WriteBytes == 1024 * 64 * 2 + 32 * 101_888)
    }

    /// The numeric run of the Triton kernel's program agrees with the reference, with and
    /// without masks (P rounded to fp16 before P V, as the kernel does).
    @Test func tritonProgramIsCorrect() throws {
        for params in [["Br": 32, "Bc": 16], ["Br": 32, "Bc": 16, "causal": 1], ["Br": 16, "Bc": 32, "causal": 1, "window": 40]] {
            _ = try S.numeric(try S.bind("flash2-triton", S.shape(batch: 1, heads: 2, n: 96, d: 16), dtype: .fp16, params: params))
        }
    }

    /// Spill loads hit the L1 while the resident footprint fits beside shared memory, and
    /// miss on all of it past that (an LRU cache under a cyclic sweep); spilled lines reach
    /// DRAM for the share of the resident footprint over half the L2.
    @Test func spillTrafficThroughL1AndL2() {
        var counters = Counters(tensorCount: 0)
        counters.spillBytes = 1_000_000
        let model = L1Model(hardware: S.h100, calibration: .standard, blocksPerSM: 2, sramPerSM: 131_072)
        // 262,144 - 131,072 = 131,072 B of L1 left.
        #expect(model.freeL1Bytes == 131_072)
        #expect(model.spill(counters: counters, excessPerBlock: 65_536, l2Bytes: 52_428_800, concurrentBlocks: 264).l2Read == 0)
        #expect(model.spill(counters: counters, excessPerBlock: 65_537, l2Bytes: 52_428_800, concurrentBlocks: 264).l2Read == 1_000_000)
        // 264 x 198,593.9 B = 52,428,800 B: twice the half L2, so half the spill is written back.
        let half = model.spill(counters: counters, excessPerBlock: 198_594, l2Bytes: 52_428_800, concurrentBlocks: 264).dramWrite
        #expect(abs(half - 500_000) <= 2)
    }

    /// GQA expansion (standard, 32 query heads on 8 KV heads, one query, d = 128, fp16):
    /// the expand kernel's blocks of Be = 1,024 / 128 = 8 rows read each KV head's rows for
    /// 4 query heads, cdiv(Nkv, 8) blocks apart, 16 blocks of 128 threads on each of 132
    /// SMs (C = 2,112) at once. Between two readers a window of max(gap, C) blocks moves
    /// 8 KB each (2 KB of K, 2 KB of V read; 4 KB written). At Nkv = 32,768 (gap 4,096:
    /// 33.5 MB) that fits the 52.4 MB L2 and K and V (2 x 8 x 32,768 x 128 x 2 =
    /// 134,217,728 B) are read once; at 131,072 (gap 16,384: 134 MB) it does not, and each
    /// of the 4 readers reads them again: 4 x 536,870,912 B (the measured decode-naive
    /// GQA row: 4.31 GB in all).
    @Test func gqaExpansionRereadsWhenAHeadOutgrowsTheL2() throws {
        let model = CostModel(hardware: S.h100, dtype: .fp16, calibration: .standard)
        for (nkv, expected) in [(32_768, 134_217_728), (131_072, 4 * 536_870_912)] {
            let bound = try S.bind("standard", S.shape(batch: 1, heads: 32, kvHeads: 8, n: 1, nkv: nkv, d: 128), dtype: .fp16)
            let expand = try #require(model.predict(bound, try S.count(bound)).kernels.first { $0.name == "expand" })
            #expect(expand.dramReadBytes == expected, "Nkv \(nkv)")
        }
    }

    /// The naive path's P V runs as cuBLAS runs it: O^T = V^T P^T in d x Bo tiles of at most
    /// 32,768 accumulators, halved while fewer than 66 blocks would run, on 384 threads.
    @Test func standardPVTileFollowsCuBLAS() throws {
        for (n, d, blocks) in [(512, 64, 32 * 4), (1024, 64, 32 * 4), (4096, 64, 32 * 8), (4096, 128, 32 * 16)] {
            let bound = try S.bind("standard", S.shape(batch: 2, heads: 16, n: n, d: d), dtype: .fp16)
            let pv = try #require(try S.count(bound).kernels.first { $0.name == "pv" })
            #expect(pv.blocks == blocks, "N \(n), d \(d)")
        }
        let bound = try S.bind("standard", S.shape(batch: 2, heads: 16, n: 1024, d: 64), dtype: .fp16)
        let names = bound.program.kernels.map(\.name)
        let threads = Dictionary(uniqueKeysWithValues: zip(names, bound.kernelThreads))
        #expect(threads["qk"] == 384 && threads["pv"] == 384)
    }

    // MARK: Paged decode v2

    /// vLLM's v2 kernel at 300 keys, pages of 8 (38 pages), 3 splits of 13, 13 and 12 pages,
    /// 2 heads, d = 16, fp16. Reads: K and V pages 2 x 38 x 8 x 16 x 2 x 2 = 38,912, block
    /// table 4 B per page per query head 304, Q once per split 2 x 3 x 32 = 192; the reduce
    /// reads max and sum 2 x 3 x 8 = 48 and the partials 2 x 3 x 32 = 192: 39,648 B.
    /// Writes: partials 192, max and sum 48, O 2 x 32 = 64: 304 B. Numeric: the reference.
    @Test func pagedDecodeV2CountsByHand() throws {
        let shape = S.shape(batch: 1, heads: 2, n: 1, nkv: 300, d: 16)
        let bound = try S.bind("paged-decode-v2", shape, dtype: .fp16, params: ["P": 8, "splits": 3])
        let total = try S.count(bound).total
        #expect(total.hbmReadBytes == 39_648 && total.hbmWriteBytes == 304)
        #expect(bound.kernelThreads == [128, 128])
        _ = try S.numeric(bound)
        // vLLM's default: 512-token partitions, GQA heads each reading their KV head's pages.
        _ = try S.numeric(try S.bind("paged-decode-v2", S.shape(batch: 2, heads: 4, kvHeads: 2, n: 1, nkv: 1000, d: 16), dtype: .fp16))
        _ = try S.numeric(try S.bind("paged-decode-v2", S.shape(batch: 1, heads: 2, n: 4, nkv: 40, d: 16), dtype: .fp16, params: ["causal": 1, "Br": 2, "P": 8, "partition": 16]))
    }

    // MARK: Tensor cores

    /// mma.sync reads B from shared memory per warp: a 64-row tile over 4 warps is 16 rows a
    /// warp, 2 bytes per element: operand bytes = FLOPs x 2 / 32. The warp-group MMA needs
    /// 64 rows per warp group on Hopper and is bound by the tensor cores alone (the measured
    /// 742 TFLOP/s x eta).
    @Test func tensorCoreShape() throws {
        let model = CostModel(hardware: S.h100, dtype: .fp16)
        #expect(model.rowsPerWarp(matmulRows: 64, threads: 128) == 16)
        #expect(model.rowsPerWarp(matmulRows: 16, threads: 128) == 16)
        #expect(model.rowsPerWarp(matmulRows: 128, threads: 256) == 16)
        var c = Counters(tensorCount: 0)
        c.flopsMatmul = 1_000_000_000_000
        c.peakMatmulRows = 64
        var sync = KernelDecl(name: "k", axes: [], threads: nil, body: [], location: SourceLocation(line: 1, column: 1), slotNames: [])
        let operand = 1e12 * 2 / 32 / (128 * 132 * 1.98e9 * model.calibration.operandBandwidthFraction)
        #expect(abs(model.matmulSeconds(kernel: sync, counters: c, threads: 128, activeSMs: 132) - operand) < 1e-12)
        sync.mma = .async
        #expect(model.usesAsyncMMA(kernel: sync, counters: c, threads: 128))
        #expect(abs(model.matmulSeconds(kernel: sync, counters: c, threads: 128, activeSMs: 132) - 1e12 / (742e12 * model.calibration.matmulEfficiency)) < 1e-15)
        c.peakMatmulRows = 32
        #expect(!model.usesAsyncMMA(kernel: sync, counters: c, threads: 128))
        // No warp-group MMA on the A100: async kernels run mma.sync.
        let a100 = CostModel(hardware: try HardwareProfile.named("a100-80gb-sxm"), dtype: .fp16)
        c.peakMatmulRows = 128
        #expect(!a100.usesAsyncMMA(kernel: sync, counters: c, threads: 128))
    }

    // MARK: Profiles

    /// Every built-in profile states the new physical figures with a source, and none
    /// carries fitted constants of its own: all use the standard set, ceilings measured or
    /// datasheet x sustained fraction.
    @Test func profilesHaveDatasheetFigures() throws {
        for name in HardwareProfile.builtInNames {
            let profile = try HardwareProfile.named(name)
            for key in ["max_registers_per_thread", "mma_rows_per_warp_group", "dram_latency_seconds"] {
                #expect(profile.sources[key] != nil, "\(name): \(key)")
            }
        }
        let h200 = CostModel(hardware: try HardwareProfile.named("h200-sxm"), dtype: .fp16)
        #expect(abs(h200.hbmBytesPerSecond - 4.8e12 * 0.895) < 1)
        #expect(abs(h200.matmulFlopsPerSecond - 989.4e12 * 0.75) < 1)
    }

    // MARK: Row mapping and validate

    static let header = CalibrationCSV.header

    @Test func rowsNameTheirProgram() throws {
        let text = Self.header + ",program,warps,stages\n"
            + "a,triton-prefill,flash2,1,2,2,256,256,64,1,0,64,32,,fp16,0,1,1,1,1,0.1,attn_fwd,,,\n"
            + "b,mine,flash2,1,2,2,256,256,64,0,0,64,32,,fp16,0,1,1,1,1,0.1,k,flash2-triton,8,3\n"
            + "c,mine,flash2,1,2,2,256,256,64,0,0,64,32,,fp16,0,1,1,1,1,0.1,k,,8,\n"
        let rows = try CalibrationRow.parse(text, file: "t.csv")
        let a = try RowMapping.map(rows[0]).get()
        #expect(a.program == "flash2-triton" && a.parameters["Br"] == .int(64) && a.parameters["causal"] == .int(1))
        let b = try RowMapping.map(rows[1]).get()
        #expect(b.program == "flash2-triton" && b.parameters["num_warps"] == .int(8) && b.parameters["num_stages"] == .int(3))
        let (bound, _, _) = try Validator(hardware: S.h100).counts(rows[1]).get()
        #expect(bound.kernelThreads == [256] && bound.kernelStages == [3])
        #expect(throws: MappingError.self) { try RowMapping.map(rows[2]).get() }
    }

    @Test func unmappableRowsFailValidate() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("rows-\(UUID().uuidString).csv")
        defer { try? FileManager.default.removeItem(at: url) }
        try (Self.header + "\nx,other,no-such-family,1,2,2,64,64,64,0,0,,,,fp16,0,1,1,1,1,0.1,k\n").write(to: url, atomically: false, encoding: .utf8)
        let captured = CapturedConsole()
        #expect(AttnSimCommand.main(["validate", url.path], console: captured.console) == 1)
        #expect(captured.stdout.contains("not predicted: x: no program models implementation 'other', algorithm 'no-such-family'"))
        #expect(captured.stderr.contains("1 of 1 rows have no prediction"))
        let allowed = CapturedConsole()
        #expect(AttnSimCommand.main(["validate", url.path, "--allow-unmapped"], console: allowed.console) == 0)
    }
}
