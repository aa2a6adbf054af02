import Foundation
import Testing
@testable import AttnCLI
import AttnNumerics

/// The scaling law of RoPE-based extrapolation (Liu et al. 2023) and `attnsim rope`,
/// against the paper's worked values and hand-derived ones.
@Suite struct RoPEExtrapolationTests {
    func analyze(_ spec: RoPEExtrapolation.Spec) throws -> RoPEExtrapolation {
        try RoPEExtrapolation.analyze(spec).get()
    }

    /// d_extra = 2 ceil((d/2) log_base(T_train / 2 pi)) (eq. 13). LLaMA 2 (d 128, base
    /// 10,000, 4,096 tokens): 92, the paper's value (Section 3.3 and the authors' README:
    /// "the first 92 dimensions of LLaMA 2 saw complete position information"). The others
    /// by hand: (64/2) log_1e4(2048 / 2 pi) = 20.105 -> 42; Llama 3 (base 500,000, 8,192
    /// tokens) 34.984 -> 70; 64 log_1e4(2048 / 2 pi) = 40.21 -> 82.
    @Test(arguments: [
        (128, 10_000.0, 4096, 92), (64, 10_000.0, 2048, 42), (128, 500_000.0, 8192, 70), (128, 10_000.0, 2048, 82),
        // T_train below 2 pi base^(0): no pair saw a whole period... and a huge T: every pair did.
        (128, 10_000.0, 7, 2), (8, 2.0, 1 << 20, 8),
    ])
    func criticalDimension(_ d: Int, _ base: Double, _ train: Int, _ expected: Int) throws {
        #expect(try analyze(.init(base: base, headDim: d, trainLength: train)).criticalDimension == expected)
    }

    /// The critical base for LLaMA 2 tuned on 16K tokens: 10,000^(log_651.9(2,607.6)) =
    /// 71,738 (eq. 16a; the paper's 71,738), and the small-base thresholds of 4K tuning:
    /// 2 T/pi = 2,608, T/pi = 1,304, T/(2 pi) = 652 (eq. 16d; the README's 2608 and 652).
    @Test func criticalBaseAndThresholds() throws {
        let tuned = try analyze(.init(base: 10_000, headDim: 128, trainLength: 4096, tuneLength: 16_384))
        #expect(abs(tuned.criticalBase - 71_738.4) < 0.1)
        let plain = try analyze(.init(base: 10_000, headDim: 128, trainLength: 4096))
        #expect(plain.criticalBase == 10_000)
        #expect(plain.smallBaseThresholds.map { $0.rounded() } == [2608, 1304, 652])
        #expect(plain.thresholdsBelow == 0)
    }

    /// LLaMA 2 as trained: base = beta_0, the smaller-base regime, bound = T_train = 4,096
    /// (eq. 16c with T_tune = T_train); the first critical pair's period is
    /// 2 pi 10,000^(92/128) = 4,711.7 tokens.
    @Test func llama2AsTrained() throws {
        let a = try analyze(.init(base: 10_000, headDim: 128, trainLength: 4096))
        #expect(a.regime == .smallerBase)
        #expect(a.extrapolationBound == 4096)
        #expect(abs((a.criticalPeriod ?? 0) - 2 * Double.pi * pow(10_000, 92.0 / 128)) < 1e-6)
        #expect(abs((a.criticalPeriod ?? 0) - 4711.72) < 0.01)
        #expect(a.tunedCriticalDimension == 92)
    }

    /// ABF to Code Llama's 1,000,000, tuned on 16K: above beta_0 = 71,738, so the bound is
    /// 2 pi 1e6^(92/128) = 129,027 tokens (eq. 16b) -- the paper's (and Code Llama's)
    /// finding that base 1,000,000 tuned on 16K handles 100K-token contexts.
    @Test func codeLlamaBase() throws {
        let a = try analyze(.init(base: 10_000, headDim: 128, trainLength: 4096, method: .abf, scaledBase: 1_000_000, tuneLength: 16_384))
        #expect(a.regime == .largerBase)
        #expect(a.tunedCriticalDimension == 92)
        let bound = try #require(a.extrapolationBound)
        #expect(abs(bound - 2 * Double.pi * pow(1e6, 92.0 / 128)) < 1e-6)
        #expect(abs(bound - 129_026.8) < 0.1 && bound > 100_000)
    }

