extension Tile {
    /// Elementwise binary operation with broadcasting: a tile with a scalar, or two tiles
    /// under numpy's rules, reading a 1-D tile as a column (one value per row): each of
    /// rows and columns must agree or be 1 on one side. So a row vector r broadcasts
    /// across the columns of an r x c tile, a 1 x c tile down its rows, and an r-vector
    /// against a 1 x c tile gives their r x c outer product. The result is in registers,
    /// fp32. `kind` runs a loop specialised to the operation (the same values as `f`'s);
    /// `name` is the operation as written and `expression` the whole expression, for
    /// messages.
    package static func elementwise(
        _ a: BuiltinValue, _ b: BuiltinValue, kind: TileMath.Binary?, name: String,
        source: SourceFile, at location: SourceLocation, expression: () -> String, _ f: (Float, Float) -> Float
    ) throws(Diagnostic) -> Tile {
        switch (a, b) {
        case (.tile(let t), .tile(let u)):
            func combine(_ x: Int, _ y: Int) -> Int? { x == y ? x : x == 1 ? y : y == 1 ? x : nil }
            guard let rows = combine(t.rows, u.rows), let cols = combine(t.cols, u.cols) else {
                throw Diagnostic(.bounds, source, location, "shape mismatch in '\(name)': \(t.shapeText) and \(u.shapeText) (dimensions must agree or be 1; a 1-D tile is a column, one value per row)")
            }
            try checkSize(rows: rows, cols: cols, holdsValues: t.data != nil && u.data != nil, source: source, at: location, expression: expression)
            let rank = max(t.rank, u.rank, cols > 1 ? 2 : 1)
            var result = Tile.computed(rows: rows, cols: cols, rank: rank)
            if let x = t.data, let y = u.data {
                if let kind {
                    result.data = TileMath.broadcast(kind, x, rows: t.rows, cols: t.cols, y, rows: u.rows, cols: u.cols, outRows: rows, outCols: cols)
                } else {
                    result.data = TileMath.broadcast(x, rows: t.rows, cols: t.cols, y, rows: u.rows, cols: u.cols, outRows: rows, outCols: cols, f)
                }
            }
            return result
        case (.tile(var t), _):
            let s = Float(b.number)
            if let kind {
                t.data = t.data.map { TileMath.map(kind, $0, scalar: s, scalarFirst: false) }
            } else {
                t.data = t.data.map { $0.map { f($0, s) } }
            }
            return t.inRegisters
        case (_, .tile(var u)):
            let s = Float(a.number)
            if let kind {
                u.data = u.data.map { TileMath.map(kind, $0, scalar: s, scalarFirst: true) }
            } else {
                u.data = u.data.map { $0.map { f(s, $0) } }
            }
            return u.inRegisters
        default:
            throw Diagnostic(.bounds, source, location, "'\(name)' needs a tile operand here")
        }
    }
}
