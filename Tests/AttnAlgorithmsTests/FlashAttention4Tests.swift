import AttnAlgorithms
import AttnHardware
import AttnNumerics
@testable import CostModel
import Testing
import TileLanguage
@testable import TileInterpreter
import AttnTestSupport
import TileTestSupport

/// `flash4`, a FlashAttention-4 style forward on Blackwell: S, P and O in tensor memory
/// (`-> tmem`). flash2's HBM traffic and work by hand, the tensor-memory traffic by hand,
/// its numerics against the float64 reference, the refusal on a GPU without tensor memory
/// and the capacity error (docs/algorithms.md, docs/io-laws.md, docs/tile-language.md).
@Suite struct FlashAttention4Tests {
    typealias S = TestSupport

    static let b200 = TestSupport.b200

    static func bind(_ shape: ProblemShape, dtype: DType, params: [String: Int] = [:]) throws -> BoundProgram {
        try S.bind("flash4", shape, dtype: dtype, params: params, hardware: b200)
    }

    /// Tensor memory changes no HBM byte and no FLOP: flash2's law at 128 x 128 tiles
    /// (reads BH N d e + 2 BH cdiv(N, 128) Nkv d e, writes BH N d e + 4 BH N).
    @Test(arguments: ZooIOLawTests.cases)
    func countsAreFlash2sLaw(_ c: ZooIOLawTests.Case) throws {
        let t = try S.count(try Self.bind(c.shape, dtype: c.dtype)).total
        let law = ZooIOLawTests.flash2(c, br: 128, bc: 128)
        #expect(t.hbmReadBytes == law.reads)
        #expect(t.hbmWriteBytes == law.writes)
        #expect(t.flopsMatmul == law.matmul)
        #expect(t.flopsOther == law.other)
        #expect(t.exps == law.exps)
    }

    /// Tensor memory's edges by hand. Causal, N = Nkv = 1,024, d = 64, BH = 2, Br = Bc =
    /// 128: 8 query tiles see 36 key blocks (T (T + 1) / 2), 72 visits over both heads, 16
    /// CTAs. Each visit reads S (128 x 128 x 4 = 65,536) and O (128 x 64 x 4 = 32,768)
    /// out of tensor memory and writes P (65,536) and the rescaled O (32,768) back; each
    /// CTA writes O's zeros once and reads O once for the epilogue: 72 x 98,304 + 16 x
    /// 32,768 = 7,602,176 each way. HBM as flash2's: 2,621,440 read, 270,336 written.
    @Test func tensorMemoryTrafficByHand() throws {
        let t = try S.count(try Self.bind(S.shape(heads: 2, n: 1024, d: 64), dtype: .fp16, params: ["causal": 1])).total
        #expect(t.tensorMemoryToRegisters == 7_602_176)
        #expect(t.registersToTensorMemory == 7_602_176)
        #expect(t.hbmReadBytes == 2_621_440)
        #expect(t.hbmWriteBytes == 270_336)
        #expect(t.registersToSram == 0)
    }

    /// Count mode's compression (summed loops over the causal and window bands) gives the
    /// replay's tensor-memory counts, block by block: window 200 over N = Nkv = 700, d 64.
    @Test(arguments: [["causal": 1], ["window": 200], [:]])
    func compressedCountsAreTheReplays(_ params: [String: Int]) throws {
        let bound = try Self.bind(S.shape(heads: 2, n: 700, d: 64), dtype: .bf16, params: params)
        let compressed = try S.count(bound).total, replayed = try S.count(bound, compress: false).total
        #expect(compressed == replayed)
        #expect(compressed.tensorMemoryToRegisters > 0)
    }

