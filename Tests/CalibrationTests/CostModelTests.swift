import Foundation
import Testing
import AttnHardware
import AttnNumerics
import Calibration
@testable import CostModel
@testable import TileInterpreter
import AttnTestSupport
import TileTestSupport

/// The cost model on hand-computed cases, and against the H100 measurements.
@Suite struct CostModelTests {
    typealias S = TestSupport

    func model(_ calibration: CalibrationSet = .standard) -> CostModel {
        CostModel(hardware: S.h100, dtype: .fp16, calibration: calibration)
    }

    /// blocks/SM = min(32 blocks, floor(2,048 threads / threads per block),
    /// floor(233,472 / SRAM), floor(65,536 / (registers per thread x threads))), with
    /// registers per thread = min(255, roundup8(ceil(register bytes / 4 / threads) + 24)):
    /// 65,536 B over 128 threads is 128 + 24 = 152 registers, 19,456 per block, 3 blocks;
    /// 133,120 B is 260 + 24, capped at 255 (the rest spills): 32,640 per block, 2 blocks.
    @Test(arguments: [(49_152, 65_536, 128, 3), (98_304, 10_000, 128, 2), (10_000, 133_120, 128, 2), (0, 0, 128, 16),
                      (1_000, 1_000, 32, 32), (1_000, 1_000, 1024, 2), (0, 0, 384, 5)])
    func occupancy(_ sram: Int, _ registers: Int, _ threads: Int, _ expected: Int) {
        #expect(model().blocksPerSM(peakSramBytes: sram, peakRegisterBytes: registers, threads: threads) == expected)
    }

    /// A kernel's declared threads set its occupancy and how many bytes it keeps in
    /// flight: a 1024-thread block streams 32 warps' worth.
    @Test func threadsPerBlock() throws {
        func kernel(_ threads: Int) throws -> KernelPrediction {
            let text = """
                input  X[batch * heads, N, d]
                output Y[batch * heads, N, d]
                kernel copy grid(bh: batch * heads) threads(\(threads)):
                  for i in 0 ..< cdiv(N, 16):
                    x = load X[bh, rows(i, 16), :] -> reg
                    store Y[bh, rows(i, 16), :] = x
                """
            let bound = try S.bindSource(text, S.shape(heads: 4, n: 4096, d: 64), dtype: .fp16)
            return try #require(model().predict(bound, try S.count(bound)).kernels.first)
        }
        let small = try kernel(128), large = try kernel(1024)
        // Four blocks either way; 4 x 4 warps vs 4 x 32 warps at (bytes in flight per warp /
        // 600 ns) each: 4.08 GB/s per warp with the standard set's 2,450 bytes.
        let perWarp = CalibrationSet.standard.bytesInFlightPerWarp / 600e-9
        #expect(abs(small.dramSeconds * 16 * perWarp - Double(small.dramReadBytes + small.dramWriteBytes)) < 1e-3)
        #expect(abs(large.dramSeconds * 128 * perWarp - Double(large.dramReadBytes + large.dramWriteBytes)) < 1e-3)
        do {
            _ = try S.bindSource("input X[4]\noutput Y[4]\nkernel k grid(i: 1) threads(100):\n  x = load X[:] -> reg\n  store Y[:] = x\n", S.shape(heads: 1, n: 4, d: 4))
            Issue.record("expected an error")
        } catch let error as BindingError {
            #expect(error.description.contains("has 100 threads per block; expected a multiple of 32 from 32 to 1024"))
        }
    }

