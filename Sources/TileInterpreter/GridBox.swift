/// A box of thread blocks: along each dimension an arithmetic progression
/// start, start + stride, ..., start + (count - 1) stride. Each dimension belongs to a
/// grid axis (`axisOf`), and a grid axis's coordinate is the sum of its dimensions'
/// values. Plain boxes have one dimension per axis, stride 1; count mode splits a
/// dimension into residue classes (stride > 1) when a loop bound such as
/// floor(i Br / Bc) is affine only on every (Bc / Br)-th block, and folds one in two
/// (`folded`) when its counts repeat with a long period (i = P t + r).
struct GridBox: Equatable {
    var start: [Int]
    var count: [Int]
    var stride: [Int]
    /// The grid axis of each dimension.
    var axisOf: [Int]
    /// The number of grid axes.
    let axes: Int

    /// The whole grid.
    init(extents: [Int]) {
        start = extents.map { _ in 0 }
        count = extents
        stride = extents.map { _ in 1 }
        axisOf = Array(extents.indices)
        axes = extents.count
    }

    /// Whether some axis has more than one dimension.
    var isFolded: Bool { axisOf.count > axes }

    var volume: Int { count.reduce(1, *) }

    /// The grid coordinates of the point m_d along every dimension d.
    func point(_ m: [Int]) -> [Int] {
        if !isFolded { return zip(zip(start, stride), m).map { $0.0 + $0.1 * $1 } }
        var coordinates = [Int](repeating: 0, count: axes)
        for d in m.indices { coordinates[axisOf[d]] += start[d] + stride[d] * m[d] }
        return coordinates
    }

    var first: [Int] { isFolded ? point(count.map { _ in 0 }) : start }

    /// The `index`-th point in row-major order (the order of an exhaustive replay).
    func point(atIndex index: Int) -> [Int] {
        var m = count.map { _ in 0 }
        var rest = index
        for axis in Swift.stride(from: count.count - 1, through: 0, by: -1) where count[axis] > 0 {
            m[axis] = rest % count[axis]
            rest /= count[axis]
        }
        return point(m)
    }
    var last: [Int] { point(count.map { $0 - 1 }) }
    /// The corners of the box spanned by `dimensions` (each at its first or last point,
    /// every other dimension at its first), in row-major order.
    func corners(along dimensions: [Int]) -> [[Int]] {
        var offsets: [[Int]] = [count.map { _ in 0 }]
        for d in dimensions where count[d] > 1 {
            offsets = offsets.flatMap { m -> [[Int]] in
                var high = m
                high[d] = count[d] - 1
                return [m, high]
            }
        }
        return offsets.map(point)
    }
    /// The centre, a point of the box when every count is odd.
    var centre: [Int] { point(count.map { ($0 - 1) / 2 }) }

    /// The two halves along `axis`.
    func halves(along axis: Int) -> (GridBox, GridBox) {
        var low = self, high = self
        low.count[axis] = count[axis] / 2
        high.count[axis] = count[axis] - low.count[axis]
        high.start[axis] = start[axis] + stride[axis] * low.count[axis]
        return (low, high)
    }

    /// The runs along dimension `d` that start at the offsets `starts` (increasing, the
    /// first 0), each running to the next start or to the end.
    func runs(along d: Int, startingAt starts: [Int]) -> [GridBox] {
        starts.enumerated().map { index, start in
            var piece = self
            piece.start[d] = self.start[d] + stride[d] * start
            piece.count[d] = (index + 1 < starts.count ? starts[index + 1] : count[d]) - start
            return piece
        }
    }

    /// The `classes` residue classes along `axis`: every classes-th point, from each of
    /// the first `classes` points.
    func residueClasses(along axis: Int, _ classes: Int) -> [GridBox] {
        (0..<min(classes, count[axis])).map { c in
            var box = self
            box.start[axis] = start[axis] + stride[axis] * c
            box.stride[axis] = stride[axis] * classes
            box.count[axis] = (count[axis] - c + classes - 1) / classes
            return box
        }
    }

    /// Dimension `d` of period `period` (its count at least 2 period) folded in two: the
    /// core's point m = period t + r becomes t (stride period x stride, the original
    /// dimension's place) and r (stride, just after it), so that the core's points in
    /// row-major order are the original's; the last count mod period points are the
    /// remainder, a box of their own (nil when there are none).
    func folded(_ d: Int, period: Int) -> (core: GridBox, remainder: GridBox?) {
        let runs = count[d] / period
        var core = self
        core.count[d] = runs
        core.stride[d] = stride[d] * period
        core.start.insert(0, at: d + 1)
        core.count.insert(period, at: d + 1)
        core.stride.insert(stride[d], at: d + 1)
        core.axisOf.insert(axisOf[d], at: d + 1)
        guard count[d] > runs * period else { return (core, nil) }
        var remainder = self
        remainder.start[d] = start[d] + stride[d] * period * runs
        remainder.count[d] = count[d] - period * runs
        return (core, remainder)
    }
}
