import Foundation
import Testing
import AttnAlgorithms
import AttnNumerics
@testable import TileInterpreter
import AttnTestSupport
import TileTestSupport

/// Mamba-2's chunked SSD and Gated DeltaNet's chunked delta rule: the programs against
/// their token-by-token float64 recurrences, their closed-form counts, and the references
/// against values worked by hand.
@Suite struct ChunkedRecurrenceTests {
    typealias S = TestSupport

    /// The chunk lengths of a run of `length` tokens in chunks of `chunk`.
    static func chunks(_ length: Int, _ chunk: Int) -> [Int] {
        (0..<S.cdiv(length, chunk)).map { min(chunk, length - $0 * chunk) }
    }

    /// Ragged lengths (the last chunk short), grouped B and C, several chunk sizes; fp32,
    /// fp16 and bf16 at their derived tolerances (asserted by `S.numeric`); counts equal
    /// in count mode, compressed or not. fp32 errors stay below 1e-5: the chunked sums
    /// agree with the recurrence to fp32 rounding.
    @Test(arguments: [
        ("mamba2-ssd", 2, 4, 16, 200, ["Q": 64, "state": 16, "groups": 2]),
        ("mamba2-ssd", 1, 2, 32, 77, ["Q": 32, "state": 24, "groups": 1]),
        ("mamba2-ssd", 1, 3, 8, 64, ["Q": 16, "state": 8, "groups": 3]),
        ("gated-deltanet", 2, 2, 16, 150, ["C": 64]),
        ("gated-deltanet", 1, 3, 32, 97, ["C": 32]),
        ("gated-deltanet", 1, 1, 64, 16, ["C": 16]),
    ])
    func agreesWithTheRecurrence(_ algorithm: String, _ batch: Int, _ heads: Int, _ d: Int, _ length: Int, _ params: [String: Int]) throws {
        let shape = S.shape(batch: batch, heads: heads, n: length, d: d)
        for dtype in [DType.fp32, .fp16, .bf16] {
            let bound = try S.bind(algorithm, shape, dtype: dtype, params: params)
            let result = try S.numeric(bound)
            let check = try #require(result.checks.first)
            if dtype == .fp32 { #expect(check.error.maxRelativeError < 1e-5, "\(algorithm) \(check.error.maxRelativeError)") }
            #expect(try S.count(bound) == result.stats)
            #expect(try S.count(bound, compress: false) == result.stats)
        }
    }

    /// Each term matters: the SSD without its off-diagonal blocks (the state entering a
    /// chunk) or with the decay mask left out, and the delta rule without its UT transform
    /// (T = I) or without the state's contribution, all fail their checks.
    @Test(arguments: [
        ("mamba2-ssd", "store Y[b, rows(c, Q), h, :] = yd + yo", "store Y[b, rows(c, Q), h, :] = yd"),
        ("mamba2-ssd", "lm = exp(mask_causal(cc - cs, 0, 0))", "lm = exp(mask_causal(cc - cs, 0, 0) * 0.0)"),
        ("gated-deltanet", "t = solve_tril(a)", "t = solve_tril(a * 0.0)"),
        ("gated-deltanet", "= (qn * exp(gc)) @ h + att @ vn", "= att @ vn"),
    ])
    func eachTermIsNeeded(_ algorithm: String, _ from: String, _ to: String) throws {
        let source = try AlgorithmLibrary.builtInSource(algorithm).text
        #expect(source.contains(from))
        let bound = try S.bindSource(source.replacingOccurrences(of: from, with: to), S.shape(heads: 2, n: 130, d: 16), dtype: .fp32)
        let result = try Simulator.run(bound, options: RunOptions(mode: .numeric, seed: 3))
        let check = try #require(result.checks.first)
        #expect(!check.passed, "\(algorithm) passed without '\(from)': \(check.error.maxRelativeError)")
    }

    /// The SSD's counts per batch and head, T chunks of lengths q_c, e bytes per element
    /// (docs/io-laws.md): three kernels, chunk states and entering states in fp32.
    @Test(arguments: [(200, 64, 16, 32, 2), (4096, 64, 128, 64, 1), (1000, 128, 64, 64, 4)])
    func ssdClosedForm(_ length: Int, _ chunk: Int, _ state: Int, _ p: Int, _ groups: Int) throws {
        let batch = 2, heads = 4, e = 2
        let bound = try S.bind("mamba2-ssd", S.shape(batch: batch, heads: heads, n: length, d: p), dtype: .fp16, params: ["Q": chunk, "state": state, "groups": groups])
        let total = try S.count(bound).total
        let q = Self.chunks(length, chunk), t = q.count, bh = batch * heads
        let squares = q.reduce(0) { $0 + $1 * $1 }
        // dt three times, A once per block, X twice, B twice and C once, the fp32 states.
        #expect(total.hbmReadBytes == bh * ((2 * t + 1) * e + 3 * length * e + 2 * length * p * e + 3 * length * state * e + 8 * t * state * p))
        #expect(total.hbmWriteBytes == bh * (8 * t * state * p + length * p * e))
        // B^T (X dt decay) per chunk; C B^T, its product with X dt, and C exp(cs) times the state.
        #expect(total.flopsMatmul == bh * (4 * state * p * length + 2 * (state + p) * squares))
        // exp(cs_last - cs) per token, one chunk decay per chunk, L (q_c^2) and exp(cs) per token.
        #expect(total.exps == bh * (2 * length + t + squares))
        #expect(total.maskedElements == bh * q.reduce(0) { $0 + $1 * ($1 - 1) / 2 })
        // chunk_state: dt A, cumsum (q - 1), cs_last - cs, times dt, X times w: 4q - 1 + q P;
        // state_passing: dt A, rowsum (q - 1), the decayed state and the sum: 2q - 1 + 2 N P;
        // chunk_scan: dt A, cumsum, cs_i - cs_j, the mask, times C B^T: 2q - 1 + 3 q^2,
        // X dt and the final sum 2 q P, C exp(cs) q N.
        let other = q.reduce(0) { sum, n in
            sum + (4 * n - 1 + n * p) + (2 * n - 1 + 2 * state * p) + (2 * n - 1 + 3 * n * n + 2 * n * p + n * state)
        }
        #expect(total.flopsOther == bh * other)
    }

    /// Gated DeltaNet's counts per batch x head (docs/io-laws.md): K normalized, W, U, the
    /// new values and the states at the run's dtype, the cumulative gates in fp32.
    @Test(arguments: [(200, 64, 32), (4096, 64, 128), (1000, 32, 64)])
    func gatedDeltaNetClosedForm(_ length: Int, _ chunk: Int, _ d: Int) throws {
        let batch = 2, heads = 3, e = 2
        let bound = try S.bind("gated-deltanet", S.shape(batch: batch, heads: heads, n: length, d: d), dtype: .bf16, params: ["C": chunk])
        let total = try S.count(bound).total
        let c = Self.chunks(length, chunk), t = c.count, bh = batch * heads
        let squares = c.reduce(0) { $0 + $1 * $1 }
        #expect(total.hbmReadBytes == bh * (8 * length * d * e + 2 * length * e + 8 * length + t * d * d * e))
        #expect(total.hbmWriteBytes == bh * (5 * length * d * e + 4 * length + t * d * d * e))
        // K K^T, T times (K beta exp(gc)) and (V beta); W S and K^T Vn; Q K^T, (Q exp(gc)) S and A Vn.
        #expect(total.flopsMatmul == bh * (10 * d * squares + 6 * d * d * length))
        // Gamma twice (q^2 each, masked included), exp(gc) twice and exp(gc_last - gc) per
        // token, exp(gc_last) per chunk.
        #expect(total.exps == bh * (2 * squares + 3 * length + t))
        // Strictly below the diagonal in `prepare` (q(q + 1)/2 hidden), on and below in `chunk_output`.
        #expect(total.maskedElements == bh * squares)
        // The normalization of K (3 q d + q) and Q (3 q d + 2 q), cumsum (q - 1), A and Gamma
        // (4 q^2), solve_tril (q (q - 1)(2q - 1) / 6), W and U (q + 2 q d), the new values and
        // the state update (2 q d + q + 2 d^2), and the output's Gamma (3 q^2) and sums (2 q d).
        let other = c.reduce(0) { sum, n in
            sum + (3 * n * d + n) + (3 * n * d + 2 * n) + (n - 1) + 4 * n * n + n * (n - 1) * (2 * n - 1) / 6 + (n + 2 * n * d)
                + (2 * n * d + n + 2 * d * d) + 3 * n * n + 2 * n * d
        }
        #expect(total.flopsOther == bh * other)
    }

    /// Linear in L, with constant on-chip memory: 16x the tokens, 16x the bytes (less the
    /// constant terms), the same peaks; causal FlashAttention-2 grows about 16^2 / 2.
    @Test(arguments: ["mamba2-ssd", "gated-deltanet"])
    func linearInLength(_ algorithm: String) throws {
        func run(_ name: String, _ length: Int, _ params: [String: Int] = [:]) throws -> Counters {
            try S.count(try S.bind(name, S.shape(heads: 8, n: length, d: 64), dtype: .fp16, params: params)).total
        }
        let short = try run(algorithm, 4096), long = try run(algorithm, 65_536)
        #expect(short.peakSramBytes == long.peakSramBytes)
        #expect(short.peakRegisterBytes == long.peakRegisterBytes)
        let growth = Double(long.hbmReadBytes + long.hbmWriteBytes) / Double(short.hbmReadBytes + short.hbmWriteBytes)
        #expect(growth > 15.99 && growth < 16.01, "\(growth)")
        let flash = try run("flash2", 65_536, ["causal": 1]).hbmReadBytes
        #expect(Double(flash) / Double(try run("flash2", 4096, ["causal": 1]).hbmReadBytes) > 100)
    }

    /// An fp32 host tensor holding `values`.
    static func tensor(_ shape: [Int], _ values: [Float]) -> HostTensor {
        var t = HostTensor(shape: shape, dtype: .fp32)
        t.values = values
        return t
    }

    /// The SSD recurrence by hand: one head, P = N = 1, L = 2, A = -1, dt = (0.5, 0.25),
    /// B = (2, 3), C = (1, -1), x = (4, 8): h_1 = 0.5 * 2 * 4 = 4, y_1 = 4; h_2 =
    /// e^-0.25 * 4 + 0.25 * 3 * 8 = 4 e^-0.25 + 6, y_2 = -h_2. Two groups of one head each
    /// read their own B and C.
    @Test func ssdReferenceByHand() throws {
        let tensor = Self.tensor
        let y = try #require(StateSpaceDualityReference.output(
            x: tensor([1, 2, 1, 1], [4, 8]), dt: tensor([1, 1, 2], [0.5, 0.25]), a: tensor([1], [-1]),
            b: tensor([1, 2, 1, 1], [2, 3]), c: tensor([1, 2, 1, 1], [1, -1])))
        #expect(y[0] == 4)
        #expect(abs(y[1] + (4 * exp(-0.25) + 6)) < 1e-14)
        // Heads 0 and 1 in groups 0 and 1: head 1 reads B = 1, C = 2 (the second group).
        let two = try #require(StateSpaceDualityReference.output(
            x: tensor([1, 1, 2, 1], [1, 3]), dt: tensor([1, 2, 1], [1, 1]), a: tensor([2], [-1, -1]),
            b: tensor([1, 1, 2, 1], [5, 1]), c: tensor([1, 1, 2, 1], [1, 2])))
        #expect(two == [5, 6])
        #expect(StateSpaceDualityReference.output(
            x: tensor([1, 1, 2, 1], [1, 3]), dt: tensor([1, 1, 2], [1, 1]), a: tensor([2], [-1, -1]),
            b: tensor([1, 1, 2, 1], [5, 1]), c: tensor([1, 1, 2, 1], [1, 2])) == nil)
    }

    /// The gated delta rule by hand, d = 2, one head, scale 1: k_1 = (3, 4) normalizes to
    /// (0.6, 0.8), v_1 = (1, 2), beta_1 = 0.5: S_1 = 0.5 k v^T; q_1 = (1, 0) gives o_1 = 0.5 *
    /// 0.6 (1, 2) = (0.3, 0.6). Step 2 with k_2 = k_1, alpha = e^g, beta_2 = 1: S_2 = alpha
    /// (I - k k^T) S_1 + k v_2^T = k v_2^T (the projection erases S_1 along k), so o_2 =
    /// (q_2 . k) v_2. (eps = 1e-6 perturbs the norms by about 1e-8.)
    @Test func gatedDeltaRuleByHand() throws {
        let tensor = Self.tensor
        let o = try #require(GatedDeltaRuleReference.output(
            q: tensor([1, 2, 2], [1, 0, 0, 2]), k: tensor([1, 2, 2], [3, 4, 3, 4]), v: tensor([1, 2, 2], [1, 2, 5, -1]),
            g: tensor([1, 2], [0, -0.7]), beta: tensor([1, 2], [0.5, 1]), heads: 1, scale: 1))
        let expected = [0.3, 0.6, 0.8 * 5, 0.8 * -1]
        for (value, target) in zip(o, expected) { #expect(abs(value - target) < 1e-6, "\(o)") }
    }

    /// `solve_tril` inverts I + L (L the strictly lower triangle; the rest not read) and
    /// counts n(n - 1)(2n - 1) / 6 "other" FLOPs: 30 for n = 5 (by elements: 4 with m = 1
    /// at 1 FLOP, 3 at 3, 2 at 5, 1 at 7). `cumsum` sums along rows with c - 1 additions.
    @Test func triangularInverseAndPrefixSums() throws {
        let text = """
            input  X[5, 5]
            output Y[5, 5] fp32
            output Z[5, 5] fp32
            kernel k grid(i: 1):
              x = load X[:, :]
              store Y[:, :] = solve_tril(x)
              store Z[:, :] = cumsum(x)

            """
        let bound = try S.bindSource(text, S.shape(heads: 1, n: 5, d: 5))
        var x = HostTensor(shape: [5, 5], dtype: .fp32)
        for i in 0..<25 { x.values[i] = Float(i % 7) * 0.25 - 0.5 }
        let result = try Simulator.run(bound, options: RunOptions(mode: .numeric, inputs: ["X": x]))
        let inverse = try #require(result.tensors["Y"]).values, sums = try #require(result.tensors["Z"]).values
        for i in 0..<5 {
            for j in 0..<5 {
                // (I + L) Y = I.
                var product = Double(inverse[i * 5 + j])
                for k in 0..<i { product += Double(x.values[i * 5 + k]) * Double(inverse[k * 5 + j]) }
                #expect(abs(product - (i == j ? 1 : 0)) < 1e-6)
                #expect(sums[i * 5 + j] == (0...j).reduce(Float(0)) { $0 + x.values[i * 5 + $1] })
            }
        }
        for stats in [result.stats, try S.count(bound)] {
            #expect(stats.total.flopsOther == 30 + 5 * 4)
        }
    }
}
