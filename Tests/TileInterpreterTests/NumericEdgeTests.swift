import Foundation
import Testing
@testable import AttnNumerics
@testable import TileInterpreter
import TileLanguage
import AttnTestSupport

/// Edge cases of the fast numeric kernels: every element of an uninitialised result is
/// written (small and ragged shapes, heap pre-filled with NaN), the parallel random fill
/// keeps the sequential stream for odd and small counts, and the vector functions at the
/// exact ends of their fast ranges.
@Suite struct NumericEdgeTests {
    /// Allocates and frees buffers of `count` NaNs, so that a result that starts
    /// uninitialised is likely to reuse NaN-filled memory and an unwritten element shows.
    static func dirtyHeap(_ count: Int) {
        for _ in 0..<4 {
            let junk = [Float](repeating: .nan, count: max(1, count))
            withExtendedLifetime(junk) {}
        }
    }

    static let sizes = [1, 3, 4, 5, 7, 8, 9, 13]

    /// The blocked matmul against a scalar i-p-j loop, bit for bit, for every m, k, n in
    /// `sizes` (four-row blocks with and without leftover rows, eight-column blocks with and
    /// without leftover columns, k = 1).
    @Test func matmulEveryEdgeShapeMatchesScalar() {
        var generator = SeededGenerator(seed: 21)
        var mismatches: [String] = []
        for m in Self.sizes {
            for k in Self.sizes {
                for n in Self.sizes {
                    let a = (0..<(m * k)).map { _ in Float(generator.nextUnit() * 4 - 2) }
                    let b = (0..<(k * n)).map { _ in Float(generator.nextUnit() * 4 - 2) }
                    var expected = [Float](repeating: 0, count: m * n)
                    for i in 0..<m {
                        for p in 0..<k {
                            for j in 0..<n { expected[i * n + j] = expected[i * n + j] + a[i * k + p] * b[p * n + j] }
                        }
                    }
                    Self.dirtyHeap(m * n)
                    let got = TileMath.matmul(a, b, m: m, k: k, n: n)
                    if got.map(\.bitPattern) != expected.map(\.bitPattern) { mismatches.append("\(m)x\(k)x\(n)") }
                }
            }
        }
        #expect(mismatches.isEmpty, "\(mismatches)")
        // By hand: [1 2; 3 4] [5; 6] = [17; 39]; k = 0 gives zeros.
        #expect(TileMath.matmul([1, 2, 3, 4], [5, 6], m: 2, k: 2, n: 1) == [17, 39])
        #expect(TileMath.matmul([], [], m: 2, k: 0, n: 3) == [0, 0, 0, 0, 0, 0])
    }

    /// Transpose, broadcast and exp write every element of their uninitialised results.
    @Test func uninitialisedResultsAreFullyWritten() {
        for rows in Self.sizes {
            for cols in Self.sizes {
                let x = (0..<(rows * cols)).map { Float($0) }
                Self.dirtyHeap(rows * cols)
                let t = TileMath.transpose(x, rows: rows, cols: cols)
                #expect(t == (0..<(rows * cols)).map { Float(($0 % rows) * cols + $0 / rows) }, "\(rows)x\(cols)")
                // A row vector plus a column vector: out[r][c] = c + 100 r.
                let column = (0..<rows).map { Float(100 * $0) }, row = (0..<cols).map { Float($0) }
                Self.dirtyHeap(rows * cols)
                let sum = TileMath.broadcast(.add, column, rows: rows, cols: 1, row, rows: 1, cols: cols, outRows: rows, outCols: cols)
                #expect(sum == (0..<(rows * cols)).map { Float($0 % cols + 100 * ($0 / cols)) }, "\(rows)x\(cols)")
                // Both broadcast: one value everywhere.
                Self.dirtyHeap(rows * cols)
                let both = TileMath.broadcast(.mul, [3], rows: 1, cols: 1, [5], rows: 1, cols: 1, outRows: rows, outCols: cols)
                #expect(both == [Float](repeating: 15, count: rows * cols))
            }
        }
        // exp over 0 to 9 elements: the vector body and the one-by-one tail give the same
        // value for the same input wherever it sits (e^0 = 1 exactly, e^1 within an ulp).
        for count in 0...9 {
            Self.dirtyHeap(count)
            let ones = TileMath.exp([Float](repeating: 0, count: count))
            #expect(ones == [Float](repeating: 1, count: count))
            let e = TileMath.exp([Float](repeating: 1, count: count))
            #expect(Set(e.map(\.bitPattern)).count <= 1)
            #expect(e.allSatisfy { abs($0 - Float(M_E)) <= Float(M_E).ulp })
        }
    }

