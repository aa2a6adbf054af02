import AttnNumerics

/// A float64 reference a `check` line compares an output with, whole: its name, the input
/// tensors it takes, the options it reads, how it computes the reference output (with the
/// float64 kernels of AttnNumerics), and the length n of the reductions behind one output
/// element, which sets the check's tolerance 4 (R + n u(fp32)) (`NumericTolerance`).
///
/// Each family of references is one file in `References/` (softmax attention and its
/// gradients, the selective scan, linear attention, cascade attention, latent
/// attention, data-dependent sparse attention, Mamba-2's SSD, the gated delta rule,
/// structured masks, block-scaled attention); adding a reference is one definition there and its tests
/// (docs/ARCHITECTURE.md, "Adding a reference").
public final class ReferenceKind: Sendable, Hashable, CustomStringConvertible {
    /// The name `check` lines use: `attention_lse`.
    public let rawValue: String
    /// The input tensors it takes, in order, as the docs name them (`Q`, `K`, `V`).
    public let arguments: [String]
    /// The options it reads (`causal: 1`); a check may give only these.
    public let options: [ReferenceOption]
    /// Positions of arguments that are not inputs but a selection the program recorded:
    /// an i32 temp or output the kernels wrote (data-dependent sparse attention), which the
    /// reference checks against its own float64 selection and then follows.
    public let recordedArguments: Set<Int>
    /// The reference output, in the checked tensor's row-major order.
    package let compute: ReferenceFunction
    /// The length of the reductions behind one output element.
    package let reductionLength: @Sendable (ReferenceShapes) -> Int

    init(
        _ name: String, arguments: [String], options: [ReferenceOption] = [], recordedArguments: Set<Int> = [],
        reductionLength: @escaping @Sendable (ReferenceShapes) -> Int, compute: @escaping ReferenceFunction
    ) {
        self.rawValue = name
        self.arguments = arguments
        self.options = options
        self.recordedArguments = recordedArguments
        self.reductionLength = reductionLength
        self.compute = compute
    }

    public static func == (a: ReferenceKind, b: ReferenceKind) -> Bool { a === b }
    public func hash(into hasher: inout Hasher) { hasher.combine(ObjectIdentifier(self)) }
    public var description: String { rawValue }

    /// The tensor arguments the reference takes.
    public var argumentCount: Int { arguments.count }

    /// Every reference, family by family.
    public static let allCases: [ReferenceKind] =
        softmaxAttention + selectiveScanFamily + linearAttentionFamily + cascadeAttention + latentAttention + sparseAttention
        + stateSpaceDuality + gatedDeltaRule + structuredMaskAttention + scaledAttention

    private static let byName: [String: ReferenceKind] = Dictionary(allCases.map { ($0.rawValue, $0) }) { first, _ in first }

    /// The reference called `name`, if there is one.
    public static func named(_ name: String) -> ReferenceKind? { byName[name] }

    /// Every option some reference takes, in the order of `allCases`, each once.
    public static let allOptions: [ReferenceOption] = {
        var seen: Set<String> = []
        return allCases.flatMap(\.options).filter { seen.insert($0.name).inserted }
    }()

    /// d + Nkv: a dot product over the head dimension, then a sum over keys.
    static let headAndKeys: @Sendable (ReferenceShapes) -> Int = { $0.shape.headDim + $0.shape.keyLength }
}

/// An option of a reference: `causal: 1`, `rope_base: 500000.0`.
public struct ReferenceOption: Sendable, Equatable {
    public let name: String
    /// May be a float (otherwise an integer).
    public let isNumber: Bool

    init(_ name: String, number: Bool = false) {
        self.name = name
        self.isNumber = number
    }
}

/// The reference output of a check, from its inputs.
package typealias ReferenceFunction = @Sendable (ReferenceCall) throws(Diagnostic) -> [Double]

/// What a reduction length is computed from: the run's shape and the shapes of the check's
/// input tensors, in the check's order.
package struct ReferenceShapes {
    package let shape: ProblemShape
    package let arguments: [[Int]]

    package init(shape: ProblemShape, arguments: [[Int]]) {
        self.shape = shape
        self.arguments = arguments
    }

    /// The last dimension of argument `index` (0 when there is none).
    package func lastDimension(_ index: Int) -> Int {
        index < arguments.count ? arguments[index].last ?? 0 : 0
    }
}
