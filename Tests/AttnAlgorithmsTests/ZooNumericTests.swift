import AttnAlgorithms
import AttnNumerics
import Foundation
import Testing
import TileLanguage
@testable import TileInterpreter
import AttnTestSupport
import TileTestSupport

/// The attention zoo (issue 11) against its float64 references: RoPE fused and as a
/// separate pass, ALiBi, softcapping, sinks + window, causal linear attention and
/// Linformer, on ragged shapes (N not a multiple of the tiles) and GQA.
///
/// Tolerance: each check's derived one (`NumericTolerance`: 4 (R + n u(fp32)), R the
/// storage roundings in quadrature, n the reduction length), asserted by
/// `TestSupport.numeric`. The zoo adds nothing to it: RoPE's rotation is three fp32
/// operations per element on Q and K (a few u(fp32), inside the n u(fp32) term), cos and
/// sin are rounded once to fp32 from float64, the prepass's rotated QR, KR and Linformer's
/// KP, VP are temps whose stores R counts. Linear attention's n is d + Nkv (a feature dot
/// product, a sum over keys), Linformer's d + Nkv + k (the projection, then attention over
/// k rows). Each family also has a negative case: the same run against a reference without
/// the feature fails, so the checks can tell.
@Suite struct ZooNumericTests {
    typealias S = TestSupport

    /// Binds a built-in (or a variant of its source) with integer or float overrides.
    static func bind(
        _ algorithm: String, _ shape: ProblemShape, dtype: DType, params: [String: ScalarValue] = [:], edit: ((String) -> String)? = nil
    ) throws -> BoundProgram {
        let program: Program
        if let edit {
            let text = try AlgorithmLibrary.builtInSource(algorithm).text
            program = try Checker.check(SourceFile(name: "\(algorithm)-variant.tile", text: edit(text)))
        } else {
            program = try AlgorithmLibrary.program(algorithm)
        }
        return try BoundProgram(program: program, shape: shape, dtype: dtype, hardware: S.h100, overrides: params)
    }

    /// Runs numerically without asserting the verdicts.
    static func checks(_ bound: BoundProgram) throws -> [CheckResult] {
        try Simulator.run(bound, options: RunOptions(mode: .numeric, seed: 5)).checks
    }

    // Ragged shapes: N and Nkv not multiples of the 32 x 48 tiles, GQA groups of 2 and 3.
    static let shapes: [ProblemShape] = [
        S.shape(heads: 2, n: 100, d: 16),
        S.shape(heads: 4, kvHeads: 2, n: 77, nkv: 130, d: 32),
        S.shape(heads: 3, kvHeads: 1, n: 1, nkv: 93, d: 16),
    ]

    // MARK: References

    /// Rotating (1, 0) with d = 2 (theta_0 = 1) at position p gives (cos p, sin p); and
    /// rotated q_m . k_n depends only on m - n.
    @Test func rotaryReferenceRotatesByPositionTimesFrequency() throws {
        let rotary = try RotaryEmbedding.make(base: 10_000, scalingCode: 0, factor: 1, originalContext: 4096).get()
        var row = [1.0, 0.0]
        rotary.rotate(&row, position: 3, frequencies: rotary.frequencies(headDim: 2))
        #expect(abs(row[0] - cos(3.0)) < 1e-15 && abs(row[1] - sin(3.0)) < 1e-15)
        let f = rotary.frequencies(headDim: 8)
        #expect(abs(f[1] - pow(10_000, -0.25)) < 1e-15)
        let q = [0.3, -1.2, 0.7, 2.0, -0.4, 0.9, 1.1, -0.6], k = [1.5, 0.2, -0.8, 0.4, 0.6, -1.3, 0.25, 0.9]
        func dot(_ m: Int, _ n: Int) -> Double {
            var a = q, b = k
            rotary.rotate(&a, position: m, frequencies: f)
            rotary.rotate(&b, position: n, frequencies: f)
            return zip(a, b).map(*).reduce(0, +)
        }
        #expect(abs(dot(17, 5) - dot(112, 100)) < 1e-12)
        #expect(abs(dot(17, 5) - dot(17, 6)) > 1e-3)
    }

