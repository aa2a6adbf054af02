import AttnAlgorithms
import TileLanguage

/// A family of attention the built-in algorithms cover, named in words, with how to
/// select it and the rule that says, from a program alone, whether an algorithm belongs:
/// a parameter it declares (so a new program that declares it joins), a built-in
/// parameter it takes (GQA: kv_heads), the references it is checked against, or, for a
/// kind of computation no declaration shows, the algorithms by name. `attnsim list`
/// prints the taxonomy (`taxonomy()`).
public struct AlgorithmFamily: Sendable {
    /// What makes an algorithm a member.
    public enum Membership: Sendable {
        /// Its program declares this parameter.
        case declares(String)
        /// Its program takes this built-in parameter (`takes(_:_:)`).
        case takes(BuiltinParameter)
        /// Its program is checked against one of these references.
        case checkedAgainst(Set<ReferenceKind>)
        /// These algorithms, by name.
        case named([String])
    }

    public var name: String
    /// How to select it on the command line.
    public var how: String
    public var membership: Membership

    public init(name: String, how: String, _ membership: Membership) {
        self.name = name
        self.how = how
        self.membership = membership
    }

    /// The families, in the order `attnsim list` shows them.
    public static let catalog: [AlgorithmFamily] = [
        AlgorithmFamily(name: "dense (full) softmax attention", how: "the default of every attention algorithm", .checkedAgainst([.attention, .attentionPaged, .attentionDQ, .attentionScaled])),
        AlgorithmFamily(name: "causal mask", how: "--causal", .declares("causal")),
        AlgorithmFamily(name: "sliding-window (local) attention", how: "--window W", .declares("window")),
        AlgorithmFamily(name: "block-sparse attention (local + strided, or random blocks)", how: "--block-mask \(BlockMaskOption.help)", .declares("block_pattern")),
        AlgorithmFamily(name: "grouped-query and multi-query attention (GQA, MQA)", how: "--kv-heads N, fewer than --heads", .takes(.kvHeads)),
        AlgorithmFamily(
            name: "rotary position embedding (RoPE; linear, NTK and YaRN scaling)", how: "--algorithm flash2-rope (fused) or rope-prepass, --param rope_scaling=S",
            .declares("rope_base")),
        AlgorithmFamily(name: "ALiBi position bias", how: "--algorithm flash2-alibi", .named(["flash2-alibi"])),
        AlgorithmFamily(name: "logit softcapping (Gemma 2)", how: "--algorithm flash2-softcap, --param softcap=C", .declares("softcap")),
        AlgorithmFamily(name: "attention sinks + sliding window (StreamingLLM)", how: "--algorithm flash2-sinks, --param sinks=K, --window W", .declares("sinks")),
        AlgorithmFamily(name: "causal linear attention (elu + 1 features, running state)", how: "--algorithm linear-attention", .checkedAgainst([.linearAttention])),
        AlgorithmFamily(name: "low-rank attention (Linformer)", how: "--algorithm linformer, --param kproj=K", .checkedAgainst([.linformer])),
        AlgorithmFamily(name: "cascade (shared-prefix) attention (FlashInfer)", how: "--algorithm cascade, --param suffix=S", .checkedAgainst([.attentionCascade])),
        AlgorithmFamily(
            name: "FP8 attention (block-scaled e4m3 Q, K, V; P rounded to e4m3; FP8 tensor cores)", how: "--algorithm flash3-fp8",
            .checkedAgainst([.attentionScaled])),
        AlgorithmFamily(
            name: "FP4 attention (NVFP4 or MXFP4 Q, K, V with block scales; P quantized to FP4 with two-level scales; FP4 tensor cores)",
            how: "--algorithm sage3, --param fmt=4|5", .named(["sage3"])),
        AlgorithmFamily(name: "split-KV decoding", how: "--q-len 1, --param splits=S", .declares("splits")),
        AlgorithmFamily(
            name: "paged KV cache (block table)", how: "--algorithm paged-decode, paged-decode-v2 (vLLM's partitions) or paged-decode-quant",
            .checkedAgainst([.attentionPaged])),
        AlgorithmFamily(
            name: "quantized KV cache read by the kernels (fp8, int8, int4; per-group or per-token scales; nvfp4, mxfp4 block scales)",
            how: "--algorithm *-quant, --param quant=0|1|2|3, --param group=G", .declares("quant")),
        AlgorithmFamily(name: "backward pass (gradients dQ, dK, dV)", how: "--algorithm *-fwd-bwd", .named(["standard-fwd-bwd", "flash2-fwd-bwd"])),
        AlgorithmFamily(
            name: "multi-head latent attention (MLA, DeepSeek-V2/V3) decoding", how: "--algorithm mla-decode-*, or dsa (MLA over the top-k tokens)",
            .named(["mla-decode-naive", "mla-decode-absorbed", "dsa"])),
        AlgorithmFamily(
            name: "state-space scan (Mamba), attention's linear-time alternative", how: "--algorithm selective-scan*",
            .named(["selective-scan", "selective-scan-naive"])),
        AlgorithmFamily(
            name: "data-dependent sparse attention (top-k tokens, blocks or pages chosen from the data; LSH buckets; k-means clusters)",
            how: "--algorithm dsa, nsa, quest, moba, lsh or routing; --param topk=K (dsa, moba), budget=T (quest), n=N (nsa)",
            .checkedAgainst(Set(ReferenceKind.sparseAttentionFamily))),
        AlgorithmFamily(
            name: "chunked linear-time layers of 2025 (Mamba-2 SSD, Gated DeltaNet), states passed between chunks",
            how: "--algorithm mamba2-ssd (--param Q=CHUNK, state=N) or gated-deltanet (--param C=CHUNK)", .checkedAgainst([.ssd, .gatedDelta])),
        AlgorithmFamily(
            name: "speculative decoding's tree verify (EAGLE, Medusa): draft tokens over the cache and their tree ancestors",
            how: "--algorithm tree-verify, --q-len DRAFT_TOKENS, --param width=W", .checkedAgainst([.attentionTree])),
        AlgorithmFamily(
            name: "vision attention: ViT global over patch tokens, Swin (shifted) windows",
            how: "--algorithm vit-global (--context (H/p)(W/p)+1) or swin-window (--param grid_w=W, M=7, shift=M/2)", .named(["vit-global", "swin-window"])),
        AlgorithmFamily(
            name: "encoder-decoder cross-attention (Whisper)", how: "--algorithm cross-attention, --context ENCODER_STATES (1500)", .named(["cross-attention"])),
        AlgorithmFamily(
            name: "prefix-LM mask: image tokens bidirectional, text causal (multimodal decoders)", how: "--algorithm flash2-prefix-lm, --param prefix=IMAGE_TOKENS",
            .checkedAgainst([.attentionPrefix])),
    ]

