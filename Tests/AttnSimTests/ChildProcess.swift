import Foundation
import AttnTestSupport

/// Runs a program as a child process, with its output captured in a scratch folder (never
/// in the working directory) and a time limit: the browser, the release build, the binary
/// in a mount namespace.
enum ChildProcess {
    struct Outcome {
        var status: Int32
        var out: String
        var err: String
    }

    /// Runs `executable` with `arguments` in `directory` (default: this process's), its
    /// standard output captured unless `standardOutput` is given (then `out` is empty);
    /// a run past `timeout` seconds is killed and is an error.
    static func run(
        _ executable: URL, _ arguments: [String], in directory: URL? = nil, standardOutput: FileHandle? = nil, timeout: TimeInterval
    ) throws -> Outcome {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("attnsim-child-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = directory }
        let out = scratch.appendingPathComponent("out"), err = scratch.appendingPathComponent("err")
        // A file that cannot be made fails the FileHandle below, naming its path.
        _ = FileManager.default.createFile(atPath: out.path, contents: nil)
        _ = FileManager.default.createFile(atPath: err.path, contents: nil)
        let outHandle = try FileHandle(forWritingTo: out), errHandle = try FileHandle(forWritingTo: err)
        process.standardOutput = standardOutput ?? outHandle
        process.standardError = errHandle
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
            throw TestFailure("\(executable.lastPathComponent) \(arguments.joined(separator: " ")) did not finish within \(Int(timeout)) s")
        }
        try outHandle.close()
        try errHandle.close()
        return Outcome(status: process.terminationStatus, out: try String(contentsOf: out, encoding: .utf8), err: try String(contentsOf: err, encoding: .utf8))
    }
}
