import AttnAlgorithms
import AttnNumerics
import TileInterpreter
import TileLanguage

/// A failure of one step of the `Pipeline`, with its cause.
public struct PipelineError: AdvisedError, Sendable {
    /// The step that failed.
    public enum Stage: String, Sendable {
        case load, bind, run
    }

    /// What went wrong.
    public enum Cause: Sendable {
        /// The program could not be found, read or checked.
        case algorithm(AlgorithmError)
        /// A parameter, a `require` or a shape does not fit the run.
        case binding(BindingError)
        /// The run failed at a statement: bounds, capacity, overflow, a failed check.
        case program(Diagnostic)
    }

    public var stage: Stage
    public var cause: Cause

    /// The tile-language diagnostic behind the failure, if there is one.
    public var diagnostic: Diagnostic? {
        switch cause {
        case .algorithm(.invalid(let diagnostic)): return diagnostic
        case .binding(.program(let diagnostic)): return diagnostic
        case .program(let diagnostic): return diagnostic
        default: return nil
        }
    }

    /// A thread block needs more shared memory or registers than the hardware has: the
    /// configuration cannot run, which `tune` reports apart from real errors.
    public var isOverCapacity: Bool {
        if case .capacity? = diagnostic?.kind { return true }
        return false
    }

    /// The program refused the shape or parameters when it was bound (a `require`, a
    /// non-positive extent): the configuration does not apply.
    public var isRequirementFailure: Bool { stage == .bind }

    public var description: String {
        switch cause {
        case .algorithm(let error): return error.description
        case .binding(let error): return error.description
        case .program(let diagnostic): return diagnostic.description
        }
    }

    public var advice: Advice {
        if case .binding(let error) = cause { return error.advice }
        return Advice(description)
    }
}
