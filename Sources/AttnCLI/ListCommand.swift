import AttnAlgorithms
import AttnHardware
import AttnReport
import AttnScenario
import KVCache
import TileLanguage

/// `attnsim list`: the built-in algorithms with their parameters, and the hardware profiles.
enum ListCommand {
    static let options = [OptionSpec(name: "help", value: nil, help: "Show this help.")]

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
            if model.ssmLayers > 0 { line += ", \(model.attentionLayers) attention + \(model.ssmLayers) SSM layers" }
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

    /// A family of attention the built-in algorithms cover, named in words: a mask or
    /// variant selected by a parameter the algorithms declare (so a new program that
    /// declares it joins), a built-in parameter their programs take (GQA: kv_heads), the
    /// references they are checked against, or a kind of computation listed by algorithm.
    struct Family {
        var name: String
        var how: String
        /// Algorithms that declare this parameter belong to the family.
        var parameter: String?
        /// Or the algorithms whose program takes this built-in parameter: an input's shape or
        /// a declared parameter's default names it.
        var builtIn: BuiltinParameter?
        /// Or these algorithms, by name.
        var algorithms: [String] = []
        /// Or the algorithms checked against one of these references.
        var references: Set<ReferenceKind> = []
    }

    static let families: [Family] = [
        Family(name: "dense (full) softmax attention", how: "the default of every attention algorithm", references: [.attention, .attentionPaged, .attentionDQ]),
        Family(name: "causal mask", how: "--causal", parameter: "causal"),
        Family(name: "sliding-window (local) attention", how: "--window W", parameter: "window"),
        Family(name: "block-sparse attention (local + strided, or random blocks)", how: "--block-mask \(BlockMaskOption.help)", parameter: "block_pattern"),
        Family(name: "grouped-query and multi-query attention (GQA, MQA)", how: "--kv-heads N, fewer than --heads", builtIn: .kvHeads),
        Family(name: "rotary position embedding (RoPE; linear, NTK and YaRN scaling)", how: "--algorithm flash2-rope (fused) or rope-prepass, --param rope_scaling=S", parameter: "rope_base"),
        Family(name: "ALiBi position bias", how: "--algorithm flash2-alibi", algorithms: ["flash2-alibi"]),
        Family(name: "logit softcapping (Gemma 2)", how: "--algorithm flash2-softcap, --param softcap=C", parameter: "softcap"),
        Family(name: "attention sinks + sliding window (StreamingLLM)", how: "--algorithm flash2-sinks, --param sinks=K, --window W", parameter: "sinks"),
        Family(name: "causal linear attention (elu + 1 features, running state)", how: "--algorithm linear-attention", references: [.linearAttention]),
        Family(name: "low-rank attention (Linformer)", how: "--algorithm linformer, --param kproj=K", references: [.linformer]),
        Family(name: "cascade (shared-prefix) attention (FlashInfer)", how: "--algorithm cascade, --param suffix=S", references: [.attentionCascade]),
        Family(name: "split-KV decoding", how: "--q-len 1, --param splits=S", parameter: "splits"),
        Family(name: "paged KV cache (block table)", how: "--algorithm paged-decode, paged-decode-v2 (vLLM's partitions) or paged-decode-quant", references: [.attentionPaged]),
        Family(name: "quantized KV cache read by the kernels (fp8, int8, int4; per-group or per-token scales)", how: "--algorithm *-quant, --param quant=0|1|2|3, --param group=G", parameter: "quant"),
        Family(name: "backward pass (gradients dQ, dK, dV)", how: "--algorithm *-fwd-bwd", algorithms: ["standard-fwd-bwd", "flash2-fwd-bwd"]),
        Family(name: "multi-head latent attention (MLA, DeepSeek-V2/V3) decoding", how: "--algorithm mla-decode-*", algorithms: ["mla-decode-naive", "mla-decode-absorbed"]),
        Family(name: "state-space scan (Mamba), attention's linear-time alternative", how: "--algorithm selective-scan*", algorithms: ["selective-scan", "selective-scan-naive"]),
    ]

    /// The FAMILIES section: each family in words, how to select it and which built-in
    /// algorithms have it (only names that exist are listed).
    static func familiesText() throws -> String {
        var declared: [String: Set<String>] = [:]
        var references: [String: Set<ReferenceKind>] = [:]
        var programs: [String: Program] = [:]
        for name in AlgorithmLibrary.builtInNames {
            let program = try AlgorithmLibrary.program(name)
            declared[name] = Set(program.declaredParameters.map(\.name))
            references[name] = Set(program.checks.map(\.reference))
            programs[name] = program
        }
        var text = "\nFAMILIES (what the algorithms above compute, and how to select it)\n"
        for family in families {
            let members = AlgorithmLibrary.builtInNames.filter { name in
                if let parameter = family.parameter { return declared[name]?.contains(parameter) ?? false }
                if let builtIn = family.builtIn { return programs[name].map { takes(builtIn, $0) } ?? false }
                if !family.references.isEmpty { return !(references[name] ?? []).isDisjoint(with: family.references) }
                return family.algorithms.contains(name)
            }
            guard !members.isEmpty else { continue }
            text += "  \(family.name): \(members.joined(separator: ", "))\n    select: \(family.how)\n"
        }
        return text
    }

    /// Whether a program takes a built-in parameter: the shape of one of its inputs or the
    /// default of one of its declared parameters names it (a `require` alone does not).
    static func takes(_ builtIn: BuiltinParameter, _ program: Program) -> Bool {
        guard let target = program.parameterIndex(builtIn.rawValue) else { return false }
        func names(_ e: Expr) -> Bool {
            e.contains { node in
                switch node.kind {
                case .name(let name): return name == builtIn.rawValue
                case .parameter(let index): return index == target
                default: return false
                }
            }
        }
        return program.tensors.contains { $0.role == .input && $0.shape.contains(where: names) }
            || program.declaredParameters.contains { names($0.defaultValue) }
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