    /// ABF below the critical base: base 500 tuned on 16K (the paper's small base) keeps the
    /// tuning length as its bound; its critical dimension grows to every dimension
    /// (2 ceil(64 log_500(2,607.6)) = 2 x 82, capped at 128) and it is below all three
    /// thresholds (10,430, 5,215, 2,608).
    @Test func smallBase() throws {
        let a = try analyze(.init(base: 10_000, headDim: 128, trainLength: 4096, method: .abf, scaledBase: 500, tuneLength: 16_384))
        #expect(a.regime == .smallerBase)
        #expect(a.extrapolationBound == 16_384)
        #expect(a.tunedCriticalDimension == 128)
        #expect(a.thresholdsBelow == 3)
    }

    /// NTK-aware scaling by 4: base 10,000 x 4^(128/126) = 40,889.9 > beta_0 = 10,000, bound
    /// 2 pi 40,889.9^(92/128) = 12,965 tokens (eq. 16b at the NTK base).
    @Test func ntkScaling() throws {
        let a = try analyze(.init(base: 10_000, headDim: 128, trainLength: 4096, method: .ntk, factor: 4))
        #expect(abs(a.effectiveBase - 10_000 * pow(4, 128.0 / 126)) < 1e-6)
        #expect(a.regime == .largerBase)
        #expect(abs((a.extrapolationBound ?? 0) - 12_965.2) < 0.1)
    }

    /// Linear interpolation by 4 stretches LLaMA 2's 4,096 to 16,384; YaRN by 16 (alpha 1,
    /// beta 32) interpolates the 18 critical pairs (n = 46 ... 63 turn less than once in
    /// 4,096 tokens) fully, keeps the 21 pairs turning over 32 times (period under 128: n <=
    /// 20) and ramps the 25 between; bound 16 x 4,096 = 65,536, scale 0.1 ln 16 + 1.
    @Test func interpolations() throws {
        let linear = try analyze(.init(base: 10_000, headDim: 128, trainLength: 4096, method: .linear, factor: 4))
        #expect(linear.positionScale == 4 && linear.extrapolationBound == 16_384)
        let yarn = try analyze(.init(base: 10_000, headDim: 128, trainLength: 4096, method: .yarn, factor: 16))
        #expect(yarn.yarnParts == .init(interpolated: 18, ramped: 25, kept: 21))
        #expect(yarn.positionScale == 16 && yarn.extrapolationBound == 65_536)
        #expect(abs(yarn.attentionScale - (0.1 * log(16.0) + 1)) < 1e-12)
        // With alpha below the first critical pair's turns (4,096 / 4,711.7 = 0.869), its
        // positions are only partly interpolated: g = (0.869 - 0.5) / 31.5 = 0.01172.
        let partial = try analyze(.init(base: 10_000, headDim: 128, trainLength: 4096, method: .yarn, factor: 16, yarnAlpha: 0.5))
        let g = (4096 / (2 * Double.pi * pow(10_000, 92.0 / 128)) - 0.5) / 31.5
        #expect(abs(partial.positionScale - 1 / ((1 - g) / 16 + g)) < 1e-9)
    }

