import AttnAlgorithms
import AttnHardware
import AttnNumerics
import AttnPipeline
import CostModel
import TileInterpreter

/// A measured row against its prediction.
public struct ValidationRecord: Sendable {
    public var row: CalibrationRow
    public var program: String?
    /// nil when the row could not be predicted; `error` says why.
    public var prediction: RunPrediction?
    public var error: String?

    func percent(_ predicted: Double?, _ measured: Double) -> Double? {
        guard let predicted, measured > 0 else { return nil }
        return (predicted - measured) / measured * 100
    }

    public var dramReadError: Double? { percent(prediction.map { Double($0.dramReadBytes) }, Double(row.dramReadBytes)) }
    public var dramWriteError: Double? { percent(prediction.map { Double($0.dramWriteBytes) }, Double(row.dramWriteBytes)) }
    public var l2ReadError: Double? { percent(prediction.map { Double($0.l2ReadBytes) }, Double(row.l2ReadBytes)) }
    public var timeError: Double? { percent(prediction.map { $0.seconds * 1000 }, row.timeMilliseconds) }

    /// The row's family in the error tables: `backward` (a backward pass), `paged` (a
    /// paged KV cache), `decode` (one query per sequence) or `prefill`.
    public var family: String {
        if row.backward { return "backward" }
        if row.algorithm.contains("paged") || row.implementation.contains("paged") { return "paged" }
        return row.queryLength == 1 ? "decode" : "prefill"
    }

    /// The quantities the summaries report, with each record's % error.
    public static let quantities: [(name: String, error: @Sendable (ValidationRecord) -> Double?)] = [
        ("dram_read", { $0.dramReadError }), ("dram_write", { $0.dramWriteError }), ("l2_read", { $0.l2ReadError }),
        ("time", { $0.timeError }),
    ]
}

/// One line of the error tables: a family (or `all`) and a quantity.
public struct ErrorSummaryRow: Sendable, Equatable {
    public var family: String
    public var quantity: String
    public var summary: ErrorSummary

    /// Per quantity over all rows, then per family and quantity (families in the order
    /// prefill, decode, paged, backward; those without rows left out).
    public static func table(_ records: [ValidationRecord]) -> [ErrorSummaryRow] {
        var result: [ErrorSummaryRow] = []
        for family in ["all", "prefill", "decode", "paged", "backward"] {
            let members = family == "all" ? records : records.filter { $0.family == family }
            for (quantity, error) in ValidationRecord.quantities {
                if let s = ErrorSummary(members.compactMap(error)) {
                    result.append(ErrorSummaryRow(family: family, quantity: quantity, summary: s))
                }
            }
        }
        return result
    }
}

/// Median and 90th percentile of absolute percentage errors.
public struct ErrorSummary: Sendable, Equatable {
    public var count: Int
    public var median: Double
    public var p90: Double

    public init?(_ errors: [Double]) {
        let sorted = errors.map(abs).sorted()
        guard !sorted.isEmpty else { return nil }
        count = sorted.count
        median = ErrorSummary.quantile(sorted, 0.5)
        p90 = ErrorSummary.quantile(sorted, 0.9)
    }

    /// Linear interpolation between closest ranks.
    static func quantile(_ sorted: [Double], _ q: Double) -> Double {
        let position = q * Double(sorted.count - 1)
        let lower = Int(position.rounded(.down)), upper = Int(position.rounded(.up))
        return sorted[lower] + (sorted[upper] - sorted[lower]) * (position - Double(lower))
    }
}

/// Predicts every row of a calibration file.
public struct Validator {
    public var hardware: HardwareProfile
    public var constants: CostModelConstants?
    /// Folder that relative `.tile` paths in a `program` column are resolved against (the
    /// CSV's folder); nil: the working directory.
    public var programDirectory: String?

    public init(hardware: HardwareProfile, constants: CostModelConstants? = nil) {
        self.hardware = hardware
        self.constants = constants
    }

    /// The counts of one row (count mode), before the cost model.
    public func counts(_ row: CalibrationRow) -> Result<(BoundProgram, RunStats, String), MappingError> {
        let mapping: RowMapping
        switch RowMapping.map(row) {
        case .success(let m): mapping = m
        case .failure(let e): return .failure(e)
        }
        guard let dtype = DType(name: row.dtype) else { return .failure(MappingError("unknown dtype '\(row.dtype)'")) }
        do {
            let pipeline = Pipeline(hardware: hardware)
            var name = mapping.program
            if name.hasSuffix(".tile"), !name.hasPrefix("/"), let programDirectory {
                name = programDirectory + "/" + name
            }
            let program = try Pipeline.load(name)
            let bound = try pipeline.bind(
                program,
                shape: ProblemShape(batch: row.batch, heads: row.heads, kvHeads: row.kvHeads, queryLength: row.queryLength, keyLength: row.keyLength, headDim: row.headDim),
                dtype: dtype, parameters: mapping.parameters)
            let stats = try pipeline.run(bound, options: RunOptions(mode: .count)).stats
            return .success((bound, stats, mapping.program))
        } catch {
            return .failure(MappingError("\(mapping.program): \(error)"))
        }
    }

    /// Every row against its prediction; `progress` is told the fraction of rows done.
    public func validate(_ rows: [CalibrationRow], progress: ((Double) -> Void)? = nil) -> [ValidationRecord] {
        rows.enumerated().map { index, row in
            progress?(Double(index) / Double(max(rows.count, 1)))
            return record(row)
        }
    }

    private func record(_ row: CalibrationRow) -> ValidationRecord {
        switch counts(row) {
        case .success(let (bound, stats, program)):
            let prediction = Pipeline(hardware: hardware).predict(bound, stats, constants: constants)
            return ValidationRecord(row: row, program: program, prediction: prediction, error: nil)
        case .failure(let error):
            return ValidationRecord(row: row, program: nil, prediction: nil, error: error.description)
        }
    }
}
