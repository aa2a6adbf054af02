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
///
/// - `triton-prefill` (the hand-written Triton kernel of ../shared/calibration/README.md)
///   -> `flash2-triton`, Br = block_m, Bc = block_n, 4 warps and 2 stages unless the row
///   says otherwise.
/// - A row with a `program` column names its program itself (a built-in or a .tile path):
///   it gets Br = block_m, Bc = block_n, `splits`, `causal`, `window` where the row has
///   them, and `num_warps` / `num_stages` from the `warps` / `stages` columns, so a user
///   validates their own kernel by writing its schedule.
///
/// Masks (`causal`, `window`) are passed as measured; the naive path takes no window.
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
        // Masks as measured; the naive path rejects a window below.
        if row.causal { parameters["causal"] = .int(1) }
        if row.window > 0 { parameters["window"] = .int(row.window) }
        if let warps = row.warps { parameters["num_warps"] = .int(warps) }
        if let stages = row.stages { parameters["num_stages"] = .int(stages) }
        if let program = row.program {
            blocks("Br", "Bc")
            if let splits = row.splits { parameters["splits"] = .int(splits) }
            return .success(RowMapping(program: program, parameters: parameters))
        }
        if row.implementation == "triton-prefill" {
            guard !row.backward else { return .failure(MappingError("the Triton kernel of the calibration files has no backward pass")) }
            blocks("Br", "Bc")
            return .success(RowMapping(program: "flash2-triton", parameters: parameters))
        }
        if row.warps != nil || row.stages != nil {
            return .failure(MappingError("'warps' and 'stages' need a 'program' column naming a program that takes num_warps and num_stages"))
        }
        switch (row.algorithm, row.backward) {
        case ("standard", let backward):
            guard row.window == 0 else {
                return .failure(MappingError("the naive path with a sliding window is not modelled (PyTorch's math path would take an explicit mask)"))
            }
            return .success(RowMapping(program: backward ? "standard-fwd-bwd" : "standard", parameters: parameters))
        case ("flash2", let backward):
            blocks("Br", "Bc")
            return .success(RowMapping(program: backward ? "flash2-fwd-bwd" : "flash2", parameters: parameters))
        case ("flash-decoding", false):
            blocks("Br", "Bc")
            parameters["splits"] = .int(row.splits ?? 0)
            return .success(RowMapping(program: "flash-decoding", parameters: parameters))
        case ("memory-efficient", false):
            blocks("Br", "Bc")
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
