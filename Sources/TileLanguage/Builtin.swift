/// The built-in functions of the tile language.
///
/// Everything the language and the simulator need to know about a built-in is its
/// `BuiltinSpec` (`Builtin+Table.swift`, types in `BuiltinSpec.swift`): arity, argument types, which arguments can
/// change a count, and how it counts. The checker, the data-dependence rule, the
/// sensitivity and uniformity analyses and the interpreter all read that one table, so
/// adding a built-in is one table entry, one evaluation case, and their tests.
public enum Builtin: String, Sendable, Equatable, CaseIterable {
    // Integer arithmetic (also min/max on scalars and tiles).
    case cdiv, min, max
    // Elementwise math on tiles and scalars.
    case exp, log, sqrt
    // Row reductions of a 2-D tile to a row vector.
    case rowmax, rowsum
    // Tile constructors.
    case zeros, full
    // Rounds a tile to a storage dtype: `cast(p, fp16)`.
    case cast
    // Masks from indices: `mask_causal(s, q0, k0)` sets s[r, c] to -inf where key
    // k0 + c lies after query q0 + r; `mask_window(s, q0, k0, w)` also where it lies w or
    // more positions before (a causal sliding window of width w). An optional last
    // argument p says positions repeat every p rows (row r is query q0 + r % p), for
    // tiles that stack the query heads of a GQA group.
    case maskCausal = "mask_causal"
    case maskWindow = "mask_window"
    // Column j of a 2-D tile as a 1-D tile: `col(x, j)`.
    case col
    // FlashAttention-2's split count for split-KV decoding:
    // `fa2_num_splits(batch_nheads_mblocks, num_sms, num_n_blocks, max_splits)`.
    case fa2NumSplits = "fa2_num_splits"
    // Block-sparse masks: `block_mask(i, j, pattern, local, stride, density, seed)` is 1
    // when query block i computes key block j (pattern 0 dense, 1 local + strided,
    // 2 random with density in permille).
    case blockMask = "block_mask"
    // The attention zoo (docs/algorithms.md). Rotary positions: `rope_cos(p0, r, h, base,
    // scaling, factor, original)` and `rope_sin(...)` are the r x h tiles of
    // m cos((p0 + row) theta_c) and m sin(...) for pairs c < h of a head of d = 2h
    // (`RotaryEmbedding`: scaling 0 none, 1 linear, 2 NTK, 3 YaRN); `rope(x, c, s)` rotates
    // the r x 2h tile x with them (rotate-half pairs (c, c + h)).
    case ropeCos = "rope_cos"
    case ropeSin = "rope_sin"
    case rope
    // ALiBi: `alibi_slope(h, heads)` is head h's slope; `alibi(s, q0, k0, m)` adds
    // m (k0 + col - q0 - row) to each score.
    case alibiSlope = "alibi_slope"
    case alibi
    // Gemma 2's logit softcapping: `softcap(s, c)` = c tanh(s / c).
    case softcap
    // The linear-attention feature map elu(x) + 1 (x + 1 for x > 0, else e^x).
    case elu1
    // Quantized KV: `dequant(codes, format, scales, zeros)` turns a tile of u8 codes
    // (`KVQuantFormat`: 0 fp8e4m3, 1 fp8e5m2, 2 int8, 3 int4 packed two per byte, which
    // doubles the columns) into fp32 code * scale + zero; scales and zeros are numbers, a
    // one-element tile (per tensor), a 1-D tile (per row) or r x groups (per group).
    case dequant

    /// Allowed argument counts.
    public var arity: ClosedRange<Int> { spec.arity }

    /// True for operations applied element by element (fusable into their consumer).
    public var isElementwise: Bool { spec.isElementwise }
}
