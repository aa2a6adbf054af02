import TileLanguage

/// A kernel-local value.
enum Value {
    case unset
    case int(Int)
    case float(Double)
    case tile(Tile)

    var tile: Tile? { if case .tile(let t) = self { return t } else { return nil } }
}

/// The state a loop iteration starts from, apart from integer values: equal states and
/// equal sites give equal counts.
struct CarriedLayout: Equatable {
    var tiles: [TileLayout?]
    var liveSram: Int
    var liveRegisters: Int
}
