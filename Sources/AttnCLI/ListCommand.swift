import AttnAlgorithms
import AttnHardware
import AttnJSON
import AttnReport
import AttnScenario
import KVCache
import TileLanguage

/// `attnsim list`: the built-in algorithms with their parameters, and the hardware profiles.
enum ListCommand {
    static let options = [
        OptionSpec(name: "format", value: "table|json", help: "Output format: table (the listing, default) or json (docs/output-format.md)."),
        OptionSpec.helpFlag,
    ]

    /// The text of `attnsim list --help`.
    static let help = helpText(
        usage: "attnsim list [--format table|json]",
        summary: "Lists the built-in algorithms (with their parameters and defaults), their families, models and hardware profiles.",
        options: options)

    /// Runs the command on its parsed arguments (dispatch answers `--help` with `help`).
    static func main(_ parsed: ParsedArguments, console: Console) throws -> ExitCode {
        guard parsed.positionals.isEmpty else { throw UsageError(message: "'list' takes no arguments") }
        let format = try parsed.format(among: [.table, .json])
        let algorithms = try algorithmEntries()
        let families = try familyEntries()
        let models = try ModelSpec.builtInNames.map { try ModelSpec.named($0) }
        let profiles = try HardwareProfile.builtInNames.map { try HardwareProfile.named($0) }
        if format == .json {
            console.out(json(algorithms: algorithms, families: families, models: models, profiles: profiles).render() + "\n")
            return .success
        }
        var text = "ALGORITHMS (attnsim run --algorithm NAME, or a path to your own .tile file)\n"
        for entry in algorithms {
            text += "\n  \(entry.name)\n    \(entry.about)\n"
            if let alias = entry.aliasOf { text += "    (the \(alias) program with other defaults)\n" }
            if !entry.parameters.isEmpty { text += "    params: " + entry.parameters.map { "\($0.name) = \($0.value)" }.joined(separator: ", ") + "\n" }
        }
        text += "\nFAMILIES (what the algorithms above compute, and how to select it)\n"
        for family in families {
            text += "  \(family.name): \(family.algorithms.joined(separator: ", "))\n    select: \(family.how)\n"
        }
        text += "\nBUILT-IN PARAMETERS (bound from the run; usable in any program)\n"
        for parameter in BuiltinParameter.allCases {
            text += "  \(parameter.rawValue.padding(toLength: 11, withPad: " ", startingAt: 0)) \(parameter.summary)\n"
        }
        text += "\nMODELS (attnsim kv / paged --model NAME, or a path to a model .json)\n"
        for (name, model) in zip(ModelSpec.builtInNames, models) {
            var line = "  \(name.padding(toLength: 16, withPad: " ", startingAt: 0)) \(model.name): \(model.layers) layers, "
                + "\(model.heads) heads / \(model.kvHeads) KV (\(model.attentionKind)), head_dim \(model.headDim)"
            if let mla = model.mla {
                line += ", MLA latent \(mla.kvLoraRank) + RoPE key \(mla.qkRopeHeadDim)"
            }
            if let window = model.slidingWindow {
                line += model.slidingWindowPattern.map { ", window \(window) on \($0 - 1) of every \($0) layers" } ?? ", window \(window)"
            } else if model.layerWindows != nil {
                line += ", per-layer windows"
            }
            if let sinks = model.attentionSinks, sinks > 0 { line += ", \(sinks) sink tokens" }
            if let chunk = model.attentionChunkSize {
                line += model.attentionChunkPattern.map { ", chunk \(chunk) on \($0 - 1) of every \($0) layers" } ?? ", chunk \(chunk)"
            }
            if let indexer = model.indexer { line += ", lightning indexer top-\(indexer.topK)" }
            if model.ssmLayers > 0 { line += ", \(model.attentionLayers) attention + \(model.ssmLayers) SSM layers" }
            if model.deltanetLayers > 0 { line += ", \(model.attentionLayers) attention + \(model.deltanetLayers) Gated DeltaNet layers" }
            if let moe = model.decoder?.moe, let dtype = moe.expertDType { line += ", \(moe.experts) experts in \(dtype.rawValue)" }
            if let cross = model.crossAttention { line += ", cross-attention over \(cross.encoderStates) encoder states" }
            text += line + "\n"
        }
        text += "\nHARDWARE (--hardware NAME, or a path to a profile .json)\n"
        for (name, profile) in zip(HardwareProfile.builtInNames, profiles) {
            text += "  \(name.padding(toLength: 14, withPad: " ", startingAt: 0)) \(profile.name): "
                + "\(RecordReport.grouped(profile.sramBytesPerBlock)) B SRAM/block, \(profile.smCount) SMs, "
                + "\(profile.hbmBytesPerSecond / 1e12) TB/s HBM\n"
        }
        console.out(text)
        return .success
    }