    /// Numeric mode against the float64 reference (S.numeric asserts each verdict): ragged
    /// shapes, GQA, causal and window, in each storage dtype. Tensor memory holds fp32, so
    /// the derived tolerances are flash3's (docs/tile-language.md): O stored once in the
    /// run's dtype, LSE once in fp32, reductions of d + Nkv = 364 terms: O's 4 (u + 364
    /// u_fp32), LSE's 4 x 365 u_fp32.
    @Test(arguments: [(DType.fp16, 1, 0), (.bf16, 0, 96), (.bf16, 1, 0), (.fp32, 0, 0)])
    func numericsMatchTheReference(_ dtype: DType, _ causal: Int, _ window: Int) throws {
        let bound = try Self.bind(S.shape(heads: 4, kvHeads: 2, n: 200, nkv: 300, d: 64), dtype: dtype, params: ["causal": causal, "window": window])
        let result = try S.numeric(bound)
        let u32 = 0x1p-24, u = dtype.unitRoundoff
        let tolerances = Dictionary(uniqueKeysWithValues: result.checks.map { ($0.tensor, $0.tolerance) })
        #expect(tolerances.count == 2)
        #expect(abs((tolerances["O"] ?? 0) - 4 * (u + 364 * u32)) < 1e-15)
        #expect(abs((tolerances["LSE"] ?? 0) - 4 * 365 * u32) < 1e-15)
    }

    /// A GPU without tensor memory (H100: tensor_memory_bytes_per_sm 0) refuses the first
    /// placement, O's accumulator, naming the buffer and the profile.
    @Test func refusedWithoutTensorMemory() throws {
        let bound = try S.bind("flash4", S.shape(heads: 2, n: 256, d: 64), dtype: .bf16, hardware: S.h100)
        let line = try S.line(of: "  o = zeros(rn, d) -> tmem", in: "flash4")
        do {
            _ = try S.count(bound)
            Issue.record("flash4 ran on h100-sxm")
        } catch let error as Diagnostic {
            #expect(error.location.line == line)
            #expect(error.message == "'o' is placed in tensor memory ('-> tmem'), which h100-sxm does not have (its tensor_memory_bytes_per_sm is 0)")
        }
    }