    /// A copy kernel, worked by hand: 1,056 blocks of 16 x 1024 fp16 read into registers
    /// and written back (32 KiB per block each way; peak registers 32 KiB, 64 registers per
    /// thread with no base registers, 8,192 per block, so 8 blocks per SM -- fewer than the
    /// 16 that 128 threads allow -- C = 1,056, one wave). The L2 model sees every byte read
    /// once; half the L2 keeps dirty lines, its write share of them stays unwritten:
    /// W - L2/2 x W / (R + W) = W - L2 / 4.
    @Test func copyKernelByHand() throws {
        let text = """
            input  X[batch * heads, N, d]
            output Y[batch * heads, N, d]
            kernel copy grid(bh: batch * heads, i: cdiv(N, 16)):
              x = load X[bh, rows(i, 16), :] -> reg
              store Y[bh, rows(i, 16), :] = x
            """
        let bound = try S.bindSource(text, S.shape(heads: 8, n: 2112, d: 1024), dtype: .fp16)
        let stats = try S.count(bound)
        // 150 bytes in flight over the H100's 600 ns DRAM latency: 0.25 GB/s per warp,
        // 1 GB/s per 128-thread (4-warp) block.
        let constants = CalibrationSet(
            name: "test", matmulEfficiency: 1, bytesInFlightPerWarp: 150, operandBandwidthFraction: 1, iterationCycles: 0, crossWarpReductionCycles: 0, baseRegistersPerThread: 0,
            l1ShareFraction: 0, barrierWaitSeconds: 0, kernelOverheadSeconds: 5e-6, callOverheadSeconds: 0, directLaunchOverheadSeconds: 0, source: "test")
        let prediction = model(constants).predict(bound, stats)
        let kernel = try #require(prediction.kernels.first)
        let bytes = 8 * 2112 * 1024 * 2
        #expect(kernel.blocks == 1056 && kernel.blocksPerSM == 8 && kernel.waves == 1)
        #expect(kernel.dramReadBytes == bytes)
        #expect(kernel.dramWriteBytes == bytes - 52_428_800 / 4)
        // 1,056 resident blocks x 1 GB/s = 1.056 TB/s, under the 3.00 TB/s copy ceiling.
        let dramSeconds = Double(kernel.dramReadBytes + kernel.dramWriteBytes) / 1.056e12
        #expect(abs(kernel.dramSeconds - dramSeconds) < 1e-12)
        #expect(kernel.bound == .latency)
        #expect(abs(kernel.seconds - (dramSeconds + 5e-6)) < 1e-12)
    }

    /// The execution model is what makes split-KV decoding faster than FlashAttention-2
    /// for one query at long context: the bytes are nearly the same, but 32 thread blocks
    /// cannot pull them at HBM speed and 32 x S can.
    @Test func splitKVBeatsFlash2ForOneQuery() throws {
        let shape = S.shape(heads: 32, n: 1, nkv: 131_072, d: 128)
        let flash2 = try S.bind("flash2", shape, dtype: .fp16)
        let decoding = try S.bind("flash-decoding", shape, dtype: .fp16)
        let a = model().predict(flash2, try S.count(flash2)), b = model().predict(decoding, try S.count(decoding))
        #expect(abs(Double(a.dramReadBytes) / Double(b.dramReadBytes) - 1) < 0.01)
        #expect(b.seconds * 2 < a.seconds)
        #expect(a.kernels[0].bound == .latency)
    }

    /// The split-count sweep has an interior optimum: too few splits leave SMs idle, too
    /// many add partial outputs, query reloads and combine work.
    @Test func splitSweepHasAnOptimum() throws {
        let shape = S.shape(heads: 32, n: 1, nkv: 32_768, d: 128)
        var times: [(Int, Double)] = []
        for splits in [1, 2, 4, 8, 16, 32, 64, 128] {
            let bound = try S.bind("flash-decoding", shape, dtype: .fp16, params: ["splits": splits])
            times.append((splits, model().predict(bound, try S.count(bound)).seconds))
        }
        let best = try #require(times.min { $0.1 < $1.1 })
        #expect(best.0 > 1 && best.0 < 128, "\(times)")
        #expect(times.first!.1 > best.1 * 2)
        #expect(times.last!.1 > best.1)
    }

