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
        var lseCache: [String: [Double]] = [:]
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
                results.append(result(check, metrics, output))
                continue
            }
            if let reference = try zooReference(check) {
                guard let metrics = ErrorMetrics(values: output.values, reference: reference) else {
                    throw Diagnostic(.numeric, source, check.location, "'\(check.tensorName)' has \(output.count) elements; the reference has \(reference.count)")
                }
                results.append(result(check, metrics, output))
                continue
            }
            if check.reference == .attentionMLA {
                let inputs = check.arguments.map { tensors[$0] }
                guard let reference = LatentAttentionReference.output(
                    qNope: inputs[0], qRope: inputs[1], latent: inputs[2], ropeKey: inputs[3], wUK: inputs[4], wUV: inputs[5],
                    batch: bound.shape.batch, heads: bound.shape.heads),
                    let metrics = ErrorMetrics(values: output.values, reference: reference)
                else {
                    throw Diagnostic(.numeric, source, check.location, "attention_mla expects QN [batch*heads, N, d], QR [batch*heads, N, dR], C [batch, Nkv, dc], KR [batch, Nkv, dR], WUK [heads, dc, d], WUV [heads, dc, dv] and an output of batch*heads*N*dv elements")
                }
                results.append(result(check, metrics, output))
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
            var zoo = ZooCheckOptions()
            for option in check.options {
                let value = try ScalarEvaluator.evaluate(option.value, parameters: bound.parameterValues, source: source, names: bound.program.parameters.map(\.name))
                if try zoo.accept(option.name, value, source: source, at: option.value.location) { continue }
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
            let transform = try zoo.transform(source: source, at: check.location)
            let reference: [Double]
            switch check.reference {
            case .attention, .attentionPaged:
                let v = pagedV ?? tensors[check.arguments[2]]
                guard v.count == expectedKV.reduce(1, *) else {
                    throw Diagnostic(.numeric, source, check.location, "the reference expects V as \(expectedKV); found \(v.shape)")
                }
                // One float64 pass gives the output and the log-sum-exp: an LSE check of the
                // same Q, K and mask reuses it.
                let both = AttentionReference.outputAndLogSumExp(problem, q: q, k: k, v: v, mask: mask, transform: transform)
                lseCache[Self.lseKey(check, mask) + "|\(transform)"] = both.logSumExp
                reference = both.output
            case .attentionLSE:
                let key = Self.lseKey(check, mask) + "|\(transform)"
                reference = lseCache[key] ?? AttentionReference.logSumExp(problem, q: q, k: k, mask: mask, transform: transform)
                lseCache[key] = reference
            case .selectiveScan, .linearAttention, .linformer, .attentionCascade, .attentionCascadeLSE, .attentionMLA:
                continue
            case .attentionDQ, .attentionDK, .attentionDV:
                let v = tensors[check.arguments[2]], dO = tensors[check.arguments[3]]
                guard transform.isIdentity else {
                    throw Diagnostic(.numeric, source, check.location, "the gradient references take no rope, alibi, softcap or sinks options")
                }
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

/// The tolerance each numeric check is held to by default, and the verdicts.
///
/// Arithmetic is fp32 and every tensor is rounded to its storage dtype when stored, so an
/// output carries two kinds of error (docs/algorithms.md, "Numeric verdicts"):
///
/// - storage roundings. Each store of a tensor on the output's path rounds every element
///   once, a relative error of at most u (the unit roundoff of that tensor's dtype: fp32
///   2^-24, fp16 2^-11, bf16 2^-8). The path is the checked output and every temp tensor
///   written by the kernels up to the last one that stores the output; stores per element
///   come from the run's write counters (flash1 stores O Tc + 1 times: the initial zeros
///   and one write-back per K/V block; flash2 once). Inputs are rounded before the
///   reference sees them, so they add nothing. Roundings are independent and unbiased
///   (round to nearest even), so k of them add in quadrature: R = sqrt(sum k_i u_i^2)
///   (Higham and Mary 2019, probabilistic error analysis).
/// - fp32 accumulation: n u(fp32), n the length of the reductions behind one element,
///   bounded deterministically.
///
/// tolerance = 4 (R + n u(fp32)), with n by family:
///
/// | family | references | n |
/// |---|---|---|
/// | forward attention | attention, attention_paged | d + Nkv (a dot product, a sum over keys) |
/// | log-sum-exp | attention_lse | d + Nkv |
/// | gradients | attention_dq, attention_dk, attention_dv | d + N + Nkv (sums over queries and keys) |
/// | selective scan | selective_scan | L + S (the recurrence over L steps, the sum over states) |
/// | forward attention | attention_cascade, attention_cascade_lse | d + Nkv |
/// | linear attention | linear_attention | d + Nkv (a feature dot product, a sum over keys) |
/// | Linformer | linformer | d + Nkv + k (the projection, then attention over k rows) |
///
/// The factor 4 is the softmax's amplification: a relative error e in a score s moves
/// exp(s - m) by about |s| e, and with standard normal inputs and scale 1/sqrt(d) the
/// scores are N(0, 1), |s| < 4 for all but about 6 in 10^5. Measured errors of the
/// built-in programs stay below 0.6 R (fp16, bf16) and 0.01 n u(fp32) (fp32).
public enum NumericTolerance {
    /// The derived tolerance of `check` in a run of `bound`; `stats` (nil: one store per
    /// element of every temp and the output) gives the stores per element.
    public static func derived(_ check: CheckDecl, bound: BoundProgram, stats: RunStats?) -> Double {
        let fp32 = DType.fp32.unitRoundoff
        // Kernels that can feed the output: up to the last one that writes it.
        var kernels: ArraySlice<KernelStats> = []
        if let stats, check.tensor < stats.tensorNames.count {
            let last = stats.kernels.lastIndex { $0.counters.tensors[check.tensor].writeBytes > 0 } ?? stats.kernels.count - 1
            kernels = last >= 0 ? stats.kernels[...last] : []
        }
        var squares = 0.0
        for (index, tensor) in bound.program.tensors.enumerated() where !tensor.isInteger {
            guard index == check.tensor || tensor.role == .temp else { continue }
            let dtype = bound.tensorDTypes[index]
            var stores = 1
            if stats != nil {
                let elements = bound.tensorShapes[index].reduce(1, *)
                let written = kernels.reduce(0) { $0 + $1.counters.tensors[index].writeBytes }
                let perElement = elements > 0 ? (written + elements * dtype.bytes - 1) / (elements * dtype.bytes) : 0
                stores = index == check.tensor ? max(1, perElement) : perElement
            }
            squares += Double(stores) * dtype.unitRoundoff * dtype.unitRoundoff
        }
        squares += Verifier.quantizationSquares(check, bound: bound)
        let shape = bound.shape
        let n: Int
        switch check.reference {
        case .attention, .attentionPaged, .attentionLSE, .attentionCascade, .attentionCascadeLSE:
            n = shape.headDim + shape.keyLength
        case .attentionDQ, .attentionDK, .attentionDV:
            n = shape.headDim + shape.queryLength + shape.keyLength
        case .attentionMLA:
            // Decompression (dc terms), the score (d + dR), the sum over keys and the
            // value's decompression (dc): 2 dc + d + dR + Nkv.
            let last = { (i: Int) in i < check.arguments.count ? bound.tensorShapes[check.arguments[i]].last ?? 0 : 0 }
            n = 2 * last(2) + last(4) + last(3) + shape.keyLength
        case .selectiveScan:
            let x = check.arguments.first.map { bound.tensorShapes[$0] } ?? []
            let a = check.arguments.count > 2 ? bound.tensorShapes[check.arguments[2]] : []
            n = (x.count > 1 ? x[1] : 1) + (a.count > 1 ? a[1] : 1)
        case .linearAttention, .linformer:
            n = Verifier.zooReductionLength(check, bound: bound)
        }
        return 4 * (squares.squareRoot() + Double(n) * fp32)
    }

    /// `checks` (in the order of the program's `check` lines) with their tolerances:
    /// `override` for all of them, or each one derived with the run's counters.
    public static func judge(_ checks: [CheckResult], bound: BoundProgram, stats: RunStats, override: Double?) -> [CheckResult] {
        let declarations = bound.program.checks
        return checks.enumerated().map { index, check in
            var judged = check
            if let override {
                judged.tolerance = override
                judged.toleranceOverridden = true
            } else if let declaration = index < declarations.count && declarations[index].tensorName == check.tensor
                ? declarations[index] : declarations.first(where: { $0.tensorName == check.tensor }) {
                judged.tolerance = derived(declaration, bound: bound, stats: stats)
                judged.toleranceOverridden = false
            }
            return judged
        }
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

extension Verifier {
    /// Which LSE reference a check can share: the same Q and K tensors and mask (a paged
    /// check's keys are gathered through its block table, so it shares with no plain one).
    static func lseKey(_ check: CheckDecl, _ mask: AttentionReference.Mask) -> String {
        let family = check.reference == .attentionPaged ? "paged" : "plain"
        return family + "|" + check.argumentNames.prefix(2).joined(separator: ",") + "|\(mask)"
    }
}
