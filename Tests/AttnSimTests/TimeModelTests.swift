import Foundation
import Testing
import AttnHardware
import AttnModel
import AttnNumerics
import AttnPipeline
import Calibration
@testable import CostModel
@testable import TileInterpreter
import TileLanguage
import Workload
import AttnTestSupport
import TileTestSupport

/// The time model's equations on hand-sized cases (docs/cost-model.md): rounds that wait on
/// their loads, one-round blocks, the L2 across a wave, launch overheads, the hardware facts
/// the model reads from the profile.
@Suite struct TimeModelTests {
    typealias S = TestSupport

    func model(_ hardware: HardwareProfile = S.h100, calibration: CalibrationSet = .standard) -> CostModel {
        CostModel(hardware: hardware, dtype: .fp16, calibration: calibration)
    }

    // MARK: Rounds (Little's law with one waiting iteration per SM)

    /// A loop that reads a block-table entry and then the 16 x 64 fp16 page it names (a
    /// dependent chain of 2 loads), 64 iterations in each of 264 blocks, no pipelining:
    ///
    ///     t_rounds = iterations / SMs x (2 x L2 latency + bytes per iteration x SMs / L2 bandwidth)
    ///              = 16,896 / 132 x (2 x 300 ns + 2,052 B x 132 / 7.2 TB/s) = 128 x 637.62 ns = 81.6 us
    ///
    /// With `stages(2)` the loads of the next iteration are in flight: no round term.
    @Test func roundsOfADependentLoop() throws {
        func kernel(_ stages: Int) throws -> KernelPrediction {
            let text = """
                input  T[batch, 64] i32 permutation
                input  K[batch * 64, 16, d]
                output O[batch, 16, d]
                kernel gather grid(b: batch) warps(4) stages(\(stages)):
                  acc = zeros(16, d)
                  for j in 0 ..< 64:
                    page = load T[b, j]
                    x = load K[page, :, :] -> reg
                    acc = acc + x
                  store O[b, :, :] = acc
                """
            let bound = try S.bindSource(text, S.shape(batch: 264, heads: 1, n: 1, d: 64), dtype: .fp16)
            return try #require(model().predict(bound, try S.count(bound)).kernels.first)
        }
        let waiting = try kernel(1)
        let perIteration = 16.0 * 64 * 2 + 4
        let expected = 16_896.0 / 132 * (2 * 300e-9 + perIteration * 132 / 7.2e12)
        #expect(abs(waiting.roundSeconds - expected) < 1e-15, "\(waiting.roundSeconds) vs \(expected)")
        #expect(abs(expected - 81.6e-6) < 0.05e-6)
        #expect(waiting.bound == .latency)
        #expect(try kernel(2).roundSeconds == 0)
    }

    /// The schedule read off the program: which tensors a loop streams and the longest
    /// chain of loads whose indices need an earlier load of the same iteration.
    @Test(arguments: [("paged-decode-triton", 2, 2), ("flash-decoding", 1, 2), ("flash2-triton", 1, 2), ("memory-efficient-cutlass", 1, 2)])
    func scheduleOfBuiltIns(_ name: String, _ chain: Int, _ reductions: Int) throws {
        let kernel = try #require(try Pipeline.load(name).kernels.first)
        let schedule = KernelSchedule(kernel)
        #expect(schedule.dependentLoads == chain, "\(name)")
        #expect(schedule.reductionsPerRound == reductions, "\(name)")
        #expect(!schedule.streamedTensors.isEmpty, "\(name)")
    }

    // MARK: One-round blocks