    /// Values out of range are messages, never crashes.
    @Test(arguments: [
        (RoPEExtrapolation.Spec(base: 1, headDim: 128, trainLength: 4096), "the RoPE base must be finite and above 1, found 1.0"),
        (RoPEExtrapolation.Spec(base: 1e4, headDim: 127, trainLength: 4096), "the head dimension must be even, from 2 to 1,048,576, found 127"),
        (RoPEExtrapolation.Spec(base: 1e4, headDim: 128, trainLength: 4), "the training length must be from 7 tokens (more than 2 pi, the shortest period) to 2^40, found 4"),
        (RoPEExtrapolation.Spec(base: 1e4, headDim: 128, trainLength: 4096, tuneLength: 1024), "the tuning length must be from the training length (4096) to 2^40, found 1024"),
        (RoPEExtrapolation.Spec(base: 1e4, headDim: 128, trainLength: 4096, method: .abf), "ABF needs the new base (its scaled base)"),
        (RoPEExtrapolation.Spec(base: 1e4, headDim: 128, trainLength: 4096, method: .yarn, factor: 0.5), "the scaling factor must be from 1 to 1e6, found 0.5"),
        (RoPEExtrapolation.Spec(base: 1e4, headDim: 128, trainLength: 4096, method: .yarn, factor: 4, yarnAlpha: 32, yarnBeta: 1),
         "YaRN's ramp needs 0 <= alpha < beta, found alpha 32.0, beta 1.0"),
    ])
    func badValues(_ spec: RoPEExtrapolation.Spec, _ message: String) {
        switch RoPEExtrapolation.analyze(spec) {
        case .success: Issue.record("expected: \(message)")
        case .failure(let error): #expect(error.description == message)
        }
    }

    // MARK: - attnsim rope

    func run(_ arguments: [String]) -> (code: Int32, out: String, err: String) {
        let captured = CapturedConsole()
        let code = AttnSimCommand.main(arguments, console: captured.console)
        return (code, captured.stdout, captured.stderr)
    }

    /// The table prints each figure with its equation; JSON carries the same numbers.
    @Test func commandPrintsTheLaw() throws {
        let table = run(["rope", "--base", "10000", "--head-dim", "128", "--train-length", "4k", "--scaling", "abf", "--scaled-base", "1e6", "--tune-length", "16k"])
        #expect(table.code == 0, "\(table.err)")
        #expect(table.out.contains("critical_dimension                                   92"))
        #expect(table.out.contains("extrapolation_bound_tokens                      129,027"))
        #expect(table.out.contains("critical_base                                   71738.4"))
        let json = run(["rope", "--base", "10000", "--head-dim", "128", "--train-length", "4096", "--scaling", "yarn", "--factor", "16", "--format", "json"])
        #expect(json.code == 0)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.out.utf8)) as? [String: Any])
        #expect(object["critical_dimension"] as? Int == 92)
        #expect(object["extrapolation_bound_tokens"] as? Double == 65_536)
        #expect((object["yarn_pairs"] as? [String: Int]) == ["interpolated": 18, "ramped": 25, "kept": 21])
        let csv = run(["rope", "--base", "500000", "--head-dim", "128", "--train-length", "8k", "--format", "csv"])
        #expect(csv.out.hasPrefix("quantity,value,how\ncritical_dimension,70,"))
    }

    /// Usage errors name the option (exit 64).
    @Test(arguments: [
        (["rope", "--head-dim", "128", "--train-length", "4k"], "'--base' is required"),
        (["rope", "--base", "1e4", "--head-dim", "128", "--train-length", "4k", "--factor", "4"], "'--factor' applies to --scaling linear, ntk or yarn"),
        (["rope", "--base", "1e4", "--head-dim", "128", "--train-length", "4k", "--scaling", "ntk"], "'--scaling ntk' needs --factor S"),
        (["rope", "--base", "1e4", "--head-dim", "128", "--train-length", "4k", "--scaling", "abf"], "'--scaling abf' needs --scaled-base B"),
        (["rope", "--base", "1e4", "--head-dim", "128", "--train-length", "4k", "--scaling", "rope2"], "'--scaling' expects none, linear, ntk, yarn or abf, found 'rope2'"),
        (["rope", "--base", "ten", "--head-dim", "128", "--train-length", "4k"], "'--base' expects a non-negative number, found 'ten'"),
        (["rope", "--base", "1e4", "--head-dim", "127", "--train-length", "4k"], "the head dimension must be even, from 2 to 1,048,576, found 127"),
    ])
    func usageErrors(_ arguments: [String], _ message: String) {
        let result = run(arguments)
        #expect(result.code == 64)
        #expect(result.err.hasPrefix("error: \(message)\n"), "\(result.err)")
    }
}
