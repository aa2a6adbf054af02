import AttnHardware
import AttnNumerics
import CostModel
import Foundation
import TileInterpreter
import TileLanguage

/// Searches the configurations a program declares (`SearchSpace`) for the fastest on a
/// shape: every configuration is counted and predicted through the `Pipeline`; those over
/// the hardware's shared memory or registers and those the program refuses (a failed
/// `require`) are kept apart, and any other failure ends the search. `attnsim tune`,
/// `bench` and the model's GEMM tile selection all search this way.
public struct Tuner: Sendable {
    /// The pipeline every configuration is counted through; its `WorkBudget` is the
    /// search's, shared by all configurations.
    public var pipeline: Pipeline

    public init(pipeline: Pipeline) {
        self.pipeline = pipeline
    }

    /// What became of one configuration.
    public enum Outcome: Sendable {
        case predicted(RunPrediction)
        /// Over the hardware's shared memory or registers: it cannot run.
        case overCapacity(PipelineError)
        /// The program refused it when bound (a `require`, a non-positive extent).
        case refused(PipelineError)
    }

    /// One configuration of the space and its outcome.
    public struct Trial: Sendable {
        /// The tuned parameters' values.
        public var parameters: [String: Int]
        public var outcome: Outcome

        /// `Bc=64 Br=128` (names in alphabetical order), or `(defaults)` for a space with
        /// nothing to tune.
        public var label: String {
            parameters.isEmpty ? "(defaults)" : parameters.keys.sorted().map { "\($0)=\(parameters[$0] ?? 0)" }.joined(separator: " ")
        }

        public var prediction: RunPrediction? {
            if case .predicted(let p) = outcome { return p }
            return nil
        }

        /// Why it did not run (over capacity or refused); nil when it ran.
        public var failure: PipelineError? {
            switch outcome {
            case .predicted: return nil
            case .overCapacity(let error), .refused(let error): return error
            }
        }
    }

    /// A finished search.
    public struct Search: Sendable {
        /// Every configuration, in the space's order.
        public var trials: [Trial]

        /// The configurations that ran, fastest first by `seconds` (the predicted time,
        /// per-call overhead included, unless told otherwise); equal times in the space's order.
        public func ranked(by seconds: (RunPrediction) -> Double = { $0.seconds }) -> [Trial] {
            trials.enumerated().compactMap { index, trial in trial.prediction.map { (index, seconds($0), trial) } }
                .sorted { ($0.1, $0.0) < ($1.1, $1.0) }.map(\.2)
        }

        public var overCapacity: [Trial] { trials.filter { if case .overCapacity = $0.outcome { return true } else { return false } } }
        public var refused: [Trial] { trials.filter { if case .refused = $0.outcome { return true } else { return false } } }
    }

    /// The configurations `program` declares, given the parameters the caller sets
    /// (`fixed`, which `@tune` conditions read); a malformed declaration is a load error.
    public static func configurations(_ program: Program, fixed: [String: ScalarValue] = [:]) throws(PipelineError) -> [[String: Int]] {
        do {
            return try SearchSpace(declaredBy: program).configurations(fixed: fixed)
        } catch {
            throw PipelineError(stage: .load, cause: .algorithm(.invalid(error)))
        }
    }

    /// Counts and predicts every configuration of `program`'s space on `shape`, with
    /// `fixed` set in every run (a tuned value wins over a fixed one). `concurrently`
    /// counts a batch of configurations per core at a time (the outcomes do not depend on
    /// the schedule) and tells `progress(done, total)` between batches, on this thread.
    /// Kernels that read the same parameter values in two configurations are counted once
    /// (`KernelCountCache`). The first failure that is neither over capacity nor refused,
    /// in the space's order, is thrown.
    public func tune(
        _ program: Program, shape: ProblemShape, dtype: DType, fixed: [String: ScalarValue] = [:], concurrently: Bool = false,
        progress: ((_ done: Int, _ total: Int) -> Void)? = nil
    ) throws(PipelineError) -> Search {
        let configurations = try Self.configurations(program, fixed: fixed)
        let cache = KernelCountCache(program: program, hardware: pipeline.hardware)
        let outcomes = evaluate(configurations, program: program, shape: shape, dtype: dtype, fixed: fixed, cache: cache, concurrently: concurrently, progress: progress)
        var trials: [Trial] = []
        for (parameters, outcome) in zip(configurations, outcomes) {
            switch outcome {
            case .success(let prediction): trials.append(Trial(parameters: parameters, outcome: .predicted(prediction)))
            case .failure(let error) where error.isOverCapacity: trials.append(Trial(parameters: parameters, outcome: .overCapacity(error)))
            case .failure(let error) where error.isRequirementFailure: trials.append(Trial(parameters: parameters, outcome: .refused(error)))
            case .failure(let error): throw error
            }
        }
        return Search(trials: trials)
    }

    /// Each configuration's prediction or failure, in the order given.
    private func evaluate(
        _ configurations: [[String: Int]], program: Program, shape: ProblemShape, dtype: DType, fixed: [String: ScalarValue],
        cache: KernelCountCache, concurrently: Bool, progress: ((Int, Int) -> Void)?
    ) -> [Swift.Result<RunPrediction, PipelineError>] {
        let evaluate = { @Sendable (configuration: [String: Int]) -> Swift.Result<RunPrediction, PipelineError> in
            let parameters = fixed.merging(configuration.mapValues { ScalarValue.int($0) }) { $1 }
            do throws(PipelineError) {
                return .success(
                    try pipeline.evaluate(program, shape: shape, dtype: dtype, parameters: parameters, cache: cache).prediction)
            } catch {
                return .failure(error)
            }
        }
        guard concurrently else {
            var outcomes: [Swift.Result<RunPrediction, PipelineError>] = []
            for (index, configuration) in configurations.enumerated() {
                progress?(index, configurations.count)
                outcomes.append(evaluate(configuration))
            }
            return outcomes
        }
        var outcomes: [Swift.Result<RunPrediction, PipelineError>] = []
        outcomes.reserveCapacity(configurations.count)
        let batch = max(1, 2 * ProcessInfo.processInfo.activeProcessorCount)
        var start = 0
        while start < configurations.count {
            progress?(start, configurations.count)
            let end = min(configurations.count, start + batch)
            let slots = OutcomeSlots(count: end - start)
            let first = start
            DispatchQueue.concurrentPerform(iterations: end - start) { offset in
                slots.set(offset, evaluate(configurations[first + offset]))
            }
            outcomes.append(contentsOf: slots.values)
            start = end
        }
        return outcomes
    }

    /// One batch's outcomes, each written by the one worker that evaluated it.
    private final class OutcomeSlots: @unchecked Sendable {
        private var slots: [Swift.Result<RunPrediction, PipelineError>?]
        private let lock = NSLock()

        init(count: Int) { slots = Array(repeating: nil, count: count) }

        func set(_ index: Int, _ outcome: Swift.Result<RunPrediction, PipelineError>) {
            lock.lock()
            slots[index] = outcome
            lock.unlock()
        }

        /// The outcomes, once every worker has finished.
        var values: [Swift.Result<RunPrediction, PipelineError>] {
            lock.lock()
            defer { lock.unlock() }
            return slots.compactMap { $0 }
        }
    }
}