    /// Over the capacity: d = 64, Bc = 512 (shared memory 16 + 64 + 64 KiB, within the
    /// B200's 227 KiB). O holds 128 x 64 x 4 = 32,768 bytes; S = Q K^T would add 128 x 512
    /// x 4 = 262,144: 294,912 bytes over the 262,144 (128 lanes x 512 columns x 4 bytes).
    @Test func capacityErrorNamesTheBuffer() throws {
        let bound = try Self.bind(S.shape(heads: 1, n: 512, d: 64), dtype: .bf16, params: ["Bc": 512])
        let line = try S.line(of: "    s = q @ k^T -> tmem", in: "flash4")
        do {
            _ = try S.count(bound)
            Issue.record("S of 256 KiB fit beside O")
        } catch let error as Diagnostic {
            #expect(error.kind == .capacity(level: "tmem", neededBytes: 294_912, limitBytes: 262_144))
            #expect(error.location.line == line)
            #expect(error.message.contains("tensor memory (TMEM)"))
            #expect(error.notes == [
                "live: o 128x64 x 4 B in 128 lanes x 64 columns = 32,768 bytes", "allocating: s 128x512 x 4 B in 128 lanes x 512 columns = 262,144 bytes",
                TensorMemoryAllocation.granularityNote, "limit per thread block on b200: 262,144 bytes",
            ])
        }
    }

    /// tcgen05.alloc's granularity (PTX ISA 8.7, tcgen05.alloc: a power of two from 32 to
    /// 512 columns, all 128 lanes): rows, columns, element bytes, CTAs -> columns per CTA
    /// and bytes charged, by hand. 64 rows still take 128 lanes (128 x 64 x 4 = 32,768, not
    /// 16,384); 96 columns round to 128; 8 to the minimum 32; 256 rows are two column
    /// blocks of 128 lanes (2 x 128 = 256 columns); 16-bit elements pack two to a cell (128
    /// x 2 / 4 = 64); a pair holds half the rows in each CTA (256 rows: 128 per CTA, 2 x 128
    /// x 64 x 4 = 65,536; 128 rows: 64 per CTA, still 65,536); 200 x 300: 2 blocks x 300 =
    /// 600 columns, 1,024 (over any SM's 512: refused by the capacity check).
    @Test(arguments: [
        (128, 64, 4, 1, 64, 32_768), (64, 64, 4, 1, 64, 32_768), (128, 96, 4, 1, 128, 65_536), (128, 8, 4, 1, 32, 16_384),
        (256, 128, 4, 1, 256, 131_072), (128, 128, 2, 1, 64, 32_768), (256, 64, 4, 2, 64, 65_536), (128, 64, 4, 2, 64, 65_536),
        (200, 300, 4, 1, 1024, 524_288), (1, 1, 4, 1, 32, 16_384),
    ])
    func tensorMemoryIsAllocatedInPowerOfTwoColumns(_ rows: Int, _ cols: Int, _ elementBytes: Int, _ ctas: Int, _ columns: Int, _ bytes: Int) throws {
        let allocation = try TensorMemoryAllocation(rows: rows, cols: cols, elementBytes: elementBytes, ctas: ctas)
        #expect(allocation.columns == columns && allocation.bytes == bytes)
    }

    /// Tiles that fit by their raw bytes but not by their allocation, at S = Q K^T (d 64,
    /// N 512): Br 128, Bc 384: O 128 x 64 x 4 = 32,768 (64 columns) and S 128 x 384 x 4 =
    /// 196,608 raw, 229,376 in all, within 262,144; but S's 384 columns round to 512
    /// (262,144): 294,912 over. Br 64, Bc 448: O 64 x 64 x 4 = 16,384 and S 64 x 448 x 4 =
    /// 114,688 raw (131,072, half the SM), but both take all 128 lanes: O 128 x 64 x 4 =
    /// 32,768, S 128 x 512 x 4 = 262,144, 294,912 over. Bc 256 (256 columns, a power of two)
    /// fits at both: O + S = 128 x (64 + 256) x 4 = 163,840.
    @Test(arguments: [
        (["Bc": 384], "o 128x64 x 4 B in 128 lanes x 64 columns = 32,768 bytes", "s 128x384 x 4 B in 128 lanes x 512 columns = 262,144 bytes"),
        (["Br": 64, "Bc": 448], "o 64x64 x 4 B in 128 lanes x 64 columns = 32,768 bytes", "s 64x448 x 4 B in 128 lanes x 512 columns = 262,144 bytes"),
    ])
    func capacityCountsTheAllocationNotTheBytes(_ params: [String: Int], _ live: String, _ allocating: String) throws {
        let shape = S.shape(heads: 1, n: 512, d: 64)
        let line = try S.line(of: "    s = q @ k^T -> tmem", in: "flash4")
        do {
            _ = try S.count(try Self.bind(shape, dtype: .bf16, params: params))
            Issue.record("\(params) fit")
        } catch let error as Diagnostic {
            #expect(error.kind == .capacity(level: "tmem", neededBytes: 294_912, limitBytes: 262_144))
            #expect(error.location.line == line)
            #expect(error.message.contains("needs 294,912 bytes of tensor memory (TMEM)"))
            #expect(error.notes == ["live: " + live, "allocating: " + allocating, TensorMemoryAllocation.granularityNote, "limit per thread block on b200: 262,144 bytes"])
        }
        for br in [64, 128] {
            #expect(try S.count(try Self.bind(shape, dtype: .bf16, params: ["Br": br, "Bc": 256])).total.tensorMemoryToRegisters > 0)
        }
    }

    /// A load cannot go to tensor memory, and only a 2-D tile can be placed there: both
    /// refused before anything runs, at the statement.
    @Test(arguments: [
        ("    k = load K[0, rows(j, 64), :] -> tmem", "a load goes to 'sram' or 'reg', not 'tmem'"),
        ("    k = load K[0, rows(j, 64), :] -> sram\n    t = k * 2.0 -> reg", "expected 'tmem' after '->' at the end of an assignment"),
        ("    k = load K[0, rows(j, 64), :] -> sram\n    t = rowmax(k) -> tmem", "only a 2-D tile can be placed in tensor memory"),
        ("    k = (load K[0, rows(j, 64), :]) -> tmem", "a load cannot be placed in tensor memory"),
    ])
    func misplacedTensorMemoryIsAnError(_ body: String, _ message: String) throws {
        let text = """
            input K[1, 128, 64]
            output O[1, 64]
            kernel k grid(b: 1):
              for j in 0 ..< 2:
            \(body)
              store O[0, :] = zeros(64)
            """
        do {
            _ = try Checker.check(SourceFile(name: "test.tile", text: text))
            Issue.record("accepted: \(body)")
        } catch {
            #expect("\(error)".contains(message))
        }
    }

    /// On the B200 the kernel runs the CTA-wide tcgen05.mma (128 rows, mma(async)) as flash3
    /// does, with the same counts, and its compute term exceeds flash3's by the time of its
    /// tensor-memory moves on the CUDA cores' side (docs/cost-model.md, "Tensor memory").
    /// BH = 8, N = 4,096, d = 128, Br = Bc = 128: 256 CTAs each visit 32 key blocks, 8,192
    /// visits each reading S and O out (128 x (128 + 128) x 4 = 131,072 bytes) and writing P
    /// and O back (131,072); each CTA writes O's zeros and reads O once (65,536 each):
    /// 8,192 x 131,072 + 256 x 65,536 = 1,090,519,040 bytes each way, 2,181,038,080 in all,
    /// over 512 B x 1.86 GHz x 148 SMs = 140.94 TB/s: 15.475 us, times the imbalance
    /// f = 148 x 2 / 256 = 1.15625 of two waves: 17.89 us more than flash3's compute term.
    @Test func ctaWideMMAOnBlackwellPaysItsTensorMemoryMoves() throws {
        let shape = S.shape(heads: 8, n: 4096, d: 128)
        let fa4 = try Self.bind(shape, dtype: .bf16)
        let fa3 = try S.bind("flash3", shape, dtype: .bf16, hardware: Self.b200)
        let model = CostModel(hardware: Self.b200, dtype: .bf16)
        let stats4 = try S.count(fa4), stats3 = try S.count(fa3)
        let kernel4 = try #require(fa4.program.kernels.first)
        #expect(model.usesCTAWideMMA(kernel: kernel4, counters: try #require(stats4.kernels.first).counters, threads: 256))
        #expect(stats4.total.hbmReadBytes == stats3.total.hbmReadBytes)
        #expect(stats4.total.tensorMemoryToRegisters == 1_090_519_040)
        #expect(stats4.total.registersToTensorMemory == 1_090_519_040)

        let tmem = model.tensorMemorySeconds(counters: stats4.total)
        #expect(abs(tmem - 2_181_038_080 / (512 * 1.86e9 * 148)) <= 1e-12 * tmem)
        #expect(abs(tmem - 15.475e-6) < 0.001e-6)
        let k4 = try #require(model.predict(fa4, stats4).kernels.first), k3 = try #require(model.predict(fa3, stats3).kernels.first)
        #expect(abs(k4.computeSeconds - k3.computeSeconds - 1.15625 * tmem) <= 1e-9 * k4.computeSeconds)
        #expect(k4.seconds > k3.seconds)
    }

    /// tcgen05.mma's M is per instruction, not per CTA (PTX ISA 8.7, section 9.7.16.2.1,
    /// Table 39: `cta_group::1` M = 64 or 128, `cta_group::2` M = 128 or 256 over the pair):
    /// a product of more rows is issued as several instructions, each into its own columns
    /// of tensor memory (FA4 keeps two 128-row query tiles per CTA). So Br = 256 on one CTA
    /// (two M = 128 instructions per K step) and Br = 256 per CTA of a pair (512 rows: two
    /// `cta_group::2` instructions of 256) run as the CTA-wide MMA, at the tensor cores'
    /// time per FLOP, like Br = 128. BH 8, N = Nkv = 4,096, d 64, bf16, no mask: 4 N^2 d BH =
    /// 34,359,738,368 matmul FLOPs whatever the tiles, over 2.25 PFLOP/s x 0.75 (sustained)
    /// x 1.0 (eta) = 20.362 us. Tensor memory holds them: one CTA's S 256 x 128 x 4 + O 256 x
    /// 64 x 4 = 196,608 of 262,144 bytes; the pair's 393,216 of 524,288.
    @Test(arguments: [(128, 0, 128), (256, 0, 256), (128, 1, 256), (256, 1, 512)])
    func moreRowsThanOneMMAAreSeveralInstructions(_ br: Int, _ pair: Int, _ rows: Int) throws {
        let bound = try Self.bind(S.shape(heads: 8, n: 4096, d: 64), dtype: .bf16, params: ["Br": br, "cta_pair": pair])
        let stats = try S.count(bound)
        let counters = try #require(stats.kernels.first).counters
        #expect(counters.peakMatmulRows == rows)
        #expect(counters.flopsMatmul == 34_359_738_368)
        let base = CostModel(hardware: Self.b200, dtype: .bf16)
        let model = base.ctaPairModel(kernelIndex: 0, in: bound) ?? base
        let kernel = bound.program.kernels[0], threads = bound.kernelThreads[0]
        #expect(model.usesCTAWideMMA(kernel: kernel, counters: counters, threads: threads))
        #expect(model.crossWarpReductions(kernel: kernel, schedule: KernelSchedule(kernel), counters: counters, threads: threads) == 0)
        let seconds = model.matmulSeconds(kernel: kernel, counters: counters, threads: threads, activeSMs: model.hardware.smCount)
        #expect(abs(seconds - 34_359_738_368 / (2.25e15 * 0.75)) <= 1e-12 * seconds)
        #expect(abs(seconds - 20.362e-6) < 0.001e-6)
    }

    /// Without tensor memory (the H100) the term is 0 whatever the counters say, and a
    /// kernel that moves nothing through it pays nothing.
    @Test func noTensorMemoryNoTime() throws {
        var c = Counters(tensorCount: 1)
        c.tensorMemoryToRegisters = 1 << 20
        #expect(CostModel(hardware: S.h100, dtype: .bf16).tensorMemorySeconds(counters: c) == 0)
        #expect(CostModel(hardware: Self.b200, dtype: .bf16).tensorMemorySeconds(counters: Counters(tensorCount: 1)) == 0)
        let b200 = CostModel(hardware: Self.b200, dtype: .bf16).tensorMemorySeconds(counters: c)
        #expect(abs(b200 - 1_048_576 / (512 * 1.86e9 * 148)) <= 1e-12 * b200)
    }

    // MARK: The CTA pair (cta_pair = 1: cluster(2), tcgen05.mma.cta_group::2)

    /// K/V bytes of the pair against one CTA per block, by hand (e: element bytes):
    /// - non-causal, BH 2, N = Nkv = 1,000, d 64, bf16: Q and the writes are flash4's; K/V
    ///   reads 2 BH cdiv(N, 128) Nkv d e = 2 x 2 x 8 x 1,000 x 64 x 2 = 4,096,000 for one
    ///   CTA, 2 x 2 x cdiv(1,000, 256) = 4 x ... = 2,048,000 for the pair: half; Q 256,000.
    /// - causal, BH 2, N = Nkv = 1,024, d 64, fp16: one CTA visits 36 key blocks per head
    ///   (2 x 36 x 32,768 B of K and V); the pair's four 256-row tiles visit 2 + 4 + 6 + 8 =
    ///   20 (the upper CTA's diagonal block included, fully masked for it): 40 x 32,768 =
    ///   1,310,720 against 2,359,296, plus Q's 262,144. Tensor memory per visit 256 x (128 +
    ///   64) x 4 = 196,608 each way, per pair O once 256 x 64 x 4 = 65,536: 40 x 196,608 +
    ///   8 x 65,536 = 8,388,608 each way.
    @Test(arguments: [
        (1000, DType.bf16, 0, 256_000 + 4_096_000, 256_000 + 2_048_000, 0),
        (1024, .fp16, 1, 262_144 + 2_359_296, 262_144 + 1_310_720, 8_388_608),
    ])
    func ctaPairLoadsEachKVTileOncePerPair(_ n: Int, _ dtype: DType, _ causal: Int, _ single: Int, _ pair: Int, _ pairTensorMemory: Int) throws {
        let shape = S.shape(heads: 2, n: n, d: 64)
        let one = try S.count(try Self.bind(shape, dtype: dtype, params: ["causal": causal])).total
        let two = try S.count(try Self.bind(shape, dtype: dtype, params: ["causal": causal, "cta_pair": 1])).total
        #expect(one.hbmReadBytes == single)
        #expect(two.hbmReadBytes == pair)
        #expect(two.hbmWriteBytes == one.hbmWriteBytes)
        if pairTensorMemory > 0 {
            #expect(two.tensorMemoryToRegisters == pairTensorMemory && two.registersToTensorMemory == pairTensorMemory)
        }
    }

    /// Count mode's compression gives the replay's counts for the pair too.
    @Test(arguments: [["causal": 1], ["window": 200], [:]])
    func ctaPairCompressedCountsAreTheReplays(_ params: [String: Int]) throws {
        let bound = try Self.bind(S.shape(heads: 2, n: 700, d: 64), dtype: .bf16, params: params.merging(["cta_pair": 1]) { a, _ in a })
        #expect(try S.count(bound).total == (try S.count(bound, compress: false).total))
    }

    /// Numerics of the pair against the float64 reference (S.numeric asserts each verdict),
    /// ragged, GQA, causal and window: the same derived tolerances as one CTA (O's 4 (u +
    /// 364 u_fp32), LSE's 4 x 365 u_fp32): the pair changes which rows share a block, not
    /// any rounding.
    @Test(arguments: [(DType.fp16, 1, 0), (.bf16, 0, 96), (.fp32, 0, 0)])
    func ctaPairNumericsMatchTheReference(_ dtype: DType, _ causal: Int, _ window: Int) throws {
        let bound = try Self.bind(
            S.shape(heads: 4, kvHeads: 2, n: 200, nkv: 300, d: 64), dtype: dtype, params: ["causal": causal, "window": window, "cta_pair": 1])
        let result = try S.numeric(bound)
        let u32 = 0x1p-24, u = dtype.unitRoundoff
        let tolerances = Dictionary(uniqueKeysWithValues: result.checks.map { ($0.tensor, $0.tolerance) })
        #expect(abs((tolerances["O"] ?? 0) - 4 * (u + 364 * u32)) < 1e-15)
        #expect(abs((tolerances["LSE"] ?? 0) - 4 * 365 * u32) < 1e-15)
    }

    /// The pair's time sees the B200 as 74 TPCs of two SMs. BH 1, N = Nkv = 148 x 256 =
    /// 37,888, d 128, bf16: 148 pair blocks, each holding Q 256 x 128 x 2 + K and V 128 x 128
    /// x 2 = 131,072 bytes of shared memory, 262,144 with 2 stages: one block per TPC
    /// (466,944 / 262,144), 74 at once, 2 waves (one wave if each pair took one SM of 148).
    /// The view keeps the GPU's rates: tensor memory 256 lanes x 4 B x 74 = 128 x 4 x 148.
    @Test func ctaPairRunsOnTPCs() throws {
        let bound = try Self.bind(S.shape(heads: 1, n: 37_888, d: 128), dtype: .bf16, params: ["cta_pair": 1])
        #expect(bound.kernelClusters == [2] && bound.kernelThreads == [512])
        let stats = try S.count(bound)
        #expect(stats.kernels[0].blocks == 148 && stats.total.peakSramBytes == 131_072)
        let model = CostModel(hardware: Self.b200, dtype: .bf16)
        let kernel = try #require(model.predict(bound, stats).kernels.first)
        #expect(kernel.blocksPerSM == 1 && kernel.waves == 2)
        let view = Self.b200.ctaPairView(2)
        #expect(view.smCount == 74 && view.sramBytesPerBlock == 2 * Self.b200.sramBytesPerBlock)
        #expect(view.tensorMemoryBytesPerSM == 524_288 && view.mmaCTAGroupSize == 1)
        #expect(view.sramBytesPerSecond == Self.b200.sramBytesPerSecond)
        #expect(view.specialFunctionOpsPerSecond == Self.b200.specialFunctionOpsPerSecond)
        let pairModel = CostModel(hardware: view, dtype: .bf16)
        #expect(pairModel.tensorMemoryBytesPerClockPerSM == 1024 && pairModel.tensorMemoryBytesPerSecond == model.tensorMemoryBytesPerSecond)
    }

    /// Tensor memory limits how many blocks an SM (a TPC, for a pair) runs at once. d 256,
    /// Br 64, Bc 64, a CTA pair, bf16: the pair's 128 rows hold O 128 x 256 fp32 (256
    /// columns of both CTAs' 128 lanes: 2 x 128 x 256 x 4 = 262,144 bytes) and S 128 x 64
    /// fp32 (64 columns: 65,536); P (bf16, 32 columns) takes S's place once S is read out:
    /// peak 327,680 of the pair's 524,288, so one block per TPC, though its 131,072 bytes
    /// of shared memory and its registers would let two share it.
    @Test func tensorMemoryLimitsOccupancy() throws {
        let bound = try Self.bind(S.shape(heads: 8, n: 8192, d: 256), dtype: .bf16, params: ["Bc": 64, "Br": 64, "cta_pair": 1])
        let stats = try S.count(bound)
        #expect(stats.total.peakTensorMemoryBytes == 327_680 && stats.total.peakSramBytes == 131_072)
        let kernel = try #require(CostModel(hardware: Self.b200, dtype: .bf16).predict(bound, stats).kernels.first)
        #expect(kernel.blocksPerSM == 1)
        let pair = CostModel(hardware: Self.b200.ctaPairView(2), dtype: .bf16)
        let c = stats.kernels[0].counters
        #expect(pair.blocksPerSM(peakSramBytes: c.peakSramBytes, peakRegisterBytes: c.peakRegisterBytes, threads: bound.kernelThreads[0]) == 2)
        // floor(tensor memory per SM / peak), with nothing else limiting (B200: 262,144 per SM).
        let one = CostModel(hardware: Self.b200, dtype: .bf16)
        for (peak, blocks) in [(32_768, 8), (65_536, 4), (131_072, 2), (131_073, 1), (262_144, 1)] {
            #expect(one.blocksPerSM(peakSramBytes: 0, peakRegisterBytes: 0, threads: 128, peakTensorMemoryBytes: peak) == blocks, "\(peak)")
        }
    }

    /// A pair holds two SMs' tensor memory (524,288 bytes). d 128, Bc 256: S 256 x 256 x 4 +
    /// O 256 x 128 x 4 = 393,216 fits the pair, where one CTA of the same 256 rows
    /// (Br = 256, no pair) is over one SM's 262,144. Bc 512: S 524,288 + O 131,072 =
    /// 655,360 is over the pair's too, and the error says whose limit it is.
    @Test func ctaPairHoldsTwoSMsOfTensorMemory() throws {
        let shape = S.shape(heads: 1, n: 512, d: 128)
        #expect(try S.count(try Self.bind(shape, dtype: .bf16, params: ["Bc": 256, "cta_pair": 1])).total.tensorMemoryToRegisters > 0)
        let line = try S.line(of: "    s = q @ k^T -> tmem", in: "flash4")
        for (params, needed, limit, owner) in [
            (["Bc": 256, "Br": 256], 393_216, 262_144, "thread block"), (["Bc": 512, "cta_pair": 1], 655_360, 524_288, "CTA pair (two SMs)"),
        ] {
            do {
                _ = try S.count(try Self.bind(shape, dtype: .bf16, params: params))
                Issue.record("\(params) fit")
            } catch let error as Diagnostic {
                #expect(error.kind == .capacity(level: "tmem", neededBytes: needed, limitBytes: limit))
                #expect(error.location.line == line)
                #expect(error.notes.last == "limit per \(owner) on b200: \(NumberFormat.bytes(limit))")
            }
        }
    }

    /// A pair's MMA computes M = 128 or 256 rows (64 or 128 per CTA; PTX ISA 8.7, section
    /// 9.7.16.2.1, Table 39): flash4 with `cta_pair=1` and Br = 32 has 64-row blocks, an
    /// error at S = Q K^T's `@` (file:line:column and a caret), at N = 512 and at N = 200 (blocks
    /// of 64, 64, 64 and 8 rows: the full ones are refused). M is the tile the program
    /// chose, not the rows left at the tensor's end: Br = 64 (128 rows) at N = 200 has a
    /// last block of 72 rows and at N = 50 a single block of 50, both zero-filled to 128
    /// by the TMA, and run (4 N^2 d matmul FLOPs). One CTA of 32 rows is no pair: not
    /// refused (its MMA is the warp-level one).
    @Test(arguments: [(32, 1, 512, true), (32, 1, 200, true), (64, 1, 200, false), (64, 1, 50, false), (32, 0, 512, false)])
    func pairMMABelowItsSmallestMIsAnError(_ br: Int, _ pair: Int, _ n: Int, _ refused: Bool) throws {
        let bound = try Self.bind(S.shape(heads: 1, n: n, d: 64), dtype: .bf16, params: ["Br": br, "cta_pair": pair])
        guard refused else {
            #expect(try S.count(bound).total.flopsMatmul == 4 * n * n * 64)
            return
        }
        let text = "    s = q @ k^T -> tmem"
        let line = try S.line(of: text, in: "flash4")
        do {
            _ = try S.count(bound)
            Issue.record("a pair of \(2 * br) rows ran")
        } catch let error as Diagnostic {
            #expect(error.message == "kernel 'fwd' runs as a CTA pair (cluster(2)), whose tcgen05.mma.cta_group::2 computes 128 or 256 rows; this product has 64")
            #expect(error.location.line == line && error.location.column == 11)
            #expect("\(error)".contains("flash4.tile:\(line):11") && "\(error)".contains("^"))
            #expect(error.notes.count == 2 && error.notes[0].contains("M = 128 or 256 over the pair, 64 or 128 rows per CTA"))
        }
    }

    /// Misuse of `cluster(n)`, each an error at the attribute's expression (file:line:column,
    /// the line and a caret): a count other than 1 or 2, a pair without the CTA-wide MMA,
    /// a pair on a GPU without one (the H100), `cluster` given twice.
    @Test(arguments: [
        ("cluster(3) mma(async)", "b200", "kernel 'k' has cluster(3); expected 1 or 2 (a CTA pair, tcgen05.mma.cta_group::2)", 38),
        ("cluster(2)", "b200", "kernel 'k' runs as a CTA pair (cluster(2)) without mma(async); the pair is the CTA-wide tcgen05.mma's (cta_group::2)", 38),
        ("cluster(2) mma(async)", "h100-sxm", "kernel 'k' runs as a CTA pair (cluster(2)), which h100-sxm cannot (its mma_cta_group_size is 1)", 38),
        ("cluster(2) cluster(2)", "b200", "'cluster' is given twice for kernel 'k'", 41),
    ])
    func clusterMisuseIsAnError(_ attributes: String, _ hardware: String, _ message: String, _ column: Int) throws {
        let text = """
            output O[1, 64]
            kernel k grid(b: 1) warps(4) \(attributes):
              store O[0, :] = zeros(64)
            """
        do {
            let program = try Checker.check(SourceFile(name: "test.tile", text: text))
            _ = try BoundProgram(program: program, shape: S.shape(heads: 1, n: 128, d: 64), dtype: .bf16, hardware: try HardwareProfile.named(hardware), overrides: [:])
            Issue.record("accepted: \(attributes)")
        } catch let error as BindingError {
            guard case .program(let diagnostic) = error else { Issue.record("\(error)"); return }
            #expect(diagnostic.message == message)
            #expect(diagnostic.location.line == 2 && diagnostic.location.column == column)
            #expect("\(diagnostic)".contains("test.tile:2:\(column)") && "\(diagnostic)".contains("^"))
        } catch let diagnostic as Diagnostic {
            #expect(diagnostic.message == message)
            #expect(diagnostic.location.line == 2 && diagnostic.location.column == column)
            #expect("\(diagnostic)".contains("test.tile:2:\(column)") && "\(diagnostic)".contains("^"))
        }
    }
}
