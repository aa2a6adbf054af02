import Foundation
import Testing
import AttnTestSupport

/// The library names the settings an error points to as `Remedy` values and the command
/// line spells them as flags (`Remedy+Flag.swift`), so a library caller never reads a flag
/// it cannot pass. This scans the library's Swift sources for string literals that spell a
/// flag (`"... --name"`), outside the command line and the few places whose text is about
/// the command line itself.
@Suite struct LibraryFlagTests {
    /// Files whose strings speak of the command line on purpose: the taxonomy's "how to run
    /// it" column, report footnotes, provenance of fitted constants, the budget note and the
    /// calibration mapping hint (both printed as how to rerun a command).
    static let commandLineText: Set<String> = [
        "AlgorithmFamily.swift", "RooflineReport.swift", "KVReport.swift", "CalibrationSet.swift", "Fitter.swift", "WorkMeter.swift", "KernelTable.swift",
    ]

    @Test func libraryStringsNameNoFlags() throws {
        let sources = repositoryRoot.appendingPathComponent("Sources")
        let modules = try FileManager.default.contentsOfDirectory(atPath: sources.path).filter { $0 != "AttnCLI" && $0 != "attnsim" }
        #expect(modules.count >= 10, "expected the library modules under Sources/, found \(modules)")
        let flagInString = try Regex(#""[^"]*[ (]--[a-z][a-z-]*"#)
        var found: [String] = []
        for module in modules {
            let folder = sources.appendingPathComponent(module)
            guard let files = FileManager.default.enumerator(atPath: folder.path) else { continue }
            for case let path as String in files where path.hasSuffix(".swift") && !path.hasSuffix(".generated.swift") {
                let name = (path as NSString).lastPathComponent
                guard !Self.commandLineText.contains(name) else { continue }
                let text = try String(contentsOf: folder.appendingPathComponent(path), encoding: .utf8)
                for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                    let code = line.trimmingCharacters(in: .whitespaces)
                    guard !code.hasPrefix("//"), line.contains(flagInString) else { continue }
                    found.append("Sources/\(module)/\(path):\(number + 1): \(code)")
                }
            }
        }
        #expect(found.isEmpty, "library strings that spell a flag (name the setting with a Remedy instead):\n\(found.joined(separator: "\n"))")
    }
}