    /// The L2 model: FlashAttention-2's K and V are shared by the query blocks of a head
    /// when they run together; at 128K a head's K and V outgrow the L2 between passes.
    @Test func l2SharingAndCapacity() throws {
        for n in [16_384, 131_072] {
            let bound = try S.bind("flash2", S.shape(heads: 32, n: n, d: 128), dtype: .fp16)
            let stats = try S.count(bound)
            let prediction = model().predict(bound, stats)
            let kernel = try #require(prediction.kernels.first)
            // The fp32 o, s and p tiles (64 KiB each) need over 255 registers per thread:
            // 255 are allocated (the rest spills), 32,640 per block, two blocks per SM,
            // C = 264. Tr = n / 128 readers per K/V tile: 128 fit one window, but 127 / 264
            // of the heads have readers on both sides of a window's edge, and the spill
            // stores of a window (264 / 4,096 of the kernel's) pass the 50 MiB L2: those
            // heads' K and V are read again. 1,024 readers take ceil(1024 / 264) = 4
            // passes, and 264 blocks moving 64 MiB each between passes overflow the L2.
            #expect(kernel.blocksPerSM == 2)
            #expect(Double(stats.kernels[0].counters.spillBytes) * 264 / Double(stats.kernels[0].blocks) > 52_428_800)
            let q = 32 * n * 128 * 2
            let passes = n == 16_384 ? 1 + 127.0 / 264 : 4
            #expect(kernel.dramReadBytes == q + Int((2 * Double(q) * passes).rounded()))
        }
        // FlashAttention-2's own tile at d 128 (128 x 64) does not spill: the straddlers'
        // K and V stay in the L2, read once.
        let bound = try S.bind("flash2", S.shape(heads: 32, n: 16_384, d: 128), dtype: .fp16, params: ["Br": 128, "Bc": 64])
        let stats = try S.count(bound)
        #expect(stats.kernels[0].counters.spillBytes == 0)
        #expect(try #require(model().predict(bound, stats).kernels.first).dramReadBytes == 3 * 32 * 16_384 * 128 * 2)
    }

    /// A pipeliner buffers the loop's loads only: flash3 (Br = Bc = 128, d = 128, fp16,
    /// stages(2)) loads Q (32,768 B) once before its loop and K and V (32,768 B each) in
    /// it, so a block holds Q once and K and V twice: 32,768 + 2 x 65,536 = 163,840 B,
    /// where peak x stages would say 196,608. One block per SM either way (233,472 B).
    @Test func pipelinerBuffersTheLoopsTiles() throws {
        let bound = try S.bind("flash3", S.shape(heads: 2, n: 1024, d: 128), dtype: .fp16)
        let stats = try S.count(bound)
        let c = stats.kernels[0].counters
        #expect(c.peakSramBytes == 3 * 32_768)
        let single = model().singleBufferedSramBytes(counters: c, schedule: KernelSchedule(bound.program.kernels[0]), blocks: stats.kernels[0].blocks)
        #expect(single == 32_768)
        #expect(model().sramPerBlock(peakSramBytes: c.peakSramBytes, stages: 2, singleBufferedSramBytes: single) == 163_840)
        #expect(model().blocksPerSM(peakSramBytes: c.peakSramBytes, peakRegisterBytes: 0, threads: 256, stages: 2, singleBufferedSramBytes: single) == 1)
    }

    /// Against the calibration files in docs/data: the targets of the cost model.
    @Test func calibrationTargets() throws {
        let path = repositoryRoot.appendingPathComponent("docs/data/h100-sdpa.csv").path
        let rows = try CalibrationRow.parse(try String(contentsOfFile: path, encoding: .utf8), file: path)
        #expect(rows.count == 53)
        let records = Validator(hardware: S.h100).validate(rows)
        #expect(records.allSatisfy { $0.prediction != nil }, "\(records.filter { $0.prediction == nil }.map(\.row.name))")
        let dram = try #require(ErrorSummary(records.compactMap(\.dramReadError)))
        let time = try #require(ErrorSummary(records.compactMap(\.timeError)))
        #expect(dram.median <= 5, "DRAM read median \(dram.median)%")
        #expect(time.median <= 25, "time median \(time.median)%")
    }

    @Test func calibrationCSVErrors() {
        let header = "name,implementation,algorithm,batch,heads,kv_heads,q_len,kv_len,head_dim,causal,window,block_m,block_n,splits,dtype,backward,dram_read_bytes,dram_write_bytes,l2_read_bytes,l2_write_bytes,time_ms,kernels"
        for (text, expected) in [
            ("name,batch\nx,1\n", "t.csv: line 1: implementation: missing column"),
            (header + "\nr,p,flash2,1,2,2,8,8,64,0,0,,,,fp16,0,-5,0,0,0,0.1,k\n", "t.csv: line 2: column 17 'dram_read_bytes': expected a non-negative integer, found '-5'"),
            (header + "\nr,p,flash2,1,2,2,8,8,64,0,0,,,,fp16,0,5,0,0,0,fast,k\n", "t.csv: line 2: column 21 'time_ms': expected a positive number, found 'fast'"),
        ] {
            do {
                _ = try CalibrationRow.parse(text, file: "t.csv")
                Issue.record("no error for \(text)")
            } catch {
                #expect(error.description == expected)
            }
        }
    }
}
