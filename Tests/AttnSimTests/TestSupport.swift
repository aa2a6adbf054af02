import Foundation
import AttnAlgorithms
import AttnHardware
import AttnNumerics
import TileInterpreter
import TileLanguage
import AttnScenario
import KVCache
import Testing

/// Shared helpers: bind a built-in or inline program to a shape and run it.
enum TestSupport {
    static let h100: HardwareProfile = {
        do { return try HardwareProfile.named("h100-sxm") } catch { preconditionFailure("\(error)") }
    }()

    static func shape(batch: Int = 1, heads: Int = 2, kvHeads: Int? = nil, n: Int, nkv: Int? = nil, d: Int) -> ProblemShape {
        ProblemShape(batch: batch, heads: heads, kvHeads: kvHeads ?? heads, queryLength: n, keyLength: nkv ?? n, headDim: d)
    }

    /// Random Q [batch*heads, N, d], then K and V [batch*kvHeads, Nkv, d], for `problem`
    /// (the reference's layout), drawn from `generator` in that order.
    static func randomQKV(_ problem: ProblemShape, generator: inout SeededGenerator) -> (q: HostTensor, k: HostTensor, v: HostTensor) {
        let kvShape = [problem.batch * problem.kvHeads, problem.keyLength, problem.headDim]
        let q = HostTensor(randomNormal: [problem.batch * problem.heads, problem.queryLength, problem.headDim], dtype: .fp32, generator: &generator)
        let k = HostTensor(randomNormal: kvShape, dtype: .fp32, generator: &generator)
        let v = HostTensor(randomNormal: kvShape, dtype: .fp32, generator: &generator)
        return (q, k, v)
    }

    /// One query row of softmax attention, directly from its visible keys' scores: LSE =
    /// top + log sum_j e^(s_j - top), output column c = sum_j e^(s_j - top) / sum *
    /// value(j, c), summed in the order given; nil when no key is visible. The tests'
    /// float64 yardstick for the blocked reference.
    static func directSoftmaxRow(_ scores: [(key: Int, score: Double)], columns: Int, value: (Int, Int) -> Double) -> (logSumExp: Double, output: [Double])? {
        guard let top = scores.map(\.score).max() else { return nil }
        let sum = scores.reduce(0) { $0 + exp($1.score - top) }
        let output = (0..<columns).map { c in scores.reduce(0) { $0 + exp($1.score - top) / sum * value($1.key, c) } }
        return (top + log(sum), output)
    }

    static func bind(
        _ algorithm: String, _ shape: ProblemShape, dtype: DType = .fp32, params: [String: Int] = [:],
        hardware: HardwareProfile = h100
    ) throws -> BoundProgram {
        let program = try AlgorithmLibrary.program(algorithm)
        return try BoundProgram(
            program: program, shape: shape, dtype: dtype, hardware: hardware,
            overrides: params.mapValues { ScalarValue.int($0) })
    }

    static func bindSource(_ text: String, _ shape: ProblemShape, dtype: DType = .fp32, params: [String: Int] = [:]) throws -> BoundProgram {
        let program = try Checker.check(SourceFile(name: "test.tile", text: text))
        return try BoundProgram(program: program, shape: shape, dtype: dtype, hardware: h100, overrides: params.mapValues { .int($0) })
    }

    static func count(_ bound: BoundProgram, compress: Bool = true) throws -> RunStats {
        try Simulator.run(bound, options: RunOptions(mode: .count, compress: compress)).stats
    }

    /// A numeric run; every check must pass at its derived tolerance (the verdict is
    /// asserted here, for every test that runs numerically through this helper).
    static func numeric(_ bound: BoundProgram, seed: UInt64 = 7, sourceLocation: Testing.SourceLocation = #_sourceLocation) throws -> RunResult {
        let result = try Simulator.run(bound, options: RunOptions(mode: .numeric, seed: seed))
        for check in result.checks {
            #expect(check.passed, "\(check.summary)", sourceLocation: sourceLocation)
        }
        return result
    }

    static func cdiv(_ a: Int, _ b: Int) -> Int { (a + b - 1) / b }

    /// The 1-based line of a built-in program that starts with `prefix`.
    static func line(of prefix: String, in algorithm: String) throws -> Int {
        let lines = try AlgorithmLibrary.builtInSource(algorithm).text.split(separator: "\n", omittingEmptySubsequences: false)
        guard let index = lines.firstIndex(where: { $0.hasPrefix(prefix) }) else { throw TestFailure("no line '\(prefix)' in \(algorithm)") }
        return index + 1
    }
}

/// Results of paged scenario files, computed once per test run: the shipped-scenario test
/// and the reproduction tests read the same sweeps, which take tens of seconds each.
final class PagedResults: @unchecked Sendable {
    static let shared = PagedResults()
    private let lock = NSLock()
    private var results: [String: [AllocationStats]] = [:]
    /// One lock per file, so two tests asking for one file wait for the first's run.
    private var fileLocks: [String: NSLock] = [:]

    func stats(_ path: String, _ study: PagedStudy) throws -> [AllocationStats] {
        lock.lock()
        let fileLock = fileLocks[path] ?? NSLock()
        fileLocks[path] = fileLock
        lock.unlock()
        fileLock.lock()
        defer { fileLock.unlock() }
        lock.lock()
        let cached = results[path]
        lock.unlock()
        if let cached { return cached }
        let stats = try StudyRunner.run(study)
        lock.lock()
        results[path] = stats
        lock.unlock()
        return stats
    }

    /// The results of the shipped scenario `name` (without `.json`).
    func stats(scenario name: String) throws -> [AllocationStats] {
        let path = repositoryRoot.appendingPathComponent("scenarios/\(name).json").path
        guard case .paged(let study, _) = try StudyFile.load(path: path) else { throw TestFailure("\(name) is not a paged study") }
        return try stats(path, study)
    }
}