    /// One built-in algorithm as listed: its summary, the program it aliases, and each
    /// declared parameter with its default as written (or the alias's).
    struct AlgorithmEntry {
        var name: String
        var about: String
        var aliasOf: String?
        var parameters: [(name: String, value: String)]
    }

    static func algorithmEntries() throws -> [AlgorithmEntry] {
        try AlgorithmLibrary.builtInNames.map { name in
            let program = try AlgorithmLibrary.program(name)
            let aliased = AlgorithmLibrary.aliases[name]
            let parameters = program.declaredParameters.map { parameter in
                let value = aliased?.defaults.first { $0.name == parameter.name }.map { String($0.value) }
                return (parameter.name, value ?? defaultText(parameter, in: program.source))
            }
            return AlgorithmEntry(name: name, about: program.about ?? "", aliasOf: aliased?.program, parameters: parameters)
        }
    }

    /// The listing as one JSON object: `algorithms`, `families`, `builtin_parameters`,
    /// `models` and `hardware` (docs/output-format.md lists the fields).
    static func json(algorithms: [AlgorithmEntry], families: [FamilyEntry], models: [ModelSpec], profiles: [HardwareProfile]) -> JSONOutput {
        func optional(_ x: Int?) -> JSONOutput { x.map { .int($0) } ?? .null }
        return .object([
            ("algorithms", .array(algorithms.map { entry in
                .object([
                    ("name", .string(entry.name)), ("about", .string(entry.about)), ("alias_of", entry.aliasOf.map { .string($0) } ?? .null),
                    ("params", .array(entry.parameters.map { .object([("name", .string($0.name)), ("default", .string($0.value))]) })),
                ])
            })),
            ("families", .array(families.map { family in
                .object([("name", .string(family.name)), ("select", .string(family.how)), ("algorithms", .array(family.algorithms.map { .string($0) }))])
            })),
            ("builtin_parameters", .array(BuiltinParameter.allCases.map { .object([("name", .string($0.rawValue)), ("meaning", .string($0.summary))]) })),
            ("models", .array(zip(ModelSpec.builtInNames, models).map { name, model in
                .object([
                    ("name", .string(name)), ("model", .string(model.name)), ("layers", .int(model.layers)), ("heads", .int(model.heads)),
                    ("kv_heads", .int(model.kvHeads)), ("attention", .string(model.attentionKind)), ("head_dim", .int(model.headDim)),
                    ("mla_kv_lora_rank", optional(model.mla?.kvLoraRank)), ("mla_qk_rope_head_dim", optional(model.mla?.qkRopeHeadDim)),
                    ("sliding_window", optional(model.slidingWindow)), ("sliding_window_pattern", optional(model.slidingWindowPattern)),
                    ("per_layer_windows", .bool(model.layerWindows != nil)), ("attention_sinks", .int(model.attentionSinks ?? 0)),
                    ("attention_layers", .int(model.attentionLayers)), ("ssm_layers", .int(model.ssmLayers)),
                    ("attention_chunk_size", optional(model.attentionChunkSize)), ("attention_chunk_pattern", optional(model.attentionChunkPattern)),
                    ("indexer_top_k", optional(model.indexer?.topK)), ("deltanet_layers", .int(model.deltanetLayers)),
                    ("experts", optional(model.decoder?.moe?.experts)), ("expert_dtype", model.decoder?.moe?.expertDType.map { .string($0.rawValue) } ?? .null),
                    ("cross_attention_encoder_states", optional(model.crossAttention?.encoderStates)),
                ])
            })),
            ("hardware", .array(zip(HardwareProfile.builtInNames, profiles).map { name, profile in
                .object([
                    ("name", .string(name)), ("profile", .string(profile.name)), ("sram_bytes_per_block", .int(profile.sramBytesPerBlock)),
                    ("sm_count", .int(profile.smCount)), ("hbm_bytes_per_s", .double(profile.hbmBytesPerSecond)),
                ])
            })),
        ])
    }

    /// A family as listed: its name, how to select it and the built-ins that have it.
    struct FamilyEntry {
        var name: String
        var how: String
        var algorithms: [String]
    }

    /// The FAMILIES section: each family in words, how to select it and which built-in
    /// algorithms have it (`AlgorithmFamily.taxonomy`).
    static func familyEntries() throws -> [FamilyEntry] {
        try AlgorithmFamily.taxonomy().map { FamilyEntry(name: $0.family.name, how: $0.family.how, algorithms: $0.members) }
    }

    /// The default expression of a parameter as written in its source line.
    static func defaultText(_ parameter: ParameterDecl, in source: SourceFile) -> String {
        let line = source.line(parameter.location.line)
        guard let equals = line.firstIndex(of: "=") else { return "" }
        var text = line[line.index(after: equals)...]
        if let hash = text.firstIndex(of: "#") { text = text[..<hash] }
        return text.trimmingCharacters(in: .whitespaces)
    }
}

import Foundation
import Workload