    /// The scalings' frequencies for d = 4 (theta = 1 and 0.01 at base 10,000), by hand.
    @Test func rotaryScalingsChangeFrequencies() throws {
        let linear = try RotaryEmbedding.make(base: 10_000, scalingCode: 1, factor: 4, originalContext: 64).get()
        #expect(linear.frequencies(headDim: 4) == [0.25, 0.0025])
        // NTK: base 10,000 * 4^(4/2) = 160,000; theta_1 = 160,000^(-1/2).
        let ntk = try RotaryEmbedding.make(base: 10_000, scalingCode: 2, factor: 4, originalContext: 64).get()
        #expect(abs(ntk.frequencies(headDim: 4)[1] - 1 / 400) < 1e-15)
        // YaRN, L = 64: pair 0 turns 64 / (2 pi) = 10.186 times, ramp (10.186 - 1) / 31 =
        // 0.29632, theta' = 0.70368 / 4 + 0.29632 = 0.47224; pair 1 turns 0.10 times, ramp
        // 0, theta' = 0.01 / 4. Magnitude 0.1 ln 4 + 1 = 1.138629.
        let yarn = try RotaryEmbedding.make(base: 10_000, scalingCode: 3, factor: 4, originalContext: 64).get()
        let y = yarn.frequencies(headDim: 4)
        let ramp = (64 / (2 * Double.pi) - 1) / 31
        #expect(abs(y[0] - ((1 - ramp) / 4 + ramp)) < 1e-15 && abs(y[0] - 0.47224) < 1e-5)
        #expect(y[1] == 0.0025)
        #expect(abs(yarn.magnitude - 1.138629) < 1e-6)
        #expect(throws: RotaryError.self) { try RotaryEmbedding.make(base: 10_000, scalingCode: 4, factor: 1, originalContext: 64).get() }
        #expect(throws: RotaryError.self) { try RotaryEmbedding.make(base: 10_000, scalingCode: 1, factor: 0.5, originalContext: 64).get() }
    }

    /// ALiBi's slopes: 2^-1 ... 2^-8 for 8 heads; for 6 heads those of 4 (2^-2, 2^-4,
    /// 2^-6, 2^-8) and then every other slope of 8 (2^-1, 2^-3), as the paper's code gives.
    @Test func alibiSlopes() {
        #expect((0..<8).map { ALiBi.slope(head: $0, heads: 8) } == (1...8).map { pow(2, -Double($0)) })
        #expect((0..<6).map { ALiBi.slope(head: $0, heads: 6) } == [0.25, 0.0625, 0.015625, 0.00390625, 0.5, 0.125])
        #expect(ALiBi.slope(head: 6, heads: 6) == nil)
        #expect(ALiBi.slope(head: 0, heads: 0) == nil)
    }

    /// Linear attention by hand: N = 2, d = 1, q = k = (0, 1) (phi = 1, 2), v = (3, 5):
    /// o_0 = v_0 = 3; o_1 = (2 * 1 * 3 + 2 * 2 * 5) / (2 * 1 + 2 * 2) = 26 / 6.
    /// Linformer with k = 1 and E = F = (1, 1): one key row, so O = V'_0 = v_0 + v_1 = 8.
    @Test func linearReferencesByHand() throws {
        let shape = ProblemShape(batch: 1, heads: 1, kvHeads: 1, queryLength: 2, keyLength: 2, headDim: 1)
        var q = HostTensor(shape: [1, 2, 1], dtype: .fp32)
        q.values = [0, 1]
        var v = HostTensor(shape: [1, 2, 1], dtype: .fp32)
        v.values = [3, 5]
        let o = LinearAttentionReference.causalLinear(shape, q: q, k: q, v: v)
        #expect(o == [3, 26.0 / 6])
        let e = HostTensor(shape: [1, 2], dtype: .fp32, fill: 1)
        #expect(LinearAttentionReference.linformer(shape, q: q, k: q, v: v, e: e, f: e) == [8, 8])
        #expect(LinearAttentionReference.linformer(shape, q: q, k: q, v: v, e: HostTensor(shape: [1, 3], dtype: .fp32), f: e) == nil)
    }

    // MARK: Programs

