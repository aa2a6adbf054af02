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

    /// The tiles held at `level`, by slot (what a capacity diagnostic lists as live).
    func tiles(at level: TileLevel) -> [(slot: Int, tile: Tile)] {
        values.enumerated().compactMap { slot, value in
            guard let tile = value.tile, tile.level == level else { return nil }
            return (slot, tile)
        }
    }

    /// The integer slots' values, as points (for `UniformityChecker`); nil for the others.
    var integerPoints: [IntInterval?] {
        values.map { if case .int(let i) = $0 { return IntInterval(point: i) } else { return nil } }
    }
}
