import AttnAlgorithms
import AttnHardware
import AttnNumerics
import AttnPipeline
import TileInterpreter
import TileLanguage

/// One program run: everything needed to bind and execute it.
public struct RunRequest: Sendable {
    public var program: Program
    public var label: String
    public var programName: String
    public var shape: ProblemShape
    public var dtype: DType
    public var hardware: HardwareProfile
    public var mode: ExecutionMode
    public var parameters: [String: ScalarValue]
    public var seed: UInt64
    public var compress: Bool
    /// Numeric mode: the tolerance of every check; nil: derived per check.
    public var tolerance: Double?
    /// Numeric mode: run even above `Runner.numericWorkBudget`.
    public var allowLong: Bool

    public init(
        program: Program, label: String, programName: String, shape: ProblemShape, dtype: DType,
        hardware: HardwareProfile, mode: ExecutionMode, parameters: [String: ScalarValue] = [:],
        seed: UInt64 = 1, compress: Bool = true, tolerance: Double? = nil, allowLong: Bool = false
    ) {
        self.program = program
        self.label = label
        self.programName = programName
        self.shape = shape
        self.dtype = dtype
        self.hardware = hardware
        self.mode = mode
        self.parameters = parameters
        self.seed = seed
        self.compress = compress
        self.tolerance = tolerance
        self.allowLong = allowLong
    }
}

/// Runs requests and scenarios, producing records.
public enum Runner {
    /// Host bytes above which numeric mode refuses a run (it holds every tensor as fp32).
    public static let numericHostLimitBytes = 2 << 30

    /// Work (`numericWork`) above which numeric mode refuses a run unless `allowLong` is
    /// set: from about 20 s (attention, mostly tile matmuls) to about a minute and a half
    /// (the naive selective scan, all small elementwise operations) of the release build
    /// on the 2-core reference machine, which replays flash2 with 8 heads, d = 64, N =
    /// 2,048 (8.6e9 matmul and 2.0e8 elementwise FLOPs, 2.9e10 units) in 0.6 s, checks
    /// included, and the naive scan with 8 heads, d = 64, N = 8,192 (4.7e8 elementwise
    /// FLOPs, 4.7e10 units) in 3 to 5 s. A debug build is about 20 times slower.
    public static let numericWorkBudget = 1_000_000_000_000

    /// Work units (`WorkBudget`) a command's count-mode runs may spend between them unless
    /// `allowLong` is set: about a minute of the release build when nothing compresses
    /// (6e6 replayed statements a second on the 2-core reference machine: a loop carrying
    /// an integer, 4096 x 4096 iterations in 2.8 s). Runs that compress spend a few
    /// thousand.
    public static let countStatementBudget = WorkBudget.standardUnits

    /// Units of numeric work per input element: drawing it (a normal pair, or a uniform),
    /// rounding it to its dtype and converting it to float64 for the reference take about
    /// 10 ns, what the replay spends on 500 units (measured: mla-decode-naive with rank
    /// 131,072, 42 million input elements, 0.4 s of 2.3).
    public static let numericWorkPerInputElement = 500

    /// Units of numeric work per matmul FLOP of the program that the float64 reference of
    /// a check spends beyond the replay's own (the attention references are part of the
    /// replay's calibration, 0): multi-head latent attention decompresses every head's K
    /// and V in float64, about 30 units per FLOP of the program's decompression (measured:
    /// 67% of 2.3 s at rank 131,072, 4.3e9 FLOPs; 60 s at rank 1,048,576, 3.4e10 FLOPs).
    static func referenceWorkPerMatmulFlop(_ kind: ReferenceKind) -> Int {
        kind.rawValue.hasPrefix("attention_mla") ? 30 : 0
    }

    /// The work a numeric run of `bound` would do, counted by a count-mode run (fast: boxes
    /// of identical blocks are counted once, spending `budget`): matmul FLOPs plus 100 x
    /// the elementwise, reduction, exp and log FLOPs, which the interpreter replays 30 to
    /// 300 times slower per FLOP than a tile matmul's (a pass over a tile per operation,
    /// against a register-blocked inner product; small tiles cost the most); plus the
    /// input elements' generation (`numericWorkPerInputElement`) and what slow float64
    /// references add (`referenceWorkPerMatmulFlop`). Saturates at Int.max.
    public static func numericWork(_ bound: BoundProgram, budget: WorkBudget? = nil) throws(Diagnostic) -> Int {
        var options = RunOptions(mode: .count)
        options.budget = budget
        let total = try Simulator.run(bound, options: options).stats.total
        var inputElements = 0
        for (index, tensor) in bound.program.tensors.enumerated() where tensor.role == .input {
            inputElements = saturating(inputElements, bound.tensorShapes[index].reduce(1) { saturatingProduct($0, $1) })
        }
        let referenceWeight = bound.program.checks.map { referenceWorkPerMatmulFlop($0.reference) }.max() ?? 0
        var work = total.flopsMatmul
        for (count, weight) in [(total.flopsOther, 100), (total.exps, 100), (total.logs, 100), (inputElements, numericWorkPerInputElement),
                                (total.flopsMatmul, referenceWeight)] {
            work = saturating(work, saturatingProduct(count, weight))
        }
        return work
    }

    private static func saturating(_ a: Int, _ b: Int) -> Int {
        let (sum, overflow) = a.addingReportingOverflow(b)
        return overflow ? Int.max : sum
    }

