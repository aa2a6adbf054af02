import AttnNumerics

/// Masks whose shape is a structure rather than a band: a speculative-decoding draft
/// tree (`mask_tree`), a prefix-LM's bidirectional prefix (`mask_prefix`: image tokens
/// before causal text) and Swin's shifted windows (`mask_swin`). Each sets hidden scores
/// to -inf with one compare-and-select per element and counts what it hides
/// (`CountRule.mask`). What they hide is not a function of the query-key offset alone, so
/// every position is a `setting`: count mode counts a box of blocks once only where the
/// positions are the same all over it.
extension Builtin {
    static let structuredMasks: [Builtin] = [.maskTree, .maskPrefix, .maskSwin]

    /// `mask_tree(s, q0, k0, width)` (optional row period last): row r of the scores holds
    /// draft node q0 + r % p, column c draft node k0 + c; a score is hidden unless the key's
    /// node is the query's node or one of its ancestors in the breadth-first `width`-ary
    /// draft tree (`DraftTree`: node n > 0 has parent (n - 1) / width). The tree-attention
    /// mask of EAGLE and Medusa over the draft tokens; keys in the cached prefix are not
    /// masked at all. The row period stacks a GQA group's heads.
    public static let maskTree = Builtin(
        "mask_tree",
        BuiltinSpec(
            required: [
                ArgumentSpec("the scores", .tile2D), ArgumentSpec("the first query node", .integer, .setting),
                ArgumentSpec("the first key node", .integer, .setting), ArgumentSpec("the tree width", .integer, .setting),
            ],
            optional: [ArgumentSpec("the row period", .integer, .setting)], result: .firstArgument, isElementwise: true, counting: .mask),
        .tile { call throws(Diagnostic) in
            var positions = try MaskPositions(call, name: "mask_tree", periodIndex: 4)
            let width = try call.integer(3)
            guard let tree = DraftTree(width: width) else { throw call.error("the tree width of 'mask_tree' must be positive, found \(width)", at: 3) }
            guard positions.q0 >= 0, positions.k0 >= 0 else {
                throw call.error("'mask_tree' takes draft nodes 0, 1, ...: found query node \(positions.q0) and key node \(positions.k0)")
            }
            return positions.hide { query, key in !tree.isAncestor(key, ofOrSelf: query) }
        })

    /// `mask_prefix(s, q0, k0, p)` (optional row period last): row r holds the query at
    /// position q0 + r % period, column c the key at k0 + c; a score is hidden when the key
    /// lies after the query and at or past position p. The first p keys (image tokens) are
    /// seen by every query, before or after them (bidirectional among themselves), the rest
    /// causally: the prefix-LM mask of multimodal decoders (PaliGemma, Beyer et al. 2024,
    /// Section 2; the prefix LM of Raffel et al. 2020, T5, Section 3.2.1).
    public static let maskPrefix = Builtin(
        "mask_prefix",
        BuiltinSpec(
            required: [
                ArgumentSpec("the scores", .tile2D), ArgumentSpec("the first query position", .integer, .setting),
                ArgumentSpec("the first key position", .integer, .setting), ArgumentSpec("the prefix length", .integer, .setting),
            ],
            optional: [ArgumentSpec("the row period", .integer, .setting)], result: .firstArgument, isElementwise: true, counting: .mask),
        .tile { call throws(Diagnostic) in
            var positions = try MaskPositions(call, name: "mask_prefix", periodIndex: 4)
            let prefix = try call.integer(3)
            return positions.hide { query, key in key > query && key >= prefix }
        })