    /// A softmax of one 1,024-element row per block of 256 threads (8 warps), 3,168 rows:
    /// the row's fp32 exponentials need 4 registers a thread, 24 + 4 rounded up to 32, so 8
    /// blocks fit an SM; 3,168 / (132 x 8) = 3 waves, each the DRAM latency and two
    /// reductions across the warps (rowmax, rowsum), each a barrier wait (1.9 us in the
    /// standard set):
    ///
    ///     t_blocks = 3 x (600 ns + 2 x 1.9 us) = 13.2 us
    @Test func oneRoundBlocksWaitAtTheirBarriers() throws {
        let text = """
            input  X[N, 1024]
            output Y[N, 1024]
            kernel softmax grid(r: N) threads(256):
              s = load X[rows(r, 1), :] -> sram
              e = exp(s - rowmax(s))
              store Y[rows(r, 1), :] = e / rowsum(e)
            """
        let bound = try S.bindSource(text, S.shape(heads: 1, n: 3168, d: 64), dtype: .fp16)
        let kernel = try #require(model().predict(bound, try S.count(bound)).kernels.first)
        #expect(kernel.blocksPerSM == 8)
        let barrier = CalibrationSet.standard.barrierWaitSeconds
        #expect(barrier == 1.9e-6)
        #expect(abs(kernel.blockLatencySeconds - 13.2e-6) < 1e-15)
        #expect(kernel.bound == .latency)
        // Without the reductions (a copy) the blocks wait only for their loads.
        let copy = try S.bindSource(
            "input  X[N, 1024]\noutput Y[N, 1024]\nkernel copy grid(r: N) threads(256):\n  s = load X[rows(r, 1), :] -> reg\n  store Y[rows(r, 1), :] = s\n",
            S.shape(heads: 1, n: 3168, d: 64), dtype: .fp16)
        let plain = try #require(model().predict(copy, try S.count(copy)).kernels.first)
        #expect(abs(plain.blockLatencySeconds - 3168.0 / (132 * Double(min(plain.blocksPerSM, 24))) * 600e-9) < 1e-15)
    }

    // MARK: Elementwise kernels over a broadcast operand

    /// GQA's expansion as PyTorch runs it: 8 KV heads copied to 32 query heads, 4,096 rows
    /// of 128 fp16 values, 1,024 elements a block. The loads alias (kv head = head / 4), so
    /// the kernel is TensorIterator's legacy one-element-per-thread kernel: 32 x 4,096 x 128
    /// = 16,777,216 elements loaded, one in flight per resident thread (2,048 on each of
    /// the 132 SMs), each the 600 ns DRAM latency:
    ///
    ///     t_elements = 16,777,216 x 600 ns / (132 x 2,048) = 37.24 us
    ///
    /// A contiguous copy of the same bytes (no broadcast) is vectorized: no element term.
    @Test func elementwiseKernelOverABroadcastOperand() throws {
        func kernel(_ source: String) throws -> KernelPrediction {
            let text = """
                input  K[kv_heads, N, d]
                output Kx[heads, N, d]
                kernel expand grid(h: heads, j: cdiv(N, 8)):
                  k = load \(source)rows(j, 8), :] -> reg
                  store Kx[h, rows(j, 8), :] = k
                """
            let bound = try S.bindSource(text, S.shape(heads: 32, kvHeads: 8, n: 4096, d: 128), dtype: .fp16)
            return try #require(model().predict(bound, try S.count(bound)).kernels.first)
        }
        let expansion = try kernel("K[h / 4, ")
        let expected = 16_777_216.0 * 600e-9 / (132 * 2048)
        #expect(abs(expected - 37.24e-6) < 0.005e-6)
        #expect(abs(expansion.blockLatencySeconds - expected) < 1e-15, "\(expansion.blockLatencySeconds)")
        #expect(expansion.bound == .latency)
        // Each query head reading its own rows of a 32-head tensor: contiguous, vectorized.
        let textCopy = """
            input  K[heads, N, d]
            output Kx[heads, N, d]
            kernel copy grid(h: heads, j: cdiv(N, 8)):
              k = load K[h, rows(j, 8), :] -> reg
              store Kx[h, rows(j, 8), :] = k
            """
        let bound = try S.bindSource(textCopy, S.shape(heads: 32, kvHeads: 8, n: 4096, d: 128), dtype: .fp16)
        let copy = try #require(model().predict(bound, try S.count(bound)).kernels.first)
        #expect(copy.blockLatencySeconds < expected / 5)
        #expect(copy.bound == .memory)
    }

    // MARK: Rows spread over warps

