import TileLanguage

/// A tile held on chip: its shape, where it lives, its element size, and (in numeric
/// mode) its values in row-major order. 1-D tiles are row vectors stored as (n, 1).
struct Tile {
    var rows: Int
    var cols: Int
    var rank: Int
    var level: TileLevel
    var elementBytes: Int
    var data: [Float]?

    var count: Int { rows * cols }
    var bytes: Int { count * elementBytes }

    /// The shape as written in messages: `64x128` or `64`.
    var shapeText: String { rank == 1 ? "\(rows)" : "\(rows)x\(cols)" }
    var shape: [Int] { rank == 1 ? [rows] : [rows, cols] }

    /// Shape, level and element size: everything a count depends on.
    var layout: TileLayout { TileLayout(rows: rows, cols: cols, rank: rank, level: level, elementBytes: elementBytes) }
}

struct TileLayout: Equatable {
    var rows: Int
    var cols: Int
    var rank: Int
    var level: TileLevel
    var elementBytes: Int
}

/// The state a loop iteration starts from, apart from integer values: equal states and
/// equal sites give equal counts.
struct CarriedLayout: Equatable {
    var tiles: [TileLayout?]
    var liveSram: Int
    var liveRegisters: Int
}

/// A kernel-local value.
enum Value {
    case unset
    case int(Int)
    case float(Double)
    case tile(Tile)

    var tile: Tile? { if case .tile(let t) = self { return t } else { return nil } }
}
