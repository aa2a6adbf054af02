import AttnNumerics
import TileLanguage

/// All-or-nothing masks: a causal or window mask whose offset varies over the box but hides
/// all of its tile or none of it everywhere, decided from the tile's abstract shape.
extension UniformityChecker {
    /// Whether a causal or window mask whose query-key offset ranges over `offset` hides
    /// every element of its tile, or none, everywhere in the box: then what it counts
    /// (one FLOP per element, the hidden elements) does not depend on the offset.
    ///
    /// Row r of an R x C tile holds query q0 + (r mod p) (p the row period, R without
    /// one), column c key k0 + c; with D = q0 - k0 and r_max = min(R, p) - 1 the causal
    /// mask keeps key <= query, i.e. c <= D + r. It keeps all when D >= C - 1 and hides
    /// all when D + r_max < 0. A window w also hides keys w or more before the query
    /// (D + r - c >= w): it keeps all when besides D + r_max <= w - 1, and hides all
    /// when D - (C - 1) >= w.
    mutating func maskIsAllOrNothing(_ builtin: Builtin, _ arguments: [Expr], offset: IntInterval) -> Bool {
        guard let geometry = maskShape(builtin, arguments) else { return false }
        return allOrNothing(geometry, offset: offset)
    }

    /// Whether a mask of `geometry` whose offset ranges over `offset` hides every element
    /// of its tile, or none, everywhere (see `maskIsAllOrNothing`).
    func allOrNothing(_ geometry: MaskShape, offset: IntInterval) -> Bool {
        let lastRow = geometry.lastRow
        let dlo = offset.lo
        // D + r_max and D - (C - 1) over the box; nil on overflow.
        guard let last = IntInterval.add(offset, IntInterval(point: lastRow)),
            let first = IntInterval.subtract(offset, IntInterval(point: geometry.cols - 1))
        else { return false }
        let (lastHi, firstLo) = (last.hi, first.lo)
        if let window = geometry.window {
            let keepsAll = dlo >= geometry.cols - 1 && lastHi <= window - 1
            let hidesAll = lastHi < 0 || firstLo >= window
            return keepsAll || hidesAll
        }
        return dlo >= geometry.cols - 1 || lastHi < 0
    }

    /// Whether a causal mask whose offset D = q0 - k0 varies over the box hides a count
    /// affine in the box's coordinates (`countsAreAffine`, where sizes may vary: the site
    /// counts once per block, or a fixed number of times, never times an affine trip count).
    /// Row r of its R x C tile (query offset r mod p, up to r_max) keeps the keys
    /// c <= D + r, so for -1 <= D + r <= C - 1 it hides C - 1 - D - r elements, affine in
    /// D; that holds in every row when D >= -1 and D + r_max <= C - 1 all over the box.
    /// D must be affine in the box's axes and loop counters (no division's variable), so
    /// the hidden count is affine in the coordinates (summed over a fixed range of a
    /// counter, still affine). Nothing else a mask counts depends on D (one compare per
    /// element; the result has its operand's layout). Notes `sawAffineMask`.
    mutating func maskIsAffine(_ builtin: Builtin, _ arguments: [Expr], offset: AffineForm, range: IntInterval) -> Bool {
        guard builtin == .maskCausal, sizeMayVary(offset), let geometry = maskShape(builtin, arguments), geometry.window == nil,
            range.lo >= -1, let last = IntInterval.add(range, IntInterval(point: geometry.lastRow)), last.hi <= geometry.cols - 1
        else { return false }
        sawAffineMask = true
        return true
    }

    /// `mask_prefix(s, q0, k0, p)` (optional row period last) hides a key that lies after
    /// its query and at or past position p. Over a box where every key of the tile is at
    /// or past p (k0 >= p) it hides exactly what `mask_causal(s, q0, k0)` hides, a function
    /// of the offset D = q0 - k0 alone; where every key lies before p (k0 + C - 1 < p) or
    /// none after its query (D >= C - 1) it hides nothing. In those cases it counts alike
    /// over the box when its tile shape, row period and p are the same everywhere, D is
    /// too (or the mask hides all of the tile or none: `maskIsAllOrNothing`), and the
    /// positions it compares fit in 64 bits everywhere (so it fails nowhere). False
    /// otherwise: the caller then requires every position to be the same over the box.
    mutating func prefixMaskIsUniform(_ arguments: [Expr]) -> Bool {
        guard arguments.count >= 4, let tile = shape(arguments[0]), let rowForm = tile.rows, let colForm = tile.cols,
            let rows = interval(rowForm), let cols = interval(colForm), rows.isPoint, cols.isPoint,
            let query = integer(arguments[1]), let key = integer(arguments[2]), let prefix = range(arguments[3]), prefix.isPoint,
            let queries = interval(query), let keys = interval(key)
        else { return false }
        var period = rows.lo
        if arguments.count > 4 {
            guard let p = range(arguments[4]), p.isPoint, p.lo > 0 else { return false }
            period = p.lo
        }
        let geometry = MaskShape(rows: rows.lo, cols: cols.lo, period: period, window: nil)
        // Where `mask_prefix` fails: q0 + r_max or k0 + C - 1 past 64 bits.
        guard !queries.hi.addingReportingOverflow(Swift.max(0, geometry.lastRow)).overflow,
            !keys.hi.addingReportingOverflow(Swift.max(0, cols.lo - 1)).overflow,
            let difference = query - key, let offset = interval(difference),
            let fromPrefix = key - .constant(prefix.lo), let keysFromPrefix = interval(fromPrefix)
        else { return false }
        // No key after its query, or every key inside the prefix: nothing hidden anywhere.
        if offset.lo >= cols.lo - 1 || keysFromPrefix.hi < 1 - cols.lo { return true }
        // Every key past the prefix: the causal mask's count, a function of D.
        guard keysFromPrefix.lo >= 0 else { return false }
        return offset.isPoint || allOrNothing(geometry, offset: offset)
    }

