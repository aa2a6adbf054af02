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
}
