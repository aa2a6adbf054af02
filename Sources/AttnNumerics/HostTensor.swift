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
    public init(randomNormal shape: [Int], dtype: DType, generator: inout SeededGenerator) {
        self.init(shape: shape, dtype: dtype)
        for i in values.indices {
            values[i] = dtype.round(Float(generator.nextNormal()))
        }
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
