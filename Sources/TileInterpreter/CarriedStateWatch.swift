import TileLanguage

/// While count mode sums a box of blocks by its affine law (`CountCompressor`): whether
/// every top-level loop iteration run left the state the loop carries as it found it.
struct CarriedStateWatch {
    /// Top-level iterations are being watched.
    var isWatching = false
    /// No watched iteration changed the loop's carried state.
    var repeated = true
}

/// The state a loop iteration starts from, apart from integer values: equal states and
/// equal sites give equal counts.
struct CarriedLayout: Equatable {
    var tiles: [TileLayout?]
    var liveSram: Int
    var liveRegisters: Int
}
