/// What one forward pass processes: prompt chunks (prefill) and single new tokens
/// (decode) of a batch of sequences, each with its context.
public struct ForwardLoad: Sendable, Equatable {
    /// `sequences` prompts each adding `tokens` to a context of `context` tokens (the
    /// cached tokens plus these; a whole prompt has tokens == context, a chunk fewer).
    public struct Chunk: Sendable, Equatable {
        public var tokens: Int
        public var context: Int
        public var sequences: Int

        public init(tokens: Int, context: Int, sequences: Int = 1) {
            self.tokens = tokens
            self.context = context
            self.sequences = sequences
        }
    }

    /// `sequences` sequences each generating one token at `context` tokens (the new one included).
    public struct Decode: Sendable, Equatable {
        public var context: Int
        public var sequences: Int

        public init(context: Int, sequences: Int = 1) {
            self.context = context
            self.sequences = sequences
        }
    }

    /// `sequences` sequences each checking `tokens` tokens of a speculative-decoding step
    /// (the last accepted token and its drafts, a `DraftTree` of `width` in breadth-first
    /// order) at `context` tokens (these included): every token gets logits, and attention
    /// is the tree-verify program over the cached prefix and the tree.
    public struct Verify: Sendable, Equatable {
        public var tokens: Int
        public var width: Int
        public var context: Int
        public var sequences: Int

        public init(tokens: Int, width: Int, context: Int, sequences: Int = 1) {
            self.tokens = tokens
            self.width = width
            self.context = context
            self.sequences = sequences
        }
    }

    public var prefill: [Chunk]
    public var decode: [Decode]
    /// Speculative verify steps (none in a plain pass).
    public var verify: [Verify] = []

    public init(prefill: [Chunk] = [], decode: [Decode] = []) {
        self.prefill = prefill
        self.decode = decode
    }

    public init(verify: [Verify]) {
        self.init()
        self.verify = verify
    }

    /// Sequences in the pass.
    public var sequences: Int { prefill.reduce(0) { $0 + $1.sequences } + decodeSequences + verify.reduce(0) { $0 + $1.sequences } }
    /// Rows of logits: one per prompt chunk and decode step, one per token of a verify step.
    var logitRows: Int { prefill.reduce(0) { $0 + $1.sequences } + decodeSequences + verify.reduce(0) { $0 + $1.sequences * $1.tokens } }
    public var decodeSequences: Int { decode.reduce(0) { $0 + $1.sequences } }
    public var longestContext: Int {
        max(prefill.map(\.context).max() ?? 0, decode.map(\.context).max() ?? 0, verify.map(\.context).max() ?? 0)
    }

    /// Tokens the linear layers process: every chunk's tokens and one per decoding sequence.
    func tokens() throws(ModelShapeError) -> Int {
        var total = 0
        for chunk in prefill {
            guard chunk.tokens >= 1, chunk.sequences >= 1, chunk.context >= chunk.tokens else {
                throw ModelShapeError("a prompt chunk needs tokens >= 1, sequences >= 1 and context >= tokens (found \(chunk.tokens), \(chunk.sequences), \(chunk.context))")
            }
            let (n, o1) = chunk.tokens.multipliedReportingOverflow(by: chunk.sequences)
            let (sum, o2) = total.addingReportingOverflow(n)
            guard !o1, !o2 else { throw ModelShapeError("the pass's token count overflows") }
            total = sum
        }
        for step in decode {
            guard step.context >= 1, step.sequences >= 1 else { throw ModelShapeError("a decode step needs context >= 1 and sequences >= 1") }
            let (sum, overflow) = total.addingReportingOverflow(step.sequences)
            guard !overflow else { throw ModelShapeError("the pass's token count overflows") }
            total = sum
        }
        for step in verify {
            guard step.tokens >= 1, step.width >= 1, step.sequences >= 1, step.context >= step.tokens else {
                throw ModelShapeError("a verify step needs tokens >= 1, width >= 1, sequences >= 1 and context >= tokens (found \(step.tokens), \(step.width), \(step.sequences), \(step.context))")
            }
            let (n, o1) = step.tokens.multipliedReportingOverflow(by: step.sequences)
            let (sum, o2) = total.addingReportingOverflow(n)
            guard !o1, !o2 else { throw ModelShapeError("the pass's token count overflows") }
            total = sum
        }
        return total
    }

    /// Attention calls: one per distinct chunk shape or decode context, with its sequences.
    var attentionJobs: [(decode: Bool, queries: Int, keys: Int, sequences: Int)] {
        var jobs: [(decode: Bool, queries: Int, keys: Int, sequences: Int)] = []
        func add(_ decode: Bool, _ queries: Int, _ keys: Int, _ n: Int) {
            if let i = jobs.firstIndex(where: { $0.decode == decode && $0.queries == queries && $0.keys == keys }) {
                jobs[i].sequences += n
            } else {
                jobs.append((decode, queries, keys, n))
            }
        }
        for chunk in prefill { add(false, chunk.tokens, chunk.context, chunk.sequences) }
        for step in decode { add(true, 1, step.context, step.sequences) }
        return jobs
    }
}
