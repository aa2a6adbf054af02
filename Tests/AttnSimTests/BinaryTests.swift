import AttnAlgorithms
import AttnHardware
import AttnHTML
import Foundation
import KVCache
import Testing
import Workload
import AttnTestSupport

/// The built-in programs, profiles and models are compiled into the binary: the generated
/// sources match their files, and `attnsim` copied alone into an empty directory runs.
@Suite struct BinaryTests {
    /// The files of one source folder, name without extension -> text.
    static func files(in folder: String, extension ext: String) throws -> [String: String] {
        let directory = repositoryRoot.appendingPathComponent(folder)
        var files: [String: String] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: directory.path) where name.hasSuffix("." + ext) {
            files[String(name.dropLast(ext.count + 1))] = try String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8)
        }
        return files
    }

    /// A generated table equals its source folder, file for file and byte for byte, so a
    /// program, profile or model edited without rerunning scripts/embed-resources.py fails here.
    @Test(arguments: [
        ("Sources/AttnAlgorithms/Programs", "tile"), ("Sources/AttnHardware/Profiles", "json"), ("Sources/Workload/Models", "json"),
        ("Sources/AttnHTML/Resources", "js"), ("Sources/AttnHTML/Resources", "css"),
    ])
    func generatedSourcesAreUpToDate(_ folder: String, _ ext: String) throws {
        let onDisk = try Self.files(in: folder, extension: ext)
        let compiled: [String: String]
        switch (folder, ext) {
        case ("Sources/AttnAlgorithms/Programs", _): compiled = BuiltinPrograms.sources
        case ("Sources/AttnHardware/Profiles", _): compiled = BuiltinProfiles.sources
        case ("Sources/AttnHTML/Resources", "js"): compiled = PageScripts.sources
        case ("Sources/AttnHTML/Resources", _): compiled = PageStyles.sources
        default: compiled = BuiltinModels.sources
        }
        // Seven or more programs, profiles and models; the page's one script and style sheet.
        #expect(onDisk.count >= (folder.hasPrefix("Sources/AttnHTML") ? 1 : 7))
        #expect(compiled.keys.sorted() == onDisk.keys.sorted(), "\(folder): run python3 scripts/embed-resources.py")
        for (name, text) in onDisk {
            #expect(compiled[name] == text, "\(folder)/\(name).\(ext) differs from its compiled copy: run python3 scripts/embed-resources.py")
        }
    }

    /// Every built-in name resolves to compiled text, and every compiled file has a name.
    @Test func builtInNamesMatchTheCompiledTables() {
        let programs = Set(AlgorithmLibrary.builtInNames.map { AlgorithmLibrary.aliases[$0]?.program ?? $0 })
        #expect(programs == Set(BuiltinPrograms.sources.keys))
        #expect(Set(HardwareProfile.builtInNames) == Set(BuiltinProfiles.sources.keys))
        #expect(Set(ModelSpec.builtInNames) == Set(BuiltinModels.sources.keys))
    }

    /// The `attnsim` executable of this build: next to the test bundle (both live in
    /// `.build/<configuration>/`), else the repository's debug build.
    static func binary() throws -> URL {
        var starts = [Bundle.main.bundleURL, URL(fileURLWithPath: CommandLine.arguments.first ?? "")]
        if let url = Bundle.main.executableURL { starts.append(url) }
        starts += Bundle.allBundles.map(\.bundleURL)
        for start in starts {
            var directory = start
            for _ in 0..<5 {
                let candidate = directory.appendingPathComponent("attnsim")
                var isDirectory: ObjCBool = false
                if FileManager.default.fileExists(atPath: candidate.path, isDirectory: &isDirectory), !isDirectory.boolValue,
                    FileManager.default.isExecutableFile(atPath: candidate.path)
                {
                    return candidate
                }
                directory = directory.deletingLastPathComponent()
            }
        }
        let fallback = repositoryRoot.appendingPathComponent(".build/debug/attnsim")
        guard FileManager.default.isExecutableFile(atPath: fallback.path) else {
            throw TestFailure("no attnsim executable next to the test bundle; build it with 'swift build --build-tests'")
        }
        return fallback
    }

    /// Runs `executable` in `directory`; returns the exit status and standard output.
    static func run(_ executable: URL, _ arguments: [String], in directory: URL) throws -> (status: Int32, out: String, err: String) {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.currentDirectoryURL = directory
        let out = directory.appendingPathComponent("stdout.txt")
        let err = directory.appendingPathComponent("stderr.txt")
        _ = FileManager.default.createFile(atPath: out.path, contents: nil)
        _ = FileManager.default.createFile(atPath: err.path, contents: nil)
        let outHandle = try FileHandle(forWritingTo: out)
        let errHandle = try FileHandle(forWritingTo: err)
        process.standardOutput = outHandle
        process.standardError = errHandle
        try process.run()
        process.waitUntilExit()
        try outHandle.close()
        try errHandle.close()
        return (process.terminationStatus, try String(contentsOf: out, encoding: .utf8), try String(contentsOf: err, encoding: .utf8))
    }

    /// The binary alone, in an empty directory, lists the built-ins and runs a scenario.
    @Test func binaryRunsWithoutResourceBundles() throws {
        let binary = try Self.binary()
        // The binary must not look for a resource bundle at all: SwiftPM's accessor names
        // `<package>_<module>.resources`, and falls back to the build directory, which
        // would hide a missing bundle as long as the build exists.
        let bytes = try Data(contentsOf: binary)
        for module in ["AttnAlgorithms", "AttnHardware", "KVCache"] {
            #expect(bytes.range(of: Data("AttnSim_\(module).resources".utf8)) == nil, "attnsim still refers to the \(module) resource bundle")
        }

        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("attnsim-alone-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let copy = directory.appendingPathComponent("attnsim")
        try FileManager.default.copyItem(at: binary, to: copy)
        try FileManager.default.copyItem(
            at: repositoryRoot.appendingPathComponent("scenarios/standard-vs-flash.json"), to: directory.appendingPathComponent("standard-vs-flash.json"))

        let list = try Self.run(copy, ["list"], in: directory)
        #expect(list.status == 0, "attnsim list: \(list.err)")
        for name in ["flash-decoding", "selective-scan", "h200-sxm", "mi300x", "llama-3-70b", "jamba-v0.1"] {
            #expect(list.out.contains(name), "attnsim list does not show \(name)")
        }

        let run = try Self.run(copy, ["run", "standard-vs-flash.json", "--format", "csv"], in: directory)
        #expect(run.status == 0, "attnsim run: \(run.err)")
        // standard, flash1 and flash2 at four contexts: a header and 12 rows.
        let rows = run.out.split(separator: "\n")
        #expect(rows.count == 13)
        #expect(rows.dropFirst().filter { $0.hasPrefix("flash2,") }.count == 4)
    }
}
