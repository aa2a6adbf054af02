/// One request of a serving trace.
public struct Request: Sendable, Equatable {
    public var id: Int
    /// Arrival time in seconds from the start of the trace.
    public var arrival: Double
    public var promptTokens: Int
    public var outputTokens: Int
    /// The token stream this request's prompt and output are the start of: the turns of
    /// one conversation (or the steps of one agent) share a stream, each turn's prompt
    /// holding the earlier turns' prompts and answers. nil: a stream of its own.
    public var session: Int? = nil
    /// Requests of one group start with the same `sharedPrefixTokens` tokens (a system
    /// prompt, few-shot examples), whatever their session. nil: no such prefix.
    public var prefixGroup: Int? = nil
    public var sharedPrefixTokens: Int = 0

    public init(
        id: Int, arrival: Double, promptTokens: Int, outputTokens: Int, session: Int? = nil, prefixGroup: Int? = nil,
        sharedPrefixTokens: Int = 0
    ) {
        self.id = id
        self.arrival = arrival
        self.promptTokens = promptTokens
        self.outputTokens = outputTokens
        self.session = session
        self.prefixGroup = prefixGroup
        self.sharedPrefixTokens = sharedPrefixTokens
    }

    /// Tokens the request holds when it finishes.
    public var finalTokens: Int { promptTokens + outputTokens }

    /// What the tokens of block `index` (tokens index x B ..< (index + 1) x B) are, for
    /// prefix caching: two requests whose blocks have the same key hold the same tokens
    /// in them and before them (vLLM's automatic prefix caching hashes a block with its
    /// prefix; SGLang's radix tree keys a node by its path). A block wholly inside the
    /// group's shared prefix belongs to the group; any other to the request's stream.
    public func blockKey(_ index: Int, blockSize: Int) -> BlockKey {
        if let group = prefixGroup, (index + 1) * blockSize <= sharedPrefixTokens {
            return BlockKey(stream: .group(group), index: index)
        }
        return BlockKey(stream: session.map { .session($0) } ?? .request(id), index: index)
    }

    /// The longest request (prompt + output tokens) a trace may hold: 2^40.
    public static let maxTokens = 1 << 40

    /// The latest arrival a trace file may give: 10^9 s (about 32 years). Times are float64
    /// seconds, whose spacing at 10^9 is 2^-23 s (0.12 us), so an iteration of a
    /// microsecond or more still moves the clock and a TTFT stays exact to a tenth of a
    /// microsecond; at 10^308 s adding any iteration leaves the clock where it was.
    public static let maxArrivalSeconds = 1e9
}

/// The content of one KV block of a request: its token stream and its index in it.
public struct BlockKey: Hashable, Sendable {
    public enum Stream: Hashable, Sendable {
        /// A prefix shared by a group of requests (system prompt, few-shot examples).
        case group(Int)
        /// A conversation or agent session.
        case session(Int)
        /// A request of its own (its blocks are shared only with itself, after a preemption).
        case request(Int)
    }

    public var stream: Stream
    public var index: Int

    public init(stream: Stream, index: Int) {
        self.stream = stream
        self.index = index
    }
}
