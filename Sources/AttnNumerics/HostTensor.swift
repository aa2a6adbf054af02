import Dispatch

/// A dense row-major tensor held on the host, the simulator's stand-in for an HBM array.
///
/// Values are stored as fp32 already rounded to the tensor's storage dtype, so a value
/// read back is exactly what the device would read.
public struct HostTensor: Sendable, Equatable {
    public let shape: [Int]
    public let dtype: DType
    public var values: [Float]

    /// Elements between consecutive indices of each dimension (row-major).
    public let strides: [Int]

    public init(shape: [Int], dtype: DType, fill: Float = 0) {
        self.shape = shape
        self.dtype = dtype
        self.strides = HostTensor.rowMajorStrides(shape)
        self.values = [Float](repeating: dtype.round(fill), count: shape.reduce(1, *))
    }

    /// A tensor of standard-normal values from `generator`, rounded to `dtype`.
    ///
    /// Elements 2p and 2p + 1 get the two values of the generator's p-th `nextNormalPair`
    /// (an odd last element the first of its pair), as a loop calling it in order would
    /// give them, and the generator ends where that loop leaves it. Each pair takes exactly
    /// two draws, so a large tensor is filled in pieces (of an even number of elements) on
    /// all cores, each from a copy of the generator advanced past the draws of the pieces
    /// before it.
    public init(randomNormal shape: [Int], dtype: DType, generator: inout SeededGenerator) {
        self.init(shape: shape, dtype: dtype)
        let count = values.count
        let pieces = count >= 1 << 16 ? 16 : 1
        let size = ((count + pieces - 1) / pieces + 1) / 2 * 2
        var starts: [SeededGenerator] = []
        for piece in 0..<pieces {
            starts.append(generator)
            // Two draws per pair of elements, a whole pair for an odd last element.
            generator.skip(UInt64((max(0, min(size, count - piece * size)) + 1) / 2 * 2))
        }
        let first = starts
        values.withUnsafeMutableBufferPointer { buffer in
            let target = SharedFloats(buffer: buffer)
            DispatchQueue.concurrentPerform(iterations: pieces) { piece in
                var local = first[piece]
                var i = min(count, piece * size)
                let end = min(count, (piece + 1) * size)
                // Two pairs a step (the same values as one pair at a time).
                while i + 4 <= end {
                    let (cos, sin) = local.nextNormalPairs()
                    target.buffer[i] = dtype.round(Float(cos[0]))
                    target.buffer[i + 1] = dtype.round(Float(sin[0]))
                    target.buffer[i + 2] = dtype.round(Float(cos[1]))
                    target.buffer[i + 3] = dtype.round(Float(sin[1]))
                    i += 4
                }
                while i < end {
                    let pair = local.nextNormalPair()
                    target.buffer[i] = dtype.round(Float(pair[0]))
                    if i + 1 < end { target.buffer[i + 1] = dtype.round(Float(pair[1])) }
                    i += 2
                }
            }
        }
    }

    /// The values the pieces of `init(randomNormal:)` fill in parallel, each its own range.
    private struct SharedFloats: @unchecked Sendable {
        let buffer: UnsafeMutableBufferPointer<Float>
    }

    public var count: Int { values.count }

    /// Bytes the tensor occupies at its storage dtype.
    public var bytes: Int { count * dtype.bytes }

    public static func rowMajorStrides(_ shape: [Int]) -> [Int] {
        var strides = [Int](repeating: 1, count: shape.count)
        var running = 1
        for axis in stride(from: shape.count - 1, through: 0, by: -1) {
            strides[axis] = running
            running *= shape[axis]
        }
        return strides
    }
}
