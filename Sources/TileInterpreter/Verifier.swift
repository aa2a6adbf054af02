import AttnNumerics
import TileLanguage

/// Compares a numeric run's outputs with their float64 references (`check` lines): each
/// reference computes itself from its definition (`ReferenceKind.compute`).
struct Verifier {
    let bound: BoundProgram
    let tensors: [HostTensor]
    let written: [[Bool]]

    func verify() throws(Diagnostic) -> [CheckResult] {
        var results: [CheckResult] = []
        let cache = ReferenceCache()
        let source = bound.program.source
        let names = bound.program.parameters.map(\.name)
        for check in bound.program.checks {
            let output = tensors[check.tensor]
            let unwritten = written[check.tensor].filter { !$0 }.count
            if unwritten > 0 {
                throw Diagnostic(.numeric, source, check.location, "\(unwritten) of \(output.count) elements of '\(check.tensorName)' were never written by the program")
            }
            var options: [ReferenceOptionValue] = []
            for option in check.options {
                let value: BuiltinValue
                switch try ScalarEvaluator.evaluate(option.value, parameters: bound.parameterValues, source: source, names: names) {
                case .int(let i): value = .int(i)
                case .float(let x): value = .float(x)
                }
                options.append(ReferenceOptionValue(name: option.name, value: value, location: option.value.location))
            }
            let call = ReferenceCall(
                check: check, shape: bound.shape, inputs: check.arguments.map { tensors[$0] }, outputCount: output.count,
                options: options, source: source, cache: cache)
            let reference = try check.reference.compute(call)
            guard let metrics = ErrorMetrics(values: output.values, reference: reference) else {
                throw Diagnostic(.numeric, source, check.location, "'\(check.tensorName)' has \(output.count) elements; the reference has \(reference.count)")
            }
            results.append(result(check, metrics, output))
        }
        return results
    }

    /// A check's result with its derived tolerance (one store per element of every tensor
    /// written; `NumericTolerance.judge` refines it from the run's counters).
    private func result(_ check: CheckDecl, _ metrics: ErrorMetrics, _ output: HostTensor) -> CheckResult {
        CheckResult(
            tensor: check.tensorName, reference: check.reference, error: metrics, shape: output.shape,
            tolerance: NumericTolerance.derived(check, bound: bound, stats: nil))
    }
}
