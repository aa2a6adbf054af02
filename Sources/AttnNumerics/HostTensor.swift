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
    /// Element i gets the i-th normal of the generator's sequence, as a loop calling
    /// `nextNormal` in order would give it, and the generator ends where that loop leaves
    /// it. Each normal takes exactly two draws, so a large tensor is filled in pieces on
    /// all cores, each piece from a copy of the generator advanced past the draws of the
    /// pieces before it (advancing is cheap next to the logarithm and cosine of a normal).
    public init(randomNormal shape: [Int], dtype: DType, generator: inout SeededGenerator) {
        self.init(shape: shape, dtype: dtype)
        let count = values.count
        let pieces = count >= 1 << 16 ? 16 : 1
        let size = (count + pieces - 1) / pieces
        var starts: [SeededGenerator] = []
        for piece in 0..<pieces {
            starts.append(generator)
            generator.skip(2 * max(0, min(size, count - piece * size)))
        }
        let first = starts
        values.withUnsafeMutableBufferPointer { buffer in
            let target = SharedFloats(buffer: buffer)
            DispatchQueue.concurrentPerform(iterations: pieces) { piece in
                var local = first[piece]
                // Two values a step (the same values as one at a time).
                var i = min(count, piece * size)
                let end = min(count, (piece + 1) * size)
                while i + 1 < end {
                    let pair = local.nextNormals()
                    target.buffer[i] = dtype.round(Float(pair[0]))
                    target.buffer[i + 1] = dtype.round(Float(pair[1]))
                    i += 2
                }
                if i < end { target.buffer[i] = dtype.round(Float(local.nextNormal())) }
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