    static let variants: [(algorithm: String, params: [String: ScalarValue])] = [
        ("flash2-rope", ["causal": .int(1)]),
        ("flash2-rope", ["rope_table": .int(1), "rope_scaling": .int(3), "rope_factor": .float(4), "rope_original": .int(32)]),
        ("flash2-rope", ["causal": .int(1), "rope_scaling": .int(1), "rope_factor": .float(2)]),
        ("rope-prepass", ["causal": .int(1), "rope_scaling": .int(2), "rope_factor": .float(8), "rope_base": .float(500_000)]),
        ("flash2-alibi", [:]),
        ("flash2-alibi", ["window": .int(40)]),
        ("flash2-softcap", ["softcap": .float(1.5)]),
        ("flash2-softcap", ["softcap": .int(2), "window": .int(33)]),
        ("flash2-sinks", ["window": .int(30), "sinks": .int(4)]),
        ("flash2-sinks", ["window": .int(17), "sinks": .int(50)]),
        ("linear-attention", [:]),
        ("linformer", ["kproj": .int(40), "Bk": .int(16)]),
    ]

    @Test(arguments: [DType.fp32, .fp16, .bf16])
    func programsAgreeWithReferences(_ dtype: DType) throws {
        for variant in Self.variants {
            for shape in Self.shapes {
                var params = variant.params
                for (name, value) in [("Br", 32), ("Bc", 48), ("C", 24)] where params[name] == nil {
                    params[name] = .int(value)
                }
                let program = try AlgorithmLibrary.program(variant.algorithm)
                params = params.filter { name, _ in program.declaredParameters.contains { $0.name == name } }
                let result = try S.numeric(try BoundProgram(program: program, shape: shape, dtype: dtype, hardware: S.h100, overrides: params))
                #expect(!result.checks.isEmpty, "\(variant.algorithm)")
            }
        }
    }

    /// Each feature changes the output beyond the tolerance: the run against a reference
    /// without it fails (or the kernel without it fails against the reference with it).
    @Test func checksDetectAMissingFeature() throws {
        let shape = S.shape(heads: 4, kvHeads: 2, n: 77, nkv: 130, d: 32)
        let cases: [(String, [String: ScalarValue], (String) -> String)] = [
            ("flash2-rope", [:], { $0.replacingOccurrences(of: "rope: 1,", with: "rope: 0,") }),
            ("flash2-rope", ["rope_scaling": .int(3), "rope_factor": .float(4), "rope_original": .int(32)],
             { $0.replacingOccurrences(of: "rope_scaling: rope_scaling", with: "rope_scaling: 0") }),
            ("rope-prepass", [:], { $0.replacingOccurrences(of: "rope_base: rope_base", with: "rope_base: 10001") }),
            ("flash2-alibi", [:], { $0.replacingOccurrences(of: "alibi: 1", with: "alibi: 0") }),
            ("flash2-softcap", ["softcap": .float(1.5)], { $0.replacingOccurrences(of: "softcap: softcap", with: "softcap: 0") }),
            ("flash2-sinks", ["window": .int(30)], { $0.replacingOccurrences(of: "sinks: sinks", with: "sinks: 0") }),
            ("linformer", ["kproj": .int(40)], { $0.replacingOccurrences(of: "linformer(Q, K, V, E, F)", with: "linformer(Q, K, V, F, E)") }),
        ]
        for (algorithm, params, edit) in cases {
            let results = try Self.checks(try Self.bind(algorithm, shape, dtype: .fp32, params: params, edit: edit))
            #expect(results.contains { !$0.passed }, "\(algorithm) \(params) passed against the wrong reference")
        }
        // Linear attention without its running state sees only its own chunk.
        let square = S.shape(heads: 2, n: 100, d: 16)
        let stateless = try Self.checks(try Self.bind("linear-attention", square, dtype: .fp32, params: ["C": .int(24)]) {
            $0.replacingOccurrences(of: "    S = S + kf^T @ v\n", with: "")
        })
        #expect(stateless.contains { !$0.passed })
    }

