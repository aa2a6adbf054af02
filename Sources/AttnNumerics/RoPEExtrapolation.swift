import Foundation

/// The critical dimension and the extrapolation bound of a RoPE model, by the scaling law of
/// RoPE-based extrapolation, and what a context-extension scaling does to them.
///
/// Liu, Yan, Zhang, An, Qiu and Lin, "Scaling Laws of RoPE-based Extrapolation" (ICLR 2024,
/// arXiv 2310.05209), as its authors state it (github.com/OpenLMLab/scaling-rope, README,
/// Lemma 1 and Theorem 3, equations 12 to 16). Pair n of a head of d dimensions turns by
/// theta_n = base^(-2n/d) per position, so its period is T_n = 2 pi base^(2n/d):
///
/// - *Critical dimension* (eq. 13): the pairs whose period fits in the pre-training length
///   T_train saw every angle in training; the rest saw only part of a period and cause the
///   extrapolation problem. They are the first
///   `d_extra = 2 ceil((d/2) log_base(T_train / 2 pi))` dimensions (LLaMA 2: d 128, base
///   10,000, 4,096 tokens: 92).
/// - *Critical base* (eq. 16a): fine-tuning at base beta on T_tune >= T_train tokens, the
///   bound changes regime at `beta_0 = base^(log_{T_train/2pi}(T_tune/2pi))` (the paper's
///   base is 10,000; LLaMA 2 tuned on 16K: 71,738).
/// - *Larger bases* (eq. 16b): for beta > beta_0 the critical dimension stays the one of
///   pre-training and bounds extrapolation at its new period,
///   `T_extra = 2 pi beta^(d_extra / d)`.
/// - *Smaller bases* (eq. 16c, 16d): for beta <= beta_0 the bound is the tuning length
///   T_tune and the critical dimension grows to `2 ceil((d/2) log_beta(T_tune / 2 pi))`;
///   a base below `beta_1 = 2 T_tune / pi`, `beta_2 = T_tune / pi` or
///   `beta_3 = T_tune / (2 pi)` extrapolates markedly past T_tune (every pair then turns a
///   quarter, half or whole period within T_tune), by an amount the law does not give.
///
/// The scalings, as bases and positions (`RotaryEmbedding`): ABF (Xiong et al. 2023, as
/// Code Llama's 1,000,000) is a new base beta; NTK-aware scaling (bloc97 2023) the base
/// `base s^(d/(d-2))`; both then follow the law above. Linear position interpolation (Chen
/// et al. 2023) divides every position by s, and YaRN (Peng et al. 2023) divides those of
/// the pairs turning fewer than alpha times in T_train by s, keeps those turning more than
/// beta times, and blends in between; the critical pairs turn less than once, so below
/// alpha = 1 both stretch the bound by s. That stretch is this type's reading of those
/// methods in the law's terms (the paper measures ABF and NTK), and YaRN's attention
/// temperature is reported beside it: q and k scaled by 0.1 ln(s) + 1.
public struct RoPEExtrapolation: Sendable, Equatable {
    /// How the rotary embedding is extended past the pre-training length.
    public enum Method: String, Sendable, CaseIterable {
        /// The pre-trained embedding (possibly fine-tuned at its own base).
        case none
        /// Position interpolation: every position divided by the factor.
        case linear
        /// NTK-aware: the base raised to base s^(d/(d-2)).
        case ntk
        /// YaRN: NTK-by-parts interpolation with its attention temperature.
        case yarn
        /// Adjusted base frequency: a new base (Llama-2-Long 500,000, Code Llama 1,000,000).
        case abf
    }

    /// Which side of the critical base a (scaled) base falls on.
    public enum Regime: String, Sendable {
        /// beta > beta_0: the bound is the critical dimension's period (eq. 16b).
        case largerBase = "larger-base"
        /// beta <= beta_0: the bound is the tuning length (eq. 16c).
        case smallerBase = "smaller-base"
    }

    /// What is analysed: the pre-trained model and the extension applied to it.
    public struct Spec: Sendable, Equatable {
        /// The pre-training rotary base (10,000 for LLaMA 2).
        public var base: Double
        /// Dimensions of a head (even).
        public var headDim: Int
        /// The pre-training context length T_train, tokens.
        public var trainLength: Int
        public var method: Method = .none
        /// s of `linear`, `ntk` and `yarn` (at least 1).
        public var factor: Double = 1
        /// The new base of `abf`.
        public var scaledBase: Double? = nil
        /// The fine-tuning length T_tune (at least T_train; default T_train).
        public var tuneLength: Int? = nil
        /// YaRN's ramp bounds alpha < beta, in turns over T_train (the paper's 1 and 32).
        public var yarnAlpha: Double = 1
        public var yarnBeta: Double = 32