    /// `mask_window(s, q0, k0, w)` (optional row period last) whose width w varies over the
    /// box (nsa's select forces its first and two local blocks with `mask_window(z, cur - 2,
    /// b0, cur - 2)`, w growing with the query). Row r hides the keys after its query, c > D
    /// + r (D = q0 - k0), and the keys w or more before it, c <= E + r with E = D - w < D:
    /// two disjoint sets (`MaskGeometry.visibleColumns`), so it hides what `mask_causal(s,
    /// q0, k0)` hides plus a count that depends on E alone. It counts alike over the box
    /// when the tile's shape and row period are the same everywhere, D is the same or
    /// hides all of the tile or none (`allOrNothing`), E is the same everywhere or the
    /// window hides none (E + r_max < 0) or all (E >= C - 1) of it everywhere, w >= 1, and
    /// the last row's offset D + r_max fits in 64 bits (where the mask fails). False
    /// otherwise (a fixed w is decided by the general rule).
    mutating func windowMaskIsUniform(_ arguments: [Expr]) -> Bool {
        guard arguments.count >= 4, let width = range(arguments[3]), !width.isPoint, width.lo > 0,
            let geometry = maskShape(.maskCausal, [arguments[0], arguments[1], arguments[2]] + arguments.dropFirst(4)),
            let query = integer(arguments[1]), let key = integer(arguments[2]), let window = integer(arguments[3]),
            let difference = query - key, let offset = interval(difference),
            IntInterval.add(offset, IntInterval(point: geometry.lastRow)) != nil,
            let beyond = difference - window, let reach = interval(beyond)
        else { return false }
        let causalAlike = offset.isPoint || allOrNothing(geometry, offset: offset)
        let windowAlike = reach.isPoint || reach.hi < -geometry.lastRow || reach.lo >= geometry.cols - 1
        return causalAlike && windowAlike
    }

    /// The tile shape, row period and window of a causal or window mask, each the same
    /// everywhere in the box; nil otherwise.
    mutating func maskShape(_ builtin: Builtin, _ arguments: [Expr]) -> MaskShape? {
        guard let tile = shape(arguments[0]), let rowForm = tile.rows, let colForm = tile.cols,
            let rows = interval(rowForm), let cols = interval(colForm), rows.isPoint, cols.isPoint
        else { return nil }
        var window: Int?
        var periodIndex = 3
        if builtin == .maskWindow {
            guard let w = range(arguments[3]), w.isPoint, w.lo > 0 else { return nil }
            window = w.lo
            periodIndex = 4
        }
        var period = rows.lo
        if arguments.count > periodIndex {
            guard let p = range(arguments[periodIndex]), p.isPoint, p.lo > 0 else { return nil }
            period = p.lo
        }
        return MaskShape(rows: rows.lo, cols: cols.lo, period: period, window: window)
    }

