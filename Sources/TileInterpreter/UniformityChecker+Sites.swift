import AttnNumerics
import TileLanguage

/// Count sites (slices, built-in arguments) proven to count and fail alike over the box.
extension UniformityChecker {
    /// Every index of an access (and every site inside it) is uniform over the box.
    mutating func accessIsUniform(_ access: TensorAccess) -> Bool {
        var uniform = true
        CountSites.forEach(in: access) { site in
            if uniform { uniform = siteIsUniform(site) }
        }
        return uniform
    }

    /// Every site inside an expression (`CountSites`) is uniform over the box.
    mutating func sitesAreUniform(_ e: Expr) -> Bool {
        var uniform = true
        CountSites.forEach(in: e) { site in
            if uniform { uniform = siteIsUniform(site) }
        }
        return uniform
    }

    /// One site counts alike (and fails alike) everywhere in the box.
    mutating func siteIsUniform(_ site: CountSite) -> Bool {
        switch site {
        case .index(let access, let axis):
            let extent = tensorShapes[access.tensor][axis]
            switch access.indices[axis] {
            case .all:
                return true
            case .scalar(let e):
                // A single position only has to lie inside the tensor everywhere.
                if !dataSlots.isEmpty && DataDependence.isData(e, dataSlots) { return true }
                guard let i = range(e), i.lo >= 0, i.hi < extent else { return false }
                return true
            case .block(let b, let size, _):
                return blockLength(b, size, extent: extent) != nil
            case .range(let a, let b, _):
                guard let start = integer(a), let end = integer(b), let extentForm = end - start, let length = interval(extentForm),
                    length.lo > 0, let lo = interval(start), let hi = interval(end), lo.lo >= 0, hi.hi <= extent
                else { return false }
                // A length that varies: affine in the box (`+AffineShapes`), where allowed.
                if length.isPoint { return true }
                guard sizeMayVary(extentForm) else { return false }
                sawAffineShape = true
                return true
            }
        case .call(let builtin, let arguments):
            // A prefix-LM mask whose positions vary may still hide what a causal mask
            // hides, or nothing.
            if builtin == .maskPrefix && prefixMaskIsUniform(arguments) { return true }
            // A sliding window whose width varies may still hide the same count everywhere.
            if builtin == .maskWindow && windowMaskIsUniform(arguments) { return true }
            // Settings and tile sizes must agree everywhere; a mask's positions only in
            // their difference (what it hides depends on the query-key offset).
            var query: AffineForm?, key: AffineForm?
            for (argument, spec) in zip(arguments, builtin.spec.arguments(count: arguments.count)) {
                switch spec.role {
                case .operand:
                    continue
                case .tileSize, .setting:
                    guard let v = range(argument) else { return false }
                    if !v.isPoint && !(builtin == .col && columnIsInside(v, arguments[0])) {
                        // A size of a tile being built may vary affinely (`+AffineShapes`).
                        guard spec.role == .tileSize, builtin.spec.result == .tileOfSizes, v.lo > 0, let form = integer(argument), sizeMayVary(form)
                        else { return false }
                        sawAffineShape = true
                    }
                case .queryPosition:
                    guard let q = integer(argument) else { return false }
                    query = q
                case .keyPosition:
                    guard let k = integer(argument) else { return false }
                    key = k
                }
            }
            if let query, let key {
                guard let difference = query - key, let offset = interval(difference) else { return false }
                if !offset.isPoint && !maskIsAllOrNothing(builtin, arguments, offset: offset) {
                    if maskIsAffine(builtin, arguments, offset: difference, range: offset) { return true }
                    return noteMaskBand(builtin, arguments, offset: difference)
                }
            } else if query != nil || key != nil {
                return false
            }
            return true
        case .loopBounds, .condition:
            // Decided by the statement walk (`isUniform`), which gives the loop variable
            // its range and takes the branch.
            return false
        }
    }

    /// Whether every column of `columns` lies inside `tile`, whose column count is the
    /// same over the box: `col(x, j)` then counts alike for every such j (the column only
    /// picks which data moves) and fails nowhere (the reduce of split-KV decoding reads
    /// column s of its weights for every partition s).
    mutating func columnIsInside(_ columns: IntInterval, _ tile: Expr) -> Bool {
        guard columns.lo >= 0, let form = shape(tile)?.cols, form.isConstant else { return false }
        return columns.hi < form.constant
    }

    /// The length of block `b` of `size` positions along an axis of `extent`: when the
    /// block lies inside the axis everywhere in the box and its length min(size, extent -
    /// start) is the same everywhere (every block full, or a single block); else nil.
    mutating func blockLength(_ b: Expr, _ size: Expr, extent: Int) -> Int? {
        guard let block = range(b), let s = range(size), s.isPoint, s.lo > 0,
            let start = IntInterval.multiply(block, s), start.lo >= 0, start.hi < extent
        else { return nil }
        if extent - start.hi >= s.lo { return s.lo }
        return start.isPoint ? extent - start.lo : nil
    }
}
