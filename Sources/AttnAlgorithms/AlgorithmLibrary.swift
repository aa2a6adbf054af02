import Foundation
import TileLanguage

/// Why an algorithm could not be had.
public enum AlgorithmError: Error, Sendable, CustomStringConvertible {
    case unknown(name: String, known: [String])
    case unreadable(file: String, reason: String)
    case invalid(Diagnostic)

    public var description: String {
        switch self {
        case .unknown(let name, let known):
            return "unknown algorithm '\(name)'; built-in algorithms: \(known.joined(separator: ", ")), or a path to a .tile file"
        case .unreadable(let file, let reason):
            return "\(file): cannot read program: \(reason)"
        case .invalid(let diagnostic):
            return diagnostic.description
        }
    }
}

/// The built-in attention algorithms, shipped as tile-language programs, and user programs.
public enum AlgorithmLibrary {
    /// Names of the built-in algorithms; stable across releases.
    public static let builtInNames = ["standard", "flash1", "flash2"]

    /// The source of a built-in program.
    public static func builtInSource(_ name: String) throws(AlgorithmError) -> SourceFile {
        guard builtInNames.contains(name) else { throw .unknown(name: name, known: builtInNames) }
        guard let url = Bundle.module.url(forResource: name, withExtension: "tile", subdirectory: "Programs"),
            let data = try? Data(contentsOf: url)
        else {
            throw .unreadable(file: "builtin:\(name).tile", reason: "missing from the package resources")
        }
        return SourceFile(name: "builtin:\(name).tile", text: String(decoding: data, as: UTF8.self))
    }

    /// A checked program: a built-in name, or a path to a `.tile` file.
    public static func program(_ nameOrPath: String) throws(AlgorithmError) -> Program {
        let source: SourceFile
        if nameOrPath.hasSuffix(".tile") {
            do {
                source = SourceFile(name: nameOrPath, text: try String(contentsOfFile: nameOrPath, encoding: .utf8))
            } catch {
                throw .unreadable(file: nameOrPath, reason: error.localizedDescription)
            }
        } else {
            source = try builtInSource(nameOrPath)
        }
        do {
            return try Checker.check(source)
        } catch {
            throw .invalid(error)
        }
    }
}
