import AttnAlgorithms
import AttnHardware
import AttnJSON
import AttnNumerics
import TileInterpreter
import TileLanguage

/// Everything that can stop a scenario from running, each with a message for the user.
public enum ScenarioError: AdvisedError, Sendable {
    case unreadable(file: String, reason: String)
    case invalid(JSONInputError)
    case hardware(HardwareProfileError)
    case algorithm(AlgorithmError)
    case binding(label: String, context: Int, BindingError)
    case execution(label: String, context: Int, Diagnostic)
    case tooLarge(label: String, context: Int, bytes: Int)
    /// A numeric run whose counted work exceeds `Runner.numericWorkBudget` (refused before it runs).
    case tooMuchWork(label: String, context: Int, flops: Int, budget: Int)
    /// An error found after parsing, located in its scenario file: `file: field: ...`.
    indirect case located(file: String, field: String, ScenarioError)

    /// `error` located at `field` of `file`, when there is a file.
    static func at(_ file: String?, _ field: String, _ error: ScenarioError) -> ScenarioError {
        guard let file else { return error }
        if case .located = error { return error }
        return .located(file: file, field: field, error)
    }

    public var description: String { advice.description }

    public var advice: Advice {
        switch self {
        case .unreadable(let file, let reason): return Advice("\(file): cannot read scenario: \(reason)")
        case .invalid(let error): return Advice(error.description)
        case .hardware(let error): return Advice(error.description)
        case .algorithm(let error): return Advice(error.description)
        case .binding(let label, let context, let error): return "\(label) at context \(context): " + error.advice
        case .execution(let label, let context, let diagnostic): return Advice("\(label) at context \(context):\n\(diagnostic)")
        case .located(let file, let field, let error): return "\(file): \(field): " + error.advice
        case .tooLarge(let label, let context, let bytes):
            return "\(label) at context \(context): numeric mode would hold \(bytes / (1 << 20)) MiB of tensors on the host; use count mode (\(Remedy.countMode)) for shapes this large"
        case .tooMuchWork(let label, let context, let flops, let budget):
            return """
                \(label) at context \(context): numeric mode would do \(NumberFormat.grouped(flops)) units of work (matmul FLOPs, 100 x other FLOPs, input \
                elements and slow float64 references, Runner.numericWork), over the budget of \(NumberFormat.grouped(budget)) (about 20 s to a minute and a half \
                of replay); not run. Use count mode (\(Remedy.countMode): the same counters, exact), a smaller shape, or \(Remedy.allowLong) (scenario field \
                "allow_long": true) to run it anyway
                """
        }
    }
}
