import TileInterpreter

/// Which built-in program, with which parameters, reproduces a measured call.
///
/// - `standard` (PyTorch's naive path: separate kernels) -> `standard`, or
///   `standard-fwd-bwd` with a backward pass; `causal` as measured.
/// - `flash2` -> `flash2` (`flash2-fwd-bwd` with a backward pass), Br = block_m,
///   Bc = block_n, `causal` and `window` as measured.
/// - `flash-decoding` -> `flash-decoding`, Br = block_m, Bc = block_n, splits as measured
///   or FlashAttention-2's heuristic when empty.
/// - `memory-efficient` -> `memory-efficient`, Br = block_m, Bc = block_n.
public struct RowMapping: Sendable, Equatable {
    public var program: String
    public var parameters: [String: ScalarValue]

    /// The mapping, or why the row cannot be predicted.
    public static func map(_ row: CalibrationRow) -> Result<RowMapping, MappingError> {
        var parameters: [String: ScalarValue] = [:]
        func blocks(_ m: String, _ n: String) {
            if let blockM = row.blockM { parameters[m] = .int(blockM) }
            if let blockN = row.blockN { parameters[n] = .int(blockN) }
        }
        switch (row.algorithm, row.backward) {
        case ("standard", false):
            if row.window > 0 { return .failure(MappingError("the naive path with a sliding window is not modelled")) }
            if row.causal { parameters["causal"] = .int(1) }
            return .success(RowMapping(program: "standard", parameters: parameters))
        case ("standard", true):
            guard row.window == 0 else {
                return .failure(MappingError("standard-fwd-bwd models no sliding window (PyTorch's math path would take an explicit mask)"))
            }
            if row.causal { parameters["causal"] = .int(1) }
            return .success(RowMapping(program: "standard-fwd-bwd", parameters: parameters))
        case ("flash2", false):
            blocks("Br", "Bc")
            if row.causal { parameters["causal"] = .int(1) }
            if row.window > 0 { parameters["window"] = .int(row.window) }
            return .success(RowMapping(program: "flash2", parameters: parameters))
        case ("flash2", true):
            blocks("Br", "Bc")
            if row.causal { parameters["causal"] = .int(1) }
            if row.window > 0 { parameters["window"] = .int(row.window) }
            return .success(RowMapping(program: "flash2-fwd-bwd", parameters: parameters))
        case ("flash-decoding", false):
            blocks("Br", "Bc")
            parameters["splits"] = .int(row.splits ?? 0)
            if row.causal { parameters["causal"] = .int(1) }
            if row.window > 0 { parameters["window"] = .int(row.window) }
            return .success(RowMapping(program: "flash-decoding", parameters: parameters))
        case ("memory-efficient", false):
            blocks("Br", "Bc")
            if row.causal { parameters["causal"] = .int(1) }
            if row.window > 0 { parameters["window"] = .int(row.window) }
            return .success(RowMapping(program: "memory-efficient", parameters: parameters))
        default:
            return .failure(MappingError("no program models algorithm '\(row.algorithm)'\(row.backward ? " with a backward pass" : "")"))
        }
    }
}

/// Why a measured row has no prediction.
public struct MappingError: Error, Sendable, Equatable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
