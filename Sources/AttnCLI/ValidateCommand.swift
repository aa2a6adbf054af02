import AttnHardware
import AttnJSON
import AttnNumerics
import AttnReport
import Calibration
import CostModel
import Foundation

/// `attnsim validate`: the cost model's predictions against measured GPU counters.
enum ValidateCommand {
    static let options = [
        .hardware("Profile of the measured GPU (default h100-sxm)."),
        OptionSpec(name: "fit", value: nil, help: "Also fit a calibration set to these files, print it and validate with it."),
        OptionSpec(
            name: "held-out", value: "FILE.csv", help: "With --fit: also validate FILE.csv with the fitted set, which is not fitted on it (repeatable).",
            repeatable: true, role: .input(suffix: "")),
        OptionSpec(name: "kernels", value: "FILE.csv", help: "Kernel-table entries (implementation -> program) tried before the built-in ones."),
        OptionSpec(name: "allow-unmapped", value: nil, help: "Exit 0 even when some rows have no prediction (listed with the reason)."),
        .allowLong("Count each row even when it exceeds the work budget (about a minute of count mode)."),
        .format,
        .reportOutput,
        .helpFlag,
    ]

    /// The text of `attnsim validate --help`.
    static let help = helpText(
        usage: "attnsim validate FILE.csv [FILE.csv ...] [--hardware NAME] [--kernels FILE.csv] [--fit [--held-out FILE.csv]] [--allow-unmapped] [--format F]",
        summary: """
            Reads measurements in the calibration CSV format (docs/data/README.md; several files are reported
            together, with the figures of each file), maps each row to a program with its block sizes and splits
            through the kernel table (docs/cost-model.md; --kernels adds entries; a `program` column, with
            optional `warps` and `stages`, names it on the row), predicts DRAM read and write bytes, SM<->L2
            bytes and time, and prints predicted, measured and % error per row, then the median and
            90th-percentile absolute % error per quantity, per family (prefill, decode, paged, backward) and per
            file. Rows with no prediction are listed with the reason and make the exit status 1 unless
            --allow-unmapped is given. --fit --held-out FILE.csv checks a fit on data it was not fitted on: the
            set is fitted on the positional files only and every file, held out or not, is validated with it.
            """,
        options: options)

    /// Runs the command on its parsed arguments (dispatch answers `--help` with `help`).
    static func main(_ parsed: ParsedArguments, console: Console) throws -> ExitCode {
        guard !parsed.positionals.isEmpty else { throw UsageError(message: "'validate' takes one or more CSV files") }
        let heldOut = parsed.all("held-out")
        if !heldOut.isEmpty && !parsed.has("fit") { throw UsageError(message: "'--held-out' needs '--fit' (it names files the fit leaves out)") }
        let target = try parsed.reportTarget(try parsed.outputs())
        do {
            // Every file's rows, with the folder its `program` paths resolve against.
            // (`fitted`: the fit may use the file; held-out files are only validated.)
            var files: [(rows: [CalibrationRow], directory: String?, fitted: Bool)] = []
            for (path, fitted) in parsed.positionals.map({ ($0, true) }) + heldOut.map({ ($0, false) }) {
                let rows = try CalibrationRow.parse(try TextFile.read(path), file: path)
                let directory = (path as NSString).deletingLastPathComponent
                files.append((rows, directory.isEmpty ? nil : directory, fitted))
            }
            let hardware = try HardwareProfile.named(parsed.hardware)
            var validator = Validator(hardware: hardware)
            validator.allowLong = parsed.allowLong
            if let path = parsed.value("kernels") {
                let directory = (path as NSString).deletingLastPathComponent
                validator.kernels = KernelTable.builtIn.extended(
                    with: try KernelTable.parse(try TextFile.read(path), file: path, directory: directory.isEmpty ? nil : directory))
            }
            let bar = ProgressBar(console: console)
            defer { bar.finish() }
            if parsed.has("fit") {
                let fitted = Fitter(hardware: hardware).fit(files.filter(\.fitted).flatMap(\.rows), kernels: validator.kernels) {
                    bar.update(label: "fit: counting rows", fraction: $0)
                }
                bar.finish()
                console.err("fitted: matmul_efficiency \(fitted.matmulEfficiency), bytes_in_flight_per_warp \(fitted.bytesInFlightPerWarp), "
                    + "iteration_cycles \(fitted.iterationCycles), cross_warp_reduction_cycles \(fitted.crossWarpReductionCycles), base_registers_per_thread \(fitted.baseRegistersPerThread), "
                    + "l1_share_fraction \(fitted.l1ShareFraction), operand_bandwidth_fraction \(fitted.operandBandwidthFraction), "
                    + "barrier_wait_seconds \(fitted.barrierWaitSeconds), kernel_overhead_seconds \(fitted.kernelOverheadSeconds), "
                    + "call_overhead_seconds \(fitted.callOverheadSeconds), direct_launch_overhead_seconds \(fitted.directLaunchOverheadSeconds)\n")
                validator.calibration = fitted
            }
            var records: [ValidationRecord] = []
            for (index, file) in files.enumerated() {
                validator.programDirectory = file.directory
                records += validator.validate(file.rows) { bar.update(label: "validate", fraction: (Double(index) + $0) / Double(files.count)) }
            }
            bar.finish()
            try target.deliver(console, kind: .validate, title: "attnsim validate: \((parsed.positionals + heldOut).joined(separator: ", "))", datasets: { [.validation(records, command: $0)] }) {
                ValidationReport.render(records, format: $0)
            }
            let unpredicted = records.filter { $0.prediction == nil }.count
            if unpredicted > 0 && !parsed.has("allow-unmapped") {
                console.err("error: \(unpredicted) of \(records.count) rows have no prediction (listed above); pass --allow-unmapped to accept that\n")
                return .failure
            }
            return .success
        } catch {
            console.err(ErrorReport.text(error))
            return .failure
        }
    }
}
