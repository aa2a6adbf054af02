import AttnAlgorithms
import AttnNumerics
import Testing
import TileLanguage
@testable import TileInterpreter
import AttnTestSupport
import TileTestSupport

/// Closed forms of the zoo's counts (docs/io-laws.md, "The attention zoo"), and count
/// mode's exactness on them: compressed counts equal exhaustive ones on ragged, masked
/// shapes, and the large shapes count in compressed mode only (fast).
@Suite struct ZooIOLawTests {
    typealias S = TestSupport

    struct Case: CustomStringConvertible {
        var batch: Int, heads: Int, kvHeads: Int, n: Int, nkv: Int, d: Int, dtype: DType
        var description: String { "B\(batch) H\(heads)/\(kvHeads) N\(n) Nkv\(nkv) d\(d) \(dtype)" }
        var shape: ProblemShape { S.shape(batch: batch, heads: heads, kvHeads: kvHeads, n: n, nkv: nkv, d: d) }
        var bh: Int { batch * heads }
        var bhkv: Int { batch * kvHeads }
    }

    static let cases = [
        Case(batch: 1, heads: 2, kvHeads: 2, n: 100, nkv: 100, d: 16, dtype: .fp32),
        Case(batch: 2, heads: 6, kvHeads: 2, n: 777, nkv: 1000, d: 64, dtype: .fp16),
        Case(batch: 1, heads: 8, kvHeads: 8, n: 16384, nkv: 16384, d: 128, dtype: .bf16),
    ]

    static func count(_ algorithm: String, _ c: Case, _ params: [String: ScalarValue]) throws -> Counters {
        let bound = try BoundProgram(
            program: try AlgorithmLibrary.program(algorithm), shape: c.shape, dtype: c.dtype, hardware: S.h100, overrides: params)
        return try S.count(bound).total
    }

    /// flash2's counts with no mask (IOLawTests.flash2): the base every flash2 variant adds to.
    static func flash2(_ c: Case, br: Int, bc: Int) -> (reads: Int, writes: Int, other: Int, exps: Int, matmul: Int) {
        let e = c.dtype.bytes, tr = S.cdiv(c.n, br), tc = S.cdiv(c.nkv, bc)
        return (
            c.bh * c.n * c.d * e + 2 * c.bh * tr * c.nkv * c.d * e, c.bh * c.n * c.d * e + c.bh * c.n * 4,
            c.bh * c.n * (4 * c.nkv + 2 * tc + 2 * c.d * tc + c.d + 1), c.bh * (c.n * c.nkv + c.n * tc), 4 * c.bh * c.n * c.nkv * c.d
        )
    }

    /// Fused RoPE: R = BH (N + T Nkv) rows rotated (Q once, K once per query block), 3 d
    /// FLOPs each; computed cos/sin add d other (angles) and d special (cos, sin) per row;
    /// tables cost 4 Nkv d bytes written once (and Nkv d other + Nkv d special) and 4 d
    /// bytes read per rotated row.
    @Test(arguments: cases, [0, 1])
    func flash2Rope(_ c: Case, table: Int) throws {
        let t = try Self.count("flash2-rope", c, ["rope_table": .int(table), "rope_scaling": .int(3), "rope_factor": .float(4)])
        let base = Self.flash2(c, br: 64, bc: 64)
        let rotated = c.bh * (c.n + S.cdiv(c.n, 64) * c.nkv)
        #expect(t.flopsMatmul == base.matmul)
        if table == 0 {
            #expect(t.hbmReadBytes == base.reads)
            #expect(t.hbmWriteBytes == base.writes)
            #expect(t.flopsOther == base.other + 4 * rotated * c.d)
            #expect(t.exps == base.exps + rotated * c.d)
        } else {
            #expect(t.hbmReadBytes == base.reads + 4 * rotated * c.d)
            #expect(t.hbmWriteBytes == base.writes + 4 * c.nkv * c.d)
            #expect(t.flopsOther == base.other + 3 * rotated * c.d + c.nkv * c.d)
            #expect(t.exps == base.exps + c.nkv * c.d)
        }
    }

