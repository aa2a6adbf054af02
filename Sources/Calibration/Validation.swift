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
    /// prefill, decode, paged, backward), then, when the records come from several files,
    /// per file (`file:NAME`); groups without rows are left out.
    public static func table(_ records: [ValidationRecord]) -> [ErrorSummaryRow] {
        var result: [ErrorSummaryRow] = []
        for (label, members) in groups(records) {
            for (quantity, error) in ValidationRecord.quantities {
                if let s = ErrorSummary(members.compactMap(error)) {
                    result.append(ErrorSummaryRow(family: label, quantity: quantity, summary: s))
                }
            }
        }
        return result
    }

    /// The groups the error tables report, in order: `all`, each family with rows, and
    /// `file:NAME` for each file when there are several (NAME its last path component).
    public static func groups(_ records: [ValidationRecord]) -> [(label: String, records: [ValidationRecord])] {
        var result: [(label: String, records: [ValidationRecord])] = [("all", records)]
        for family in ["prefill", "decode", "paged", "backward"] {
            let members = records.filter { $0.family == family }
            if !members.isEmpty { result.append((family, members)) }
        }
        var files: [String] = []
        for record in records where !files.contains(record.row.file) { files.append(record.row.file) }
        if files.count > 1 {
            for file in files {
                let name = file.split(separator: "/").last.map(String.init) ?? file
                result.append(("file:" + name, records.filter { $0.row.file == file }))
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
    public var calibration: CalibrationSet
    /// The kernel table rows are mapped through (the built-in one unless extended).
    public var kernels: KernelTable = .builtIn
    /// Folder that relative `.tile` paths in a `program` column are resolved against (the
    /// CSV's folder); nil: the working directory.
    public var programDirectory: String?
    /// Count each row without the work budget (`--allow-long`); by default a row whose
    /// count cannot compress stops at the budget and is reported as not predicted.
    public var allowLong = false

    public init(hardware: HardwareProfile, calibration: CalibrationSet = .standard) {
        self.hardware = hardware
        self.calibration = calibration
    }

    /// The counts of one row (count mode), before the cost model, with its mapping.
    public func counts(_ row: CalibrationRow) -> Result<(BoundProgram, RunStats, RowMapping), MappingError> {
        let mapping: RowMapping
        switch kernels.map(row) {
        case .success(let m): mapping = m
        case .failure(let e): return .failure(e)
        }
        guard let dtype = DType(name: row.dtype) else { return .failure(MappingError("unknown dtype '\(row.dtype)'")) }
        do {
            let pipeline = Pipeline(hardware: hardware, budget: allowLong ? nil : WorkBudget.standard())
            var name = mapping.program
            if row.program != nil, name.hasSuffix(".tile"), !name.hasPrefix("/"), let programDirectory {
                name = programDirectory + "/" + name
            }
            let program = try Pipeline.load(name)
            let bound = try pipeline.bind(
                program,
                shape: ProblemShape(batch: row.batch, heads: row.heads, kvHeads: row.kvHeads, queryLength: row.queryLength, keyLength: row.keyLength, headDim: row.headDim),
                dtype: dtype, parameters: mapping.parameters)
            let stats = try pipeline.run(bound, options: RunOptions(mode: .count)).stats
            return .success((bound, stats, mapping))
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
        case .success(let (bound, stats, mapping)):
            let prediction = Pipeline(hardware: hardware).predict(bound, stats, calibration: calibration, launch: mapping.launch)
            return ValidationRecord(row: row, program: mapping.program, prediction: prediction, error: nil)
        case .failure(let error):
            return ValidationRecord(row: row, program: nil, prediction: nil, error: error.description)
        }
    }
}