        public init(base: Double, headDim: Int, trainLength: Int, method: Method = .none, factor: Double = 1,
                    scaledBase: Double? = nil, tuneLength: Int? = nil, yarnAlpha: Double = 1, yarnBeta: Double = 32) {
            self.base = base
            self.headDim = headDim
            self.trainLength = trainLength
            self.method = method
            self.factor = factor
            self.scaledBase = scaledBase
            self.tuneLength = tuneLength
            self.yarnAlpha = yarnAlpha
            self.yarnBeta = yarnBeta
        }
    }

    /// How YaRN treats the pairs of a head (counts of pairs, not dimensions).
    public struct YaRNParts: Sendable, Equatable {
        /// Pairs turning fewer than alpha times in T_train: positions divided by s.
        public var interpolated: Int
        /// Pairs between alpha and beta turns: blended by the ramp.
        public var ramped: Int
        /// Pairs turning more than beta times: unchanged.
        public var kept: Int

        public init(interpolated: Int, ramped: Int, kept: Int) {
            self.interpolated = interpolated
            self.ramped = ramped
            self.kept = kept
        }
    }

    public let spec: Spec
    /// d_extra (eq. 13): dimensions whose period fits in T_train, 0 ... d.
    public let criticalDimension: Int
    /// The period of the first pair past the critical dimension at the pre-training base,
    /// 2 pi base^(d_extra / d); nil when every pair fits (d_extra = d).
    public let criticalPeriod: Double?
    /// The base after the scaling: `abf`'s new base, `ntk`'s base s^(d/(d-2)), else the base.
    public let effectiveBase: Double
    /// T_tune, tokens.
    public let tuneLength: Int
    /// beta_0 (eq. 16a).
    public let criticalBase: Double
    public let regime: Regime
    /// The critical dimension after tuning: d_extra above beta_0, eq. 16c's at or below it
    /// (capped at d).
    public let tunedCriticalDimension: Int
    /// What positions of the critical pairs are divided by: s for `linear`, YaRN's blend
    /// at the first critical pair for `yarn`, else 1.
    public let positionScale: Double
    /// The extrapolation bound, tokens; nil when no pair is critical (unbounded by the law).
    public let extrapolationBound: Double?
    /// beta_1, beta_2, beta_3 of eq. 16d for T_tune.
    public let smallBaseThresholds: [Double]
    /// YaRN's factor on q and k, 0.1 ln(s) + 1 (its attention temperature sqrt(1/t)); 1
    /// for the other methods.
    public let attentionScale: Double
    /// YaRN's parts; nil for the other methods.
    public let yarnParts: YaRNParts?

    /// The analysis of `spec`, or a message naming the value out of range.
    public static func analyze(_ spec: Spec) -> Result<RoPEExtrapolation, RotaryError> {
        if let problem = problem(spec) { return .failure(RotaryError(problem)) }
        return .success(RoPEExtrapolation(spec))
    }

    /// The first value of `spec` out of range, in words.
    static func problem(_ spec: Spec) -> String? {
        let d = spec.headDim
        guard spec.base.isFinite, spec.base > 1 else { return "the RoPE base must be finite and above 1, found \(spec.base)" }
        guard d >= 2, d % 2 == 0, d <= 1 << 20 else { return "the head dimension must be even, from 2 to 1,048,576, found \(d)" }
        guard spec.trainLength >= 7, spec.trainLength <= 1 << 40 else {
            return "the training length must be from 7 tokens (more than 2 pi, the shortest period) to 2^40, found \(spec.trainLength)"
        }
        if let tune = spec.tuneLength, tune < spec.trainLength || tune > 1 << 40 {
            return "the tuning length must be from the training length (\(spec.trainLength)) to 2^40, found \(tune)"
        }
        guard spec.factor.isFinite, spec.factor >= 1, spec.factor <= 1e6 else { return "the scaling factor must be from 1 to 1e6, found \(spec.factor)" }
        if spec.method != .abf && spec.scaledBase != nil { return "a scaled base applies to ABF only (the scaling is \(spec.method.rawValue))" }
        if spec.method == .abf {
            guard let scaled = spec.scaledBase else { return "ABF needs the new base (its scaled base)" }
            guard scaled.isFinite, scaled > 1 else { return "the scaled base must be finite and above 1, found \(scaled)" }
            guard spec.factor == 1 else { return "ABF takes a new base, not a factor" }
        }
        if spec.method == .none && spec.factor != 1 { return "a factor applies to linear, ntk or yarn scaling" }
        guard spec.yarnAlpha.isFinite, spec.yarnBeta.isFinite, spec.yarnAlpha >= 0, spec.yarnBeta > spec.yarnAlpha else {
            return "YaRN's ramp needs 0 <= alpha < beta, found alpha \(spec.yarnAlpha), beta \(spec.yarnBeta)"
        }
        return nil
    }