    /// The Triton kernel with 4 warps: at 16 and 32 query rows (mma.sync, 1 and 2 row slabs
    /// of 16) the warps split each row's keys, so the iteration's two row reductions (rowmax,
    /// rowsum) cross warps; at 64 rows it runs the warp-group MMA, and FlashAttention-2's 4
    /// warps over 128 rows hold a row each: none. Each crossing costs the SM
    /// `cross_warp_reduction_cycles` per iteration beyond `iteration_cycles`.
    @Test(arguments: [("flash2-triton", 16, 2), ("flash2-triton", 32, 2), ("flash2-triton", 64, 0), ("flash2", 128, 0)])
    func rowReductionsAcrossWarps(_ name: String, _ rows: Int, _ crossing: Int) throws {
        let program = try Pipeline.load(name)
        let bound = try Pipeline(hardware: S.h100).bind(program, shape: S.shape(batch: 1, heads: 2, n: 1024, d: 64), dtype: .fp16, parameters: ["Br": .int(rows), "Bc": .int(64)])
        let stats = try S.count(bound)
        let counters = try #require(stats.kernels.first).counters
        let kernel = bound.program.kernels[0]
        #expect(model().crossWarpReductions(kernel: kernel, schedule: KernelSchedule(kernel), counters: counters, threads: bound.kernelThreads[0]) == crossing)
        // The crossings add cycles x iterations / (clock x busy SMs) to the compute term.
        var without = CalibrationSet.standard
        without.crossWarpReductionCycles = 0
        let with = try #require(model().predict(bound, stats).kernels.first)
        let plain = try #require(model(calibration: without).predict(bound, stats).kernels.first)
        let added = Double(counters.loopIterations * crossing) * CalibrationSet.standard.crossWarpReductionCycles / (1.98e9 * Double(min(with.blocks, 132)))
        #expect(abs(with.computeSeconds - plain.computeSeconds - added) < 1e-12)
    }

    /// cuBLAS's warp-specialized sm90 GEMM (the naive path's Q K^T): 12 warps, one
    /// producer warp group and two consumers over a 128-row tile, runs wgmma: its 128 rows
    /// are two 64-row slabs, whatever the producer does.
    @Test func warpSpecializedGEMMRunsTheWarpGroupMMA() throws {
        let program = try Pipeline.load("standard")
        let bound = try Pipeline(hardware: S.h100).bind(program, shape: S.shape(batch: 1, heads: 2, n: 1024, d: 128), dtype: .fp16)
        let stats = try S.count(bound)
        let index = try #require(bound.program.kernels.firstIndex { $0.name == "qk" })
        #expect(bound.kernelThreads[index] == 384)
        #expect(model().usesAsyncMMA(kernel: bound.program.kernels[index], counters: stats.kernels[index].counters, threads: 384))
    }

    // MARK: L2 reuse across a wave

    /// Blackwell's tcgen05.mma (B200: `mma_rows_per_cta` 128, no wgmma) runs a
    /// `mma(async)` GEMM from 64 rows (tcgen05.mma.cta_group::1 takes M = 64 or 128): its
    /// time is the tensor cores' alone, matmul FLOPs / (2.25 PFLOP/s x 0.75 sustained) =
    /// 2 x 1,024^3 / 1.6875e15 = 1.2726 us at M = 1,024, where the warp-level path would
    /// add shared-memory operand reads. A decode GEMM of 16 rows stays on the warp-level
    /// MMA, and a `mma(sync)` kernel never leaves it.
    @Test func blackwellRunsTheCTAWideMMA() throws {
        let b200 = try HardwareProfile.named("b200")
        let program = try ModelProgramLibrary.gemm()
        let pipeline = Pipeline(hardware: b200)
        let shape = ProblemShape(batch: 1, heads: 1, kvHeads: 1, queryLength: 1, keyLength: 1, headDim: 64)
        func uses(_ m: Int, _ bm: Int) throws -> (async: Bool, seconds: Double, flops: Int) {
            let parameters: [String: ScalarValue] = ["M": .int(m), "Kin": .int(1024), "Nout": .int(1024), "BM": .int(bm), "BN": .int(64)]
            let bound = try pipeline.bind(program, shape: shape, dtype: .fp16, parameters: parameters)
            let stats = try S.count(bound)
            let c = stats.kernels[0].counters
            let cost = model(b200)
            return (cost.usesAsyncMMA(kernel: bound.program.kernels[0], counters: c, threads: bound.kernelThreads[0]),
                    cost.matmulSeconds(kernel: bound.program.kernels[0], counters: c, threads: bound.kernelThreads[0], activeSMs: 148), c.flopsMatmul)
        }
        let full = try uses(1024, 128)
        #expect(full.async && full.flops == 2 * 1024 * 1024 * 1024)
        #expect(abs(full.seconds - 2.0 * 1024 * 1024 * 1024 / (2.25e15 * 0.75)) < 1e-12)
        #expect(try uses(1024, 64).async)
        #expect(try !uses(16, 16).async)
        let flash = try Pipeline.load("flash2")
        let bound = try pipeline.bind(flash, shape: S.shape(batch: 1, heads: 1, n: 1024, d: 64), dtype: .fp16)
        let stats = try S.count(bound)
        #expect(!model(b200).usesAsyncMMA(kernel: bound.program.kernels[0], counters: stats.kernels[0].counters, threads: bound.kernelThreads[0]))
    }

