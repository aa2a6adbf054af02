import AttnCLI
import Foundation
import XCTest
import AttnTestSupport

/// The repository keeps its promises to a new user: the README opens with the two set-up
/// commands, CI's script is the README's test command (it installs what is missing, then
/// runs `swift test`), the first command's scenario exists and names the built-in H100
/// profile, and the outputs the README shows are the current build's.
final class RepositoryTests: XCTestCase {
    func text(_ path: String) throws -> String {
        try String(contentsOf: repositoryRoot.appendingPathComponent(path), encoding: .utf8)
    }

    /// The first code block of README.md: the run command, then the test command.
    func readmeCommands() throws -> [String] {
        let readme = try text("README.md")
        let block = readme.components(separatedBy: "```")
        XCTAssertGreaterThan(block.count, 2, "README.md has no code block")
        return block[1].split(separator: "\n").dropFirst().map { line in
            String(line.split(separator: "#").first ?? "").trimmingCharacters(in: .whitespaces)
        }.filter { !$0.isEmpty }
    }

    func testReadmeOpensWithRunAndTestCommands() throws {
        let readme = try text("README.md")
        XCTAssertTrue(readme.hasPrefix("# AttnSim\n\n```sh\n"), "README.md must open with the set-up commands")
        let commands = try readmeCommands()
        XCTAssertEqual(commands.count, 2)
        XCTAssertEqual(commands[0], "swift run attnsim run scenarios/standard-vs-flash.json")
        XCTAssertEqual(commands[1], ".ci/run")
        let scenario = try text("scenarios/standard-vs-flash.json")
        XCTAssertTrue(scenario.contains("\"hardware\": \"h100-sxm\""))
    }

    /// `.ci/run` (the README's test command) installs headless Chromium when it is missing
    /// and then runs exactly `swift test`, nothing looser.
    func testCIRunsTheTestSuiteAfterInstallingWhatIsMissing() throws {
        XCTAssertEqual(try readmeCommands()[1], ".ci/run")
        XCTAssertTrue(FileManager.default.isExecutableFile(atPath: repositoryRoot.appendingPathComponent(".ci/run").path))
        let script = try text(".ci/run")
        let commands = script.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty && !$0.hasPrefix("#") && !$0.hasPrefix("set ") && !$0.hasPrefix("cd ") }
        XCTAssertEqual(commands.count, 2, "\(commands)")
        XCTAssertEqual(commands.first, "command -v chromium >/dev/null 2>&1 || { apt-get update && apt-get install -y chromium; }")
        XCTAssertEqual(commands.last, "swift test")
    }

    /// Each output README.md shows (between `<!-- output: attnsim ARGS -->` and
    /// `<!-- end output -->`) is what the current build prints for ARGS
    /// (`python3 scripts/readme-outputs.py` rewrites them).
    func testReadmeOutputsAreTheBuildsOutput() throws {
        let readme = try text("README.md")
        let blocks = readme.components(separatedBy: "<!-- output: attnsim ").dropFirst()
        XCTAssertFalse(blocks.isEmpty, "README.md shows no output")
        for block in blocks {
            guard let close = block.range(of: " -->\n```text\n"), let end = block.range(of: "```\n<!-- end output -->") else {
                XCTFail("an output block of README.md is not '<!-- output: attnsim ARGS -->', a ```text block, '<!-- end output -->'")
                continue
            }
            let arguments = block[..<close.lowerBound].split(separator: " ").map { word -> String in
                // Paths are the repository's.
                let path = repositoryRoot.appendingPathComponent(String(word)).path
                return FileManager.default.fileExists(atPath: path) ? path : String(word)
            }
            let shown = String(block[close.upperBound..<end.lowerBound])
            let captured = CapturedConsole()
            XCTAssertEqual(AttnSimCommand.main(arguments, console: captured.console), 0, captured.stderr)
            XCTAssertEqual(shown, captured.stdout, "README.md shows another output of attnsim \(block[..<close.lowerBound]); run python3 scripts/readme-outputs.py")
        }
    }
}
