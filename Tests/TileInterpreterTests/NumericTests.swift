import Testing
import AttnNumerics
@testable import TileInterpreter
import AttnTestSupport
import TileTestSupport

/// Every algorithm's output against the float64 reference, on shapes that are not
/// multiples of the block sizes.
///
/// Tolerances (normwise relative error, max|x - ref| / max|ref|), with u the unit
/// roundoff of the storage dtype (fp16 2^-11, bf16 2^-8):
/// - fp32 storage: below 1e-5. Only fp32 accumulation error remains: sums of Nkv <= 300
///   terms of size <= 1 give relative errors near 1e-7; 1e-5 leaves two orders of margin.
/// - flash2, fp16/bf16: u + 1e-5. O is rounded once on store, a relative error of at
///   most u (round-to-nearest); the reference uses the same rounded inputs, and fp32
///   accumulation adds far less than 1e-5.
/// - standard: 16u. Q*scale, S and P are each rounded on their way through HBM; a score
///   error of u|s| moves p by about u|s| p with |s| <= 4 here, then O rounds once more.
/// - flash1: (Tc + 2)u. Algorithm 1 rounds O to the storage dtype on each of its Tc
///   write-backs, so the error grows with the number of K/V blocks.
@Suite struct NumericTests {
    typealias S = TestSupport

    static let shapes: [(n: Int, nkv: Int, d: Int, heads: Int, kvHeads: Int)] = [
        (100, 100, 16, 2, 2),
        (77, 130, 32, 2, 2),
        (129, 65, 64, 4, 2),
        (1, 200, 32, 2, 1),
    ]

    static let blockParams: [String: [String: Int]] = [
        "flash2": ["Br": 32, "Bc": 48],
        "flash1": ["M": 1024],
        "standard": ["Bm": 32, "Bn": 48, "Bo": 16, "Bk": 32, "Be": 40],
    ]

    @Test(arguments: ["standard", "flash1", "flash2"])
    func fp32AgreesWithReference(_ algorithm: String) throws {
        for s in Self.shapes {
            let shape = S.shape(batch: 1, heads: s.heads, kvHeads: s.kvHeads, n: s.n, nkv: s.nkv, d: s.d)
            let result = try S.numeric(try S.bind(algorithm, shape, dtype: .fp32, params: Self.blockParams[algorithm] ?? [:]))
            #expect(!result.checks.isEmpty)
            for check in result.checks {
                #expect(check.error.maxRelativeError < 1e-5, "\(algorithm) \(s) \(check.tensor): \(check.error)")
            }
        }
    }

    @Test(arguments: ["standard", "flash1", "flash2"], [DType.fp16, .bf16])
    func reducedPrecisionWithinRoundingBound(_ algorithm: String, _ dtype: DType) throws {
        for s in Self.shapes {
            let shape = S.shape(batch: 1, heads: s.heads, kvHeads: s.kvHeads, n: s.n, nkv: s.nkv, d: s.d)
            let bound = try S.bind(algorithm, shape, dtype: dtype, params: Self.blockParams[algorithm] ?? [:])
            let result = try S.numeric(bound)
            let u = dtype.unitRoundoff
            let limit: Double
            switch algorithm {
            case "flash2": limit = u + 1e-5
            case "standard": limit = 16 * u
            default:
                guard case .int(let bc) = bound.parameter("Bc") else { throw TestFailure("Bc is not bound") }
                limit = Double(S.cdiv(s.nkv, bc) + 2) * u
            }
            let output = try #require(result.checks.first { $0.tensor == "O" })
            #expect(output.error.maxRelativeError < limit, "\(algorithm) \(dtype) \(s): \(output.error.maxRelativeError) vs \(limit)")
        }
    }

    /// The log-sum-exp FlashAttention-2 saves for the backward pass is fp32: tight.
    @Test func flash2LogSumExp() throws {
        let result = try S.numeric(try S.bind("flash2", S.shape(heads: 3, n: 97, nkv: 150, d: 32), dtype: .fp16, params: ["Br": 16, "Bc": 64]))
        let lse = try #require(result.checks.first { $0.tensor == "LSE" })
        #expect(lse.error.maxRelativeError < 1e-5)
    }

    /// Different seeds give different inputs but the same counters.
    @Test func seedsChangeDataNotCounts() throws {
        let bound = try S.bind("flash2", S.shape(n: 64, d: 16), dtype: .fp32, params: ["Br": 16, "Bc": 16])
        let a = try Simulator.run(bound, options: RunOptions(mode: .numeric, seed: 1))
        let b = try Simulator.run(bound, options: RunOptions(mode: .numeric, seed: 2))
        #expect(a.stats == b.stats)
        #expect(a.tensors["Q"]?.values != b.tensors["Q"]?.values)
    }
}
