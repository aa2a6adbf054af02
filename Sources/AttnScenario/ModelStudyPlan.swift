import AttnHardware
import AttnModel
import AttnNumerics
import Workload

/// Why a model study cannot run as given: a choice the study names (phase, view,
/// parallelism, pruning, model, hardware) rather than a failure while predicting.
public enum ModelStudyError: AdvisedError, Sendable {
    /// `phase` is not `prefill` or `decode`.
    case phase(String)
    /// `view` is not one of `ModelStudyFile.views`.
    case view(String)
    /// Context parallelism (ring attention) models prefill; the operator view asked for decode.
    case contextParallelDecode
    /// A context does not split evenly over the context-parallel GPUs.
    case contextSplit(context: Int, gpus: Int)
    /// The pruning text does not parse.
    case pruning(PruningSpecError)
    /// The model, its pruning, the hardware or the parallelism does not fit (the cause's error).
    case setup(any Error)
    /// A context is past the model's maximum context and the study does not allow it.
    case beyondMax(ContextLimit)
    /// The speculative-decoding setup is not valid (drafts, width, acceptance).
    case speculative(SpeculativeDecodingError)
    /// Speculative decoding is shown by the summary and operators views, without context parallelism.
    case speculativeView

    public var description: String {
        switch self {
        case .phase(let text): return "phase '\(text)': expected prefill or decode"
        case .view(let text): return "view '\(text)': expected \(ModelStudyFile.views.joined(separator: ", "))"
        case .contextParallelDecode: return "context parallelism (ring attention) models prefill only; use the prefill phase"
        case .contextSplit(let context, let gpus): return "context \(context) does not split evenly over \(gpus) GPUs (context parallelism)"
        case .pruning(let error): return error.description
        case .setup(let error): return "\(error)"
        case .beyondMax(let limit): return limit.description
        case .speculative(let error): return error.description
        case .speculativeView: return "speculative decoding is shown by the summary and operators views, without context parallelism"
        }
    }

    /// The cause's advice when the model or its parallelism does not fit.
    public var advice: Advice {
        if case .setup(let cause as any AdvisedError) = self { return cause.advice }
        return Advice(description)
    }
}

/// A model study resolved and ready to run: its layers (pruned if asked), GPU, run
/// options and phase, each checked when the plan is made, so that what fails later
/// fails while predicting.
public struct ModelStudyPlan: Sendable {
    public var study: ModelStudyFile
    public var architecture: Architecture
    public var hardware: HardwareProfile
    public var options: ModelRunOptions
    public var phase: ModelPhase
    /// The contexts past the model's maximum context (allowed by `allowBeyondMax`, else
    /// the plan is refused), for a warning.
    public var contextLimits: [ContextLimit] = []
    /// The speculative-decoding setup, when the study asks for one.
    public var speculative: SpeculativeDecoding?