    /// The random fill for small counts (one piece), counts around the parallel threshold
    /// (65,536: sixteen pieces) and 16 k + 1 (an odd last piece), against one
    /// `nextNormalPair` after another, and the generator's end state (a whole pair for an
    /// odd last element, nothing for an empty tensor).
    @Test(arguments: [0, 1, 2, 3, 4, 5, 7, 65_535, 65_536, 65_537, 16 * 4_097 + 1, 16 * 4_099 + 5])
    func randomFillMatchesPairStream(_ count: Int) {
        var generator = SeededGenerator(seed: 77)
        let tensor = HostTensor(randomNormal: [count], dtype: .fp32, generator: &generator)
        var sequential = SeededGenerator(seed: 77)
        var expected: [UInt32] = []
        expected.reserveCapacity(count + 1)
        while expected.count < count {
            let pair = sequential.nextNormalPair()
            expected.append(Float(pair[0]).bitPattern)
            expected.append(Float(pair[1]).bitPattern)
        }
        #expect(tensor.values.map(\.bitPattern) == Array(expected.prefix(count)))
        #expect(generator.next() == sequential.next())
        // Each pair took two draws: the end state is seed + 2 ceil(count / 2) gammas.
        var skipped = SeededGenerator(seed: 77)
        skipped.skip(UInt64(2 * ((count + 1) / 2) + 1))
        #expect(generator.next() == skipped.next())
    }

    /// The float64 exp at the ends of its table path: -708 and 709 take it (within 4 ulp
    /// of libm), just outside them libm's own value, -746 itself libm's (0), below it 0,
    /// and the special values as libm has them.
    @Test func float64ExpBoundaries() {
        VectorMath.withPowers { powers in
            for x in [-708.0, 709.0, -707.9999, 708.9999, 0x1p-1074, -0.0, -0x1p-1074, 1e-300] {
                let got = VectorMath.exp(SIMD2(x, x), powers: powers)
                #expect(got[0] == got[1])
                #expect(abs(got[0] - exp(x)) <= 4 * exp(x).ulp, "exp(\(x)) = \(got[0]), libm \(exp(x))")
            }
            // Outside [-708, 709]: libm's values exactly (subnormal results, overflow).
            for x in [-708.0001, 709.0001, 709.78, 709.79, -745.0, -745.2, -746.0] {
                #expect(VectorMath.exp(SIMD2(x, 0), powers: powers) == SIMD2(exp(x), 1), "exp(\(x))")
            }
            #expect(VectorMath.exp(SIMD2(-746.0001, -.greatestFiniteMagnitude), powers: powers) == SIMD2(0, 0))
            let special = VectorMath.exp(SIMD2(.infinity, -.nan), powers: powers)
            #expect(special[0] == .infinity && special[1].isNaN)
            // A special lane leaves its neighbour's value alone.
            #expect(VectorMath.exp(SIMD2(.nan, 1), powers: powers)[1] == VectorMath.exp(SIMD2(1, 1), powers: powers)[1])
        }
    }