    /// gemm.tile at M = 1,024, Kin = 1,024, Nout = 65,536 with 128 x 128 tiles: 8 row
    /// blocks x 512 column blocks = 4,096 blocks; each block reads a 256 KiB panel of X and
    /// one of W and writes a 32 KiB tile. Its 4 stages of a 32 KiB X and W slice (128 x 64
    /// and 64 x 128 fp16) hold 128 KiB of the H100's 228 KiB: 1 block per SM, C = 132.
    /// - Grouped by 8 row blocks (the default G): the 8 readers of a W panel launch
    ///   together; the readers of an X panel are 8 launches apart and over a window of 132
    ///   blocks the distinct bytes are 132 x 256 KiB / 16 of X, / 8 of W and 132 x 32 KiB of
    ///   Y, 10 MiB: they stay in the 50 MiB L2. Each byte of X and W is read once.
    /// - G = 1 (row-major launch): the 8 readers of a W panel are 512 launches apart and
    ///   those 512 blocks move all 128 MiB of W: W is read 8 times; the 512 readers of an X
    ///   panel run in ceil(512 / 132) = 4 windows, and 132 blocks move 33 MiB of W and
    ///   4.1 MiB of Y between them, which fit in the L2: X is read once.
    @Test func gemmWeightsReadOncePerGroup() throws {
        let program = try ModelProgramLibrary.gemm()
        let pipeline = Pipeline(hardware: S.h100)
        let shape = ProblemShape(batch: 1, heads: 1, kvHeads: 1, queryLength: 1, keyLength: 1, headDim: 64)
        func kernel(_ group: Int) throws -> KernelPrediction {
            let parameters: [String: ScalarValue] = ["M": .int(1024), "Kin": .int(1024), "Nout": .int(65_536), "G": .int(group)]
            return try #require(try pipeline.evaluate(program, shape: shape, dtype: .fp16, parameters: parameters).prediction.kernels.first)
        }
        let x = 1024 * 1024 * 2, w = 1024 * 65_536 * 2
        let grouped = try kernel(8)
        #expect(grouped.blocksPerSM == 1 && grouped.blocks == 4096)
        #expect(grouped.dramReadBytes == x + w)
        let rowMajor = try kernel(1)
        #expect(rowMajor.dramReadBytes == x + 8 * w)
    }

