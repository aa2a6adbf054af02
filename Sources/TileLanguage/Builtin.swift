/// A built-in function of the tile language, whole: its name, its signature and count rule
/// (`spec`: what the checker types, the data-dependence rule and the sensitivity and
/// uniformity analyses read, and by which rule the interpreter counts a call), and its
/// meaning (`meaning`: what a call computes in parameter expressions, in kernels and in
/// count mode's abstract domain).
///
/// Each family of built-ins is one file in `Builtins/` (arithmetic, math, reductions,
/// tile construction, masks, positions, activations, quantization, scheduling,
/// selection, recurrences, structured masks): a
/// definition there is the only place a built-in is described, and a definition missing
/// a piece its kind needs does not compile (`BuiltinMeaning`). Adding a built-in is one
/// definition and its tests (docs/ARCHITECTURE.md, "Adding a built-in").
public final class Builtin: Sendable, Hashable, CustomStringConvertible {
    /// The name programs call it by: `mask_causal`.
    public let name: String
    /// Arguments, result type and count rule.
    public let spec: BuiltinSpec
    /// What a call computes.
    package let meaning: BuiltinMeaning

    init(_ name: String, _ spec: BuiltinSpec, _ meaning: BuiltinMeaning) {
        self.name = name
        self.spec = spec
        self.meaning = meaning
    }

    public static func == (a: Builtin, b: Builtin) -> Bool { a === b }
    public func hash(into hasher: inout Hasher) { hasher.combine(ObjectIdentifier(self)) }
    public var description: String { name }

    /// Allowed argument counts.
    public var arity: ClosedRange<Int> { spec.arity }

    /// True for operations applied element by element (fusable into their consumer).
    public var isElementwise: Bool { spec.isElementwise }

    /// Every built-in, family by family (the order `attnsim` lists them in).
    public static let allCases: [Builtin] =
        arithmetic + math + reductions + tileConstruction + masks + positions + activations + quantization + scheduling
        + selection + recurrence + structuredMasks

    private static let byName: [String: Builtin] = Dictionary(allCases.map { ($0.name, $0) }) { first, _ in first }

    /// The built-in called `name`, if there is one.
    public static func named(_ name: String) -> Builtin? { byName[name] }
}
