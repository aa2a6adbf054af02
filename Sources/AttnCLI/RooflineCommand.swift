import AttnHardware
import AttnJSON
import AttnNumerics
import AttnPipeline
import AttnReport
import AttnScenario
import CostModel
import Foundation
import KVCache
import TileInterpreter
import Workload

/// `attnsim roofline`: per kernel and in total, FLOPs, DRAM bytes, intensity, the ridge
/// point, the bound and the predicted time; optionally a plot and a timeline.
enum RooflineCommand {
    static let options = [
        .model("Model whose attention layer to use (heads, kv_heads, head_dim)."),
        OptionSpec(name: "phase", value: "prefill|decode", help: "prefill: q_len = context; decode: one query (default prefill)."),
        .contexts("Context lengths, e.g. 1k,4k,16k (required with --model)."),
        OptionSpec(
            name: "algorithms", value: "LIST", help: "Algorithms to compare (default flash2,standard; flash-decoding,flash2 for decode).",
            role: .input(suffix: ".tile")),
        OptionSpec(name: "batch", value: "N", help: "Batch size (default 1)."),
        OptionSpec(name: "kv-heads", value: "N", help: "Key/value heads (default: the model's)."),
        OptionSpec(name: "q-len", value: "N", help: "Query length (default: the context in prefill, 1 in decode)."),
        OptionSpec(name: "causal", value: nil, help: "Causal mask (a decoder's prefill; sets causal=1 of the algorithms that have it)."),
        OptionSpec(name: "window", value: "W", help: "Sliding window of W keys (default: the model's, if any)."),
        OptionSpec(name: "param", value: "NAME=VALUE", help: "Set an algorithm parameter, e.g. --param Br=64 (repeatable).", repeatable: true),
        .attentionDType(),
        .hardware(),
        .allowBeyondMax,
        .allowLong("Run even when counting a kernel exceeds the work budget (about a minute of count mode)."),
        .output("svg", "Write a log-log roofline plot (one point per algorithm and context) as SVG."),
        .output("timeline", "Write the modelled schedule of the first run as Chrome trace-event JSON (Perfetto)."),
        .format,
        .reportOutput,
        .helpFlag,
    ]

    /// The text of `attnsim roofline --help`.
    static let help = helpText(
        usage: "attnsim roofline (--model NAME --context LIST | SCENARIO.json) [options]",
        summary: """
            Predicts one attention layer of a model (or every run of an attention scenario) on a GPU: per kernel
            the thread blocks, blocks per SM, waves, FLOPs, DRAM bytes after the L2 model, arithmetic intensity
            against the profile's ridge point, what bounds it (memory, latency, l2, compute, overhead) and the
            predicted time. docs/cost-model.md gives the equations.
            """,
        options: options,
        footer: "EXAMPLES:\n  attnsim roofline --hardware h100-sxm --model qwen3-8b --phase prefill --context 1k,4k,16k,32k --svg roofline.svg\n  attnsim roofline --model llama-3-8b --context 2k,8k --causal --param Br=64")

