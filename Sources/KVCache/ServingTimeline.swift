/// KV memory and requests over a serving simulation, sampled at iteration starts: what a
/// plot of memory in use and admitted requests against time needs.
///
/// Every `stride`-th iteration is kept; when more than twice `limit` samples are held,
/// the stride doubles and every other sample is dropped, so the samples stay evenly
/// spaced in iterations, at most `limit` at the end, in memory bounded by the limit
/// whatever the trace's length.
public struct ServingTimeline: Sendable, Equatable {
    /// One iteration's state, after admission and before finished requests retire.
    public struct Sample: Sendable, Equatable {
        /// When the iteration starts, seconds from time 0.
        public var seconds: Double
        /// Token slots holding tokens (the breakdown's token states), all running requests.
        public var usedTokens: Int
        /// Token slots the running requests hold: token states, reservations and
        /// internal fragmentation (`used + reserved + unusable` of the breakdown).
        public var allocatedTokens: Int
        /// Requests running in the iteration.
        public var running: Int
        /// Requests arrived and waiting for memory.
        public var waiting: Int
        /// Distinct requests admitted so far (a preempted request readmitted counts once).
        public var admitted: Int
    }

    /// The most samples a timeline keeps.
    public static let limit = 200

    public private(set) var samples: [Sample] = []
    private var stride = 1
    private var passes = 0

    public init() {}

    /// Offers one iteration's state; kept when it falls on the stride.
    mutating func offer(_ sample: Sample) { offer { sample } }

    /// Offers one iteration's state, made only when it falls on the stride and is kept.
    mutating func offer(_ make: () -> Sample) {
        defer { passes += 1 }
        guard passes % stride == 0 else { return }
        samples.append(make())
        if samples.count > 2 * Self.limit {
            samples = samples.enumerated().filter { $0.offset % 2 == 0 }.map(\.element)
            stride *= 2
        }
    }

    /// The samples, at most `limit`, evenly spaced in iterations.
    var thinned: [Sample] {
        var kept = samples
        while kept.count > Self.limit { kept = kept.enumerated().filter { $0.offset % 2 == 0 }.map(\.element) }
        return kept
    }
}
