import CostModel
import TileInterpreter

/// The program, with its parameters and launch path, that reproduces a measured call:
/// what the kernel table (`KernelTable`) makes of a row.
public struct RowMapping: Sendable, Equatable {
    public var program: String
    public var parameters: [String: ScalarValue]
    public var launch: LaunchPath

    public init(program: String, parameters: [String: ScalarValue], launch: LaunchPath) {
        self.program = program
        self.parameters = parameters
        self.launch = launch
    }

    /// The row's mapping under the built-in table.
    public static func map(_ row: CalibrationRow) -> Result<RowMapping, MappingError> {
        KernelTable.builtIn.map(row)
    }
}

/// Why a measured row has no prediction.
public struct MappingError: Error, Sendable, Equatable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
