import AttnAlgorithms
import AttnHardware
import AttnJSON
import TileInterpreter
import TileLanguage

/// Everything that can stop a scenario from running, each with a message for the user.
public enum ScenarioError: Error, Sendable, CustomStringConvertible {
    case unreadable(file: String, reason: String)
    case invalid(JSONInputError)
    case hardware(HardwareProfileError)
    case algorithm(AlgorithmError)
    case binding(label: String, context: Int, BindingError)
    case execution(label: String, context: Int, Diagnostic)
    case tooLarge(label: String, context: Int, bytes: Int)

    public var description: String {
        switch self {
        case .unreadable(let file, let reason): return "\(file): cannot read scenario: \(reason)"
        case .invalid(let error): return error.description
        case .hardware(let error): return error.description
        case .algorithm(let error): return error.description
        case .binding(let label, let context, let error): return "\(label) at context \(context): \(error)"
        case .execution(let label, let context, let diagnostic): return "\(label) at context \(context):\n\(diagnostic)"
        case .tooLarge(let label, let context, let bytes):
            return "\(label) at context \(context): numeric mode would hold \(bytes / (1 << 20)) MiB of tensors on the host; use count mode (--mode count) for shapes this large"
        }
    }
}
