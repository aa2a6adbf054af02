import AttnNumerics

/// One `check` as its reference computes it: the check, the run's shape, the input tensors
/// it names (in its order, after the program ran), its options evaluated, and a cache that
/// references computed in one pass share (an attention check's log-sum-exp, the three
/// gradients of one backward pass).
package struct ReferenceCall {
    package let check: CheckDecl
    package let shape: ProblemShape
    /// The check's input tensors, in its order.
    package let inputs: [HostTensor]
    /// Elements of the checked output.
    package let outputCount: Int
    /// The check's options with their values, in its order.
    package let options: [ReferenceOptionValue]
    package let source: SourceFile
    package let cache: ReferenceCache

    package init(
        check: CheckDecl, shape: ProblemShape, inputs: [HostTensor], outputCount: Int, options: [ReferenceOptionValue],
        source: SourceFile, cache: ReferenceCache
    ) {
        self.check = check
        self.shape = shape
        self.inputs = inputs
        self.outputCount = outputCount
        self.options = options
        self.source = source
        self.cache = cache
    }

    /// A diagnostic at the check line.
    package func error(_ message: String) -> Diagnostic {
        Diagnostic(.numeric, source, check.location, message)
    }

    /// An option's value as an integer.
    package func integer(_ option: ReferenceOptionValue) throws(Diagnostic) -> Int {
        guard case .int(let i) = option.value else {
            throw Diagnostic(.numeric, source, option.location, "'\(option.name)' must be an integer")
        }
        return i
    }
}

/// An option of a check with its value (a parameter expression, evaluated).
package struct ReferenceOptionValue {
    package let name: String
    /// `.int` or `.float`.
    package let value: BuiltinValue
    package let location: SourceLocation

    package init(name: String, value: BuiltinValue, location: SourceLocation) {
        self.name = name
        self.value = value
        self.location = location
    }
}

/// Reference values shared by the checks of one run, by key.
package final class ReferenceCache {
    package var values: [String: [Double]] = [:]

    package init() {}
}