    /// The fp32 exp at the ends of its fast path: -87 and 88 within an ulp of the
    /// correctly rounded value, libm's `expf` just outside and down to -104 (subnormal
    /// results), 0 below -104, and the special values.
    @Test func fp32ExpBoundaries() {
        let inside = VectorMath.exp(VectorMath.F4(-87, 88, 0x1p-149, -0.0))
        for (lane, x) in [Float(-87), 88, 0x1p-149, -0.0].enumerated() {
            let want = Float(exp(Double(x)))
            #expect(abs(inside[lane] - want) <= want.ulp, "expf(\(x)) = \(inside[lane]), want \(want)")
        }
        let outside = VectorMath.exp(VectorMath.F4(-87.001, 88.001, -103.9, -104))
        #expect(outside == VectorMath.F4(expf(-87.001), expf(88.001), expf(-103.9), expf(-104)))
        #expect(outside[2] > 0 && outside[2] < Float.leastNormalMagnitude)
        let beyond = VectorMath.exp(VectorMath.F4(-104.001, 88.8, .infinity, -.infinity))
        #expect(beyond == VectorMath.F4(0, .infinity, .infinity, 0))
        #expect(VectorMath.exp(VectorMath.F4(.nan, 0, 0, 0))[0].isNaN)
    }

    /// log at the ends of its fast path (the smallest normal, the largest finite, the
    /// mantissa split at sqrt 2) within 4 ulp of libm; libm's values for the rest.
    @Test func float64LogBoundaries() {
        let sqrtTwo = 2.0.squareRoot()
        for x in [Double.leastNormalMagnitude, .greatestFiniteMagnitude, sqrtTwo, sqrtTwo.nextUp, sqrtTwo.nextDown,
                  sqrtTwo / 2, 0x1p-53, 1.0.nextDown, 1.0.nextUp, 2.0.nextDown]
        {
            let got = VectorMath.log(SIMD2(x, 1))
            #expect(got[1] == 0)
            #expect(abs(got[0] - log(x)) <= 4 * log(x).ulp, "log(\(x)) = \(got[0]), libm \(log(x))")
        }
        let special = VectorMath.log(SIMD2(.infinity, -1))
        #expect(special[0] == .infinity && special[1].isNaN)
        let zeros = VectorMath.log(SIMD2(-0.0, .leastNonzeroMagnitude))
        #expect(zeros == SIMD2(-.infinity, log(Double.leastNonzeroMagnitude)))
        #expect(VectorMath.log(SIMD2(.nan, 2))[0].isNaN)
    }

    /// sin and cos(2 pi u) at the quadrant boundaries (4u = 0.5, 1.5, 2.5, 3.5 round to
    /// even), 0, 1 and next to them: within 1e-15 of libm's of 2 pi u; NaN stays NaN.
    @Test func sinCosQuadrantBoundaries() {
        for u in [0.0, 1.0, 0.125, 0.375, 0.625, 0.875, 0.25, 0.5, 0.75, 1.0.nextDown, 0x1p-60, 0.125.nextUp, 0.875.nextDown] {
            let (s, c) = VectorMath.sinCosTwoPi(SIMD2(u, u))
            #expect(abs(c[0] - cos(2 * Double.pi * u)) <= 1e-15, "cos 2 pi \(u)")
            #expect(abs(s[0] - sin(2 * Double.pi * u)) <= 1e-15, "sin 2 pi \(u)")
            #expect(s[0] == s[1] && c[0] == c[1])
        }
        // cos 2 pi 0 = 1, sin 2 pi 1/4 = 1, cos 2 pi 1/2 = -1, sin 2 pi 3/4 = -1 exactly.
        #expect(VectorMath.sinCosTwoPi(SIMD2(0, 0.5)).cos == SIMD2(1, -1))
        #expect(VectorMath.sinCosTwoPi(SIMD2(0.25, 0.75)).sin == SIMD2(1, -1))
        let nan = VectorMath.sinCosTwoPi(SIMD2(.nan, 0))
        #expect(nan.sin[0].isNaN && nan.cos[0].isNaN && nan.cos[1] == 1)
    }

