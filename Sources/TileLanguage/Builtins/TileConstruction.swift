/// Tiles made from sizes (`zeros`, `full`) and a column taken from a tile (`col`). They
/// count no FLOPs.
extension Builtin {
    static let tileConstruction: [Builtin] = [.zeros, .full, .col]

    /// `zeros(r)` or `zeros(r, c)`: a 1-D or 2-D tile of zeros in registers.
    public static let zeros = constructor("zeros", filled: false)

    /// `full(r, x)` or `full(r, c, x)`: a tile every element of which is x.
    public static let full = constructor("full", filled: true)

    /// `col(x, j)`: column j of a 2-D tile as a 1-D tile. A column of an SRAM tile keeps
    /// its element size (it is read out of shared memory as stored).
    public static let col = Builtin(
        "col",
        BuiltinSpec(
            required: [ArgumentSpec("the tile", .tile2D), ArgumentSpec("the column", .integer, .setting)],
            result: .tile1D, counting: .none),
        .tile { call throws(Diagnostic) in
            guard let tile = try call.tile(0), tile.rank == 2 else { throw call.error("'col' takes a column of a 2-D tile") }
            let j = try call.integer(1)
            guard j >= 0 && j < tile.cols else { throw call.error("column \(j) is outside the \(tile.shapeText) tile", at: 1) }
            var column = Tile(rows: tile.rows, cols: 1, rank: 1, level: .registers, elementBytes: tile.level == .sram ? tile.elementBytes : 4, data: nil)
            if let data = tile.data { column.data = (0..<tile.rows).map { data[$0 * tile.cols + j] } }
            return TileOutput(column)
        })

    /// A tile of one or two positive sizes (each a count site: `ArgumentRole.tileSize`),
    /// filled with zeros or with the last argument.
    private static func constructor(_ name: String, filled: Bool) -> Builtin {
        let size = ArgumentSpec("a size", .integer, .tileSize)
        let spec = filled
            ? BuiltinSpec(required: [size], optional: [size], trailing: [ArgumentSpec("the fill value", .number)], result: .tileOfSizes, counting: .none)
            : BuiltinSpec(required: [size], optional: [size], result: .tileOfSizes, counting: .none)
        return Builtin(
            name, spec,
            .tile { call throws(Diagnostic) in
                let sizeCount = filled ? call.arguments.count - 1 : call.arguments.count
                var sizes: [Int] = []
                for index in 0..<sizeCount {
                    let size = try call.integer(index)
                    guard size > 0 else { throw call.error("a tile size must be positive, found \(size)", at: index) }
                    sizes.append(size)
                }
                let fill: Float = filled ? Float(try call.value(sizeCount).number) : 0
                var tile = try call.newTile(rows: sizes[0], cols: sizes.count > 1 ? sizes[1] : 1, rank: sizes.count)
                if call.computesValues { tile.data = Array(repeating: fill, count: tile.count) }
                return TileOutput(tile)
            })
    }
}
