import Foundation
import Testing
@testable import AttnNumerics
import AttnTestSupport

/// The blocked float64 reference with a score transform (RoPE, ALiBi, softcap, sinks)
/// against a direct scalar softmax written here, on ragged GQA shapes.
@Suite struct ScoredReferenceTests {
    typealias S = TestSupport

    /// One transform under test, with the mask it runs under.
    struct Case: Sendable, CustomStringConvertible {
        let name: String
        let rope: Bool
        let alibi: Bool
        let softcap: Double?
        let sinks: Int
        let causal: Bool
        let window: Int?
        var description: String { name }
    }

    static let cases: [Case] = [
        Case(name: "rope", rope: true, alibi: false, softcap: nil, sinks: 0, causal: false, window: nil),
        Case(name: "alibi", rope: false, alibi: true, softcap: nil, sinks: 0, causal: true, window: nil),
        Case(name: "softcap", rope: false, alibi: false, softcap: 0.75, sinks: 0, causal: false, window: nil),
        Case(name: "sinks", rope: false, alibi: false, softcap: nil, sinks: 2, causal: true, window: 3),
        Case(name: "all", rope: true, alibi: true, softcap: 0.75, sinks: 2, causal: true, window: 3),
    ]

    /// N = 11 queries, Nkv = 17 keys (neither a multiple of 4), 4 query heads on 2 KV
    /// heads, d = 6. Each score is computed here from its definition: RoPE's rotate-half
    /// pairs (c, c + 3) turned by p 10000^(-2c/6) (query i at position i + 6, key j at j),
    /// s = scale q.k, then c tanh(s / c), then + 2^(-2(h + 1)) (j - position) (ALiBi's
    /// slopes for 4 heads: 1/4, 1/16, 1/64, 1/256), visible where the mask allows or
    /// j < sinks and j <= position.
    @Test(arguments: cases)
    func blockedReferenceMatchesDirect(_ test: Case) throws {
        let heads = 4, kvHeads = 2, n = 11, nkv = 17, d = 6
        let problem = S.shape(heads: heads, kvHeads: kvHeads, n: n, nkv: nkv, d: d)
        var generator = SeededGenerator(seed: 9)
        let (q, k, v) = S.randomQKV(problem, generator: &generator)
        let rotary = test.rope ? try RotaryEmbedding.make(base: 10000, scalingCode: 0, factor: 1, originalContext: 4096).get() : nil
        let transform = ScoreTransform(rotary: rotary, alibi: test.alibi, softcap: test.softcap, sinks: test.sinks)
        let mask = AttentionReference.Mask(causal: test.causal, window: test.window)
        let both = AttentionReference.outputAndLogSumExp(problem, q: q, k: k, v: v, mask: mask, transform: transform)
        // The LSE-only pass does the same operations: exactly the same values.
        #expect(both.logSumExp == AttentionReference.logSumExp(problem, q: q, k: k, mask: mask, transform: transform))
        // And the transform changes the result (a transform that was ignored would fail).
        let plain = AttentionReference.outputAndLogSumExp(problem, q: q, k: k, v: v, mask: mask)
        #expect(zip(plain.output, both.output).map { abs($0 - $1) }.max() ?? 0 > 1e-3)

        func rotated(_ x: [Double], position: Int) -> [Double] {
            guard test.rope else { return x }
            var y = x
            for c in 0..<(d / 2) {
                let angle = Double(position) * pow(10000, -2 * Double(c) / Double(d))
                y[c] = x[c] * cos(angle) - x[c + d / 2] * sin(angle)
                y[c + d / 2] = x[c + d / 2] * cos(angle) + x[c] * sin(angle)
            }
            return y
        }
        let scale = 1 / Double(d).squareRoot()
        var sinkRowsChecked = 0
        for h in 0..<heads {
            let kvh = h / (heads / kvHeads)
            let slope = pow(2, -2 * Double(h + 1))
            for i in 0..<n {
                let position = i + nkv - n
                let qi = rotated((0..<d).map { Double(q.values[(h * n + i) * d + $0]) }, position: position)
                var scores: [(key: Int, score: Double)] = []
                for j in 0..<nkv {
                    var sees = !test.causal || j <= position
                    if let window = test.window, j <= position - window { sees = false }
                    if j < test.sinks && j <= position {
                        if !sees { sinkRowsChecked += 1 }
                        sees = true
                    }
                    guard sees else { continue }
                    let kj = rotated((0..<d).map { Double(k.values[(kvh * nkv + j) * d + $0]) }, position: j)
                    var s = 0.0
                    for c in 0..<d { s += qi[c] * kj[c] }
                    s *= scale
                    if let cap = test.softcap { s = cap * tanh(s / cap) }
                    if test.alibi { s += slope * Double(j - position) }
                    scores.append((j, s))
                }
                let direct = S.directSoftmaxRow(scores, columns: d) { j, c in Double(v.values[(kvh * nkv + j) * d + c]) }
                #expect(direct != nil)
                guard let direct else { continue }
                #expect(abs(both.logSumExp[h * n + i] - direct.logSumExp) < 1e-12)
                for c in 0..<d { #expect(abs(both.output[(h * n + i) * d + c] - direct.output[c]) < 1e-12) }
            }
        }
        // With sinks, every row (positions 6 to 16, window 3) sees keys 0 and 1 only through them.
        #expect(sinkRowsChecked == (test.sinks > 0 ? heads * n * 2 : 0))
    }
}
