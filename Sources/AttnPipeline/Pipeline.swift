import AttnAlgorithms
import AttnHardware
import AttnNumerics
import CostModel
import TileInterpreter
import TileLanguage

/// The one library pipeline every command runs a program through: load it, bind it to a
/// shape on a hardware profile, run it (count or numeric), and predict its time.
///
/// `run`, `roofline`, `tune`, `validate` and `bench` all go through these steps, so a
/// program is loaded, bound and counted the same way wherever its numbers are printed,
/// and every failure arrives as a `PipelineError` that says which step failed.
public struct Pipeline: Sendable {
    public var hardware: HardwareProfile
    /// The work budget every count-mode run through this pipeline shares (a command's
    /// budget: `WorkBudget.standard()`, about a minute of replay that cannot compress;
    /// nil with `--allow-long`). A run given its own budget keeps it; numeric runs are
    /// bounded up front instead (`Runner.numericWork`).
    public var budget: WorkBudget?

    public init(hardware: HardwareProfile, budget: WorkBudget? = WorkBudget.standard()) {
        self.hardware = hardware
        self.budget = budget
    }

    /// A built-in algorithm by name, or a `.tile` file by path.
    public static func load(_ nameOrPath: String) throws(PipelineError) -> Program {
        do {
            return try AlgorithmLibrary.program(nameOrPath)
        } catch {
            throw PipelineError(stage: .load, cause: .algorithm(error))
        }
    }

    /// Binds `program` to a shape: parameters, `require`s, tensor shapes, grid extents.
    public func bind(
        _ program: Program, shape: ProblemShape, dtype: DType, parameters: [String: ScalarValue] = [:]
    ) throws(PipelineError) -> BoundProgram {
        do {
            return try BoundProgram(program: program, shape: shape, dtype: dtype, hardware: hardware, overrides: parameters)
        } catch {
            throw PipelineError(stage: .bind, cause: .binding(error))
        }
    }

    /// Runs a bound program (count or numeric mode).
    public func run(_ bound: BoundProgram, options: RunOptions, trace: TraceSink? = nil) throws(PipelineError) -> RunResult {
        var options = options
        if options.mode == .count && options.budget == nil { options.budget = budget }
        do {
            return try Simulator.run(bound, options: options, trace: trace)
        } catch {
            throw PipelineError(stage: .run, cause: .program(error))
        }
    }

    /// The cost model's prediction for counted stats under `calibration` (the standard
    /// set unless given, as `validate --fit` gives its own), the call launched by `launch`.
    public func predict(
        _ bound: BoundProgram, _ stats: RunStats, calibration: CalibrationSet = .standard, launch: LaunchPath = .framework
    ) -> RunPrediction {
        CostModel(hardware: hardware, dtype: bound.dtype, calibration: calibration).predict(bound, stats, launch: launch)
    }

    /// Binds, counts and predicts: what `roofline`, `tune` and `validate` need of a run.
    /// `cache` shares kernel counts between evaluations of one program (`tune`). The count
    /// run spends the pipeline's `budget`.
    public func evaluate(
        _ program: Program, shape: ProblemShape, dtype: DType, parameters: [String: ScalarValue] = [:],
        calibration: CalibrationSet = .standard, launch: LaunchPath = .framework, cache: KernelCountCache? = nil
    ) throws(PipelineError) -> Evaluation {
        let bound = try bind(program, shape: shape, dtype: dtype, parameters: parameters)
        var options = RunOptions(mode: .count)
        options.countCache = cache
        let stats = try run(bound, options: options).stats
        return Evaluation(bound: bound, stats: stats, prediction: predict(bound, stats, calibration: calibration, launch: launch))
    }
}

/// A counted run and its prediction.
public struct Evaluation: Sendable {
    public var bound: BoundProgram
    public var stats: RunStats
    public var prediction: RunPrediction
}
