import Foundation

/// What long-context models do to attention scores besides the mask, for the float64
/// reference (`AttentionReference`): rotary positions on Q and K, ALiBi biases, logit
/// softcapping and attention sinks. The identity transform is plain attention.
///
/// A score is computed as s = scale (R_i q_i) . (R_j k_j) (R the rotary embedding, when
/// present), then softcapped, s = c tanh(s / c) (Gemma 2), then biased,
/// s += m_h (j - pos_i) (ALiBi, m_h the head's slope), and masked. Sinks widen the mask:
/// the first `sinks` keys stay visible to every query at or after them even outside its
/// window (StreamingLLM).
public struct ScoreTransform: Sendable, Equatable, CustomStringConvertible {
    public var rotary: RotaryEmbedding?
    public var alibi: Bool
    /// The softcap c (nil: none).
    public var softcap: Double?
    /// Keys 0 ..< sinks are always visible (causally).
    public var sinks: Int

    public init(rotary: RotaryEmbedding? = nil, alibi: Bool = false, softcap: Double? = nil, sinks: Int = 0) {
        self.rotary = rotary
        self.alibi = alibi
        self.softcap = softcap
        self.sinks = sinks
    }

    public static let identity = ScoreTransform()

    public var isIdentity: Bool { self == .identity }

    public var description: String {
        "\(rotary.map(\.description) ?? "-")|alibi \(alibi)|softcap \(softcap.map { "\($0)" } ?? "-")|sinks \(sinks)"
    }
}

/// ALiBi's per-head slopes (Press et al., "Train Short, Test Long: Attention with Linear
/// Biases Enables Input Length Extrapolation", 2022, and its reference code).
public enum ALiBi {
    /// The slope of head h of H: for H a power of two, 2^(-8 (h + 1) / H); otherwise the
    /// slopes of the largest power of two P below H, followed by every other slope of 2P
    /// (the first H - P of them).
    public static func slope(head h: Int, heads: Int) -> Double? {
        guard heads > 0, h >= 0, h < heads else { return nil }
        func powerOfTwoSlope(_ i: Int, _ n: Int) -> Double { Foundation.pow(2, -8 * Double(i + 1) / Double(n)) }
        var p = 1
        while p * 2 <= heads { p *= 2 }
        if h < p { return powerOfTwoSlope(h, p) }
        return powerOfTwoSlope(2 * (h - p), 2 * p)
    }
}