    /// The base and the scaling change numerics, never counts.
    @Test func ropeScalingsCountAlike() throws {
        let c = Case(batch: 1, heads: 4, kvHeads: 2, n: 300, nkv: 500, d: 32, dtype: .fp16)
        for algorithm in ["flash2-rope", "rope-prepass"] {
            let plain = try Self.count(algorithm, c, ["causal": .int(1)])
            for (scaling, factor, base) in [(1, 2.0, 10_000.0), (2, 8.0, 10_000.0), (3, 4.0, 10_000.0), (0, 1.0, 1_000_000.0)] {
                let scaled = try Self.count(algorithm, c, [
                    "causal": .int(1), "rope_scaling": .int(scaling), "rope_factor": .float(factor), "rope_base": .float(base), "rope_original": .int(64),
                ])
                #expect(scaled == plain, "\(algorithm) scaling \(scaling)")
            }
        }
    }

    /// RoPE as a separate pass: Q and K read once more and written rotated (QR, KR), each
    /// row rotated once: (BH N + BHkv Nkv) rows of 4 d other and d special FLOPs.
    @Test(arguments: cases)
    func ropePrepass(_ c: Case) throws {
        let t = try Self.count("rope-prepass", c, [:])
        let base = Self.flash2(c, br: 128, bc: 128)
        let e = c.dtype.bytes
        let rows = c.bh * c.n + c.bhkv * c.nkv
        #expect(t.hbmReadBytes == base.reads + rows * c.d * e)
        #expect(t.hbmWriteBytes == base.writes + rows * c.d * e)
        #expect(t.flopsOther == base.other + 4 * rows * c.d)
        #expect(t.exps == base.exps + rows * c.d)
        #expect(t.flopsMatmul == base.matmul)
    }

    /// ALiBi: 4 bytes of slope per thread block read, 4 per head written once, and two
    /// FLOPs per score. Softcapping: two FLOPs and a tanh per score. Traffic otherwise flash2's.
    @Test(arguments: cases)
    func alibiAndSoftcap(_ c: Case) throws {
        let base = Self.flash2(c, br: 128, bc: 128)
        let scores = c.bh * c.n * c.nkv
        let alibi = try Self.count("flash2-alibi", c, ["causal": .int(0)])
        #expect(alibi.hbmReadBytes == base.reads + 4 * c.bh * S.cdiv(c.n, 128))
        #expect(alibi.hbmWriteBytes == base.writes + 4 * c.heads)
        #expect(alibi.flopsOther == base.other + 2 * scores)
        #expect(alibi.exps == base.exps)
        let softcap = try Self.count("flash2-softcap", c, ["causal": .int(0)])
        #expect(softcap.hbmReadBytes == base.reads)
        #expect(softcap.hbmWriteBytes == base.writes)
        #expect(softcap.flopsOther == base.other + 2 * scores)
        #expect(softcap.exps == base.exps + scores)
        #expect(softcap.flopsMatmul == base.matmul)
    }

    /// Sinks + window, N = Nkv = T B, W = w B (T >= w): query block i reads min(i, w) + 1
    /// key blocks and, when i >= w, the k sink rows, so K and V move
    /// 2 BH d e (B (T + w (w - 1) / 2 + w (T - w)) + k (T - w)) bytes: O(N (k + W)).
    @Test(arguments: [(n: 1024, b: 64, w: 4, k: 4), (n: 4096, b: 128, w: 8, k: 4), (n: 65536, b: 128, w: 32, k: 16)])
    func sinksAndWindow(_ s: (n: Int, b: Int, w: Int, k: Int)) throws {
        let c = Case(batch: 1, heads: 4, kvHeads: 2, n: s.n, nkv: s.n, d: 64, dtype: .fp16)
        let t = try Self.count("flash2-sinks", c, ["Br": .int(s.b), "Bc": .int(s.b), "window": .int(s.w * s.b), "sinks": .int(s.k)])
        let e = 2, blocks = s.n / s.b
        let keyRows = s.b * (blocks + s.w * (s.w - 1) / 2 + s.w * (blocks - s.w)) + s.k * (blocks - s.w)
        #expect(t.hbmReadBytes == c.bh * s.n * c.d * e + 2 * c.bh * c.d * e * keyRows)
        #expect(t.hbmWriteBytes == c.bh * s.n * c.d * e + 4 * c.bh * s.n)
        // Linear in N at a fixed window: about (w + 1) B + k key rows per query block.
        #expect(keyRows <= blocks * ((s.w + 1) * s.b + s.k))
    }

