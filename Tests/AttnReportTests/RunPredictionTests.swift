import Testing
import AttnJSON
import AttnNumerics
import AttnPipeline
import AttnReport
import AttnScenario
import CostModel
import TileInterpreter
import AttnTestSupport

/// `attnsim run` predicts its time in the pass that counts (issue 17 item 1).
@Suite struct RunPredictionTests {
    typealias S = TestSupport

    /// `attnsim run` carries the predicted time and bound of its own counts: the same as
    /// `roofline`'s bind, count and predict (`Pipeline.evaluate`) on the run's profile, in
    /// the table (`time_us`, `bound`) and the JSON (per record and per kernel).
    @Test func runRecordsCarryTheirPrediction() throws {
        let program = try Pipeline.load("flash-decoding")
        let shape = ProblemShape(batch: 2, heads: 8, kvHeads: 2, queryLength: 1, keyLength: 8192, headDim: 64)
        let request = RunRequest(program: program, label: "flash-decoding", programName: "flash-decoding", shape: shape, dtype: .fp16, hardware: S.h100, mode: .count)
        let record = try Runner.run(request)
        let evaluated = try Pipeline(hardware: S.h100).evaluate(program, shape: shape, dtype: .fp16).prediction
        #expect(record.prediction == evaluated)
        let slowest = try #require(evaluated.kernels.max { $0.seconds < $1.seconds })
        #expect(record.bound == slowest.bound)
        guard case .object(let members) = RecordReport.json(record) else { throw TestFailure("not an object") }
        let fields = Dictionary(members, uniquingKeysWith: { a, _ in a })
        guard case .double(let time)? = fields["time_us"], case .string(let bound)? = fields["bound"] else { throw TestFailure("no time_us or bound") }
        #expect(time == evaluated.seconds * 1e6 && bound == slowest.bound.rawValue)
        guard case .array(let kernels)? = fields["kernels"], case .object(let first)? = kernels.first,
              case .double(let kernelTime)? = Dictionary(first, uniquingKeysWith: { a, _ in a })["time_us"]
        else { throw TestFailure("no kernel time_us") }
        #expect(kernelTime == evaluated.kernels[0].seconds * 1e6)
        let table = RecordReport.render([record], format: .table)
        #expect(table.contains("time_us") && table.contains(String(format: "%.1f", evaluated.seconds * 1e6)) && table.contains(slowest.bound.rawValue))
    }

}
