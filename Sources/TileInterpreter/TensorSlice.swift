/// The part of a tensor an access selects: per dimension its start and length, and which
/// dimensions the tile keeps.
struct TensorSlice {
    var starts: [Int]
    var lengths: [Int]
    var kept: [Int]
    var count: Int { lengths.reduce(1, *) }
    /// The tile's rows: the product of every kept dimension but the last (the only one
    /// for a 1-D tile).
    var rows: Int { kept.count == 1 ? lengths[kept[0]] : kept.dropLast().reduce(1) { $0 * lengths[$1] } }
    /// The tile's columns: the last kept dimension, 1 for a 1-D tile.
    var cols: Int { kept.count > 1 ? lengths[kept[kept.count - 1]] : 1 }
    var rank: Int { min(kept.count, 2) }
}