    /// Cascade attention equals plain causal attention over prefix + suffix: ragged request
    /// blocks (5 requests, Bb = 2), several queries per request with GQA, a decode step,
    /// tiles that divide nothing. A merge that averages the two states instead of
    /// weighting them by their log-sum-exps fails.
    @Test(arguments: [DType.fp32, .fp16, .bf16])
    func cascadeEqualsPlainAttention(_ dtype: DType) throws {
        let cases: [(ProblemShape, [String: ScalarValue])] = [
            (S.shape(batch: 5, heads: 6, kvHeads: 2, n: 3, nkv: 301, d: 32), ["suffix": .int(70), "Bb": .int(2), "Bc": .int(48)]),
            (S.shape(batch: 3, heads: 4, kvHeads: 4, n: 1, nkv: 130, d: 16), ["suffix": .int(1), "Bc": .int(32)]),
            (S.shape(batch: 2, heads: 2, kvHeads: 1, n: 17, nkv: 100, d: 16), ["suffix": .int(40)]),
        ]
        for (shape, params) in cases {
            let result = try S.numeric(try Self.bind("cascade", shape, dtype: dtype, params: params))
            #expect(result.checks.map(\.tensor) == ["O", "LSE"])
        }
        // The merged LSE needs both states: the suffix's alone is off.
        let suffixOnly = try Self.checks(try Self.bind("cascade", cases[0].0, dtype: .fp32, params: cases[0].1) {
            $0.replacingOccurrences(of: "store LSE[b, kvh, :] = mm + log(wp + ws)", with: "store LSE[b, kvh, :] = ls")
        })
        #expect(suffixOnly.contains { $0.tensor == "LSE" && !$0.passed })
        #expect(suffixOnly.contains { $0.tensor == "O" && $0.passed })
        let averaged = try Self.checks(try Self.bind("cascade", cases[0].0, dtype: .fp32, params: cases[0].1) {
            $0.replacingOccurrences(of: "(wp * op + ws * (o / l)) / (wp + ws)", with: "(op + o / l) / 2.0")
        })
        #expect(averaged.contains { !$0.passed })
    }

    /// Linformer's derived tolerance, by hand: fp16 O, KP and VP each stored once,
    /// R = sqrt(3) 2^-11; n = d + Nkv + k = 16 + 100 + 40.
    @Test func linformerToleranceByHand() throws {
        let bound = try Self.bind("linformer", S.shape(heads: 2, n: 100, d: 16), dtype: .fp16, params: ["kproj": .int(40), "Bk": .int(16)])
        let result = try S.numeric(bound)
        let check = try #require(result.checks.first)
        let expected = 4 * (3.0.squareRoot() * pow(2, -11) + 156 * pow(2, -24))
        #expect(abs(check.tolerance - expected) < 1e-15)
        #expect(check.error.maxRelativeError > 0 && check.error.maxRelativeError < check.tolerance)
    }

    /// Bad options and built-in arguments are errors with a reason.
    @Test func badArgumentsAreErrors() throws {
        let shape = S.shape(heads: 2, n: 64, d: 16)
        #expect(throws: Diagnostic.self) {
            _ = try Simulator.run(try Self.bind("flash2-rope", shape, dtype: .fp32, params: ["rope_factor": .float(0.5)]), options: RunOptions(mode: .count))
        }
        #expect(throws: Diagnostic.self) {
            _ = try Simulator.run(try Self.bind("flash2-softcap", shape, dtype: .fp32, params: ["softcap": .float(-1)]), options: RunOptions(mode: .count))
        }
        let odd = S.shape(heads: 2, n: 64, d: 15)
        #expect(throws: (any Error).self) { _ = try Self.bind("flash2-rope", odd, dtype: .fp32) }
    }
}

/// The zoo's built-ins through the table: types, arities and count sites checked before a
/// run, shapes and values at run time.
@Suite struct ZooBuiltinTests {
    typealias S = TestSupport

    static let header = """
        input  Q[batch * heads, N, d]
        input  T[batch, 4] i32
        output O[batch * heads, N, d]
        kernel k grid(bh: batch * heads):

        """

    func checkError(_ body: String) -> String? {
        do {
            _ = try Checker.check(SourceFile(name: "z.tile", text: Self.header + body))
            return nil
        } catch {
            return error.message
        }
    }

