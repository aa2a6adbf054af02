import AttnJSON
import AttnNumerics
import Foundation

/// Why a hardware profile could not be had.
public enum HardwareProfileError: Error, Sendable, CustomStringConvertible {
    case unknown(name: String, known: [String])
    case unreadable(file: String, reason: String)
    case invalid(JSONInputError)

    public var description: String {
        switch self {
        case .unknown(let name, let known):
            return "unknown hardware '\(name)'; built-in profiles: \(known.joined(separator: ", ")), or a path to a profile .json file"
        case .unreadable(let file, let reason):
            return "\(file): cannot read hardware profile: \(reason)"
        case .invalid(let error):
            return error.description
        }
    }
}

extension HardwareProfile {
    /// The identifiers of the profiles shipped with the package.
    public static let builtInNames: [String] = [
        "h100-sxm", "h100-pcie", "h200-sxm", "a100-40gb-sxm", "a100-80gb-sxm", "rtx-4090", "mi300x",
        // 2026's parts (docs/hardware.md, "Profiles of 2026").
        "b200", "b300", "gb200", "h20", "mi325x", "mi355x",
    ]

    /// The default profile: the H100 SXM the calibration data was measured on.
    public static let defaultName = "h100-sxm"

    /// A built-in profile by id, or a profile JSON file when `nameOrPath` ends in `.json`.
    public static func named(_ nameOrPath: String) throws(HardwareProfileError) -> HardwareProfile {
        if nameOrPath.hasSuffix(".json") {
            let text: String
            do {
                text = try TextFile.read(nameOrPath)
            } catch {
                throw .unreadable(file: nameOrPath, reason: error.reason)
            }
            do { return try HardwareProfile(jsonText: text, file: nameOrPath) } catch { throw .invalid(error) }
        }
        guard builtInNames.contains(nameOrPath) else {
            throw .unknown(name: nameOrPath, known: builtInNames)
        }
        guard let text = BuiltinProfiles.sources[nameOrPath] else {
            throw .unreadable(file: "Profiles/\(nameOrPath).json", reason: "not compiled in (run scripts/embed-resources.py)")
        }
        do {
            return try HardwareProfile(jsonText: text, file: "Profiles/\(nameOrPath).json")
        } catch {
            throw .invalid(error)
        }
    }
}