    /// Whether the algorithm `name` with program `program` belongs to the family.
    public func contains(_ name: String, program: Program) -> Bool {
        switch membership {
        case .declares(let parameter): return program.declaredParameters.contains { $0.name == parameter }
        case .takes(let builtIn): return Self.takes(builtIn, program)
        case .checkedAgainst(let references): return program.checks.contains { references.contains($0.reference) }
        case .named(let names): return names.contains(name)
        }
    }

    /// Each family of the catalog with the built-in algorithms in it, in the order of
    /// `AlgorithmLibrary.builtInNames`; families no built-in belongs to are left out.
    public static func taxonomy() throws(AlgorithmError) -> [(family: AlgorithmFamily, members: [String])] {
        var programs: [(String, Program)] = []
        for name in AlgorithmLibrary.builtInNames { programs.append((name, try AlgorithmLibrary.program(name))) }
        return catalog.compactMap { family in
            let members = programs.filter { family.contains($0.0, program: $0.1) }.map(\.0)
            return members.isEmpty ? nil : (family, members)
        }
    }

    /// Whether a program takes a built-in parameter: the shape of one of its inputs or the
    /// default of one of its declared parameters names it (a `require` alone does not).
    public static func takes(_ builtIn: BuiltinParameter, _ program: Program) -> Bool {
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
}
