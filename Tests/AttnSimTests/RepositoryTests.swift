import Foundation
import XCTest

/// The repository keeps its promises to a new user: the README opens with the two set-up
/// commands, CI runs exactly the README's test command, and the first command's scenario
/// exists and names the built-in H100 profile.
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
        XCTAssertEqual(commands[1], "swift test")
        let scenario = try text("scenarios/standard-vs-flash.json")
        XCTAssertTrue(scenario.contains("\"hardware\": \"h100-sxm\""))
    }

    func testCIRunsTheReadmeTestCommand() throws {
        let script = try text(".ci/run")
        let commands = script.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty && !$0.hasPrefix("#") && !$0.hasPrefix("set ") && !$0.hasPrefix("cd ") }
        XCTAssertEqual(commands, [try readmeCommands()[1]])
    }
}