    private static func saturatingProduct(_ a: Int, _ b: Int) -> Int {
        let (product, overflow) = a.multipliedReportingOverflow(by: b)
        return overflow ? Int.max : product
    }

    /// Runs one request through the library pipeline (`Pipeline`: bind, then run), after
    /// the size and, in numeric mode, the host-memory and work budgets are checked. A
    /// count run spends a budget of its own (`WorkBudget.standard()`, none with
    /// `allowLong`).
    public static func run(
        _ request: RunRequest, trace: TraceSink? = nil, progress: (@Sendable (Double) -> Void)? = nil
    ) throws(ScenarioError) -> RunRecord {
        try run(request, trace: trace, progress: progress, budget: request.allowLong ? nil : WorkBudget.standard())
    }

    /// `run(_:trace:progress:)` spending `budget`, shared with the other runs of its command.
    static func run(
        _ request: RunRequest, trace: TraceSink?, progress: (@Sendable (Double) -> Void)?, budget: WorkBudget?
    ) throws(ScenarioError) -> RunRecord {
        let context = request.shape.keyLength
        try Scenario.checkSize(request.shape, label: request.label)
        let pipeline = Pipeline(hardware: request.hardware, budget: budget)
        let bound: BoundProgram
        do {
            bound = try pipeline.bind(request.program, shape: request.shape, dtype: request.dtype, parameters: request.parameters)
        } catch {
            throw Self.error(error, label: request.label, context: context)
        }
        if request.mode == .numeric {
            let hostBytes = bound.tensorShapes.reduce(0) { $0 + $1.reduce(1, *) * 4 }
            if hostBytes > numericHostLimitBytes {
                throw .tooLarge(label: request.label, context: context, bytes: hostBytes)
            }
            if !request.allowLong {
                let work: Int
                do { work = try numericWork(bound, budget: budget) } catch { throw .execution(label: request.label, context: context, error) }
                if work > numericWorkBudget {
                    // Refused before any tensor is allocated or any block replayed.
                    throw .tooMuchWork(label: request.label, context: context, flops: work, budget: numericWorkBudget)
                }
            }
        }
        let result: RunResult
        do {
            var options = RunOptions(mode: request.mode, compress: request.compress, seed: request.seed, tolerance: request.tolerance)
            options.progress = progress
            result = try pipeline.run(bound, options: options, trace: trace)
        } catch {
            throw Self.error(error, label: request.label, context: context)
        }
        return RunRecord(
            algorithm: request.label, program: request.programName, hardware: request.hardware.id,
            mode: request.mode, dtype: request.dtype, shape: request.shape,
            parameters: bound.declaredParameterValues, stats: result.stats, checks: result.checks,
            prediction: pipeline.predict(bound, result.stats))
    }

    /// A pipeline failure as the scenario error of one run.
    private static func error(_ error: PipelineError, label: String, context: Int) -> ScenarioError {
        switch error.cause {
        case .algorithm(let cause): return .algorithm(cause)
        case .binding(let cause): return .binding(label: label, context: context, cause)
        case .program(let diagnostic): return .execution(label: label, context: context, diagnostic)
        }
    }

    /// Runs every algorithm of `scenario` at every context, in order (algorithm-major).
    /// `progress` is told the label and context of the run under way and the fraction of
    /// the whole scenario done.
    public static func run(
        _ scenario: Scenario, progress: (@Sendable (String, Double) -> Void)? = nil
    ) throws(ScenarioError) -> [RunRecord] {
        try scenario.checkSize()
        let hardware: HardwareProfile
        do { hardware = try HardwareProfile.named(scenario.hardware) } catch { throw .at(scenario.file, "hardware", .hardware(error)) }
        var programs: [Program] = []
        for (index, algorithm) in scenario.algorithms.enumerated() {
            do {
                programs.append(try Pipeline.load(algorithm.program))
            } catch {
                throw .at(scenario.file, "algorithms[\(index)].algorithm", Self.error(error, label: algorithm.label, context: 0))
            }
        }
        var records: [RunRecord] = []
        let total = scenario.algorithms.count * scenario.contexts.count
        // One budget for the whole scenario, as for any command.
        let budget = scenario.allowLong ? nil : WorkBudget.standard()
        for (index, (algorithm, program)) in zip(scenario.algorithms, programs).enumerated() {
            for context in scenario.contexts {
                let done = records.count
                let label = "\(algorithm.label) \(ContextList.format(context))"
                progress?(label, Double(done) / Double(total))
                let request = RunRequest(
                    program: program, label: algorithm.label, programName: algorithm.program,
                    shape: scenario.shape(context: context), dtype: scenario.dtype, hardware: hardware,
                    mode: scenario.mode, parameters: algorithm.parameters, seed: scenario.seed,
                    tolerance: scenario.tolerance, allowLong: scenario.allowLong)
                do {
                    let within: (@Sendable (Double) -> Void)? = progress.map { report in
                        { @Sendable fraction in report(label, (Double(done) + fraction) / Double(total)) }
                    }
                    records.append(try run(request, trace: nil, progress: within, budget: budget))
                } catch {
                    // A parameter or shape the program refuses comes from the algorithm's entry.
                    if case .binding = error { throw .at(scenario.file, "algorithms[\(index)]", error) }
                    throw error
                }
            }
        }
        return records
    }
}
