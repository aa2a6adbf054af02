import CostModel
import TileInterpreter

/// The one table from a measured row to the program that models it: each entry matches a
/// row's `implementation` (and, where it says, its `algorithm` and `backward` flag) and
/// names a program, how its launch reaches the GPU, and which of the row's columns become
/// the program's parameters. Users extend it with their own kernels (`validate --kernels
/// FILE.csv`, entries read by `KernelTable.parse`, tried before the built-in ones) or name
/// the program on the row itself (a `program` column). docs/cost-model.md lists the
/// built-in entries.
///
/// Every row passes its masks as measured: `causal` 1 and a `window` above 0 become the
/// program's `causal` and `window` parameters (a program that has none refuses the row).
public struct KernelTable: Sendable, Equatable {
    /// Where a program parameter's value comes from.
    public enum Source: Sendable, Equatable {
        /// The first non-empty of these columns of the row (`block_m`, `block_n`,
        /// `splits`, `page_size`, `warps`, `stages`), else `fallback` when given.
        case columns([String], fallback: Int?)
        /// A fixed value.
        case value(Int)
    }

    /// One row of the table.
    public struct Entry: Sendable, Equatable {
        /// The row's `implementation`, or `*` for any.
        public var implementation: String
        /// The row's `algorithm`; nil: any.
        public var algorithm: String?
        /// The row's `backward` flag; nil: either.
        public var backward: Bool?
        /// A built-in program name or a .tile path.
        public var program: String
        public var launch: LaunchPath
        /// Program parameter -> where its value comes from, in order.
        public var parameters: [(name: String, source: Source)]

        public init(
            implementation: String, algorithm: String? = nil, backward: Bool? = false, program: String, launch: LaunchPath,
            parameters: [(name: String, source: Source)] = []
        ) {
            self.implementation = implementation
            self.algorithm = algorithm
            self.backward = backward
            self.program = program
            self.launch = launch
            self.parameters = parameters
        }

        public static func == (a: Entry, b: Entry) -> Bool {
            a.implementation == b.implementation && a.algorithm == b.algorithm && a.backward == b.backward && a.program == b.program
                && a.launch == b.launch && a.parameters.map(\.name) == b.parameters.map(\.name)
                && a.parameters.map(\.source) == b.parameters.map(\.source)
        }

        func matches(_ row: CalibrationRow) -> Bool {
            (implementation == "*" || implementation == row.implementation) && (algorithm.map { $0 == row.algorithm } ?? true)
                && (backward.map { $0 == row.backward } ?? true)
        }
    }

    public var entries: [Entry]

    public init(entries: [Entry]) { self.entries = entries }

    /// The columns a parameter may come from.
    public static let parameterColumns = ["block_m", "block_n", "splits", "page_size", "warps", "stages"]

    /// Tiles as the kernel's template arguments say (`block_m`, `block_n`).
    static let tiles: [(name: String, source: Source)] = [("Br", .columns(["block_m"], fallback: nil)), ("Bc", .columns(["block_n"], fallback: nil))]

    /// The built-in entries: the kernels of docs/data, then the algorithms any
    /// implementation may name.
    public static let builtIn = KernelTable(entries: [
        // The hand-written Triton kernels of docs/data/README.md, launched directly.
        Entry(implementation: "triton-prefill", program: "flash2-triton", launch: .direct, parameters: tiles + [
            ("num_warps", .columns(["warps"], fallback: nil)), ("num_stages", .columns(["stages"], fallback: nil)),
        ]),
        Entry(implementation: "triton-paged-decode", program: "paged-decode-triton", launch: .direct, parameters: [
            ("P", .columns(["page_size", "block_n"], fallback: nil)), ("S", .columns(["splits"], fallback: nil)),
        ]),
        // xFormers' CUTLASS kernel inside PyTorch's scaled_dot_product_attention.
        Entry(implementation: "pytorch-sdpa-efficient", program: "memory-efficient-cutlass", launch: .framework, parameters: tiles),
        // PyTorch's scaled_dot_product_attention and eager path, by algorithm.
        Entry(implementation: "*", algorithm: "standard", backward: false, program: "standard", launch: .framework),
        Entry(implementation: "*", algorithm: "standard", backward: true, program: "standard-fwd-bwd", launch: .framework),
        Entry(implementation: "*", algorithm: "flash2", backward: false, program: "flash2", launch: .framework, parameters: tiles),
        Entry(implementation: "*", algorithm: "flash2", backward: true, program: "flash2-fwd-bwd", launch: .framework, parameters: tiles),
        Entry(implementation: "*", algorithm: "flash-decoding", program: "flash-decoding", launch: .framework, parameters: tiles + [
            ("splits", .columns(["splits"], fallback: 0)),
        ]),
        Entry(implementation: "*", algorithm: "memory-efficient", program: "memory-efficient", launch: .framework, parameters: tiles),
        Entry(implementation: "*", algorithm: "paged-decode", program: "paged-decode", launch: .framework, parameters: [
            ("P", .columns(["page_size", "block_n"], fallback: nil)),
        ]),
    ])

    /// This table with `user`'s entries tried first.
    public func extended(with user: KernelTable) -> KernelTable {
        KernelTable(entries: user.entries + entries)
    }

    /// The row's mapping, or why it has none.
    public func map(_ row: CalibrationRow) -> Result<RowMapping, MappingError> {
        var parameters: [String: ScalarValue] = [:]
        if row.causal { parameters["causal"] = .int(1) }
        if row.window > 0 { parameters["window"] = .int(row.window) }
        let rowLaunch = row.launch.flatMap(LaunchPath.init(rawValue:))
        if let program = row.program {
            // The row names its program: every parameter column it fills is passed.
            for (name, column) in [("Br", "block_m"), ("Bc", "block_n"), ("splits", "splits"), ("P", "page_size"), ("num_warps", "warps"), ("num_stages", "stages")] {
                if let value = Self.cell(row, column) { parameters[name] = .int(value) }
            }
            return .success(RowMapping(program: program, parameters: parameters, launch: rowLaunch ?? .framework))
        }
        guard let entry = entries.first(where: { $0.matches(row) }) else {
            return .failure(MappingError(
                "no program models implementation '\(row.implementation)', algorithm '\(row.algorithm)'\(row.backward ? " with a backward pass" : ""); add an entry with validate --kernels FILE.csv or a program column"))
        }
        var used: Set<String> = []
        for (name, source) in entry.parameters {
            switch source {
            case .value(let value):
                parameters[name] = .int(value)
            case .columns(let columns, let fallback):
                used.formUnion(columns)
                if let value = columns.lazy.compactMap({ Self.cell(row, $0) }).first ?? fallback { parameters[name] = .int(value) }
            }
        }
        for (column, value) in [("warps", row.warps), ("stages", row.stages)] where value != nil && !used.contains(column) {
            return .failure(MappingError(
                "'\(column)' is given but \(entry.program) (the kernel table's entry for '\(row.implementation)') takes no parameter from it; name a program that takes num_warps and num_stages in a 'program' column"))
        }
        return .success(RowMapping(program: entry.program, parameters: parameters, launch: rowLaunch ?? entry.launch))
    }

    static func cell(_ row: CalibrationRow, _ column: String) -> Int? {
        switch column {
        case "block_m": return row.blockM
        case "block_n": return row.blockN
        case "splits": return row.splits
        case "page_size": return row.pageSize
        case "warps": return row.warps
        case "stages": return row.stages
        default: return nil
        }
    }
}
