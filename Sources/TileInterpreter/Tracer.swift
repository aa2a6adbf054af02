/// Writes a run's trace events into its sink, numbered in the order they happen.
struct Tracer {
    let sink: TraceSink
    private var sequence = 0

    init(_ sink: TraceSink) {
        self.sink = sink
    }

    /// One step of `kernel` at `position`.
    mutating func record(
        kernel: String, at position: BlockPosition, operation: String, edge: String?, tensor: String?, bytes: Int, flops: Int, shape: [Int]
    ) {
        sink.record(TraceEvent(
            sequence: sequence, kernel: kernel, block: position.block, loops: position.loops,
            operation: operation, edge: edge, tensor: tensor, bytes: bytes, flops: flops, shape: shape, line: position.line))
        sequence += 1
    }
}
