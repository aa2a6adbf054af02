import AttnNumerics
import TileLanguage

/// Compares a numeric run's outputs with their float64 references (`check` lines).
struct Verifier {
    let bound: BoundProgram
    let tensors: [HostTensor]
    let written: [[Bool]]

    func verify() throws(Diagnostic) -> [CheckResult] {
        var results: [CheckResult] = []
        var gradientCache: [String: (dQ: [Double], dK: [Double], dV: [Double])] = [:]
        let source = bound.program.source
        for check in bound.program.checks {
            let output = tensors[check.tensor]
            let unwritten = written[check.tensor].filter { !$0 }.count
            if unwritten > 0 {
                throw Diagnostic(source, check.location, "\(unwritten) of \(output.count) elements of '\(check.tensorName)' were never written by the program")
            }
            let problem = bound.shape
            let q = tensors[check.arguments[0]], k = tensors[check.arguments[1]]
            let bh = problem.batch * problem.heads, bhkv = problem.batch * problem.kvHeads
            let expectedQ = [bh, problem.queryLength, problem.headDim]
            let expectedKV = [bhkv, problem.keyLength, problem.headDim]
            // Any shape with the reference layout's elements in row-major order will do (the
            // grouped GQA schedule splits the head axis: [batch*kv_heads, group, N, d]).
            guard q.count == expectedQ.reduce(1, *), k.count == expectedKV.reduce(1, *), q.shape.last == problem.headDim else {
                throw Diagnostic(source, check.location, "the reference expects Q as \(expectedQ) and K, V as \(expectedKV); found \(q.shape) and \(k.shape)")
            }
            guard problem.heads % problem.kvHeads == 0 else {
                throw Diagnostic(source, check.location, "heads (\(problem.heads)) must be a multiple of kv_heads (\(problem.kvHeads))")
            }
            var mask = AttentionReference.Mask()
            var block = (pattern: 0, local: 1, stride: 0, density: 1000, seed: 1)
            for option in check.options {
                let value = try ScalarEvaluator.evaluate(option.value, parameters: bound.parameterValues, source: source)
                guard case .int(let i) = value else { throw Diagnostic(source, option.value.location, "'\(option.name)' must be an integer") }
                switch option.name {
                case "causal": mask.causal = i != 0
                case "window":
                    if i > 0 {
                        mask.window = i
                        mask.causal = true
                    }
                case "block_pattern": block.pattern = i
                case "block_local": block.local = i
                case "block_stride": block.stride = i
                case "block_density": block.density = i
                case "block_seed": block.seed = i
                case "block_rows": mask.blockRows = max(1, i)
                default: mask.blockColumns = max(1, i)
                }
            }
            guard let pattern = BlockPattern(code: block.pattern, local: block.local, stride: block.stride, densityPermille: block.density, seed: block.seed) else {
                throw Diagnostic(source, check.location, "block_pattern \(block.pattern) is not 0 (dense), 1 (local + strided) or 2 (random)")
            }
            mask.blocks = pattern
            let reference: [Double]
            switch check.reference {
            case .attention:
                let v = tensors[check.arguments[2]]
                guard v.count == expectedKV.reduce(1, *) else {
                    throw Diagnostic(source, check.location, "the reference expects V as \(expectedKV); found \(v.shape)")
                }
                reference = AttentionReference.output(problem, q: q, k: k, v: v, mask: mask)
            case .attentionLSE:
                reference = AttentionReference.logSumExp(problem, q: q, k: k, mask: mask)
            case .attentionDQ, .attentionDK, .attentionDV:
                let v = tensors[check.arguments[2]], dO = tensors[check.arguments[3]]
                guard v.count == expectedKV.reduce(1, *), dO.count == expectedQ.reduce(1, *) else {
                    throw Diagnostic(source, check.location, "the gradient reference expects V as \(expectedKV) and dO as \(expectedQ)")
                }
                // One float64 backward pass serves the three gradient checks.
                let key = check.argumentNames.joined(separator: ",") + "|\(mask.causal)|\(mask.window ?? 0)"
                let gradients = gradientCache[key] ?? AttentionReference.gradients(problem, q: q, k: k, v: v, dO: dO, mask: mask)
                gradientCache[key] = gradients
                reference = check.reference == .attentionDQ ? gradients.dQ : check.reference == .attentionDK ? gradients.dK : gradients.dV
            }
            guard let metrics = ErrorMetrics(values: output.values, reference: reference) else {
                throw Diagnostic(source, check.location, "'\(check.tensorName)' has \(output.count) elements; the reference has \(reference.count)")
            }
            results.append(CheckResult(tensor: check.tensorName, reference: check.reference, error: metrics))
        }
        return results
    }
}
