import Testing
import AttnNumerics
import TileInterpreter
@testable import TileLanguage

/// References as values: each reference is one definition holding its arguments, its
/// options, its computation and its reduction length.
@Suite struct ReferenceDefinitionTests {
    /// Hand-counted from the docs' layouts: the tensors each reference takes.
    @Test(arguments: [
        ("attention", 3), ("attention_lse", 2), ("attention_dq", 4), ("attention_dk", 4), ("attention_dv", 4),
        ("attention_paged", 4), ("selective_scan", 5), ("linear_attention", 3), ("linformer", 5),
        ("attention_cascade", 5), ("attention_cascade_lse", 5), ("attention_mla", 6),
        ("attention_quest", 6), ("attention_moba", 5), ("attention_dsa", 10), ("attention_nsa", 7), ("attention_lsh", 4),
        ("attention_routing", 6),
        ("attention_cascade", 5), ("attention_cascade_lse", 5), ("attention_mla", 6), ("ssd", 5), ("gated_delta_rule", 5),
        ("attention_tree", 3), ("attention_prefix", 3), ("attention_swin", 3),
        ("attention_scaled", 6), ("attention_scaled_lse", 4),
    ])
    func argumentCounts(_ name: String, _ count: Int) throws {
        let reference = try #require(ReferenceKind.named(name))
        #expect(reference.argumentCount == count)
        #expect(reference.rawValue == name)
    }

    @Test func everyReferenceIsFoundByItsName() {
        #expect(ReferenceKind.allCases.count == 25)
        for reference in ReferenceKind.allCases { #expect(ReferenceKind.named(reference.rawValue) === reference) }
        #expect(ReferenceKind.named("softmax") == nil)
    }

    /// The options a `check` line may name, from the definitions, in the order the parser
    /// lists them; the rope base and factor and the cap may be floats.
    @Test func optionsComeFromTheDefinitions() {
        #expect(CheckDecl.optionNames == [
            "causal", "window", "page_size", "block_pattern", "block_local", "block_stride", "block_density", "block_seed", "block_rows", "block_cols",
            "rope", "rope_base", "rope_scaling", "rope_factor", "rope_original", "alibi", "softcap", "sinks",
            "block", "stride", "chunk",
            "tree_width", "prefix", "grid_w", "window_size", "shift",
            "block_q", "block_k",
        ])
        #expect(CheckDecl.numberOptionNames == ["rope_base", "rope_factor", "softcap"])
        #expect(ReferenceKind.attentionCascade.options.map(\.name) == ["causal"])
        #expect(ReferenceKind.linformer.options.isEmpty)
    }

    /// Hand-derived n with d = 16, N = 8, Nkv = 32: d + Nkv = 48 for forward attention,
    /// d + N + Nkv = 56 for a gradient, d + Nkv + k = 53 for Linformer with E [5, 32],
    /// L + S = 10 for a scan with X [2, 7, 4] and A [4, 3], 2 dc + d + dR + Nkv = 76 for
    /// latent attention with C [1, 32, 12], KR [1, 32, 4] and WUK [2, 12, 16].
    @Test func reductionLengthsByFamily() {
        let shape = ProblemShape(batch: 1, heads: 2, kvHeads: 2, queryLength: 8, keyLength: 32, headDim: 16)
        func n(_ reference: ReferenceKind, _ arguments: [[Int]]) -> Int {
            reference.reductionLength(ReferenceShapes(shape: shape, arguments: arguments))
        }
        #expect(n(.attention, []) == 48)
        #expect(n(.attentionLSE, []) == 48)
        #expect(n(.attentionCascade, []) == 48)
        #expect(n(.linearAttention, []) == 48)
        #expect(n(.attentionDK, []) == 56)
        #expect(n(.linformer, [[2, 8, 16], [2, 32, 16], [2, 32, 16], [5, 32], [5, 32]]) == 53)
        #expect(n(.selectiveScan, [[2, 7, 4], [2, 7, 4], [4, 3], [2, 7, 3], [2, 7, 3]]) == 10)
        #expect(n(.attentionMLA, [[2, 8, 16], [2, 8, 4], [1, 32, 12], [1, 32, 4], [2, 12, 16], [2, 12, 16]]) == 76)
        // L + N = 7 + 5 for an SSD with X [2, 7, 3, 16] and B [2, 7, 1, 5]; L + 2 d = 9 + 32
        // for the delta rule with G [batch x heads = 2, 9]; d + Nkv for the structured masks.
        #expect(n(.ssd, [[2, 7, 3, 16], [2, 3, 7], [3], [2, 7, 1, 5], [2, 7, 1, 5]]) == 12)
        #expect(n(.gatedDelta, [[2, 9, 16], [2, 9, 16], [2, 9, 16], [2, 9], [2, 9]]) == 9 + 32)
        #expect(n(.attentionTree, []) == 48)
        #expect(n(.attentionPrefix, []) == 48)
        #expect(n(.attentionSwin, []) == 48)
        #expect(n(.attentionScaled, []) == 48)
        #expect(n(.attentionScaledLSE, []) == 48)
    }

    /// A check names only the options its reference reads (no silent ignoring).
    @Test(arguments: [
        ("check O = linformer(Q, K, V, E, F, causal: 1)", "'linformer' takes no option 'causal'; it takes none"),
        ("check O = attention_cascade(Q, K, V, E, F, window: 4)", "'attention_cascade' takes no option 'window'; it takes: causal"),
    ])
    func undeclaredOptionsAreErrors(_ line: String, _ message: String) {
        let text = """
            input Q[batch * heads, N, d]
            input K[batch * kv_heads, Nkv, d]
            input V[batch * kv_heads, Nkv, d]
            input E[4, Nkv]
            input F[4, Nkv]
            output O[batch * heads, N, d]
            \(line)
            kernel k grid(i: 1):
              store O[0, :, :] = zeros(N, d)

            """
        do {
            _ = try Checker.check(SourceFile(name: "r.tile", text: text))
            Issue.record("expected an error")
        } catch {
            #expect(error.message == message)
            #expect(error.location.line == 7)
        }
    }
}