    /// `mask_swin(s, M, shift, last_row, last_col)`: the scores of one M x M window of a
    /// cyclically shifted map (rows and columns the window's M^2 tokens in row-major order),
    /// hidden between tokens that came from different regions of the image. Swin
    /// Transformer's attention mask (Liu et al. 2021, Section 3.2 and its reference code's
    /// `attn_mask`): the map is rolled up and left by `shift` patches, so a window in the
    /// last row of windows (`last_row` 1) holds M - shift rows from the bottom of the image
    /// above `shift` rows from its top, and likewise for the last column; tokens see each
    /// other only within one region. Other windows hide nothing.
    public static let maskSwin = Builtin(
        "mask_swin",
        BuiltinSpec(
            required: [
                ArgumentSpec("the scores", .tile2D), ArgumentSpec("the window size", .integer, .setting),
                ArgumentSpec("the shift", .integer, .setting), ArgumentSpec("the last-row flag", .integer, .setting),
                ArgumentSpec("the last-column flag", .integer, .setting),
            ],
            result: .firstArgument, isElementwise: true, counting: .mask),
        .tile { call throws(Diagnostic) in
            guard let scores = try call.tile(0), scores.rank == 2 else { throw call.error("'mask_swin' masks a 2-D tile") }
            let window = try call.integer(1), shift = try call.integer(2)
            let lastRow = try call.integer(3) != 0, lastColumn = try call.integer(4) != 0
            guard window > 0, window <= 1 << 15 else { throw call.error("the window size of 'mask_swin' must be 1 to 32768, found \(window)", at: 1) }
            guard shift >= 0, shift < window else { throw call.error("the shift of 'mask_swin' must be 0 to \(window - 1), found \(shift)", at: 2) }
            let tokens = window * window
            guard scores.rows == tokens, scores.cols == tokens else {
                throw call.error("'mask_swin' masks the \(tokens) x \(tokens) scores of one \(window) x \(window) window, found \(scores.shapeText)")
            }
            // Region of a token: which side of the wrap its row (and column) lies on.
            let edge = window - shift
            func region(_ t: Int) -> Int { (lastRow && t / window >= edge ? 2 : 0) + (lastColumn && t % window >= edge ? 1 : 0) }
            var tile = scores.inRegisters
            var masked = 0
            var data = tile.data
            for r in 0..<tokens {
                let mine = region(r)
                for c in 0..<tokens where region(c) != mine {
                    masked += 1
                    data?[r * tokens + c] = -.infinity
                }
            }
            tile.data = data
            return TileOutput(tile, hiddenElements: masked)
        })
}

/// The positions a structured mask reads: the scores, the first query (row) and key
/// (column) positions and the row period; `hide` applies a rule to every element.
private struct MaskPositions {
    var tile: Tile
    let q0: Int
    let k0: Int
    let period: Int

    init(_ call: BuiltinCall, name: String, periodIndex: Int) throws(Diagnostic) {
        guard let scores = try call.tile(0), scores.rank == 2 else { throw call.error("'\(name)' masks a 2-D tile") }
        tile = scores.inRegisters
        q0 = try call.integer(1)
        k0 = try call.integer(2)
        var period = scores.rows
        if call.arguments.count > periodIndex {
            period = try call.integer(periodIndex)
            guard period > 0 else { throw call.error("the row period of '\(name)' must be positive, found \(period)", at: periodIndex) }
        }
        self.period = period
        // Every position the mask compares must fit in 64 bits.
        _ = try call.add(q0, Swift.max(0, Swift.min(scores.rows, period) - 1), "the last row's position q0 + r")
        _ = try call.add(k0, Swift.max(0, scores.cols - 1), "the last column's position k0 + c")
    }

    /// The tile with -inf where `hidden(query, key)`, and how many it hid.
    mutating func hide(_ hidden: (Int, Int) -> Bool) -> TileOutput {
        var masked = 0
        var data = tile.data
        for r in 0..<tile.rows {
            let query = q0 + r % period
            for c in 0..<tile.cols where hidden(query, k0 + c) {
                masked += 1
                data?[r * tile.cols + c] = -.infinity
            }
        }
        tile.data = data
        return TileOutput(tile, hiddenElements: masked)
    }
}
