import AttnAlgorithms
import AttnHardware
import AttnNumerics
import AttnTestSupport
import TileInterpreter
import TileLanguage

/// Shared helpers of the targets that run tile programs: bind a built-in or inline program
/// to a shape and run it, count-only or numeric.
extension TestSupport {
    public static func bind(
        _ algorithm: String, _ shape: ProblemShape, dtype: DType = .fp32, params: [String: Int] = [:],
        hardware: HardwareProfile = h100
    ) throws -> BoundProgram {
        let program = try AlgorithmLibrary.program(algorithm)
        return try BoundProgram(
            program: program, shape: shape, dtype: dtype, hardware: hardware,
            overrides: params.mapValues { ScalarValue.int($0) })
    }

    public static func bindSource(_ text: String, _ shape: ProblemShape, dtype: DType = .fp32, params: [String: Int] = [:]) throws -> BoundProgram {
        let program = try Checker.check(SourceFile(name: "test.tile", text: text))
        return try BoundProgram(program: program, shape: shape, dtype: dtype, hardware: h100, overrides: params.mapValues { .int($0) })
    }

    public static func count(_ bound: BoundProgram, compress: Bool = true) throws -> RunStats {
        try Simulator.run(bound, options: RunOptions(mode: .count, compress: compress)).stats
    }

    /// A numeric run; every check must pass at its derived tolerance (the verdict is
    /// checked here, for every test that runs numerically through this helper: a failed
    /// check throws, naming each failed check). This target imports no test framework, so
    /// that `swift build -c release` (which builds it without one) succeeds.
    public static func numeric(_ bound: BoundProgram, seed: UInt64 = 7) throws -> RunResult {
        let result = try Simulator.run(bound, options: RunOptions(mode: .numeric, seed: seed))
        let failed = result.checks.filter { !$0.passed }
        guard failed.isEmpty else {
            throw TestFailure("numeric checks failed: " + failed.map(\.summary).joined(separator: "; "))
        }
        return result
    }

    /// The 1-based line of a built-in program that starts with `prefix`.
    public static func line(of prefix: String, in algorithm: String) throws -> Int {
        let lines = try AlgorithmLibrary.builtInSource(algorithm).text.split(separator: "\n", omittingEmptySubsequences: false)
        guard let index = lines.firstIndex(where: { $0.hasPrefix(prefix) }) else { throw TestFailure("no line '\(prefix)' in \(algorithm)") }
        return index + 1
    }
}
