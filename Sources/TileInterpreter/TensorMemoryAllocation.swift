import TileLanguage

/// The tensor memory a tile placed there (`x = expr -> tmem`) takes: what `tcgen05.alloc`
/// hands out for it, not its raw bytes (docs/tile-language.md, "Tensor memory").
///
/// PTX ISA 8.7, "Tensor Memory" and `tcgen05.alloc`: an SM's tensor memory is 128 lanes of
/// 512 columns of 32-bit cells; `tcgen05.alloc` allocates a number of columns that must be
/// a power of two from 32 to 512, and an allocation spans all 128 lanes of those columns.
/// So a tile takes whole columns of every lane, rounded up:
///
///     groups  = cdiv(rows per CTA, 128)                 (128 rows to a column block)
///     cells   = cdiv(cols x element bytes, 4)            (32-bit cells per row; 16-bit packs 2)
///     columns = 2^ceil(log2(max(32, groups x cells)))    (tcgen05.alloc's granularity)
///     bytes   = CTAs x 128 lanes x columns x 4
///
/// A 64-row tile still takes 128 lanes; a 96-column one 128 columns; an 8-column one 32.
/// A CTA pair (`cluster(2)`, `tcgen05.alloc.cta_group::2`) holds half the rows in each
/// CTA's lanes (each CTA holds its own rows of D, PTX ISA 8.7, `tcgen05.mma`), the same
/// columns in both.
struct TensorMemoryAllocation: Equatable, Sendable {
    /// Lanes of one SM's tensor memory, one per row of a `tcgen05.mma` accumulator.
    static let lanesPerCTA = 128
    /// The fewest columns `tcgen05.alloc` hands out.
    static let minimumColumns = 32
    /// Bytes of one cell (lane x column).
    static let cellBytes = 4

    /// CTAs holding the tile: 2 for a CTA pair, else 1.
    let ctas: Int
    /// Columns allocated in each CTA's 128 lanes: a power of two, at least 32.
    let columns: Int
    /// The bytes charged against the block's tensor memory: CTAs x 128 x columns x 4.
    let bytes: Int

    /// The allocation of a `rows` x `cols` tile of `elementBytes`-byte elements held by
    /// `ctas` CTAs; a `CounterOverflow` if its bytes pass 2^63 - 1.
    init(rows: Int, cols: Int, elementBytes: Int, ctas: Int) throws(CounterOverflow) {
        let ctas = Swift.max(1, ctas)
        let rowsPerCTA = (rows + ctas - 1) / ctas
        let groups = (rowsPerCTA + Self.lanesPerCTA - 1) / Self.lanesPerCTA
        let (rowBytes, o1) = cols.multipliedReportingOverflow(by: elementBytes)
        let cells = (rowBytes + Self.cellBytes - 1) / Self.cellBytes
        let (needed, o2) = groups.multipliedReportingOverflow(by: cells)
        if o1 || o2 { throw CounterOverflow(counter: "tensor memory bytes") }
        var columns = Self.minimumColumns
        while columns < needed {
            let (doubled, overflow) = columns.multipliedReportingOverflow(by: 2)
            if overflow { throw CounterOverflow(counter: "tensor memory bytes") }
            columns = doubled
        }
        let (lanes, o3) = ctas.multipliedReportingOverflow(by: Self.lanesPerCTA)
        let (cellsTotal, o4) = lanes.multipliedReportingOverflow(by: columns)
        let (bytes, o5) = cellsTotal.multipliedReportingOverflow(by: Self.cellBytes)
        if o3 || o4 || o5 { throw CounterOverflow(counter: "tensor memory bytes") }
        self.ctas = ctas
        self.columns = columns
        self.bytes = bytes
    }

    /// The allocation of `tile` in a block of `ctas` CTAs.
    init(_ tile: Tile, ctas: Int) throws(CounterOverflow) {
        try self.init(rows: tile.rows, cols: tile.cols, elementBytes: tile.elementBytes, ctas: ctas)
    }

    /// "128 lanes x 64 columns" (one CTA) or "2 x 128 lanes x 64 columns" (a pair).
    var text: String {
        (ctas > 1 ? "\(ctas) x " : "") + "\(Self.lanesPerCTA) lanes x \(columns) columns"
    }

    /// Why a tile takes more than its bytes, for the capacity diagnostic.
    static let granularityNote =
        "tcgen05.alloc allocates columns of all 128 lanes, a power of two from 32 to 512 (PTX ISA 8.7, tcgen05.alloc): a tile takes 128 lanes per CTA (its rows, 128 to a column block) x its 4-byte columns rounded up to a power of two, at least 32"
}
