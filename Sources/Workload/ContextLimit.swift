import AttnNumerics

/// A study that asks a model for more positions than it supports: a context (or a
/// request's length) past the model's maximum context (its `max_context`, from the
/// config's `max_position_embeddings` and RoPE scaling). Commands refuse it unless told
/// to go on (`--allow-beyond-max`, scenario field `allow_beyond_max`), and then warn.
public struct ContextLimit: Error, Sendable, Equatable, CustomStringConvertible {
    public var model: String
    public var maxContext: Int
    /// The positions asked for.
    public var context: Int

    public init(model: String, maxContext: Int, context: Int) {
        self.model = model
        self.maxContext = maxContext
        self.context = context
    }

    public var description: String {
        "\(NumberFormat.grouped(context)) tokens are past \(model)'s maximum context of \(NumberFormat.grouped(maxContext)) tokens"
    }
}

extension ModelSpec {
    /// The limit `context` positions break, or nil when the model supports them (or states
    /// no maximum).
    public func contextLimit(_ context: Int) -> ContextLimit? {
        guard let maxContext, context > maxContext else { return nil }
        return ContextLimit(model: id, maxContext: maxContext, context: context)
    }
}