    /// Resolves `study`: the phase and view, the context split over `cp` GPUs, the
    /// pruning, the model (with its `decoder` object), the hardware and a predictor for
    /// them. A study that does not set `allowLong` runs each tile program under the count
    /// budget (`Runner.countStatementBudget`).
    public init(_ study: ModelStudyFile) throws(ModelStudyError) {
        guard let phase = ModelPhase(rawValue: study.phase) else { throw .phase(study.phase) }
        guard ModelStudyFile.views.contains(study.view) else { throw .view(study.view) }
        var options = ModelRunOptions(
            batch: study.batch, dtype: study.dtype, tensorParallel: study.tensorParallel, contextParallel: study.contextParallel,
            budgetUnits: study.allowLong ? nil : Runner.countStatementBudget, precision: study.precision)
        options.expertParallel = study.expertParallel
        options.attentionDataParallel = study.attentionDataParallel
        options.expertImbalance = study.expertImbalance
        options.pipelineParallel = study.pipelineParallel
        options.microbatches = study.microbatches
        if options.contextParallel > 1 && phase == .decode && study.view == "operators" { throw .contextParallelDecode }
        var pruning: Pruning?
        if let text = study.prune {
            do { pruning = try Pruning(parsing: text) } catch { throw .pruning(error) }
        }
        if let bad = study.contexts.first(where: { $0 % options.contextParallel != 0 }) {
            throw .contextSplit(context: bad, gpus: options.contextParallel)
        }
        let spec: ModelSpec
        do { spec = try ModelSpec.named(study.model) } catch { throw .setup(error) }
        let limits = study.contexts.compactMap(spec.contextLimit)
        if let first = limits.first, !study.allowBeyondMax { throw .beyondMax(first) }
        contextLimits = limits
        do {
            var architecture = try Architecture(model: spec)
            if let pruning { architecture = try pruning.apply(to: architecture) }
            let hardware = try HardwareProfile.named(study.hardware)
            _ = try ModelPredictor(architecture: architecture, hardware: hardware, options: options)
            self.architecture = architecture
            self.hardware = hardware
        } catch {
            throw .setup(error)
        }
        self.study = study
        self.options = options
        self.phase = phase
        if let request = study.speculative {
            guard study.view != "parameters", options.contextParallel == 1 else { throw .speculativeView }
            let speculation = try request.resolved()
            do { _ = try SpeculativeStudy(architecture: architecture, hardware: hardware, options: options, speculation: speculation) } catch { throw .setup(error) }
            speculative = speculation
        }
    }

    /// Predicts what the study's view shows: the parameters; the operators of the phase
    /// at each context; or each context's prefill and decode summaries, with the
    /// crossover contexts when asked.
    public func run() throws(ModelShapeError) -> ModelStudyResult {
        var modelStudy = try ModelStudy(architecture: architecture, hardware: hardware, options: options)
        var result = ModelStudyResult(
            architecture: architecture, hardware: hardware.id, options: options, parameters: ParameterCount(architecture), view: study.view, phase: phase)
        switch study.view {
        case _ where speculative != nil:
            guard let speculation = speculative else { break }
            result.speculation = speculation
            var speculativeStudy = try SpeculativeStudy(architecture: architecture, hardware: hardware, options: options, speculation: speculation)
            for context in study.contexts { result.speculative.append(try speculativeStudy.summary(context: context)) }
            if study.crossover && study.view == "summary" {
                for context in study.contexts {
                    result.speculativeCrossover.append(try SpeculativeStudy.batchCrossover(
                        architecture: architecture, hardware: hardware, options: options, speculation: speculation, context: context))
                }
            }
        case "parameters":
            break
        case "operators":
            for context in study.contexts { result.steps.append(try modelStudy.predictor.step(phase, context: context)) }
        default:
            result.summaries = try modelStudy.summaries(contexts: study.contexts)
            if study.crossover {
                result.crossover.append((.prefill, try modelStudy.crossover(.prefill)))
                if options.contextParallel == 1 { result.crossover.append((.decode, try modelStudy.crossover(.decode))) }
            }
        }
        return result
    }
}

/// What a model study predicted, for its view: the parameter count always; the operator
/// lists of the operators view; the summaries (and crossovers) of the summary view.
public struct ModelStudyResult: Sendable {
    public var architecture: Architecture
    public var hardware: String
    public var options: ModelRunOptions
    public var parameters: ParameterCount
    /// `summary`, `operators` or `parameters`.
    public var view: String
    public var phase: ModelPhase
    /// One per context (summary view).
    public var summaries: [ModelSummary] = []
    /// One step of `phase` per context (operators view).
    public var steps: [StepPrediction] = []
    /// Contexts where the attention sublayer's time reaches the FFN's (nil: not by 1M tokens).
    public var crossover: [(phase: ModelPhase, context: Int?)] = []
    /// The speculative-decoding setup the summaries below ran (nil: none asked).
    public var speculation: SpeculativeDecoding?
    /// Speculative against plain decoding, one per context (summary view with speculation).
    public var speculative: [SpeculativeSummary] = []
    /// Per context, the smallest batch at which speculation no longer pays (nil: it pays
    /// up to `SpeculativeStudy.batchCrossover`'s limit); with the crossover asked.
    public var speculativeCrossover: [Int?] = []
}
