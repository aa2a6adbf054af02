import AttnHardware
import AttnNumerics
import Foundation

/// Shared helpers of the test targets: the H100 and B200 profiles, problem shapes, seeded inputs and
/// the float64 softmax row (binding and running programs: `TestSupport+Programs.swift` in
/// TileTestSupport, for the targets at or above the interpreter).
public enum TestSupport {
    public static let h100: HardwareProfile = {
        do { return try HardwareProfile.named("h100-sxm") } catch { preconditionFailure("\(error)") }
    }()

    /// The B200 profile: the one built-in GPU family with tensor memory (`-> tmem`).
    public static let b200: HardwareProfile = {
        do { return try HardwareProfile.named("b200") } catch { preconditionFailure("\(error)") }
    }()

    public static func shape(batch: Int = 1, heads: Int = 2, kvHeads: Int? = nil, n: Int, nkv: Int? = nil, d: Int) -> ProblemShape {
        ProblemShape(batch: batch, heads: heads, kvHeads: kvHeads ?? heads, queryLength: n, keyLength: nkv ?? n, headDim: d)
    }

    /// Random Q [batch*heads, N, d], then K and V [batch*kvHeads, Nkv, d], for `problem`
    /// (the reference's layout), drawn from `generator` in that order.
    public static func randomQKV(_ problem: ProblemShape, generator: inout SeededGenerator) -> (q: HostTensor, k: HostTensor, v: HostTensor) {
        let kvShape = [problem.batch * problem.kvHeads, problem.keyLength, problem.headDim]
        let q = HostTensor(randomNormal: [problem.batch * problem.heads, problem.queryLength, problem.headDim], dtype: .fp32, generator: &generator)
        let k = HostTensor(randomNormal: kvShape, dtype: .fp32, generator: &generator)
        let v = HostTensor(randomNormal: kvShape, dtype: .fp32, generator: &generator)
        return (q, k, v)
    }

    /// One query row of softmax attention, directly from its visible keys' scores: LSE =
    /// top + log sum_j e^(s_j - top), output column c = sum_j e^(s_j - top) / sum *
    /// value(j, c), summed in the order given; nil when no key is visible. The tests'
    /// float64 yardstick for the blocked reference.
    public static func directSoftmaxRow(_ scores: [(key: Int, score: Double)], columns: Int, value: (Int, Int) -> Double) -> (logSumExp: Double, output: [Double])? {
        guard let top = scores.map(\.score).max() else { return nil }
        let sum = scores.reduce(0) { $0 + exp($1.score - top) }
        let output = (0..<columns).map { c in scores.reduce(0) { $0 + exp($1.score - top) / sum * value($1.key, c) } }
        return (top + log(sum), output)
    }

    public static func cdiv(_ a: Int, _ b: Int) -> Int { (a + b - 1) / b }
}