    @Test func checkerUsesTheTable() {
        #expect(checkError("  x = load Q[bh, :, :]\n  store O[bh, :, :] = rope(x, x)\n")?.contains("takes") == true)
        #expect(checkError("  x = load Q[bh, :, :]\n  store O[bh, :, :] = softcap(x, x)\n")?.contains("the cap of 'softcap' must be a number") == true)
        #expect(checkError("  x = load Q[bh, :, :]\n  store O[bh, :, :] = alibi(x, 0, 0.5, 1.0)\n")?.contains("the first key position of 'alibi' must be an integer") == true)
        // A tile size read from a tensor would make counts depend on data.
        let dataSize = "  r = load T[0, 1]\n  c = rope_cos(0, r, d / 2, 10000.0, 0, 1.0, 4096)\n  x = load Q[bh, :, :]\n  store O[bh, :, :] = x\n"
        #expect(checkError(dataSize)?.contains("the rows of 'rope_cos'") == true)
        // A position read from a tensor is only an operand (it changes values, not counts).
        let dataPosition = "  p = load T[0, 1]\n  x = load Q[bh, :, :]\n  store O[bh, :, :] = rope(x, rope_cos(p, N, d / 2, 10000.0, 0, 1.0, 4096), rope_sin(p, N, d / 2, 10000.0, 0, 1.0, 4096))\n"
        #expect(checkError(dataPosition) == nil)
    }

    @Test func runTimeErrorsNameTheProblem() throws {
        let shape = S.shape(heads: 2, n: 8, d: 4)
        func runError(_ body: String) -> String? {
            do {
                let bound = try S.bindSource(Self.header + body, shape)
                _ = try Simulator.run(bound, options: RunOptions(mode: .count))
                return nil
            } catch {
                return "\(error)"
            }
        }
        let wrongTable = "  x = load Q[bh, :, :]\n  store O[bh, :, :] = rope(x, zeros(N, 3), zeros(N, 3))\n"
        #expect(runError(wrongTable)?.contains("'rope' needs an r x 2h tile and r x h cosines and sines; found 8x4, 8x3 and 8x3") == true)
        let wideSlope = "  x = load Q[bh, :, :]\n  store O[bh, :, :] = alibi(x, 0, 0, zeros(2))\n"
        #expect(runError(wideSlope)?.contains("one-element tile, found 2") == true)
        let badHead = "  x = load Q[bh, :, :]\n  store O[bh, :, :] = alibi(x, 0, 0, alibi_slope(bh + heads, heads))\n"
        #expect(runError(badHead)?.contains("'alibi_slope' needs a head in 0 ..< heads") == true)
        let badScaling = "  x = load Q[bh, :, :]\n  store O[bh, :, :] = rope(x, rope_cos(0, N, 2, 10000.0, 5, 1.0, 64), rope_sin(0, N, 2, 10000.0, 0, 1.0, 64))\n"
        #expect(runError(badScaling)?.contains("RoPE scaling is 0 (none), 1 (linear), 2 (NTK) or 3 (YaRN), found 5") == true)
    }

    /// Counts from the table's rules: rope_cos/rope_sin 1 other + 1 special per element,
    /// rope 3, alibi 2, softcap 2 + 1 special, elu1 1 + 1 special.
    @Test func countsFollowTheTable() throws {
        let shape = S.shape(heads: 2, n: 8, d: 4)
        let body = """
              x = load Q[bh, :, :] -> reg
              y = rope(x, rope_cos(0, N, d / 2, 10000.0, 0, 1.0, 64), rope_sin(0, N, d / 2, 10000.0, 0, 1.0, 64))
              store O[bh, :, :] = elu1(softcap(alibi(y, 0, 0, 0.5), 3.0))

            """
        let t = try S.count(try S.bindSource(Self.header + body, shape)).total
        let elements = 2 * 8 * 4
        // cos + sin: 8 x 2 each; rope 3; alibi 2; softcap 2; elu1 1 per element of 8 x 4.
        #expect(t.flopsOther == 2 * (2 * 8 * 2) + elements * (3 + 2 + 2 + 1))
        #expect(t.exps == 2 * (2 * 8 * 2) + elements * (1 + 1))
    }
}
