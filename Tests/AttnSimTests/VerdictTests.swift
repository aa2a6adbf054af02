import Foundation
import Testing
import AttnAlgorithms
import AttnCLI
import AttnHardware
import AttnJSON
import AttnNumerics
import AttnReport
import AttnScenario
import TileInterpreter
import TileLanguage
import AttnTestSupport
import TileTestSupport

/// Numeric verdicts: every numeric run passes or fails against a tolerance derived from
/// the storage dtype and the reductions (`NumericTolerance`), or the user's.
@Suite struct VerdictTests {
    typealias S = TestSupport

    static let u16 = DType.fp16.unitRoundoff, u32 = DType.fp32.unitRoundoff

    /// flash2 with the online-softmax rescale deleted: a = exp(m - m2) becomes 1.
    static func brokenFlash2Source() throws -> String {
        let text = try AlgorithmLibrary.builtInSource("flash2").text
        let broken = text.replacingOccurrences(of: "      a = exp(m - m2)\n", with: "      a = 1.0\n")
        guard broken != text else { throw TestFailure("the rescale line of flash2.tile moved") }
        return broken
    }

    static func request(_ program: Program, _ shape: ProblemShape, dtype: DType, params: [String: Int] = [:], tolerance: Double? = nil, hardware: HardwareProfile = S.h100) -> RunRequest {
        RunRequest(
            program: program, label: "test", programName: "test", shape: shape, dtype: dtype, hardware: hardware,
            mode: .numeric, parameters: params.mapValues { .int($0) }, seed: 1, tolerance: tolerance)
    }

    @Test func brokenRescaleFailsThroughTheLibrary() throws {
        let program = try Checker.check(SourceFile(name: "norescale.tile", text: try Self.brokenFlash2Source()))
        let record = try Runner.run(Self.request(program, S.shape(heads: 2, n: 130, d: 32), dtype: .fp16, params: ["Bc": 32]))
        #expect(record.passed == false)
        #expect(record.verdict == "FAIL")
        let o = try #require(record.checks.first { $0.tensor == "O" })
        #expect(!o.passed)
        // Measured 0.61; anything near 1 means the output is garbage.
        #expect(o.error.maxRelativeError > 0.3)
        // Derived: O is fp16, stored once per element; no temps; n = d + Nkv = 162.
        #expect(o.tolerance == 4 * (Self.u16 + 162 * Self.u32))
        #expect(o.worstCoordinates.count == 3)
        #expect(o.worstCoordinates[0] < 2 && o.worstCoordinates[1] < 130 && o.worstCoordinates[2] < 32)
        let lse = try #require(record.checks.first { $0.tensor == "LSE" })
        #expect(!lse.passed)
        // LSE is fp32: 4 (u32 + 162 u32).
        #expect(lse.tolerance == 4 * 163 * Self.u32)
        #expect(record.failures.count == 2)
        #expect(record.failures[0].contains("FAIL O (attention)") && record.failures[0].contains("worst element O["))
    }