    /// Causal linear attention: Q, K, V read once per query head, O written once; per
    /// chunk of c rows 4 c^2 d + 4 c d^2 + 2 c d matmul FLOPs.
    @Test(arguments: cases.filter { $0.n == $0.nkv }, [24, 64])
    func linearAttention(_ c: Case, chunk: Int) throws {
        let t = try Self.count("linear-attention", c, ["C": .int(chunk)])
        let e = c.dtype.bytes
        #expect(t.hbmReadBytes == 3 * c.bh * c.n * c.d * e)
        #expect(t.hbmWriteBytes == c.bh * c.n * c.d * e)
        let perHead = stride(from: 0, to: c.n, by: chunk).reduce(0) { sum, start in
            let r = min(chunk, c.n - start)
            return sum + 4 * r * r * c.d + 4 * r * c.d * c.d + 2 * r * c.d
        }
        #expect(t.flopsMatmul == c.bh * perHead)
        #expect(t.exps == 2 * c.bh * c.n * c.d)
    }

    /// Queries the last N of Nkv positions: K and V are still read once per query head
    /// and Q and O once; chunks before the first query only update the state, so phi(K)
    /// costs BH Nkv d special and phi(Q) BH N d.
    @Test func linearAttentionDecodes() throws {
        let c = Case(batch: 1, heads: 4, kvHeads: 2, n: 37, nkv: 1000, d: 64, dtype: .fp16)
        let t = try Self.count("linear-attention", c, ["C": .int(64)])
        #expect(t.hbmReadBytes == c.bh * (c.n + 2 * c.nkv) * c.d * 2)
        #expect(t.hbmWriteBytes == c.bh * c.n * c.d * 2)
        #expect(t.exps == c.bh * (c.n + c.nkv) * c.d)
    }

    /// Linformer, P = cdiv(k, Bk), T = cdiv(N, Br): the projection reads K, V once per
    /// projected row block and E, F once per key/value head; attention reads K', V' once
    /// per query block.
    @Test(arguments: cases, [(k: 256, bk: 64), (k: 100, bk: 48)])
    func linformer(_ c: Case, p: (k: Int, bk: Int)) throws {
        let t = try Self.count("linformer", c, ["kproj": .int(p.k), "Bk": .int(p.bk)])
        let e = c.dtype.bytes
        let blocks = S.cdiv(p.k, p.bk), tr = S.cdiv(c.n, 64)
        #expect(t.hbmReadBytes == 2 * c.bhkv * (blocks * c.nkv * c.d + p.k * c.nkv) * e + c.bh * c.n * c.d * e + 2 * c.bh * tr * p.k * c.d * e)
        #expect(t.hbmWriteBytes == 2 * c.bhkv * p.k * c.d * e + c.bh * c.n * c.d * e)
        #expect(t.flopsMatmul == 4 * c.bhkv * p.k * c.nkv * c.d + 4 * c.bh * c.n * p.k * c.d)
    }

