import AttnNumerics
import Foundation
import TileLanguage

/// Why an algorithm could not be had.
public enum AlgorithmError: Error, Sendable, CustomStringConvertible {
    case unknown(name: String, known: [String])
    case unreadable(file: String, reason: String)
    case invalid(Diagnostic)

    public var description: String {
        switch self {
        case .unknown(let name, let known):
            return "unknown algorithm '\(name)'; built-in algorithms: \(known.joined(separator: ", ")), or a path to a .tile file"
        case .unreadable(let file, let reason):
            return "\(file): cannot read program: \(reason)"
        case .invalid(let diagnostic):
            return diagnostic.description
        }
    }
}

/// The built-in attention algorithms, written as tile-language programs (compiled into the
/// binary from `Programs/*.tile`), and user programs.
public enum AlgorithmLibrary {
    /// A built-in name that runs another program with other parameter defaults.
    public struct Alias: Sendable {
        public var program: String
        public var defaults: [(name: String, value: Int)]
        public var about: String
    }

    /// Names of the built-in algorithms; stable across releases.
    public static let builtInNames = [
        "standard", "flash1", "flash2", "flash2-gqa", "memory-efficient", "flash-decoding", "paged-decode", "standard-fwd-bwd",
        "flash2-fwd-bwd", "selective-scan", "selective-scan-naive", "mla-decode-naive", "mla-decode-absorbed",
        "flash2-triton", "paged-decode-v2", "paged-decode-triton", "memory-efficient-cutlass",
        // FlashAttention-3 on Hopper, 16-bit and FP8; FlashAttention-4 style on Blackwell;
        // SageAttention3's FP4 attention (docs/algorithms.md).
        "flash3", "flash3-fp8", "flash4", "sage3",
        // The attention zoo (docs/algorithms.md): positions, biases, sinks, linear and low-rank.
        "flash2-rope", "rope-prepass", "flash2-alibi", "flash2-softcap", "flash2-sinks", "linear-attention", "linformer", "cascade",
        "flash-decoding-quant", "paged-decode-quant",
        // Data-dependent sparse attention (docs/algorithms.md): selections made from the data.
        "quest", "moba", "dsa", "nsa", "lsh", "routing",
        // Frontier attention (docs/algorithms.md): chunked linear-time layers, speculative
        // decoding's tree verify, vision and cross-attention.
        "mamba2-ssd", "gated-deltanet", "tree-verify", "vit-global", "swin-window", "cross-attention", "flash2-prefix-lm",
    ]

    /// Built-in names that are other programs with other defaults.
    public static let aliases: [String: Alias] = [
        // The grouped GQA schedule is Flash-Decoding's packed kernel with one split: each
        // thread block takes one KV head and a query block of all its group's heads.
        "flash2-gqa": Alias(
            program: "flash-decoding", defaults: [("Br", 16), ("Bc", 128), ("splits", 1)],
            about: "FlashAttention-2 forward, grouped GQA schedule: a thread block holds Br query rows of every head of a KV group (a group x Br tile), so each K/V tile is loaded once per group"),
        // xFormers' memory-efficient (CUTLASS) kernel moves data as FlashAttention-2 does:
        // one block per query block, K/V streamed, O and LSE written once; it differs in
        // its 64-row tiles (docs/algorithms.md).
        "memory-efficient": Alias(
            program: "flash2", defaults: [("Br", 64), ("Bc", 64)],
            about: "xFormers memory-efficient attention (CUTLASS): the FlashAttention-2 schedule with 64 x 64 tiles"),
        // A ViT attends globally over its patch tokens and a class token, with no mask:
        // FlashAttention-2 over N = (H / p)(W / p) + 1 tokens (docs/algorithms.md).
        "vit-global": Alias(
            program: "flash2", defaults: [],
            about: "ViT global attention (Dosovitskiy et al. 2021): FlashAttention-2, no mask, over N = (H/p)(W/p) + 1 patch tokens and the class token"),
        // Whisper's decoder attends to the 1,500 encoder states with no mask; their K and V
        // are computed once per request, and every decode step reads them.
        "cross-attention": Alias(
            program: "flash-decoding", defaults: [],
            about: "Encoder-decoder cross-attention (Whisper): decoder queries over the Nkv encoder states, no mask, split-KV; the encoder's K and V are made once per request"),
    ]

    /// The source of a built-in program (an alias gives its program's source).
    public static func builtInSource(_ name: String) throws(AlgorithmError) -> SourceFile {
        guard builtInNames.contains(name) else { throw .unknown(name: name, known: builtInNames) }
        let name = aliases[name]?.program ?? name
        guard let text = BuiltinPrograms.sources[name] else {
            throw .unreadable(file: "builtin:\(name).tile", reason: "not compiled in (run scripts/embed-resources.py)")
        }
        return SourceFile(name: "builtin:\(name).tile", text: text)
    }

    /// A checked program: a built-in name, or a path to a `.tile` file.
    public static func program(_ nameOrPath: String) throws(AlgorithmError) -> Program {
        let source: SourceFile
        if nameOrPath.hasSuffix(".tile") {
            let bytes: [UInt8]
            do {
                bytes = try TextFile.bytes(nameOrPath)
            } catch {
                throw .unreadable(file: nameOrPath, reason: error.reason)
            }
            // Bytes that are not UTF-8 are a diagnostic at their line and column.
            do {
                source = try SourceFile(name: nameOrPath, bytes: bytes)
            } catch {
                throw .invalid(error)
            }
        } else {
            source = try builtInSource(nameOrPath)
        }
        var program: Program
        do {
            program = try Checker.check(source)
        } catch {
            throw .invalid(error)
        }
        if let alias = aliases[nameOrPath] {
            program.about = alias.about
            for (name, value) in alias.defaults {
                guard let index = program.parameterIndex(name) else { continue }
                program.parameters[index].defaultValue = Expr(.integer(value), program.parameters[index].location)
            }
        }
        return program
    }
}
