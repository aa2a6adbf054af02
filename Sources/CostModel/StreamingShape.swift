/// How a streaming operator's kernel is launched: its thread blocks, their threads and
/// the reductions across a block's warps each block makes.
public struct StreamingShape: Sendable, Equatable {
    public var blocks: Int
    public var threads: Int
    public var reductions: Int

    public init(blocks: Int, threads: Int, reductions: Int = 0) {
        self.blocks = max(0, blocks)
        self.threads = max(1, threads)
        self.reductions = max(0, reductions)
    }

    /// Elements per block of PyTorch's elementwise kernels: 128 threads of 8 elements
    /// (aten/src/ATen/native/cuda/CUDALoops.cuh; standard.tile's `Be`).
    public static let elementsPerBlock = 1024
    public static let elementwiseThreads = 128

    /// An elementwise kernel over `elements` (its largest operand).
    public static func elementwise(elements: Int) -> StreamingShape {
        StreamingShape(blocks: (max(0, elements) + elementsPerBlock - 1) / elementsPerBlock, threads: elementwiseThreads)
    }

    /// A row reduction (a norm): one block per row of `width` elements, 8 elements per
    /// thread, a warp per 256, at least one warp and at most 1,024 threads (PyTorch's
    /// `SoftMax_getBlockSize`, aten/src/ATen/native/cuda/SoftMax.cu; standard.tile's softmax),
    /// `reductions` reductions across its warps.
    public static func rows(_ rows: Int, width: Int, reductions: Int) -> StreamingShape {
        StreamingShape(blocks: rows, threads: min(1024, max(32, (max(1, width) + 255) / 256 * 32)), reductions: reductions)
    }
}