    /// The abstract shape of a tile expression; nil when it is not a tile or unknown.
    mutating func shape(_ e: Expr) -> TileShape? {
        switch e.kind {
        case .local(let slot):
            return shapes[slot]
        case .load(let access, _):
            return loadShape(access)
        case .transpose(let operand):
            return shape(operand).map { TileShape(rows: $0.cols, cols: $0.rows) }
        case .unary(_, let operand):
            return shape(operand)
        case .binary(let op, let l, let r):
            if op == .matmul {
                guard let a = shape(l), let b = shape(r) else { return nil }
                return TileShape(rows: a.rows, cols: b.cols)
            }
            return broadcast(shape(l), shape(r))
        case .call(let builtin, let arguments):
            // Selection built-ins choose their columns: k of `topk`, the indices of `take`,
            // the sum of `hcat`'s.
            if builtin == .topk || builtin == .take || builtin == .hcat {
                guard arguments.count == 2, let a = shape(arguments[0]) else { return nil }
                if builtin == .topk { return TileShape(rows: a.rows, cols: integer(arguments[1])) }
                guard let b = shape(arguments[1]) else { return nil }
                if builtin == .take { return TileShape(rows: a.rows, cols: b.cols) }
                guard let left = a.cols, let right = b.cols else { return TileShape(rows: a.rows, cols: nil) }
                return TileShape(rows: a.rows, cols: left + right)
            }
            switch builtin.spec.result {
            case .firstArgument, .floatOrFirst:
                return shape(arguments[0])
            case .tile1D:
                return shape(arguments[0]).map { TileShape(rows: $0.rows, cols: .constant(1)) }
            case .broadcast:
                return broadcast(shape(arguments[0]), shape(arguments[1]))
            case .tileOfSizes:
                let sizes = zip(arguments, builtin.spec.arguments(count: arguments.count)).filter { $1.role == .tileSize }.map { integer($0.0) }
                return TileShape(rows: sizes.first ?? nil, cols: sizes.count > 1 ? sizes[1] : .constant(1))
            case .integer, .widenedFirstArgument:
                return nil
            }
        default:
            return nil
        }
    }

    /// Elementwise broadcasting of two shapes (a scalar has none): equal dimensions, or
    /// one of them 1.
    func broadcast(_ a: TileShape?, _ b: TileShape?) -> TileShape? {
        guard let a else { return b }
        guard let b else { return a }
        func combine(_ x: AffineForm?, _ y: AffineForm?) -> AffineForm? {
            guard let x, let y else { return nil }
            if x == y || y == .constant(1) { return x }
            return x == .constant(1) ? y : nil
        }
        return TileShape(rows: combine(a.rows, b.rows), cols: combine(a.cols, b.cols))
    }

    /// The shape of a load: the kept dimensions' lengths (all but the last flatten into
    /// rows), each known when the slice is the same length everywhere in the box.
    mutating func loadShape(_ access: TensorAccess) -> TileShape? {
        let extents = tensorShapes[access.tensor]
        var lengths: [AffineForm?] = []
        for (axis, index) in access.indices.enumerated() {
            switch index {
            case .scalar:
                continue
            case .all:
                lengths.append(.constant(extents[axis]))
            case .block(let b, let size, _):
                lengths.append(blockLength(b, size, extent: extents[axis]).map { .constant($0) })
            case .range(let a, let b, _):
                if let lo = integer(a), let hi = integer(b) { lengths.append(hi - lo) } else { lengths.append(nil) }
            }
        }
        guard let last = lengths.last else { return nil }
        if lengths.count == 1 { return TileShape(rows: last, cols: .constant(1)) }
        var rows: AffineForm? = .constant(1)
        // A product of lengths is a form when at most one of them varies.
        for length in lengths.dropLast() {
            guard let r = rows, let l = length, let product = l.isConstant ? r.scaled(by: l.constant) : (r.isConstant ? l.scaled(by: r.constant) : nil) else {
                rows = nil
                break
            }
            rows = product
        }
        return TileShape(rows: rows, cols: last)
    }
}

/// Rows and columns of a tile as affine forms over the box (nil: unknown).
struct TileShape: Equatable {
    var rows: AffineForm?
    var cols: AffineForm?
}

/// A causal or window mask's R x C tile, row period p and window w: what it hides depends
/// on the query-key offset D alone (see `UniformityChecker.maskIsAllOrNothing`).
struct MaskShape: Equatable {
    var rows: Int
    var cols: Int
    var period: Int
    var window: Int?

    /// r_max = min(R, p) - 1, the last row's query offset.
    var lastRow: Int { Swift.min(rows, period) - 1 }

    /// Whether offset D hides nothing: D >= C - 1, and D + r_max <= w - 1 with a window.
    func keepsAll(_ d: Int) -> Bool {
        d >= cols - 1 && (window.map { d <= $0 - 1 - lastRow } ?? true)
    }

    /// Whether offset D hides everything: D + r_max < 0, or D - (C - 1) >= w with a window.
    func hidesAll(_ d: Int) -> Bool {
        if d < -lastRow { return true }
        guard let window else { return false }
        let (edge, overflow) = window.addingReportingOverflow(cols - 1)
        return !overflow && d >= edge
    }

    /// The offsets that may hide part of the tile: from -r_max up to C - 2, or w + C - 2
    /// with a window (none when hi < lo, as for a 1 x 1 tile; nil when a bound does not
    /// fit in 64 bits). Below, a mask hides all; above, a causal mask keeps all and a
    /// window hides all.
    var partialOffsets: (lo: Int, hi: Int)? {
        guard let window else { return (-lastRow, cols - 2) }
        let (top, overflow) = window.addingReportingOverflow(cols - 2)
        return overflow ? nil : (-lastRow, top)
    }
}