    /// The blocked reference on tiny ragged shapes (1 to 9 keys, 1 to 5 queries, d = 3)
    /// under every kind of mask (none, block sizes alone, causal, causal with a window,
    /// block-sparse) and transform (softcap, ALiBi, sinks, all three) against a direct
    /// softmax per row: the fast paths (all visible, plain scores, the unmasked P V) take
    /// no shortcut that changes a value. A row that sees no key (more queries than keys,
    /// causal) has O = 0 and LSE = -inf.
    @Test func referenceFastPathsOnTinyShapes() {
        typealias Mask = AttentionReference.Mask
        let masks: [(String, Mask)] = [
            ("none", .none), ("block sizes", Mask(blockRows: 2, blockColumns: 3)), ("causal", Mask(causal: true)),
            ("window", Mask(causal: true, window: 2)),
            ("sparse", Mask(blocks: .localStrided(local: 1, stride: 2), blockRows: 2, blockColumns: 2)),
        ]
        let transforms = [
            ScoreTransform.identity, ScoreTransform(softcap: 0.5), ScoreTransform(alibi: true), ScoreTransform(sinks: 1),
            ScoreTransform(alibi: true, softcap: 0.5, sinks: 2),
        ]
        var failures: [String] = []
        var emptyRows = 0
        for nkv in [1, 2, 3, 4, 5, 9] {
            for n in [1, 2, 5] {
                let problem = ProblemShape(batch: 1, heads: 2, kvHeads: 1, queryLength: n, keyLength: nkv, headDim: 3)
                var generator = SeededGenerator(seed: UInt64(nkv * 10 + n))
                let (q, k, v) = TestSupport.randomQKV(problem, generator: &generator)
                for (maskName, mask) in masks {
                    for transform in transforms {
                        let label = "nkv \(nkv), n \(n), \(maskName), \(transform)"
                        let both = AttentionReference.outputAndLogSumExp(problem, q: q, k: k, v: v, mask: mask, transform: transform)
                        if both.logSumExp != AttentionReference.logSumExp(problem, q: q, k: k, mask: mask, transform: transform) {
                            failures.append("\(label): LSE passes differ")
                        }
                        for h in 0..<2 {
                            let slope = 1 / pow(2, 4 * Double(h + 1))  // ALiBi, 2 heads: 2^-4, 2^-8
                            for i in 0..<n {
                                let position = i + nkv - n
                                var scores: [(key: Int, score: Double)] = []
                                for j in 0..<nkv {
                                    let allowed = mask.allows(query: i, key: j, queryLength: n, keyLength: nkv)
                                    guard allowed || (j < transform.sinks && j <= position) else { continue }
                                    var s = 0.0
                                    for c in 0..<3 { s += Double(q.values[(h * n + i) * 3 + c]) * Double(k.values[j * 3 + c]) }
                                    s *= 1 / 3.0.squareRoot()
                                    if let cap = transform.softcap { s = cap * tanh(s / cap) }
                                    if transform.alibi { s += slope * Double(j - position) }
                                    scores.append((j, s))
                                }
                                let lse = both.logSumExp[h * n + i]
                                let o = (0..<3).map { both.output[(h * n + i) * 3 + $0] }
                                guard let direct = TestSupport.directSoftmaxRow(scores, columns: 3, value: { j, c in Double(v.values[j * 3 + c]) }) else {
                                    emptyRows += 1
                                    if lse != -.infinity || o != [0, 0, 0] { failures.append("\(label): empty row \(h), \(i): \(lse), \(o)") }
                                    continue
                                }
                                var worst = abs(lse - direct.logSumExp)
                                for c in 0..<3 { worst = max(worst, abs(o[c] - direct.output[c])) }
                                if !(worst < 1e-12) { failures.append("\(label): row \(h), \(i) off by \(worst)") }
                            }
                        }
                    }
                }
            }
        }
        #expect(failures.isEmpty, "\(failures.prefix(5))")
        // Causal rows before the first key (n = 5 > nkv) see nothing unless a sink shows
        // them one: counted so that the empty-row path is known to run.
        #expect(emptyRows > 0)
    }
}
