import Foundation
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


    /// The ridge `roofline` prints is that of the ceiling the cost model timed each kernel
    /// against. On the H100 SXM (measured HBM 3.00 TB/s, fp16 matmul 742 TFLOP/s measured,
    /// FP8 1,978.9 TFLOP/s dense x 0.75 sustained = 1,484.175): flash3 (fp16) 742 / 3.00 =
    /// 247.33 FLOPs/byte; flash3-fp8 (`mma(async, fp8e4m3)`) 1,484.175 / 3.00 = 494.725,
    /// with its kernel's and its total's `peak_flops_per_s` the FP8 ceiling.
    @Test(arguments: [("flash3", 742e12), ("flash3-fp8", 1_978.9e12 * 0.75)])
    func rooflineRidgeIsTheKernelsCeiling(_ algorithm: String, _ ceiling: Double) throws {
        let program = try Pipeline.load(algorithm)
        let shape = ProblemShape(batch: 1, heads: 8, kvHeads: 8, queryLength: 4096, keyLength: 4096, headDim: 128)
        let model = CostModel(hardware: S.h100, dtype: .fp16)
        let prediction = try Pipeline(hardware: S.h100).evaluate(program, shape: shape, dtype: .fp16).prediction
        let ceilings = model.matmulCeilings(prediction, of: program)
        #expect(ceilings == [ceiling])
        let row = RooflineRow(
            algorithm: algorithm, context: 4096, queryLength: 4096, prediction: prediction, peakFlopsPerSecond: model.matmulFlopsPerSecond,
            dramBytesPerSecond: model.hbmBytesPerSecond, kernelPeakFlopsPerSecond: ceilings)
        guard case .array(let records) = try JSONParser.parse(RooflineReport.render([row], format: .json), file: "roofline") else {
            throw TestFailure("roofline JSON is not an array")
        }
        #expect(records.count == 2)
        for record in records {
            #expect(abs(Self.number(record, "ridge_point") - ceiling / 3.0e12) <= 1e-12 * ceiling / 3.0e12)
            #expect(Self.number(record, "peak_flops_per_s") == ceiling)
        }
        let table = RooflineReport.render([row], format: .table)
        #expect(table.components(separatedBy: String(format: " %.0f ", ceiling / 3.0e12)).count == 3, "\(table)")
    }

    /// The number `key` of a JSON object (NaN when absent or not a number).
    static func number(_ value: JSONValue, _ key: String) -> Double {
        guard case .object(let members) = value, let member = members.first(where: { $0.key == key }) else { return .nan }
        switch member.value {
        case .integer(let i): return Double(i)
        case .number(let x): return x
        default: return .nan
        }
    }

    /// A run whose kernels multiply different dtypes: each kernel's ridge is its own, and
    /// the total's ceiling is the rate of all its matmul FLOPs, sum F / sum (F_k / c_k).
    /// Two kernels of the same product (N = 4,096, d 64: F = 2 N d^2 = 33,554,432 FLOPs
    /// each), one declaring `mma(async, fp8e4m3)`: 2 c8 c16 / (c8 + c16) = 2 x 1,484.175 x
    /// 742 / 2,226.175 = 989.37 TFLOP/s, a ridge of 329.79 FLOPs/byte on the H100.
    @Test func mixedKernelsEachUnderTheirOwnRoof() throws {
        let text = """
            input A[N, d]
            input W[d, d]
            output O[N, d]
            output P[N, d]
            kernel k16 grid(i: cdiv(N, 64)) mma(async):
              a = load A[rows(i, 64), :] -> sram
              w = load W[:, :] -> sram
              store O[rows(i, 64), :] = a @ w
            kernel k8 grid(i: cdiv(N, 64)) mma(async, fp8e4m3):
              a = load A[rows(i, 64), :] -> sram
              w = load W[:, :] -> sram
              store P[rows(i, 64), :] = a @ w

            """
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("attnsim-mixed-\(UUID().uuidString).tile")
        try text.write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let program = try Pipeline.load(file.path)
        let shape = ProblemShape(batch: 1, heads: 1, kvHeads: 1, queryLength: 4096, keyLength: 4096, headDim: 64)
        let model = CostModel(hardware: S.h100, dtype: .fp16)
        let prediction = try Pipeline(hardware: S.h100).evaluate(program, shape: shape, dtype: .fp16).prediction
        #expect(prediction.kernels.map(\.name) == ["k16", "k8"] && prediction.kernels.map(\.flopsMatmul) == [33_554_432, 33_554_432])
        let c16 = 742e12, c8 = 1_978.9e12 * 0.75
        let row = RooflineRow(
            algorithm: "mixed", context: 4096, queryLength: 4096, prediction: prediction, peakFlopsPerSecond: model.matmulFlopsPerSecond,
            dramBytesPerSecond: model.hbmBytesPerSecond, kernelPeakFlopsPerSecond: model.matmulCeilings(prediction, of: program))
        #expect(row.kernelPeakFlopsPerSecond == [c16, c8])
        #expect(abs(row.ridge(kernel: 0) - c16 / 3.0e12) < 1e-9 && abs(row.ridge(kernel: 1) - c8 / 3.0e12) < 1e-9)
        let total = 2 * c8 * c16 / (c8 + c16)
        #expect(abs(row.runPeakFlopsPerSecond - total) <= 1e-12 * total)
        #expect(abs(row.ridge - 329.79) < 0.01)
    }
}
