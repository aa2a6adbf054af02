import Foundation
import Testing
import AttnAlgorithms
@testable import AttnNumerics
import TileLanguage
@testable import TileInterpreter
import AttnTestSupport
import TileTestSupport

/// The parallel numeric replay and the blocked kernels give exactly what the sequential,
/// scalar ones give: same counters, bit-identical outputs, same first error.
@Suite struct ParallelReplayTests {
    typealias S = TestSupport

    static func run(_ bound: BoundProgram, threads: Int, seed: UInt64 = 5) throws -> RunResult {
        var options = RunOptions(mode: .numeric, seed: seed)
        options.threads = threads
        return try Simulator.run(bound, options: options)
    }

    /// Outputs compared by bit pattern (NaN and signed zeros included).
    static func bits(_ result: RunResult) -> [String: [UInt32]] {
        result.tensors.mapValues { $0.values.map(\.bitPattern) }
    }

    /// Ragged shapes (N, Nkv not multiples of the blocks, d not a multiple of 4, GQA) with
    /// causal, sliding-window and block-sparse masks, on one, two and five threads.
    @Test(arguments: [
        ("flash2", ["Br": 32, "Bc": 48]),
        ("flash2", ["Br": 32, "Bc": 48, "causal": 1]),
        ("flash2", ["Br": 16, "Bc": 16, "window": 37]),
        ("flash2", ["Br": 16, "Bc": 16, "block_pattern": 1, "block_local": 2, "block_stride": 3]),
        ("flash2", ["Br": 16, "Bc": 16, "block_pattern": 2, "block_density": 400, "block_seed": 3]),
        ("standard", ["Bm": 32, "Bn": 48, "Bo": 16, "Bk": 32, "Be": 40]),
    ])
    func sameResultsOnAnyThreadCount(_ algorithm: String, _ params: [String: Int]) throws {
        let shape = S.shape(heads: 4, kvHeads: 2, n: 67, nkv: 90, d: 10)
        let bound = try S.bind(algorithm, shape, dtype: .fp32, params: params)
        let sequential = try Self.run(bound, threads: 1)
        #expect(!sequential.checks.isEmpty)
        for check in sequential.checks { #expect(check.passed, "\(check.summary)") }
        for threads in [2, 5] {
            let parallel = try Self.run(bound, threads: threads)
            #expect(parallel.stats == sequential.stats, "\(algorithm) \(params) on \(threads) threads")
            #expect(Self.bits(parallel) == Self.bits(sequential), "\(algorithm) \(params) on \(threads) threads")
            #expect(parallel.checks == sequential.checks)
        }
    }

    /// Algorithm 1 of FlashAttention reads back the O, l and m it stored: its kernel must
    /// not run blocks concurrently; flash2 stores only O and LSE, which it never loads.
    @Test func kernelsThatReadTheirOwnStoresStaySequential() throws {
        let flash1 = try AlgorithmLibrary.program("flash1")
        #expect(flash1.kernels.map { ParallelReplay.isSafe(KernelPlan($0)) } == [false])
        let flash2 = try AlgorithmLibrary.program("flash2")
        #expect(flash2.kernels.map { ParallelReplay.isSafe(KernelPlan($0)) } == [true])
        // And flash1 still gives identical results when asked for threads.
        let bound = try S.bind("flash1", S.shape(heads: 2, n: 77, nkv: 130, d: 12), params: ["M": 1024])
        let sequential = try Self.run(bound, threads: 1)
        let parallel = try Self.run(bound, threads: 4)
        #expect(parallel.stats == sequential.stats)
        #expect(Self.bits(parallel) == Self.bits(sequential))
    }

    /// A grid whose blocks 3 to 7 read past the end of X: every thread count reports
    /// block 3's error, the first in block order, as the sequential replay does.
    @Test func firstErrorInBlockOrder() throws {
        let program = """
            input  X[N, d]
            output Y[N, d]
            kernel k grid(i: 8):
              x = load X[rows(i * i, 4), :] -> sram
              store Y[rows(i, 4), :] = x * 2
            """
        // N = 32: block i reads rows 4 i^2 ..< 4 i^2 + 4, inside X for 4 i^2 < 32, i.e. i <= 2;
        // block 3 asks for row block 9, which starts at row 36.
        let bound = try S.bindSource(program, S.shape(heads: 1, n: 32, d: 4))
        var messages: [String] = []
        for threads in [1, 3, 8] {
            do {
                _ = try Self.run(bound, threads: threads)
                Issue.record("block 3 reads past X, so the run must fail")
            } catch let diagnostic as Diagnostic {
                messages.append(diagnostic.message)
            }
        }
        #expect(messages.count == 3 && Set(messages).count == 1, "\(messages)")
        #expect(messages.first?.contains("block 9 of size 4 starts at 36") == true, "\(messages)")
    }

    /// The blocked tile matmul against a scalar i-p-j loop: identical floats on shapes
    /// with four-row blocks, leftover rows and leftover columns.
    @Test(arguments: [(5, 9, 19), (8, 64, 128), (7, 1, 9), (128, 128, 64), (4, 3, 7)])
    func blockedMatmulMatchesScalar(_ m: Int, _ k: Int, _ n: Int) {
        var generator = SeededGenerator(seed: UInt64(m * 7919 + k * 31 + n))
        let a = (0..<(m * k)).map { _ in Float(generator.nextNormal()) }
        let b = (0..<(k * n)).map { _ in Float(generator.nextNormal()) }
        var expected = [Float](repeating: 0, count: m * n)
        for i in 0..<m {
            for p in 0..<k {
                for j in 0..<n { expected[i * n + j] = expected[i * n + j] + a[i * k + p] * b[p * n + j] }
            }
        }
        let got = TileMath.matmul(a, b, m: m, k: k, n: n)
        #expect(got.map(\.bitPattern) == expected.map(\.bitPattern))
    }

    /// Row sums and maxima four rows at a time against a left-to-right loop per row:
    /// identical floats (each row's order is kept), on 4 + 2 rows.
    @Test func reduceRowsKeepsEachRowsOrder() {
        var generator = SeededGenerator(seed: 9)
        let x = (0..<(6 * 37)).map { _ in Float(generator.nextNormal()) * 1000 }
        for max in [false, true] {
            var expected: [UInt32] = []
            for r in 0..<6 {
                var acc: Float = x[r * 37]
                for c in 1..<37 { acc = max ? Swift.max(acc, x[r * 37 + c]) : acc + x[r * 37 + c] }
                expected.append(acc.bitPattern)
            }
            let got: [Float] = TileMath.reduceRows(x, rows: 6, cols: 37, max: max)
            #expect(got.map { $0.bitPattern } == expected)
        }
        // A 2 x 2 by hand: sums 3 and -1, maxima 2 and 1.
        #expect(TileMath.reduceRows([1, 2, 1, -2], rows: 2, cols: 2, max: false) == [3, -1])
        #expect(TileMath.reduceRows([1, 2, 1, -2], rows: 2, cols: 2, max: true) == [2, 1])
    }

    /// Gather and scatter by runs against element-by-element offsets, on a slice whose
    /// last kept dimension is contiguous and one whose is not (a column of a 3-D tensor).
    @Test func gatherAndScatterByRuns() {
        var tensor = HostTensor(shape: [3, 5, 4], dtype: .fp32)
        for i in tensor.values.indices { tensor.values[i] = Float(i) }
        // T[1, 1..<4, :]: rows 1, 2, 3 of head 1, all 4 columns: offsets 24 ..< 36.
        let rows = TensorSlice(starts: [1, 1, 0], lengths: [1, 3, 4], kept: [1, 2])
        #expect(TileMath.gather(tensor, rows) == (24..<36).map(Float.init))
        // T[0..<3, 2, 3]: element (h, 2, 3) at 20 h + 11.
        let column = TensorSlice(starts: [0, 2, 3], lengths: [3, 1, 1], kept: [0])
        #expect(TileMath.gather(tensor, column) == [11, 31, 51])
        var written = [Bool](repeating: false, count: tensor.count)
        TileMath.scatter([-1, -2, -3], into: &tensor, column, dtype: .bf16, written: &written)
        #expect([11, 31, 51].map { tensor.values[$0] } == [-1, -2, -3])
        #expect(written.indices.filter { written[$0] } == [11, 31, 51])
        TileMath.scatter((0..<12).map { Float($0) + 0.001 }, into: &tensor, rows, dtype: .fp32, written: &written)
        #expect(tensor.values[24] == 0.001 && tensor.values[35] == 11.001)
        // The column's element 31 lies in the rows' 24 ..< 36: 3 + 12 - 1 elements written.
        #expect(written.filter { $0 }.count == 14)
    }

    /// The pieces of a large random tensor, filled in parallel, hold the generator's
    /// sequence of normal pairs in order (an odd last element the first of its pair), and
    /// the generator ends where a sequential fill leaves it.
    @Test func parallelRandomFillMatchesSequence() {
        var generator = SeededGenerator(seed: 11)
        let tensor = HostTensor(randomNormal: [3, 30_001], dtype: .fp32, generator: &generator)
        var sequential = SeededGenerator(seed: 11)
        let pairs = (0..<45_002).map { _ in sequential.nextNormalPair() }
        let expected = pairs.flatMap { [Float($0[0]), Float($0[1])] }.prefix(90_003)
        #expect(tensor.values.map(\.bitPattern) == expected.map(\.bitPattern))
        #expect(generator.next() == sequential.next())
    }

    /// The reference's two-lane exponential against libm's: within 4 units in the last
    /// place on [-708, 0] (the reference takes exp of scores minus their maximum) and on
    /// [0, 709], exact at 0, libm's own value below -708, 0 at -inf and below -746.
    @Test func referenceExponentialMatchesLibm() {
        var generator = SeededGenerator(seed: 2)
        var worst = 0.0
        VectorMath.withPowers { powers in
            for _ in 0..<20_000 {
                let x = -708 * generator.nextUnit(), y = 709 * generator.nextUnit()
                let got = VectorMath.exp(SIMD2(x, y), powers: powers)
                worst = max(worst, abs(got[0] - exp(x)) / exp(x).ulp, abs(got[1] - exp(y)) / exp(y).ulp)
            }
            #expect(VectorMath.exp(SIMD2(0, 0), powers: powers) == SIMD2(1, 1))
            #expect(VectorMath.exp(SIMD2(-.infinity, -720), powers: powers) == SIMD2(0, exp(-720)))
            #expect(VectorMath.exp(SIMD2(-747, 710), powers: powers) == SIMD2(0, .infinity))
            #expect(VectorMath.exp(SIMD2(.nan, 1), powers: powers)[0].isNaN)
        }
        #expect(worst <= 4, "worst error \(worst) ulp")
    }

    /// The replay's fp32 exponential against float64 libm rounded to fp32: within one
    /// unit in the last place, and exact for most values (measured: 89.8% of these
    /// draws; fp32 Horner steps round, where libm's float64 path does not); subnormal results as libm's `expf`,
    /// overflow to inf, 0 at -inf and below -104.
    @Test func replayExponentialMatchesLibm() {
        var generator = SeededGenerator(seed: 5)
        var worst: Float = 0
        var exact = 0
        let draws = 20_000
        for _ in 0..<(draws / 4) {
            var x = VectorMath.F4()
            for lane in 0..<4 { x[lane] = Float(-87 + 175 * generator.nextUnit()) }
            let got = VectorMath.exp(x)
            for lane in 0..<4 {
                let want = Float(exp(Double(x[lane])))
                if got[lane] == want { exact += 1 }
                worst = max(worst, abs(got[lane] - want) / want.ulp)
            }
        }
        #expect(worst <= 1, "worst error \(worst) ulp")
        #expect(exact * 100 >= draws * 85, "\(exact) of \(draws) exact")
        let edges = VectorMath.exp(VectorMath.F4(-.infinity, -100, 89, 0))
        #expect(edges == VectorMath.F4(0, expf(-100), .infinity, 1))
        let inner = VectorMath.exp(VectorMath.F4(-105, -88, 88, 1))
        #expect(inner[0] == 0 && inner[1] == expf(-88))
        #expect(abs(inner[2] - expf(88)) <= expf(88).ulp && abs(inner[3] - expf(1)) <= expf(1).ulp)
    }

    /// The Box-Muller transform's logarithm, sine and cosine against libm's: log within 4 units
    /// in the last place over the uniforms the generator draws (and near 1, where it is
    /// smallest); sin and cos(2 pi u) within 2 units of libm's cos or sin of the same exactly
    /// reduced argument, and within 1e-15 of libm's of 2 * .pi * u (which itself moves
    /// by up to 4.4e-16 from rounding 2 pi u); libm's values for zero, subnormals and values outside [0, 1].
    @Test func boxMullerFunctionsMatchLibm() {
        var generator = SeededGenerator(seed: 8)
        var worstLog = 0.0, worstCos = 0.0, worstCosAbsolute = 0.0
        for _ in 0..<20_000 {
            let u = max(generator.nextUnit(), 0x1p-53), v = 1 + (generator.nextUnit() - 0.5) * 1e-6
            let logs = VectorMath.log(SIMD2(u, v))
            for (x, got) in [(u, logs[0]), (v, logs[1])] where x != 1 { worstLog = max(worstLog, abs(got - log(x)) / log(x).ulp) }
            let w = generator.nextUnit()
            let (sines, cosines) = VectorMath.sinCosTwoPi(SIMD2(w, 1 - w))
            for (lane, x) in [w, 1 - w].enumerated() {
                worstCosAbsolute = max(worstCosAbsolute, abs(cosines[lane] - cos(2 * Double.pi * x)), abs(sines[lane] - sin(2 * Double.pi * x)))
                // libm on the same exactly reduced argument t = 2 pi (x - q/4).
                let q = (4 * x).rounded(), t = (x - q / 4) * 2 * Double.pi
                let wantCos = [cos(t), -sin(t), -cos(t), sin(t)][Int(q) % 4]
                let wantSin = [sin(t), cos(t), -sin(t), -cos(t)][Int(q) % 4]
                worstCos = max(worstCos, abs(cosines[lane] - wantCos) / max(abs(wantCos), 0x1p-60).ulp,
                               abs(sines[lane] - wantSin) / max(abs(wantSin), 0x1p-60).ulp)
            }
        }
        #expect(worstLog <= 4, "log: worst error \(worstLog) ulp")
        #expect(worstCos <= 2, "sin, cos: worst error \(worstCos) ulp")
        #expect(worstCosAbsolute <= 1e-15, "cos: worst absolute error \(worstCosAbsolute)")
        #expect(VectorMath.log(SIMD2(1, 0.5)) == SIMD2(0, -log(2.0)))
        #expect(VectorMath.log(SIMD2(0, 0x1p-1060)) == SIMD2(-.infinity, log(0x1p-1060)))
        #expect(VectorMath.sinCosTwoPi(SIMD2(0, 0.5)).cos == SIMD2(1, -1))
        #expect(VectorMath.sinCosTwoPi(SIMD2(1.5, -0.25)).cos == SIMD2(cos(3 * Double.pi), cos(-0.5 * Double.pi)))
        #expect(VectorMath.sinCosTwoPi(SIMD2(0.25, 1.5)).sin == SIMD2(1, sin(3 * Double.pi)))
    }

    /// Random inputs drawn through `VectorMath` are the fp32 values libm's Box-Muller
    /// gives: a difference of an ulp or two in float64 would move an fp32 value only
    /// within 2^-27 of a rounding boundary, and none of 200,000 draws does. One pair at a
    /// time and two at a time agree bit for bit.
    @Test func randomNormalsMatchLibmInFP32() {
        var generator = SeededGenerator(seed: 12), libm = SeededGenerator(seed: 12), single = SeededGenerator(seed: 12)
        var differing = 0, unlike = 0
        for _ in 0..<50_000 {
            let (cosines, sines) = generator.nextNormalPairs()
            for lane in 0..<2 {
                let u1 = max(libm.nextUnit(), 0x1p-53), u2 = libm.nextUnit()
                let radius = (-2 * log(u1)).squareRoot()
                if Float(cosines[lane]) != Float(radius * cos(2 * Double.pi * u2)) { differing += 1 }
                if Float(sines[lane]) != Float(radius * sin(2 * Double.pi * u2)) { differing += 1 }
                if single.nextNormalPair() != SIMD2(cosines[lane], sines[lane]) { unlike += 1 }
            }
        }
        #expect(differing == 0)
        #expect(unlike == 0)
    }

    /// The blocked float64 reference against a direct softmax(scale Q K^T) V written
    /// here, on ragged shapes with masks: agreement to float64 rounding (1e-12).
    @Test(arguments: [false, true])
    func blockedReferenceMatchesDirect(_ causal: Bool) {
        let problem = S.shape(heads: 3, kvHeads: 1, n: 11, nkv: 17, d: 6)
        var generator = SeededGenerator(seed: 4)
        let (q, k, v) = S.randomQKV(problem, generator: &generator)
        var mask = AttentionReference.Mask(causal: causal, window: causal ? 5 : nil)
        if !causal { mask = AttentionReference.Mask(blocks: .localStrided(local: 1, stride: 2), blockRows: 4, blockColumns: 4) }
        let both = AttentionReference.outputAndLogSumExp(problem, q: q, k: k, v: v, mask: mask)
        let scale = 1 / 6.0.squareRoot()
        for h in 0..<3 {
            for i in 0..<11 {
                var scores: [(key: Int, score: Double)] = []
                for j in 0..<17 where mask.allows(query: i, key: j, queryLength: 11, keyLength: 17) {
                    var dot = 0.0
                    for c in 0..<6 { dot += Double(q.values[(h * 11 + i) * 6 + c]) * Double(k.values[j * 6 + c]) }
                    scores.append((j, dot * scale))
                }
                #expect(!scores.isEmpty)
                guard let direct = S.directSoftmaxRow(scores, columns: 6, value: { j, c in Double(v.values[j * 6 + c]) }) else { continue }
                #expect(abs(both.logSumExp[h * 11 + i] - direct.logSumExp) < 1e-12)
                for c in 0..<6 { #expect(abs(both.output[(h * 11 + i) * 6 + c] - direct.output[c]) < 1e-12) }
            }
        }
    }
}
