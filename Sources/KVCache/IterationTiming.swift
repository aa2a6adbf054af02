/// Which clock a paged study's iterations run on: a fixed time per iteration, or the whole
/// model's predicted forward pass over each iteration's batch (`AttnModel`'s
/// `ModelIterationTimer`, which the command layer builds: this module does not depend on
/// the model).
public enum IterationTiming: Sendable, Equatable, CustomStringConvertible {
    /// Every iteration takes this many seconds (positive, finite).
    case fixed(seconds: Double)
    /// The model's predicted time over each batch.
    case model

    /// The fixed time of `scenarios/` and of `PagedStudy`'s default: 0.05 s.
    public static let defaultFixed = IterationTiming.fixed(seconds: 0.05)

    /// Parses `model` or `fixed:S` (S a positive, finite number of seconds); nil otherwise.
    public init?(parsing text: String) {
        if text == "model" {
            self = .model
            return
        }
        guard text.hasPrefix("fixed:"), let seconds = Double(text.dropFirst(6)), seconds > 0, seconds.isFinite else { return nil }
        self = .fixed(seconds: seconds)
    }

    /// The text `init(parsing:)` reads: `model` or `fixed:S`.
    public var description: String {
        switch self {
        case .model: return "model"
        case .fixed(let seconds): return "fixed:\(seconds)"
        }
    }
}
