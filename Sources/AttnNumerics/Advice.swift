/// A message that names the settings to change as `Remedy` values, written as a string
/// literal: `"use \(Remedy.countMode) for shapes this large"`. `description` words each
/// remedy with its own description; a front end spells them its way (`spelled`).
public struct Advice: Sendable, Hashable, CustomStringConvertible, ExpressibleByStringInterpolation {
    /// Text, or a setting to change.
    public enum Piece: Sendable, Hashable {
        case text(String)
        case remedy(Remedy)
    }

    public var pieces: [Piece]

    public init(_ text: String) { pieces = [.text(text)] }

    public init(stringLiteral value: String) { self.init(value) }

    public init(stringInterpolation: Interpolation) { pieces = stringInterpolation.pieces }

    /// The message with each remedy spelled by `spell`.
    public func spelled(_ spell: (Remedy) -> String) -> String {
        pieces.map {
            switch $0 {
            case .text(let text): return text
            case .remedy(let remedy): return spell(remedy)
            }
        }.joined()
    }

    public var description: String { spelled(\.description) }

    /// `prefix` followed by `advice`, its remedies kept.
    public static func + (prefix: String, advice: Advice) -> Advice {
        var joined = Advice(prefix)
        joined.pieces += advice.pieces
        return joined
    }

    /// The literal's pieces: text as written, remedies as values, anything else by its
    /// description.
    public struct Interpolation: StringInterpolationProtocol {
        var pieces: [Piece] = []

        public init(literalCapacity: Int, interpolationCount: Int) {}

        public mutating func appendLiteral(_ literal: String) { pieces.append(.text(literal)) }

        public mutating func appendInterpolation(_ remedy: Remedy) { pieces.append(.remedy(remedy)) }

        public mutating func appendInterpolation<T>(_ value: T) { pieces.append(.text(String(describing: value))) }
    }
}
