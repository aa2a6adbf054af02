import AttnJSON

/// One step of a replay: a load, a store or a tile operation of one thread block.
///
/// Written as one JSON object per line by `--trace` (fields documented in
/// docs/trace-format.md), so a user can follow where every byte moved.
public struct TraceEvent: Sendable, Equatable {
    /// 0-based order of the event in the run.
    public var sequence: Int
    public var kernel: String
    /// The thread block's position in its grid, one value per axis.
    public var block: [Int]
    /// The enclosing loops' variables and their values, outermost first.
    public var loops: [(name: String, value: Int)]
    /// `load`, `store`, `matmul`, `elementwise`, `exp`, `log`, `reduce`, `fill`, `sram_read`.
    public var operation: String
    /// For data movement: `hbm->sram`, `hbm->reg`, `sram->reg`, `sram->hbm`, `reg->hbm`.
    public var edge: String?
    /// The HBM tensor moved, or the variable read, when there is one.
    public var tensor: String?
    public var bytes: Int
    public var flops: Int
    /// Shape of the tile produced or moved.
    public var shape: [Int]
    /// Source line of the statement.
    public var line: Int

    public static func == (a: TraceEvent, b: TraceEvent) -> Bool {
        a.sequence == b.sequence && a.kernel == b.kernel && a.block == b.block
            && a.loops.map(\.name) == b.loops.map(\.name) && a.loops.map(\.value) == b.loops.map(\.value)
            && a.operation == b.operation && a.edge == b.edge && a.tensor == b.tensor && a.bytes == b.bytes
            && a.flops == b.flops && a.shape == b.shape && a.line == b.line
    }

    /// The event as one line of JSON (no trailing newline).
    public var jsonLine: String {
        var fields = ["\"seq\":\(sequence)", "\"kernel\":\(JSONOutput.quote(kernel))", "\"block\":[\(block.map(String.init).joined(separator: ","))]"]
        fields.append("\"loops\":{\(loops.map { "\(JSONOutput.quote($0.name)):\($0.value)" }.joined(separator: ","))}")
        fields.append("\"op\":\(JSONOutput.quote(operation))")
        if let edge { fields.append("\"edge\":\(JSONOutput.quote(edge))") }
        if let tensor { fields.append("\"tensor\":\(JSONOutput.quote(tensor))") }
        fields.append("\"bytes\":\(bytes)")
        fields.append("\"flops\":\(flops)")
        fields.append("\"shape\":[\(shape.map(String.init).joined(separator: ","))]")
        fields.append("\"line\":\(line)")
        return "{" + fields.joined(separator: ",") + "}"
    }
}

/// Receives trace events as a run produces them.
public protocol TraceSink: AnyObject {
    func record(_ event: TraceEvent)
}

/// Keeps every event in memory (for tests and small runs).
public final class TraceRecorder: TraceSink {
    public private(set) var events: [TraceEvent] = []
    public init() {}
    public func record(_ event: TraceEvent) { events.append(event) }
}

