import AttnAlgorithms
import AttnHardware
import AttnReport
import AttnScenario
import KVCache
import TileLanguage

/// `attnsim list`: the built-in algorithms with their parameters, and the hardware profiles.
enum ListCommand {
    static let options = [OptionSpec.helpFlag]

    /// The text of `attnsim list --help`.
    static let help = helpText(
        usage: "attnsim list", summary: "Lists the built-in algorithms (with their parameters and defaults), models and hardware profiles.",
        options: options)

    /// Runs the command on its parsed arguments (dispatch answers `--help` with `help`).
    static func main(_ parsed: ParsedArguments, console: Console) throws -> ExitCode {
        guard parsed.positionals.isEmpty else { throw UsageError(message: "'list' takes no arguments") }
        var text = "ALGORITHMS (attnsim run --algorithm NAME, or a path to your own .tile file)\n"
        for name in AlgorithmLibrary.builtInNames {
            let program = try AlgorithmLibrary.program(name)
            text += "\n  \(name)\n    \(program.about ?? "")\n"
            if let alias = AlgorithmLibrary.aliases[name] { text += "    (the \(alias.program) program with other defaults)\n" }
            let aliased = AlgorithmLibrary.aliases[name]
            let parameters = program.declaredParameters.map { parameter in
                let value = aliased?.defaults.first { $0.name == parameter.name }.map { String($0.value) }
                return "\(parameter.name) = \(value ?? defaultText(parameter, in: program.source))"
            }
            if !parameters.isEmpty { text += "    params: " + parameters.joined(separator: ", ") + "\n" }
        }
        text += try familiesText()
        text += "\nBUILT-IN PARAMETERS (bound from the run; usable in any program)\n"
        for parameter in BuiltinParameter.allCases {
            text += "  \(parameter.rawValue.padding(toLength: 11, withPad: " ", startingAt: 0)) \(parameter.summary)\n"
        }
        text += "\nMODELS (attnsim kv / paged --model NAME, or a path to a model .json)\n"
        for name in ModelSpec.builtInNames {
            let model = try ModelSpec.named(name)
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
            text += line + "\n"
        }
        text += "\nHARDWARE (--hardware NAME, or a path to a profile .json)\n"
        for name in HardwareProfile.builtInNames {
            let profile = try HardwareProfile.named(name)
            text += "  \(name.padding(toLength: 14, withPad: " ", startingAt: 0)) \(profile.name): "
                + "\(RecordReport.grouped(profile.sramBytesPerBlock)) B SRAM/block, \(profile.smCount) SMs, "
                + "\(profile.hbmBytesPerSecond / 1e12) TB/s HBM\n"
        }
        console.out(text)
        return .success
    }

    /// The FAMILIES section: each family in words, how to select it and which built-in
    /// algorithms have it (`AlgorithmFamily.taxonomy`).
    static func familiesText() throws -> String {
        var text = "\nFAMILIES (what the algorithms above compute, and how to select it)\n"
        for (family, members) in try AlgorithmFamily.taxonomy() {
            text += "  \(family.name): \(members.joined(separator: ", "))\n    select: \(family.how)\n"
        }
        return text
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