    @Test func brokenRescaleExitsOneThroughTheCLI() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("verdict-norescale-\(getpid()).tile").path
        try Self.brokenFlash2Source().write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let arguments = ["run", "--algorithm", path, "--heads", "2", "--head-dim", "32", "--context", "130", "--mode", "numeric", "--param", "Bc=32"]
        let captured = CapturedConsole()
        #expect(AttnSimCommand.main(arguments, console: captured.console) == 1)
        #expect(captured.stdout.contains("FAIL"))
        #expect(captured.stderr.contains("error: check failed:"))
        #expect(captured.stderr.contains("worst element O["))
        #expect(captured.stderr.contains("> tolerance"))
        // A tolerance of 1 (100 %) accepts even this output: the verdict follows the override.
        let lenient = CapturedConsole()
        #expect(AttnSimCommand.main(arguments + ["--tolerance", "1", "--format", "csv"], console: lenient.console) == 0)
        #expect(lenient.stdout.split(separator: "\n").last?.hasSuffix(",pass") == true)
        #expect(lenient.stderr.isEmpty)
        // A bad tolerance, or one in count mode, is a usage error.
        #expect(AttnSimCommand.main(arguments + ["--tolerance", "-1"], console: CapturedConsole().console) == 64)
        let countMode = arguments.filter { $0 != "--mode" && $0 != "numeric" }
        #expect(AttnSimCommand.main(countMode + ["--tolerance", "0.1"], console: CapturedConsole().console) == 64)
        // --allow-long also lifts count mode's work budget, so it is accepted there.
        #expect(AttnSimCommand.main(countMode + ["--allow-long"], console: CapturedConsole().console) == 0)
    }

    /// Every built-in program passes at its default tolerance, on shapes that are not
    /// multiples of its blocks, in every dtype; and each tolerance is tight enough to catch
    /// the broken rescale (relative error > 0.3).
    @Test(arguments: [DType.fp32, .fp16, .bf16])
    func everyBuiltInPassesAtItsDefaultTolerance(_ dtype: DType) throws {
        for name in AlgorithmLibrary.builtInNames {
            let program = try AlgorithmLibrary.program(name)
            let declared = Set(program.declaredParameters.map(\.name))
            var small: [String: Int] = ["Br": 16, "Bc": 24, "Bm": 16, "Bn": 24, "Dc": 16].filter { declared.contains($0.key) }
            // Programs whose every head routes its own keys (LSH also shares queries and
            // keys) run on a square MHA shape of the same size.
            let selfAttention = ["lsh", "routing"].contains(name)
            var shape = selfAttention ? S.shape(heads: 2, n: 70, d: 16) : S.shape(heads: 2, kvHeads: 1, n: 37, nkv: 70, d: 16)
            // Swin's tokens are a grid of whole windows: 8 x 8 patches, shifted 4 x 4 windows.
            if name == "swin-window" {
                shape = S.shape(heads: 2, kvHeads: 1, n: 64, d: 16)
                small = ["grid_w": 8, "M": 4, "shift": 2]
            }
            // A program that keeps tiles in tensor memory (flash4) runs on Blackwell; the H100
            // profile has none and refuses it (FlashAttention4Tests.refusedWithoutTensorMemory).
            let hardware = program.source.text.contains("-> tmem") ? S.b200 : S.h100
            let record = try Runner.run(Self.request(program, shape, dtype: dtype, params: small, hardware: hardware))
            #expect(record.passed == true, "\(name) \(dtype): \(record.failures)")
            // sage3 quantizes Q, K, V and P to FP4: its derived tolerance counts three block
            // quantizations (1/6 each, inside the softmax's factor 4) and P's E2M1 rounding
            // (2^-2), about 1.4 (SageAttention3Tests holds its measured error to 5/16).
            let bound = name == "sage3" ? 1.5 : 0.1
            for check in record.checks {
                #expect(check.tolerance < bound, "\(name) \(dtype) \(check.tensor): tolerance \(check.tolerance)")
                #expect(!check.toleranceOverridden)
            }
        }
    }

    /// flash1 rounds O to fp16 on each of its Tc write-backs; the tolerance counts them from
    /// the run's write counters.
    @Test func flash1ToleranceCountsItsWriteBacks() throws {
        let bound = try S.bind("flash1", S.shape(n: 100, d: 16), dtype: .fp16, params: ["M": 1024])
        guard case .int(let bc) = bound.parameter("Bc") else { throw TestFailure("Bc is not bound") }
        let tc = S.cdiv(100, bc)
        #expect(tc > 1)
        let check = try #require(try S.numeric(bound).checks.first)
        // O: Tc + 1 stores of fp16 (the initial zeros, then one per K/V block); the temps L
        // and Mx (fp32) as many; roundings add in quadrature; n = d + Nkv = 116.
        let k = Double(tc + 1)
        let roundings = (k * Self.u16 * Self.u16 + 2 * k * Self.u32 * Self.u32).squareRoot()
        #expect(abs(check.tolerance - 4 * (roundings + 116 * Self.u32)) < 1e-15)
        #expect(check.passed)
    }

    @Test func tightOverrideFailsAndEveryFormatSaysSo() throws {
        let program = try AlgorithmLibrary.program("flash2")
        let record = try Runner.run(Self.request(program, S.shape(n: 40, d: 16), dtype: .fp16, tolerance: 1e-9))
        #expect(record.passed == false)
        #expect(record.checks.allSatisfy { $0.toleranceOverridden && $0.tolerance == 1e-9 })
        let table = RecordReport.render([record], format: .table)
        #expect(table.contains("check") && table.contains("FAIL"))
        #expect(RecordReport.render([record], format: .markdown).contains("FAIL |"))
        let csv = RecordReport.render([record], format: .csv).split(separator: "\n")
        #expect(csv.first?.hasSuffix(",check") == true && csv.last?.hasSuffix(",FAIL") == true)
        let json = RecordReport.render([record], format: .json)
        #expect(json.contains("\"check\":\"FAIL\"") || json.contains("\"check\": \"FAIL\""))
        #expect(json.contains("\"tolerance\"") && json.contains("\"passed\""))
    }

    @Test func countModeHasNoVerdict() throws {
        let program = try AlgorithmLibrary.program("flash2")
        var request = Self.request(program, S.shape(n: 40, d: 16), dtype: .fp16)
        request.mode = .count
        let record = try Runner.run(request)
        #expect(record.passed == nil && record.verdict == "-" && record.failures.isEmpty)
        #expect(!RecordReport.render([record], format: .table).contains("check"))
    }

    @Test func scenarioFieldsToleranceAndAllowLong() throws {
        let base = #"{"version": 1, "mode": "numeric", "shape": {"batch": 1, "heads": 1, "head_dim": 16}, "contexts": [40], "algorithms": [{"algorithm": "flash2"}]"#
        let plain = try Scenario(jsonText: base + "}", file: "s.json")
        #expect(plain.tolerance == nil && !plain.allowLong)
        let set = try Scenario(jsonText: base + #", "tolerance": 0.25, "allow_long": true}"#, file: "s.json")
        #expect(set.tolerance == 0.25 && set.allowLong)
        #expect(throws: JSONInputError.self) { try Scenario(jsonText: base + #", "tolerance": 0}"#, file: "s.json") }
        var failing = plain
        failing.tolerance = 1e-9
        #expect(try Runner.run(failing).allSatisfy { $0.passed == false })
    }

    /// flash2, 16 heads, d 64, N = Nkv = 8470 is just over the work budget (8465 is just
    /// under); numeric mode refuses it up front, from counts alone.
    @Test func numericWorkOverTheBudgetIsRefusedUpFront() throws {
        let program = try AlgorithmLibrary.program("flash2")
        let under = try BoundProgram(program: program, shape: S.shape(heads: 16, n: 8465, d: 64), dtype: .fp16, hardware: S.h100)
        #expect(try Runner.numericWork(under) < Runner.numericWorkBudget)
        let shape = S.shape(heads: 16, n: 8470, d: 64)
        let over = try BoundProgram(program: program, shape: shape, dtype: .fp16, hardware: S.h100)
        let work = try Runner.numericWork(over)
        // matmul 4 x 16 x 8470^2 x 64 = 293,850,726,400, plus 100 x the elementwise FLOPs
        // (6,937,675,360: about 6 per score, the exps, maxima, sums and rescales), plus
        // 500 units per input element drawn (Q, K and V: 3 x 16 x 8470 x 64 = 26,019,840).
        #expect(Runner.numericWorkPerInputElement == 500)
        #expect(work == 293_850_726_400 + 100 * 6_937_675_360 + 500 * 26_019_840)
        #expect(work > Runner.numericWorkBudget && work < Runner.numericWorkBudget + Runner.numericWorkBudget / 100)
        let started = Date()
        do {
            _ = try Runner.run(Self.request(program, shape, dtype: .fp16))
            Issue.record("a run over the work budget was not refused")
        } catch {
            guard case .tooMuchWork(_, 8470, let flops, let budget) = error else { throw error }
            #expect(flops == work && budget == Runner.numericWorkBudget)
            #expect(error.advice.pieces.contains(.remedy(.countMode)) && error.advice.pieces.contains(.remedy(.allowLong)))
        }
        // A numeric replay of this shape takes minutes in a debug build; the refusal, seconds.
        #expect(Date().timeIntervalSince(started) < 20)
    }
}
