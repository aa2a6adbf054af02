import AttnNumerics
import TileLanguage

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
/// - register roundings C = sqrt(sum over `cast` sites on the output's path of u_i^2): a
///   cast rounds each element it passes once (`roundingSquares`: FA3's FP8 path rounds P
///   to e4m3, flash2-triton to fp16).
///
/// tolerance = 4 (R + n u(fp32)) + C, with n the length of the reductions behind one output
/// element, which each reference's definition gives (`ReferenceKind.reductionLength`:
/// d + Nkv for forward attention and its log-sum-exp, d + N + Nkv for the gradients, L + S
/// for the selective scan, d + Nkv + k for Linformer, 2 dc + d + dR + Nkv for latent
/// attention).
///
/// The factor 4 is the softmax's amplification: a relative error e in a score s moves
/// exp(s - m) by about |s| e, and with standard normal inputs and scale 1/sqrt(d) the
/// scores are N(0, 1), |s| < 4 for all but about 6 in 10^5. The casts in the built-ins
/// round P, after the exponential: O = sum_j p_j (1 + delta_j) v_j / l moves by
/// sum_j delta_j p_j v_j / l, a weighted sum like O's own with weights off by |delta| <= u,
/// so its normwise relative error is about the rounding's (measured 0.16 u for e4m3 P in
/// flash3-fp8) and C enters once, not amplified. Measured errors of the
/// built-in programs stay below 0.6 R (fp16, bf16) and 0.01 n u(fp32) (fp32).
public enum NumericTolerance {
    /// The derived tolerance of `check` in a run of `bound`; `stats` (nil: one store per
    /// element of every temp and the output) gives the stores per element.
    public static func derived(_ check: CheckDecl, bound: BoundProgram, stats: RunStats?) -> Double {
        let fp32 = DType.fp32.unitRoundoff
        // Kernels that can feed the output: up to the last one that writes it.
        var kernels: ArraySlice<KernelStats> = []
        var lastKernel = bound.program.kernels.count - 1
        if let stats, check.tensor < stats.tensorNames.count {
            let last = stats.kernels.lastIndex { $0.counters.tensors[check.tensor].writeBytes > 0 } ?? stats.kernels.count - 1
            kernels = last >= 0 ? stats.kernels[...last] : []
            lastKernel = last
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
        squares += quantizationSquares(check, bound: bound, stats: stats)
        // The length of the reductions behind one element, from the reference's definition.
        let n = check.reference.reductionLength(ReferenceShapes(shape: bound.shape, arguments: check.arguments.map { bound.tensorShapes[$0] }))
        // Roundings in registers after the exponential (P cast to e4m3 before P V) enter the
        // output linearly: not amplified by the softmax, so outside the factor 4.
        let casts = roundingSquares(check, bound: bound, lastKernel: lastKernel)
        return 4 * (squares.squareRoot() + Double(n) * fp32) + casts.squareRoot()
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

    /// The quantization term of a check's tolerance: for each of its inputs that a
    /// `quantize` initializer turned into codes, the square of the format's relative step
    /// (`KVQuantFormat.relativeStep`: fp8e4m3 2^-4, fp8e5m2 2^-3, int8 1/255, int4 1/15,
    /// fp4e2m1 1/6).
    /// The reference reads the unquantized values, so a quantized K or V perturbs the
    /// output as one more rounding of that size would: each element's error is at most the
    /// step times the magnitude of its group (a normwise relative error), unbiased and
    /// independent of the others, so it adds in quadrature with the storage roundings and
    /// the softmax amplifies it by the same factor 4. An unknown format counts as the
    /// coarsest (FP4). With the run's `stats`, codes no kernel read perturb nothing and
    /// are not counted (a program that declares one code tensor per format reads one).
    static func quantizationSquares(_ check: CheckDecl, bound: BoundProgram, stats: RunStats? = nil) -> Double {
        var squares = 0.0
        for (index, tensor) in bound.program.tensors.enumerated() {
            guard case .quantize(let quantize) = tensor.initializer, check.arguments.contains(quantize.source) else { continue }
            if let stats, index < stats.total.tensors.count, stats.total.tensors[index].readBytes == 0 { continue }
            var step = KVQuantFormat.allCases.map(\.relativeStep).max() ?? 1
            if let value = try? ScalarEvaluator.evaluate(quantize.format, parameters: bound.parameterValues, source: bound.program.source),
                case .int(let code) = value, let format = KVQuantFormat(rawValue: code) {
                step = format.relativeStep
            }
            squares += step * step
        }
        return squares
    }
}
