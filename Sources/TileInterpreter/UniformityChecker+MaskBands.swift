import AttnNumerics
import TileLanguage

/// The mask-band proof (`countsAreBanded`): a box whose blocks differ only in the
/// query-key offset D of one causal or window mask evaluated once per block (standard
/// attention's causal mask build, a 2-D grid of tiles). Every other site is uniform over
/// the box, the mask's tile shape, row period and window too, and D is computable from
/// the coordinates; what the mask hides, the only count that varies, is then a function
/// of D alone (`MaskShape`): nothing, everything, or a partial count for each offset in a
/// short band along the diagonal. `CountCompressor.bandedBoxCounts` counts the blocks of
/// each offset kind from the coordinates and runs one block of each kind.
extension UniformityChecker {
    /// True when the block's counts depend on the box only through one mask's offset;
    /// `maskBand` then says which. Call once, on a fresh checker, after the axes' ranges
    /// are set.
    mutating func countsAreBanded(_ block: PlannedBlock) -> Bool {
        allowsMaskBand = true
        axisVariables = ranges.count
        defer { allowsMaskBand = false }
        return isUniform(block) && maskBand != nil
    }

    /// A mask whose offset varies over the box and hides part of its tile somewhere:
    /// accepted (true) in `countsAreBanded` when it is evaluated once per block (outside
    /// loops), its shape is constant and its offset computable, and it is the box's only
    /// such mask (or the same offset and shape again).
    mutating func noteMaskBand(_ builtin: Builtin, _ arguments: [Expr], offset: AffineForm) -> Bool {
        guard allowsMaskBand, loopDepth == 0, isComputable(offset), let geometry = maskShape(builtin, arguments) else { return false }
        let band = MaskBand(offset: offset, shape: geometry, forms: ComputableForms(divisions: divisions))
        if let maskBand { return maskBand.offset == band.offset && maskBand.shape == band.shape }
        maskBand = band
        return true
    }
}

/// The one mask of a box counted by its offset (`UniformityChecker.countsAreBanded`).
struct MaskBand {
    /// The query-key offset D, in the box's variables.
    var offset: AffineForm
    var shape: MaskShape
    var forms: ComputableForms
}