    /// Cascade: Q read twice (prefix and suffix kernels), the prefix KV once per Bb
    /// requests, each suffix once, the fp32 prefix state written and read once; per-request
    /// decoding (flash2-gqa) reads the whole Nkv per request.
    @Test(arguments: [(batch: 64, heads: 32, kv: 8, n: 1, nkv: 4096, suffix: 256), (batch: 7, heads: 6, kv: 2, n: 3, nkv: 1000, suffix: 101)])
    func cascade(_ c: (batch: Int, heads: Int, kv: Int, n: Int, nkv: Int, suffix: Int)) throws {
        let shape = S.shape(batch: c.batch, heads: c.heads, kvHeads: c.kv, n: c.n, nkv: c.nkv, d: 128)
        let bound = try BoundProgram(
            program: try AlgorithmLibrary.program("cascade"), shape: shape, dtype: .bf16, hardware: S.h100, overrides: ["suffix": .int(c.suffix)])
        let t = try S.count(bound).total
        let e = 2, d = 128, bh = c.batch * c.heads, prefix = c.nkv - c.suffix
        let bb = max(1, 128 / (c.heads / c.kv * c.n))
        #expect(bound.parameter("Bb") == .int(bb))
        let kvReads = 2 * c.kv * S.cdiv(c.batch, bb) * prefix * d * e + 2 * c.batch * c.kv * c.suffix * d * e
        #expect(t.hbmReadBytes == 2 * bh * c.n * d * e + kvReads + 4 * bh * c.n * (d + 1))
        // O, the prefix state, and the merged LSE (fp32).
        #expect(t.hbmWriteBytes == bh * c.n * d * e + 4 * bh * c.n * (d + 1) + 4 * bh * c.n)
        #expect(t.flopsMatmul == 4 * bh * c.n * c.nkv * d)
        let perRequest = try S.count(try S.bind("flash2-gqa", shape, dtype: .bf16)).total
        let perRequestKV = 2 * c.batch * c.kv * c.nkv * d * e
        #expect(perRequest.hbmReadBytes - perRequestKV == bh * c.n * d * e)
        #expect(perRequestKV - kvReads == 2 * c.kv * prefix * d * e * (c.batch - S.cdiv(c.batch, bb)))
    }

    /// Compressed counts equal exhaustive ones, and numeric runs count the same, for every
    /// zoo program on ragged, masked, GQA shapes.
    @Test func compressedEqualsExhaustive() throws {
        let shapes = [S.shape(heads: 4, kvHeads: 2, n: 300, nkv: 300, d: 16), S.shape(heads: 3, kvHeads: 1, n: 77, nkv: 301, d: 16)]
        let cascade = S.shape(batch: 5, heads: 6, kvHeads: 2, n: 3, nkv: 301, d: 16)
        for params: [String: ScalarValue] in [["suffix": .int(70), "Bb": .int(2), "Bc": .int(48)], ["suffix": .int(3), "Bc": .int(32)]] {
            let bound = try BoundProgram(program: try AlgorithmLibrary.program("cascade"), shape: cascade, dtype: .fp16, hardware: S.h100, overrides: params)
            let exhaustive = try S.count(bound, compress: false)
            #expect(try S.count(bound) == exhaustive)
            #expect(try Simulator.run(bound, options: RunOptions(mode: .numeric, seed: 3)).stats == exhaustive)
        }
        let variants: [(String, [String: ScalarValue])] = [
            ("flash2-rope", ["causal": .int(1), "Br": .int(32), "Bc": .int(48)]),
            ("flash2-rope", ["rope_table": .int(1), "causal": .int(1), "Br": .int(48), "Bc": .int(80)]),
            ("rope-prepass", ["causal": .int(1), "Br": .int(32), "Bc": .int(48)]),
            ("flash2-alibi", ["window": .int(70), "Br": .int(32), "Bc": .int(48)]),
            ("flash2-softcap", ["Br": .int(48), "Bc": .int(80)]),
            ("flash2-sinks", ["window": .int(50), "sinks": .int(4), "Br": .int(32), "Bc": .int(16)]),
            ("flash2-sinks", ["window": .int(33), "sinks": .int(40), "Br": .int(16), "Bc": .int(24)]),
            ("linear-attention", ["C": .int(24)]),
            ("linformer", ["kproj": .int(50), "Bk": .int(16), "Br": .int(32), "Bc": .int(24)]),
        ]
        for shape in shapes {
            for (algorithm, params) in variants {
                let bound = try BoundProgram(program: try AlgorithmLibrary.program(algorithm), shape: shape, dtype: .fp16, hardware: S.h100, overrides: params)
                let compressed = try S.count(bound)
                let exhaustive = try S.count(bound, compress: false)
                #expect(compressed == exhaustive, "\(algorithm) \(params) \(shape): \(DifferentialTests.difference(compressed, exhaustive))")
                let numeric = try Simulator.run(bound, options: RunOptions(mode: .numeric, seed: 3)).stats
                #expect(numeric == exhaustive, "\(algorithm) \(params) \(shape): \(DifferentialTests.difference(numeric, exhaustive))")
            }
        }
    }
}
