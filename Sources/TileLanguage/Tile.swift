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

extension Tile {
    /// The most elements a tile may have: 2^60, so that its bytes at any element size (at
    /// most 8) and the few FLOPs a call counts per element fit in 64 bits.
    package static let maxElements = 1 << 60

    /// The most bytes of values one tile may hold in a numeric run, in host memory: 2 GiB,
    /// what a numeric run's tensors may take together (`Runner.numericHostLimitBytes`).
    package static let hostLimitBytes = 2 << 30

    /// Checks that a rows x cols tile can exist — its element count at most
    /// `maxElements` — and, when it holds values (numeric mode), that they fit in
    /// `hostLimitBytes` as fp32. `expression` is the source text of what makes it.
    package static func checkSize(
        rows: Int, cols: Int, holdsValues: Bool, source: SourceFile, at location: SourceLocation, expression: () -> String
    ) throws(Diagnostic) {
        let (count, overflow) = rows.multipliedReportingOverflow(by: cols)
        guard !overflow, count <= maxElements else {
            throw Diagnostic(
                .overflow, source, location,
                "integer overflow in '\(expression())': a tile of \(rows) x \(cols) elements at up to 8 bytes each does not fit in 64 bits")
        }
        if holdsValues, count > hostLimitBytes / 4 {
            throw Diagnostic(
                .bounds, source, location,
                "the \(rows) x \(cols) tile of '\(expression())' needs \(count * 4) bytes of host memory in numeric mode, over the limit of \(hostLimitBytes) bytes (2 GiB)")
        }
    }
}
