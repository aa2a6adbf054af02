/// A tile held on chip: its shape, where it lives, its element size, and (in numeric
/// mode) its values in row-major order. 1-D tiles are row vectors stored as (n, 1).
package struct Tile: Sendable {
    package var rows: Int
    package var cols: Int
    package var rank: Int
    package var level: TileLevel
    package var elementBytes: Int
    package var data: [Float]?

    package init(rows: Int, cols: Int, rank: Int, level: TileLevel, elementBytes: Int, data: [Float]?) {
        self.rows = rows
        self.cols = cols
        self.rank = rank
        self.level = level
        self.elementBytes = elementBytes
        self.data = data
    }

    /// A computed tile: in registers, fp32.
    package static func computed(rows: Int, cols: Int, rank: Int, data: [Float]? = nil) -> Tile {
        Tile(rows: rows, cols: cols, rank: rank, level: .registers, elementBytes: 4, data: data)
    }

    package var count: Int { rows * cols }
    package var bytes: Int { count * elementBytes }

    /// The shape as written in messages: `64x128` or `64`.
    package var shapeText: String { rank == 1 ? "\(rows)" : "\(rows)x\(cols)" }
    package var shape: [Int] { rank == 1 ? [rows] : [rows, cols] }

    /// Shape, level and element size: everything a count depends on.
    package var layout: TileLayout { TileLayout(rows: rows, cols: cols, rank: rank, level: level, elementBytes: elementBytes) }

    /// The same tile as an elementwise operation's result: in registers, fp32.
    package var inRegisters: Tile {
        var tile = self
        tile.level = .registers
        tile.elementBytes = 4
        return tile
    }
}

/// The shape, level and element size of a tile.
package struct TileLayout: Equatable, Sendable {
    package var rows: Int
    package var cols: Int
    package var rank: Int
    package var level: TileLevel
    package var elementBytes: Int
}