    private init(_ spec: Spec) {
        self.spec = spec
        let d = Double(spec.headDim)
        let trainSpan = Double(spec.trainLength) / (2 * Double.pi)
        let tune = spec.tuneLength ?? spec.trainLength
        tuneLength = tune
        let tuneSpan = Double(tune) / (2 * Double.pi)
        // Eq. 13: d_extra = 2 ceil((d/2) log_base(T_train / 2 pi)), within 0 ... d.
        let critical = Self.criticalDimension(headDim: spec.headDim, base: spec.base, span: trainSpan)
        criticalDimension = critical
        criticalPeriod = critical < spec.headDim ? 2 * Double.pi * Foundation.pow(spec.base, Double(critical) / d) : nil
        switch spec.method {
        case .abf: effectiveBase = spec.scaledBase ?? spec.base
        case .ntk: effectiveBase = spec.base * Foundation.pow(spec.factor, d / (d - 2))
        case .none, .linear, .yarn: effectiveBase = spec.base
        }
        // Eq. 16a: beta_0 = base^(log_{T_train/2pi}(T_tune/2pi)).
        criticalBase = Foundation.pow(spec.base, Foundation.log(tuneSpan) / Foundation.log(trainSpan))
        regime = effectiveBase > criticalBase ? .largerBase : .smallerBase
        let bound: Double?
        switch regime {
        case .largerBase:
            // Eq. 16b: T_extra = 2 pi beta^(d_extra / d); no critical pair, no bound.
            tunedCriticalDimension = critical
            bound = critical < spec.headDim ? 2 * Double.pi * Foundation.pow(effectiveBase, Double(critical) / d) : nil
        case .smallerBase:
            // Eq. 16c: the bound is T_tune; d'_extra = 2 ceil((d/2) log_beta(T_tune / 2 pi)).
            tunedCriticalDimension = max(critical, Self.criticalDimension(headDim: spec.headDim, base: effectiveBase, span: tuneSpan))
            bound = Double(tune)
        }
        // Eq. 16d.
        smallBaseThresholds = [2 * Double(tune) / Double.pi, Double(tune) / Double.pi, Double(tune) / (2 * Double.pi)]
        let firstCriticalTurns = critical < spec.headDim ? Double(spec.trainLength) / (2 * Double.pi * Foundation.pow(spec.base, Double(critical) / d)) : nil
        switch spec.method {
        case .linear:
            positionScale = spec.factor
        case .yarn:
            // theta' = ((1 - g) / s + g) theta, so positions are divided by 1 / ((1 - g) / s + g).
            let g = firstCriticalTurns.map { Self.ramp($0, alpha: spec.yarnAlpha, beta: spec.yarnBeta) } ?? 1
            positionScale = 1 / ((1 - g) / spec.factor + g)
        case .none, .ntk, .abf:
            positionScale = 1
        }
        let scale = positionScale
        extrapolationBound = bound.map { $0 * scale }
        attentionScale = spec.method == .yarn ? 0.1 * Foundation.log(spec.factor) + 1 : 1
        if spec.method == .yarn {
            var parts = YaRNParts(interpolated: 0, ramped: 0, kept: 0)
            for n in 0..<(spec.headDim / 2) {
                // r_n = T_train / lambda_n, lambda_n = 2 pi base^(2n/d) (YaRN, Section 3.2).
                let turns = Double(spec.trainLength) / (2 * Double.pi * Foundation.pow(spec.base, 2 * Double(n) / d))
                if turns < spec.yarnAlpha { parts.interpolated += 1 } else if turns > spec.yarnBeta { parts.kept += 1 } else { parts.ramped += 1 }
            }
            yarnParts = parts
        } else {
            yarnParts = nil
        }
    }

    /// How many of beta_1, beta_2, beta_3 the scaled base is below (0 to 3): the paper
    /// finds extrapolation past T_tune grows markedly below each.
    public var thresholdsBelow: Int { smallBaseThresholds.filter { effectiveBase < $0 }.count }

    /// 2 ceil((d/2) log_base(span)) within 0 ... d: the dimensions whose period 2 pi
    /// base^(2n/d) is at most 2 pi span.
    static func criticalDimension(headDim: Int, base: Double, span: Double) -> Int {
        let half = Double(headDim) / 2 * Foundation.log(span) / Foundation.log(base)
        guard half > 0 else { return 0 }
        guard half < Double(headDim) / 2 else { return headDim }
        // A product that is an integer up to rounding (d/2 log_b(s) = 45.000000001) counts as that integer.
        let rounded = half.rounded()
        let pairs = abs(half - rounded) < 1e-9 * max(1, half) ? rounded : half.rounded(.up)
        return min(headDim, 2 * Int(pairs))
    }

    /// YaRN's ramp g(r) = clamp((r - alpha) / (beta - alpha), 0, 1).
    static func ramp(_ turns: Double, alpha: Double, beta: Double) -> Double {
        min(1, max(0, (turns - alpha) / (beta - alpha)))
    }
}
