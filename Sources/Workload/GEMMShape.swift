/// A matrix product Y[m, n] = X[m, k] W[k, n] (a GEMM): the shape of every projection,
/// FFN matrix and LM head of a decoder layer, X the activations and W the weights.
public struct GEMMShape: Sendable, Hashable, CustomStringConvertible {
    /// Rows of X and Y: the tokens of the pass (the sequences, for the LM head).
    public var m: Int
    /// The inner dimension: columns of X, rows of W.
    public var k: Int
    /// Columns of W and Y.
    public var n: Int

    public init(m: Int, k: Int, n: Int) {
        self.m = m
        self.k = k
        self.n = n
    }

    /// Whether a dimension is zero or less: such a product is not run.
    public var isEmpty: Bool { m <= 0 || k <= 0 || n <= 0 }

    /// Matmul FLOPs: a multiply and an add per term, 2 m n k.
    public var flops: Int { 2 * m * n * k }

    /// Bytes of W at `elementBytes` per element: k n e.
    public func weightBytes(elementBytes e: Int) -> Int { k * n * e }

    /// Bytes of X read and Y written at `elementBytes` per element: (m k + m n) e.
    public func activationBytes(elementBytes e: Int) -> Int { (m * k + m * n) * e }

    /// `m x k x n`.
    public var description: String { "\(m) x \(k) x \(n)" }
}