    /// gemm.tile on the H100 (C = 132 blocks of 128 x 128 at once, 1 per SM; 50 MiB of L2)
    /// against its compulsory bytes, read by hand from the launch order:
    ///
    /// | M x Kin x Nout, G | a wave of 132 blocks moves | X read | DRAM reads |
    /// |---|---|---:|---:|
    /// | 1,024 x 2,048 x 8,192, 8 | 8 X panels of 512 KiB, 16.5 W panels of 512 KiB, 4.125 MiB of Y: 16.4 MiB | once | X + W = 36 MiB |
    /// | 1,024 x 16,384 x 8,192, 8 | 8 X panels of 4 MiB, 16.5 W panels of 4 MiB, Y: 102 MiB | 4 x | 4 X + W = 384 MiB |
    /// | 5,120 x 4,096 x 4,096, 40 | 40 X panels of 1 MiB (132 / 40 = 3.3 readers each), 3.3 W panels, Y: 47.4 MiB | once | X + W = 72 MiB |
    ///
    /// W's 8 (40) readers launch together (ii fastest): W is read once in every case. X's
    /// readers along the columns are G launches apart: its 64 (32) readers per panel fall
    /// in ceil(8 x 64 / 132) = 4 (ceil(40 x 32 / 132) = 10) windows, and survive between
    /// them only when a wave's distinct bytes fit the L2. The second case is a derived
    /// multiple of the compulsory reads (384 / 288 MiB = 4 / 3), as an FFN down projection's
    /// long Kin makes it; the third fits only when the 132 blocks are counted as 40 X panels
    /// read 3.3 times each (rounded to 3 readers it would be 44 panels, 51.4 MiB, and X
    /// read 10 times).
    @Test(arguments: [(1024, 2048, 8192, 8, 1), (1024, 16_384, 8192, 8, 4), (5120, 4096, 4096, 40, 1)])
    func gemmWaveAgainstTheL2(_ m: Int, _ kin: Int, _ nout: Int, _ group: Int, _ xReads: Int) throws {
        let program = try ModelProgramLibrary.gemm()
        let shape = ProblemShape(batch: 1, heads: 1, kvHeads: 1, queryLength: 1, keyLength: 1, headDim: 64)
        let parameters: [String: ScalarValue] = ["M": .int(m), "Kin": .int(kin), "Nout": .int(nout), "G": .int(group)]
        let kernel = try #require(try Pipeline(hardware: S.h100).evaluate(program, shape: shape, dtype: .fp16, parameters: parameters).prediction.kernels.first)
        #expect(kernel.blocksPerSM == 1)
        #expect(kernel.dramReadBytes == xReads * m * kin * 2 + kin * nout * 2)
    }

    /// Llama-2-7B's prefill GEMMs on the H100 (`attnsim model`), DRAM bytes against their
    /// compulsory bytes (weights + activations) at 1K, 2K and 4K tokens: within 1.25 x,
    /// except `ffn_down` (Kin = 11,008) from 2K, which sits at the floor of an
    /// output-stationary GEMM whose wave outgrows the L2 (docs/cost-model.md, "The floor"):
    /// a wave of C = 132 tiles of 256 x 128 reads at least
    /// D = e Kin x 2 sqrt(C BM BN) = 2 x 11,008 x 2 sqrt(132 x 32,768) = 91.6 MB > 50 MiB,
    /// again each of the M Nout / (C BM BN) waves, and writes its output:
    /// 1.9394 x 91.57 + 16.78 = 194.4 MB against 152.0 MB at 2K (1.28 x), 388.8 against
    /// 213.9 MB at 4K (1.82 x). The model is within 3% of it (a little of the output is
    /// still dirty in the L2 at the end, which the floor counts as written).
    @Test func llamaGEMMsAgainstCompulsoryBytes() throws {
        var predictor = try ModelPredictor(
            architecture: try Architecture(model: try ModelSpec.named("llama-2-7b")), hardware: S.h100, options: ModelRunOptions())
        for tokens in [1024, 2048, 4096] {
            let step = try predictor.step(.prefill, context: tokens)
            for op in step.operators where op.kernel == "gemm" && op.name != "lm_head" {
                let ratio = Double(op.dramBytes) / Double(op.weightBytes + op.activationBytes)
                guard op.name == "ffn_down", tokens >= 2048 else {
                    #expect(ratio <= 1.25, "\(op.name) at \(tokens): \(ratio)")
                    continue
                }
                let (m, kin, nout, e) = (Double(tokens), 11_008.0, 4096.0, 2.0)
                let waves = m * nout / (132 * 32_768)
                let floor = waves * e * kin * 2 * (132.0 * 32_768).squareRoot() + e * m * nout
                let compulsory = e * (m * kin + kin * nout + m * nout)
                #expect(abs(ratio / (floor / compulsory) - 1) <= 0.03, "ffn_down at \(tokens): \(ratio) against \(floor / compulsory)")
            }
        }
    }

    // MARK: Small kernels and tails

