import TileLanguage

/// A kernel-local value.
enum Value {
    case unset
    case int(Int)
    case float(Double)
    case tile(Tile)

    var tile: Tile? { if case .tile(let t) = self { return t } else { return nil } }
}
