/// What a sweep of request rates shows: the rate each policy sustains.
///
/// A policy's latency stays near its unloaded value until memory caps its batch, then
/// its queue grows without bound (Kwon et al. 2023, Figure 12, and Section 6.1: the
/// normalized latency, mean over requests of end-to-end latency / output tokens, of a
/// system that keeps up stays low). The sustained rate is where the mean normalized
/// latency first reaches `latencyFactor` times the lowest of the sweep, found by linear
/// interpolation between the two swept rates around that crossing. A policy that never
/// reaches it within the swept rates sustains at least the highest rate swept (a lower
/// bound, `SustainedRate.isLowerBound`); one that starts above it, none.
public enum PagedSweep {
    /// The latency that marks a policy as saturated, in multiples of the unloaded one.
    public static let latencyFactor = 2.0

    /// A policy's sustained rate: the interpolated crossing, or, when the sweep never
    /// reached the threshold, the highest rate swept as a lower bound.
    public struct SustainedRate: Sendable, Equatable {
        /// Requests per second.
        public var requestsPerSecond: Double
        /// True when the policy's latency stayed below the threshold at every swept rate:
        /// it sustains at least `requestsPerSecond`, and where it crosses is unknown.
        public var isLowerBound: Bool

        public init(requestsPerSecond: Double, isLowerBound: Bool) {
            self.requestsPerSecond = requestsPerSecond
            self.isLowerBound = isLowerBound
        }
    }

    /// Per policy (in order of first appearance) the rate it sustains, and the lowest
    /// mean normalized latency of the sweep; nil when no run has latencies.
    public static func sustainedRates(_ stats: [AllocationStats]) -> (rates: [(String, SustainedRate?)], baseSeconds: Double)? {
        let latencies = stats.filter { $0.normalizedLatency.count > 0 }.map(\.normalizedLatency.mean)
        guard let base = latencies.min(), base > 0 else { return nil }
        let threshold = latencyFactor * base
        var policies: [String] = []
        for s in stats where !policies.contains(s.policy) { policies.append(s.policy) }
        let rates = policies.map { policy -> (String, SustainedRate?) in
            let points = stats.filter { $0.policy == policy && $0.normalizedLatency.count > 0 }
                .compactMap { s in s.rate.map { ($0, s.normalizedLatency.mean) } }.sorted { $0.0 < $1.0 }
            return (policy, crossing(points, threshold: threshold))
        }
        return (rates, base)
    }

    /// The rate at which (rate, latency) points, sorted by rate, first reach
    /// `threshold`, linear between the points around it; the last rate as a lower bound
    /// when none does; nil when the first already does (or there are no points).
    public static func crossing(_ points: [(Double, Double)], threshold: Double) -> SustainedRate? {
        guard let first = points.first, first.1 < threshold, let last = points.last else { return nil }
        for (a, b) in zip(points, points.dropFirst()) where b.1 >= threshold {
            return SustainedRate(requestsPerSecond: a.0 + (threshold - a.1) / (b.1 - a.1) * (b.0 - a.0), isLowerBound: false)
        }
        return SustainedRate(requestsPerSecond: last.0, isLowerBound: true)
    }
}
