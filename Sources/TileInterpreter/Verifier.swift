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
                throw Diagnostic(.numeric, source, check.location, "\(unwritten) of \(output.count) elements of '\(check.tensorName)' were never written by the program")
            }
            if check.reference == .selectiveScan {
                let inputs = check.arguments.map { tensors[$0] }
                guard let reference = SelectiveScanReference.output(x: inputs[0], delta: inputs[1], a: inputs[2], b: inputs[3], c: inputs[4]),
                    let metrics = ErrorMetrics(values: output.values, reference: reference)
                else {
                    throw Diagnostic(.numeric, source, check.location, "selective_scan expects X, Delta [batch, L, D], A [D, S], B, C [batch, L, S] and an output like X")
                }
                results.append(CheckResult(tensor: check.tensorName, reference: check.reference, error: metrics))
                continue
            }
            let problem = bound.shape
            let q = tensors[check.arguments[0]]
            var k = tensors[check.arguments[1]]
            let bh = problem.batch * problem.heads, bhkv = problem.batch * problem.kvHeads
            let expectedQ = [bh, problem.queryLength, problem.headDim]
            let expectedKV = [bhkv, problem.keyLength, problem.headDim]
            // Any shape with the reference layout's elements in row-major order will do (the
            // grouped GQA schedule splits the head axis: [batch*kv_heads, group, N, d]).
            guard q.count == expectedQ.reduce(1, *), q.shape.last == problem.headDim else {
                throw Diagnostic(.numeric, source, check.location, "the reference expects Q as \(expectedQ) and K, V as \(expectedKV); found \(q.shape) and \(k.shape)")
            }
            guard problem.heads % problem.kvHeads == 0 else {
                throw Diagnostic(.numeric, source, check.location, "heads (\(problem.heads)) must be a multiple of kv_heads (\(problem.kvHeads))")
            }
            var mask = AttentionReference.Mask()
            var block = (pattern: 0, local: 1, stride: 0, density: 1000, seed: 1)
            var pageSize = 0
            for option in check.options {
                let value = try ScalarEvaluator.evaluate(option.value, parameters: bound.parameterValues, source: source)
                guard case .int(let i) = value else { throw Diagnostic(.numeric, source, option.value.location, "'\(option.name)' must be an integer") }
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
                case "page_size": pageSize = i
                case "block_rows": mask.blockRows = max(1, i)
                default: mask.blockColumns = max(1, i)
                }
            }
            guard let pattern = BlockPattern(code: block.pattern, local: block.local, stride: block.stride, densityPermille: block.density, seed: block.seed) else {
                throw Diagnostic(.numeric, source, check.location, "block_pattern \(block.pattern) is not 0 (dense), 1 (local + strided) or 2 (random)")
            }
            mask.blocks = pattern
            var pagedV: HostTensor?
            if check.reference == .attentionPaged {
                guard pageSize > 0 else { throw Diagnostic(.numeric, source, check.location, "'attention_paged' needs the option page_size") }
                let table = tensors[check.arguments[3]]
                k = try PagedLayout.gather(k, table: table, problem: problem, pageSize: pageSize, source: source, at: check.location)
                pagedV = try PagedLayout.gather(tensors[check.arguments[2]], table: table, problem: problem, pageSize: pageSize, source: source, at: check.location)
            }
            guard k.count == expectedKV.reduce(1, *) else {
                throw Diagnostic(.numeric, source, check.location, "the reference expects K, V as \(expectedKV); found \(k.shape)")
            }
            let reference: [Double]
            switch check.reference {
            case .attention, .attentionPaged:
                let v = pagedV ?? tensors[check.arguments[2]]
                guard v.count == expectedKV.reduce(1, *) else {
                    throw Diagnostic(.numeric, source, check.location, "the reference expects V as \(expectedKV); found \(v.shape)")
                }
                reference = AttentionReference.output(problem, q: q, k: k, v: v, mask: mask)
            case .attentionLSE:
                reference = AttentionReference.logSumExp(problem, q: q, k: k, mask: mask)
            case .selectiveScan:
                continue
            case .attentionDQ, .attentionDK, .attentionDV:
                let v = tensors[check.arguments[2]], dO = tensors[check.arguments[3]]
                guard v.count == expectedKV.reduce(1, *), dO.count == expectedQ.reduce(1, *) else {
                    throw Diagnostic(.numeric, source, check.location, "the gradient reference expects V as \(expectedKV) and dO as \(expectedQ)")
                }
                // One float64 backward pass serves the three gradient checks.
                let key = check.argumentNames.joined(separator: ",") + "|\(mask.causal)|\(mask.window ?? 0)"
                let gradients = gradientCache[key] ?? AttentionReference.gradients(problem, q: q, k: k, v: v, dO: dO, mask: mask)
                gradientCache[key] = gradients
                reference = check.reference == .attentionDQ ? gradients.dQ : check.reference == .attentionDK ? gradients.dK : gradients.dV
            }
            guard let metrics = ErrorMetrics(values: output.values, reference: reference) else {
                throw Diagnostic(.numeric, source, check.location, "'\(check.tensorName)' has \(output.count) elements; the reference has \(reference.count)")
            }
            results.append(CheckResult(tensor: check.tensorName, reference: check.reference, error: metrics))
        }
        return results
    }
}

/// The page layout of a paged KV cache, for the reference.
enum PagedLayout {
    /// Contiguous [batch*kv_heads, Nkv, d] keys (or values) gathered from a page pool
    /// [pages, kv_heads, page_size, d] through the block table [batch, pages per sequence]:
    /// token t of sequence b lives in page table[b, t / page_size] at slot t % page_size.
    static func gather(
        _ pool: HostTensor, table: HostTensor, problem: ProblemShape, pageSize: Int, source: SourceFile, at location: SourceLocation
    ) throws(Diagnostic) -> HostTensor {
        let d = problem.headDim, nkv = problem.keyLength, heads = problem.kvHeads
        guard pool.shape.count == 4, pool.shape[1] == heads, pool.shape[2] == pageSize, pool.shape[3] == d else {
            throw Diagnostic(.numeric, source, location, "a page pool is [pages, kv_heads, page_size, d]; found \(pool.shape)")
        }
        guard table.shape.count == 2, table.shape[0] == problem.batch, table.shape[1] * pageSize >= nkv else {
            throw Diagnostic(.numeric, source, location, "a block table is [batch, pages per sequence] covering Nkv tokens; found \(table.shape)")
        }
        var out = HostTensor(shape: [problem.batch * heads, nkv, d], dtype: pool.dtype)
        for b in 0..<problem.batch {
            for t in 0..<nkv {
                let page = Int(table.values[b * table.shape[1] + t / pageSize])
                guard page >= 0 && page < pool.shape[0] else {
                    throw Diagnostic(.numeric, source, location, "block table entry \(page) is outside the pool of \(pool.shape[0]) pages")
                }
                for h in 0..<heads {
                    let from = ((page * heads + h) * pageSize + t % pageSize) * d
                    let to = ((b * heads + h) * nkv + t) * d
                    for c in 0..<d { out.values[to + c] = pool.values[from + c] }
                }
            }
        }
        return out
    }
}
