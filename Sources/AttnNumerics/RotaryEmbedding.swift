import Foundation

/// Rotary position embedding (RoPE) with its context-extension scalings, in float64.
///
/// Su et al., "RoFormer: Enhanced Transformer with Rotary Position Embedding" (2021): the
/// pair of columns (c, c + d/2) of a query or key at position p is rotated by the angle
/// p * theta_c, theta_c = base^(-2c/d) (the "rotate half" layout of GPT-NeoX and Llama).
/// Then q_m . k_n depends on m - n only. The scalings change the angles (and, for YaRN,
/// the magnitude), never which elements are touched, so they change numerics only:
///
/// - `linear`: position interpolation (Chen et al. 2023), angle = (p / factor) theta_c.
/// - `ntk`: NTK-aware base change (bloc97 2023), base' = base * factor^(d / (d - 2)).
///   Llama-2-Long's and Code Llama's "adjusted base frequency" (ABF) is the plain base
///   change: scaling `none` with base 500,000 or 1,000,000.
/// - `yarn`: YaRN (Peng et al. 2023), NTK-by-parts: with r_c = L / lambda_c the number of
///   turns the pair makes over the original context L (lambda_c = 2 pi / theta_c) and the
///   ramp g = clamp((r_c - 1) / (32 - 1), 0, 1), theta'_c = (1 - g) theta_c / factor +
///   g theta_c; cos and sin are multiplied by 0.1 ln(factor) + 1 (the attention
///   temperature, applied to q and k alike).
public struct RotaryEmbedding: Sendable, Equatable, CustomStringConvertible {
    /// How the angles are adapted to a context longer than the one trained on.
    public enum Scaling: Int, Sendable, Equatable {
        case none = 0
        case linear = 1
        case ntk = 2
        case yarn = 3
    }

    public let base: Double
    public let scaling: Scaling
    public let factor: Double
    /// The context length the model was trained on (YaRN's L).
    public let originalContext: Int

    /// YaRN's ramp bounds (alpha, beta) in turns over the original context.
    static let yarnAlpha = 1.0, yarnBeta = 32.0

    /// A rotary embedding, or a message saying which value is out of range.
    public static func make(base: Double, scalingCode: Int, factor: Double, originalContext: Int) -> Result<RotaryEmbedding, RotaryError> {
        guard base.isFinite, base > 1 else { return .failure(RotaryError("the RoPE base must be finite and above 1, found \(base)")) }
        guard let scaling = Scaling(rawValue: scalingCode) else {
            return .failure(RotaryError("the RoPE scaling is 0 (none), 1 (linear), 2 (NTK) or 3 (YaRN), found \(scalingCode)"))
        }
        guard factor.isFinite, factor >= 1 else { return .failure(RotaryError("the RoPE scaling factor must be at least 1, found \(factor)")) }
        guard originalContext > 0 else { return .failure(RotaryError("the RoPE original context must be positive, found \(originalContext)")) }
        return .success(RotaryEmbedding(base: base, scaling: scaling, factor: factor, originalContext: originalContext))
    }

    private init(base: Double, scaling: Scaling, factor: Double, originalContext: Int) {
        self.base = base
        self.scaling = scaling
        self.factor = factor
        self.originalContext = originalContext
    }

    /// The rotation's magnitude: YaRN's 0.1 ln(factor) + 1, else 1.
    public var magnitude: Double { scaling == .yarn ? 0.1 * Foundation.log(factor) + 1 : 1 }

    /// theta_c for c in 0 ..< headDim / 2, scaling applied (positions are divided by the
    /// linear factor here, so angle = p * theta_c in every mode).
    public func frequencies(headDim d: Int) -> [Double] {
        let half = d / 2
        let effectiveBase = scaling == .ntk && d > 2 ? base * Foundation.pow(factor, Double(d) / Double(d - 2)) : base
        return (0..<half).map { c in
            let theta = Foundation.pow(effectiveBase, -2 * Double(c) / Double(d))
            switch scaling {
            case .none, .ntk:
                return theta
            case .linear:
                return theta / factor
            case .yarn:
                let turns = Double(originalContext) * theta / (2 * Double.pi)
                let ramp = Swift.min(1, Swift.max(0, (turns - Self.yarnAlpha) / (Self.yarnBeta - Self.yarnAlpha)))
                return (1 - ramp) * theta / factor + ramp * theta
            }
        }
    }

    /// Rotates `row` (d values, d even) in place as the vector at `position`, given
    /// `frequencies(headDim: d)`.
    public func rotate(_ row: inout [Double], position: Int, frequencies: [Double]) {
        let half = frequencies.count
        let m = magnitude
        for c in 0..<half {
            let angle = Double(position) * frequencies[c]
            let (cosine, sine) = (m * Foundation.cos(angle), m * Foundation.sin(angle))
            let (x, y) = (row[c], row[c + half])
            row[c] = x * cosine - y * sine
            row[c + half] = y * cosine + x * sine
        }
    }

    /// m cos(p theta_c) (or m sin) for one position and pair, as a kernel's table holds it.
    public func cosine(position: Int, frequency: Double) -> Double { magnitude * Foundation.cos(Double(position) * frequency) }
    public func sine(position: Int, frequency: Double) -> Double { magnitude * Foundation.sin(Double(position) * frequency) }

    public var description: String { "rope(base \(base), scaling \(scaling.rawValue), factor \(factor), original \(originalContext))" }
}

/// A rotary embedding's parameter out of range.
public struct RotaryError: Error, Sendable, Equatable, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
