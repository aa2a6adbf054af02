import AttnModel
import AttnReport
import AttnScenario
import Calibration
import KVCache

/// The datasets each kind of page reads, named as Resources/report.js looks them up, each
/// the JSON AttnReport renders for `--format json`.
extension HTMLReport.Dataset {
    /// `run`'s records (an attention scenario or an ad-hoc run).
    public static func records(_ records: [RunRecord], command: String) -> Self {
        Self(name: "records", command: command, json: RecordReport.render(records, format: .json))
    }

    /// `roofline`'s kernel and total records.
    public static func roofline(_ rows: [RooflineRow], command: String) -> Self {
        Self(name: "roofline", command: command, json: RooflineReport.render(rows, format: .json))
    }

    /// `kv`'s footprint records.
    public static func kv(_ records: [KVRecord], command: String) -> Self {
        Self(name: "kv", command: command, json: KVReport.render(records, format: .json))
    }

    /// `paged`'s statistics, one per policy and rate, with their timelines.
    public static func paged(_ stats: [AllocationStats], command: String) -> Self {
        Self(name: "paged", command: command, json: KVReport.render(stats, format: .json))
    }

    /// `validate`'s rows and summary.
    public static func validation(_ records: [ValidationRecord], command: String) -> Self {
        Self(name: "validation", command: command, json: ValidationReport.render(records, format: .json))
    }

    /// `model`'s summary view.
    public static func modelSummary(_ input: ModelReportInput, command: String) -> Self {
        Self(name: "summary", command: command, json: ModelReport.renderSummary(input, format: .json))
    }

    /// `model`'s operator view of one phase (`operators-prefill`, `operators-decode`).
    public static func modelOperators(_ input: ModelReportInput, steps: [StepPrediction], phase: ModelPhase, command: String) -> Self {
        Self(name: "operators-\(phase.rawValue)", command: command, json: ModelReport.renderOperators(input, steps: steps, format: .json))
    }

    /// `model`'s parameter view.
    public static func modelParameters(_ input: ModelReportInput, command: String) -> Self {
        Self(name: "parameters", command: command, json: ModelReport.renderParameters(input, format: .json))
    }
}
