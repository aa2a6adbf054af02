/// One request of a serving trace.
public struct Request: Sendable, Equatable {
    public var id: Int
    /// Arrival time in seconds from the start of the trace.
    public var arrival: Double
    public var promptTokens: Int
    public var outputTokens: Int

    public init(id: Int, arrival: Double, promptTokens: Int, outputTokens: Int) {
        self.id = id
        self.arrival = arrival
        self.promptTokens = promptTokens
        self.outputTokens = outputTokens
    }

    /// Tokens the request holds when it finishes.
    public var finalTokens: Int { promptTokens + outputTokens }

    /// The longest request (prompt + output tokens) a trace may hold: 2^40.
    public static let maxTokens = 1 << 40

    /// The latest arrival a trace file may give: 10^9 s (about 32 years). Times are float64
    /// seconds, whose spacing at 10^9 is 2^-23 s (0.12 us), so an iteration of a
    /// microsecond or more still moves the clock and a TTFT stays exact to a tenth of a
    /// microsecond; at 10^308 s adding any iteration leaves the clock where it was.
    public static let maxArrivalSeconds = 1e9
}
