import AttnHardware
import AttnModel
import AttnNumerics
import KVCache
import Workload

/// What a study produced, by kind: the values `AttnReport` renders.
public enum StudyResult: Sendable {
    case attention([RunRecord])
    case kv([KVRecord])
    /// One entry per policy (and rate, when several).
    case paged([AllocationStats])
    case model(ModelStudyResult)
}

/// Runs a study of any kind, from a scenario file or from values: attention scenarios
/// through `Runner`, KV footprints, allocation policies over a trace (iterations timed
/// by the whole model or a fixed time) and whole-model predictions. `attnsim run FILE`,
/// `kv`, `paged` and `model` all run their studies here.
public enum StudyRunner {
    /// Runs the scenario file at `path`, whatever its `study`.
    public static func run(path: String, progress: (@Sendable (String, Double) -> Void)? = nil) throws -> StudyResult {
        try run(try StudyFile.load(path: path), progress: progress)
    }

    /// Runs `study`. `progress` is told what runs (an algorithm and context, a policy) and
    /// the fraction done; kv and model studies finish too quickly to report.
    public static func run(_ study: StudyFile, progress: (@Sendable (String, Double) -> Void)? = nil) throws -> StudyResult {
        switch study {
        case .attention(let scenario): return .attention(try Runner.run(scenario, progress: progress))
        case .kv(let kv, _): return .kv(try kv.run())
        case .paged(let paged, _): return .paged(try run(paged, progress: progress))
        case .model(let model, _): return .model(try ModelStudyPlan(model).run())
        }
    }

    /// A paged study at each of `rates` (nil: the study's sweep, else its rate), one `AllocationStats` per
    /// policy and rate, its iterations timed by the whole-model timer (shared by the
    /// rates, so its cache is kept) or the fixed time. `progress(label, fraction)` reports,
    /// the rate in the label when several.
    public static func run(
        _ study: PagedStudy, rates: [Double]? = nil, progress: ((String, Double) -> Void)? = nil
    ) throws -> [AllocationStats] {
        try study.validate()
        let rates = rates ?? study.rates ?? [study.rate]
        var timer = study.timing == .model ? try modelTimer(study) : nil
        var stats: [AllocationStats] = []
        for rate in rates {
            var s = study
            s.rate = rate
            let label = rates.count > 1 ? " @\(rate)/s" : ""
            let report: (String, Double) -> Void = { policy, fraction in progress?(policy + label, fraction) }
            if var model = timer {
                stats += try s.run(timer: &model, progress: report)
                timer = model
            } else {
                stats += try s.run(progress: report)
            }
        }
        return stats
    }

    /// The whole-model iteration timer of a paged study with model timing: the study's
    /// model (with a `decoder` object) on its GPU, weights and activations in the KV dtype
    /// when that is fp32, fp16 or bf16, else fp16; under `tp` G one GPU's share, with the
    /// all-reduces over the profile's interconnect. Each tile program runs under the
    /// count budget unless the study sets `allowLong`.
    public static func modelTimer(_ study: PagedStudy) throws -> ModelIterationTimer {
        let spec = try ModelSpec.named(study.model)
        guard spec.decoder != nil else {
            throw ModelShapeError(advice: "model timing needs the model's \"decoder\" object (docs/model.md), which \(spec.id) lacks; use \(Remedy.fixedTiming(seconds: 0.05))")
        }
        let architecture = try Architecture(model: spec)
        let hardware = try HardwareProfile.named(study.hardware)
        let dtype: DType
        switch study.dtype {
        case .fp32: dtype = .fp32
        case .bf16: dtype = .bf16
        default: dtype = .fp16
        }
        // The cache's format as the decode kernels read it (fp8, int8, int4, nvfp4, mxfp4;
        // `ModelPredictor` refuses what none reads) and the layers' weights.
        var precision = ModelPrecision(weights: study.weightFormat)
        switch study.dtype {
        case .fp32, .fp16, .bf16: break
        default: precision.kv = study.dtype
        }
        if precision.weights == .float(dtype) { precision.weights = nil }
        let options = ModelRunOptions(
            dtype: dtype, tensorParallel: study.tensorParallel, budgetUnits: study.allowLong ? nil : Runner.countStatementBudget,
            precision: precision)
        return ModelIterationTimer(predictor: try ModelPredictor(architecture: architecture, hardware: hardware, options: options))
    }
}
