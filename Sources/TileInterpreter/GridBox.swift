/// A box of thread blocks: along each grid axis an arithmetic progression
/// start, start + stride, ..., start + (count - 1) stride. Plain boxes have stride 1;
/// count mode splits an axis into residue classes (stride > 1) when a loop bound such
/// as floor(i Br / Bc) is affine only on every (Bc / Br)-th block.
struct GridBox: Equatable {
    var start: [Int]
    var count: [Int]
    var stride: [Int]

    /// The whole grid.
    init(extents: [Int]) {
        start = extents.map { _ in 0 }
        count = extents
        stride = extents.map { _ in 1 }
    }

    var volume: Int { count.reduce(1, *) }

    /// The coordinates of the m-th point along every axis.
    func point(_ m: [Int]) -> [Int] {
        zip(zip(start, stride), m).map { $0.0 + $0.1 * $1 }
    }

    var first: [Int] { start }

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
}