    /// Runs the command on its parsed arguments (dispatch answers `--help` with `help`).
    static func main(_ parsed: ParsedArguments, console: Console) throws -> ExitCode {
        _ = try parsed.format()
        var scenario: Scenario
        var model: ModelSpec?
        if parsed.positionals.count == 1 {
            if let option = ["model", "phase", "context", "algorithms", "batch", "dtype", "kv-heads", "q-len", "causal", "window", "param", "allow-beyond-max"].first(where: parsed.has) {
                throw UsageError(message: "'--\(option)' describes a model run and cannot be combined with a scenario file")
            }
            guard case .attention(let s) = try CommandSupport.studyFile(parsed.positionals[0], command: "roofline") else {
                throw UsageError(message: "'roofline' takes an attention scenario (not a kv or paged study)")
            }
            scenario = s
            if let hardware = parsed.value("hardware") { scenario.hardware = hardware }
        } else if parsed.positionals.isEmpty {
            (scenario, model) = try modelScenario(parsed)
        } else {
            throw UsageError(message: "'roofline' takes at most one scenario file")
        }
        let outputs = try parsed.outputs(reading: CommandSupport.inputs(of: scenario))
        // A plot or timeline on standard output leaves the report to standard error.
        let target = try parsed.reportTarget(outputs)
        return try CommandSupport.reporting(console) {
            if scenario.file == nil { try CommandSupport.checkSize(scenario) } else { try scenario.checkSize() }
            if let model {
                try CommandSupport.beyondMax(scenario.contexts.compactMap(model.contextLimit), allowed: parsed.allowBeyondMax, console: console)
                // One attention layer: a window model's windowed layer (its sliding window),
                // else a global layer; say which when the model has layers of other kinds.
                let others = model.attentionChunkSize.map { "chunked layers (\($0) tokens)" }
                    ?? (model.deltanetLayers + model.ssmLayers > 0 ? "recurrent (SSM or DeltaNet) layers" : nil)
                if let others { console.err("note: \(model.id): roofline shows a global attention layer; its \(others) are in 'attnsim model --view operators'\n") }
            }
            let hardware = try HardwareProfile.named(scenario.hardware)
            let model = CostModel(hardware: hardware, dtype: scenario.dtype)
            let pipeline = Pipeline(hardware: hardware, budget: parsed.allowLong || scenario.allowLong ? nil : WorkBudget.standard())
            var rows: [RooflineRow] = []
            var timeline: String?
            for algorithm in scenario.algorithms {
                let program = try Pipeline.load(algorithm.program)
                for context in scenario.contexts {
                    let prediction = try pipeline.evaluate(
                        program, shape: scenario.shape(context: context), dtype: scenario.dtype, parameters: algorithm.parameters).prediction
                    if timeline == nil {
                        timeline = Timeline.chromeTrace(prediction, smCount: hardware.smCount, label: "\(algorithm.label) \(ContextList.format(context)) on \(hardware.id)")
                    }
                    // Each kernel under the ceiling of the dtype its tensor cores multiply.
                    rows.append(RooflineRow(
                        algorithm: algorithm.label, context: context, queryLength: scenario.shape(context: context).queryLength, prediction: prediction,
                        peakFlopsPerSecond: model.matmulFlopsPerSecond, dramBytesPerSecond: model.hbmBytesPerSecond,
                        kernelPeakFlopsPerSecond: model.matmulCeilings(prediction, of: program)))
                }
            }
            if let svg = outputs["svg"] {
                let points = rows.map { RooflinePlot.Point(label: "\($0.algorithm) \(ContextList.format($0.context))", intensity: $0.intensity, flopsPerSecond: $0.achievedFlopsPerSecond) }
                let ceilings = rows.flatMap(\.kernelPeakFlopsPerSecond)
                try svg.write(RooflinePlot.svg(points, model: model, title: "Attention roofline on \(hardware.name)", ceilings: ceilings), console: console)
                console.err("roofline plot written to \(svg.name)\n")
            }
            if let destination = outputs["timeline"], let timeline {
                try destination.write(timeline, console: console)
                console.err("timeline written to \(destination.name) (open it in Perfetto)\n")
            }
            let title = "attnsim roofline: \(scenario.file == nil ? parsed.value("model") ?? scenario.name : scenario.name) on \(hardware.id)"
            try target.deliver(console, kind: .roofline, title: title, datasets: { [.roofline(rows, command: $0)] }) {
                RooflineReport.render(rows, format: $0)
            }
            return .success
        }
    }

    private static func modelScenario(_ parsed: ParsedArguments) throws(UsageError) -> (Scenario, ModelSpec) {
        guard let modelName = parsed.value("model") else { throw UsageError(message: "give --model NAME with --context, or an attention scenario file") }
        guard let contexts = try parsed.contexts(example: "1k,4k") else { throw UsageError(message: "'--context' is required with --model") }
        let model: ModelSpec
        do { model = try ModelSpec.named(modelName) } catch { throw UsageError(message: error.description) }
        let phase = parsed.value("phase") ?? "prefill"
        guard phase == "prefill" || phase == "decode" else { throw UsageError(message: "'--phase' expects prefill or decode, found '\(phase)'") }
        let defaults = phase == "decode" ? ["flash-decoding", "flash2"] : ["flash2", "standard"]
        let algorithms = try parsed.names("algorithms") ?? defaults
        let dtype = try parsed.attentionDType()
        let kvHeads = try parsed.integer("kv-heads") ?? model.kvHeads
        guard model.heads % kvHeads == 0 else {
            throw UsageError(message: "'--kv-heads' (\(kvHeads)) must divide the model's \(model.heads) heads")
        }
        // The model's sliding window, for the programs that take one, unless --window is given.
        let set = try RunCommand.algorithmParameters(
            parsed, algorithms: algorithms, defaults: model.slidingWindow.map { ["window": .int($0)] } ?? [:])
        let scenario = Scenario(
            name: "roofline", hardware: parsed.hardware, mode: .count, dtype: dtype,
            batch: try parsed.integer("batch") ?? 1, heads: model.heads, kvHeads: kvHeads, headDim: model.headDim,
            queryLength: try parsed.integer("q-len") ?? (phase == "decode" ? 1 : nil), contexts: contexts,
            algorithms: algorithms.map { Scenario.Algorithm(program: $0, parameters: set[$0] ?? [:]) })
        return (scenario, model)
    }
}
