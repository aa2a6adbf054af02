import TileLanguage

/// Blackwell's CTA pair (`cluster(2)`, `tcgen05.mma.cta_group::2`) in the executor: the
/// smallest product a pair's MMA can compute (docs/tile-language.md, "CTA pairs").
extension BlockExecutor {
    /// Refuses a product of a CTA pair's kernel whose M is below the pair's smallest MMA.
    /// PTX ISA 8.7, section 9.7.16.2.1, Table 39: `tcgen05.mma.cta_group::1` takes M = 64
    /// or 128 (half the profile's `mma_rows_per_cta`, or all of it), `cta_group::2` M = 128
    /// or 256 over the pair, each CTA supplying half the rows (64 or 128). So a pair's
    /// product needs at least CTAs x `mma_rows_per_cta` / 2 = 128 rows, the pair's view's
    /// `mma_rows_per_cta` / 2 (`ctaPairView`): with fewer the pair has no instruction, where
    /// one CTA falls back to the warp-level MMA.
    ///
    /// M is the tile the program chose, not the rows left at a tensor's end: a block that
    /// cut a slice short there (the last block of `rows(i, bm)`, or of a key loop) has its
    /// tiles zero-filled by the TMA to their box, and its instruction computes the box's
    /// rows, so such a block is not checked (`cutShort`); every full block is. A kernel
    /// whose every block is cut short (a problem smaller than one tile) is not checked.
    func checkPairMMARows(_ rows: Int, at location: SourceLocation) throws(Diagnostic) {
        let ctas = chip.tensorMemoryCTAs
        guard ctas > 1, !cutShort else { return }
        let minimum = bound.hardware.ctaPairView(ctas).mmaRowsPerCTA / 2
        guard rows < minimum else { return }
        let perCTA = bound.hardware.mmaRowsPerCTA
        throw error(
            "kernel '\(kernel.name)' runs as a CTA pair (cluster(\(ctas))), whose tcgen05.mma.cta_group::2 computes \(minimum) or \(ctas * perCTA) rows; this product has \(rows)",
            location,
            notes: [
                "tcgen05.mma.cta_group::2 takes M = \(minimum) or \(ctas * perCTA) over the pair, \(minimum / ctas) or \(perCTA) rows per CTA (cta_group::1: M = \(perCTA / 2) or \(perCTA); PTX ISA 8.7, section 9.7.16.2.1, Table 39)",
                "give the pair's block at least \(minimum) rows (flash4: Br >= \(minimum / ctas) with cta_pair=1), or run one CTA per block (cluster(1))",
            ])
    }
}
