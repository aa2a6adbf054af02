import Testing
@testable import KVCache

/// The sustained rate of a sweep: where a policy's mean latency first reaches the
/// threshold, linear between the swept rates around it; the highest rate swept, marked as
/// a lower bound, when it never does; none when it starts there.
@Suite struct PagedSweepTests {
    typealias Rate = PagedSweep.SustainedRate

    /// (rate, latency) points against a threshold of 2, and the rate derived by hand.
    static let crossings: [(String, [(Double, Double)], Rate?)] = [
        // 1, 1.5, 3 at rates 1, 2, 3: 2 is a third of the way from 1.5 to 3, so 2 + 1/3.
        ("crossed between the second and third rate", [(1, 1), (2, 1.5), (3, 3)], Rate(requestsPerSecond: 2 + 0.5 / 1.5, isLowerBound: false)),
        // 1 to 5 between rates 1 and 3: 2 is a quarter of the way, 1 + 0.25 x 2 = 1.5.
        ("crossed right after the first rate", [(1, 1), (3, 5), (4, 9)], Rate(requestsPerSecond: 1.5, isLowerBound: false)),
        // Reaching the threshold exactly at a swept rate crosses there.
        ("reached exactly at a swept rate", [(1, 1), (2, 2), (3, 4)], Rate(requestsPerSecond: 2, isLowerBound: false)),
        // Never reached: at least the highest rate swept, not a crossing.
        ("never reached", [(1, 1), (2, 1.5)], Rate(requestsPerSecond: 2, isLowerBound: true)),
        ("never reached, one rate", [(4, 1.9)], Rate(requestsPerSecond: 4, isLowerBound: true)),
        // Already at the threshold at the first (lightest) rate: it sustains none.
        ("above at the first rate", [(1, 2.5), (2, 3)], nil),
        ("at the first rate", [(1, 2), (2, 3)], nil),
        ("no points", [], nil),
    ]

    @Test(arguments: crossings.indices)
    func crossing(_ index: Int) {
        let (label, points, expected) = Self.crossings[index]
        #expect(PagedSweep.crossing(points, threshold: 2) == expected, "\(label)")
    }
}