    /// A kernel that does almost nothing costs the launch overhead (1 us, bound
    /// `overhead`); a call adds the host time of its launch path: 60 us through a
    /// framework's dispatcher, 5 us for a kernel launched directly (the standard set).
    /// One block more than the SMs doubles the compute term's waves: f = 132 x 2 / 133.
    @Test func launchOverheadsAndPartialWaves() throws {
        let text = "input X[N, d]\noutput Y[N, d]\nkernel k grid(i: N):\n  x = load X[rows(i, 1), :] -> reg\n  store Y[rows(i, 1), :] = x * 2.0\n"
        let tiny = try S.bindSource(text, S.shape(heads: 1, n: 1, d: 16), dtype: .fp16)
        let stats = try S.count(tiny)
        let framework = model().predict(tiny, stats, launch: .framework)
        let direct = model().predict(tiny, stats, launch: .direct)
        let kernel = try #require(framework.kernels.first)
        #expect(kernel.bound == .overhead)
        let set = CalibrationSet.standard
        #expect(set.kernelOverheadSeconds == 1e-6 && set.callOverheadSeconds == 60e-6 && set.directLaunchOverheadSeconds == 5e-6)
        #expect(abs(kernel.seconds - (1e-6 + max(kernel.dramSeconds, kernel.l2Seconds, kernel.computeSeconds, kernel.blockLatencySeconds))) < 1e-15)
        #expect(abs(framework.seconds - kernel.seconds - 60e-6) < 1e-15)
        #expect(abs(direct.seconds - kernel.seconds - 5e-6) < 1e-15)
        // 133 blocks: f = 264 / 133 on the vector work.
        let wide = try S.bindSource(text, S.shape(heads: 1, n: 133, d: 16), dtype: .fp16)
        let wideKernel = try #require(model().predict(wide, try S.count(wide)).kernels.first)
        let work = Double(133 * 16) / S.h100.vectorFlopsPerSecond
        #expect(abs(wideKernel.computeSeconds - 264.0 / 133 * work) < 1e-18)
    }

    // MARK: Hardware facts

    /// The MI300X's 64-wide wavefronts: a 256-thread block is 4 wavefronts there and 8
    /// warps on an H100, so it keeps half as many loads in flight and spreads its matrix
    /// rows over 4 MFMA issuers (16-row instructions).
    @Test func wavefrontWidth() throws {
        let mi300x = try HardwareProfile.named("mi300x")
        #expect(mi300x.warpSize == 64 && S.h100.warpSize == 32)
        #expect(mi300x.warps(threads: 256) == 4 && S.h100.warps(threads: 256) == 8)
        #expect(model(mi300x).rowsPerWarp(matmulRows: 128, threads: 256) == 32)
        #expect(model().rowsPerWarp(matmulRows: 128, threads: 256) == 16)
        // A copy kernel of 256 threads: 4 blocks stream 4 x w x (bytes in flight / latency).
        let text = """
            input  X[batch * heads, N, d]
            output Y[batch * heads, N, d]
            kernel copy grid(bh: batch * heads) threads(256):
              for i in 0 ..< cdiv(N, 16):
                x = load X[bh, rows(i, 16), :] -> reg
                store Y[bh, rows(i, 16), :] = x
            """
        let program = try Checker.check(SourceFile(name: "copy.tile", text: text))
        for (hardware, warps) in [(mi300x, 4.0), (S.h100, 8.0)] {
            let bound = try BoundProgram(program: program, shape: S.shape(heads: 4, n: 4096, d: 64), dtype: .fp16, hardware: hardware, overrides: [:])
            let kernel = try #require(model(hardware).predict(bound, try S.count(bound)).kernels.first)
            let perWarp = CalibrationSet.standard.bytesInFlightPerWarp / hardware.dramLatencySeconds
            #expect(abs(kernel.dramSeconds * 4 * warps * perWarp - Double(kernel.dramReadBytes + kernel.dramWriteBytes)) < 1e-3, "\(hardware.id)")
        }
    }

    /// The streaming operators of a model step and the collectives are the cost model's:
    /// max(bytes / HBM ceiling, FLOPs / vector peak) + the launch.
    @Test func streamingOperator() {
        let t = model().streamingOperator(bytes: 3_000_000_000, flops: 1_000)
        #expect(abs(t.seconds - (1e-3 + 1e-6)) < 1e-12 && t.bound == .memory)
    }
}
