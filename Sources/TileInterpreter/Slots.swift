import TileLanguage

/// The values of a kernel's local slots in the block being run (indexed like
/// `KernelDecl.slotNames`): grid coordinates, loop counters, integers, floats and tiles.
struct Slots {
    private var values: [Value] = []

    subscript(slot: Int) -> Value {
        get { values[slot] }
        set { values[slot] = newValue }
    }

    /// Every one of `count` slots unset (a block starts with nothing but its coordinates).
    mutating func reset(count: Int) {
        values = Array(repeating: .unset, count: count)
    }

    /// The tiles held at `level` (at any level when nil), by slot (what a capacity
    /// diagnostic lists as live; the shapes count mode's checker starts from).
    func tiles(at level: TileLevel? = nil) -> [(slot: Int, tile: Tile)] {
        values.enumerated().compactMap { slot, value in
            guard let tile = value.tile, level.map({ tile.level == $0 }) ?? true else { return nil }
            return (slot, tile)
        }
    }

    /// The integer slots' values, as points (for `UniformityChecker`); nil for the others.
    var integerPoints: [IntInterval?] {
        values.map { if case .int(let i) = $0 { return IntInterval(point: i) } else { return nil } }
    }
}
