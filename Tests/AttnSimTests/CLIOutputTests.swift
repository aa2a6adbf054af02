#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import AttnCLI
import Foundation
import Testing
import AttnTestSupport

/// Errors, standard output and output files of the command line: one `error:` prefix, the
/// system's reason for file problems, files written in place, failed writes exit 1.
@Suite struct CLIOutputTests {
    func run(_ arguments: [String]) -> (code: Int32, out: String, err: String) {
        let captured = CapturedConsole()
        let code = AttnSimCommand.main(arguments, console: captured.console)
        return (code, captured.stdout, captured.stderr)
    }

    /// A fresh path in the temporary directory (nothing is created there).
    func temporaryPath(_ suffix: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("attnsim-cli-\(UUID().uuidString)\(suffix)").path
    }

    /// The file type bits of `path` itself (not following a symlink).
    func fileType(_ path: String) -> mode_t? {
        var info = stat()
        guard lstat(path, &info) == 0 else { return nil }
        return info.st_mode & S_IFMT
    }

    static let hasDevFull = FileManager.default.fileExists(atPath: "/dev/full")

    /// A memory device (`null`: minor 3, `full`: minor 7, major 1 on Linux) for output
    /// tests. As root it is a private node made with mknod(2) in a fresh directory, so a
    /// regression that replaces the output by a regular file damages only that copy, never
    /// the system's /dev/null. Without root the system's node is used: nobody but root can
    /// replace it.
    struct DeviceNode {
        let path: String
        let directory: String?
        let device: dev_t

        /// Whether a node can be had: mknod works here, or we are not root.
        static let available: Bool = {
            guard let probe = DeviceNode("null", minor: 3) else { return false }
            probe.remove()
            return true
        }()

        init?(_ name: String, minor: UInt32) {
            #if os(Linux)
            let device = dev_t((1 << 8) | minor)
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("attnsim-dev-\(UUID().uuidString)").path
            if (try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)) != nil {
                let path = directory + "/" + name
                if mknod(path, S_IFCHR | 0o666, device) == 0 {
                    self.init(path: path, directory: directory, device: device)
                    return
                }
                try? FileManager.default.removeItem(atPath: directory)
            }
            guard geteuid() != 0, FileManager.default.fileExists(atPath: "/dev/" + name) else { return nil }
            self.init(path: "/dev/" + name, directory: nil, device: device)
            #else
            return nil
            #endif
        }

        private init(path: String, directory: String?, device: dev_t) {
            self.path = path
            self.directory = directory
            self.device = device
        }

        /// Still the same character device (not replaced by a regular file).
        var isIntact: Bool {
            var info = stat()
            return lstat(path, &info) == 0 && info.st_mode & S_IFMT == S_IFCHR && info.st_rdev == device
        }

        func remove() {
            if let directory { try? FileManager.default.removeItem(atPath: directory) }
        }
    }

    // MARK: error messages

    @Test func everyFailureHasExactlyOneErrorPrefix() throws {
        let brokenTile = temporaryPath(".tile")
        try "input Q[N, d]\nkernel k grid(i: 1):\n  y = x @ z\n".write(toFile: brokenTile, atomically: true, encoding: .utf8)
        let outOfBounds = temporaryPath(".tile")
        try """
            input  Q[batch * heads, N, d]
            output O[batch * heads, N, d]
            kernel copy grid(bh: batch * heads, i: 2):
              x = load Q[bh, rows(i, 32), :] -> reg
              store O[bh, rows(i, 32), :] = x
            """.write(toFile: outOfBounds, atomically: true, encoding: .utf8)
        let badScenario = temporaryPath(".json")
        try #"{"version": 1}"#.write(toFile: badScenario, atomically: true, encoding: .utf8)
        let notUTF8 = temporaryPath(".json")
        try Data([0x7b, 0xff, 0xfe, 0x7d]).write(to: URL(fileURLWithPath: notUTF8))
        let directory = temporaryPath("")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
        defer {
            for path in [brokenTile, outOfBounds, badScenario, notUTF8, directory] { try? FileManager.default.removeItem(atPath: path) }
        }
        let shape = ["--heads", "1", "--head-dim", "8", "--context", "16"]
        let cases: [(arguments: [String], expected: String?)] = [
            (["run", "--algorithm", brokenTile] + shape, "error: \(brokenTile):3:7: unknown name 'x'\n 3 |   y = x @ z\n   |       ^\n"),
            (["run", "--algorithm", outOfBounds] + shape,
             "error: \(outOfBounds) at context 16:\n\(outOfBounds):4:18: block 1 of size 32 starts at 32, outside dimension 1 of 'Q' (extent 16)\n"
                + " 4 |   x = load Q[bh, rows(i, 32), :] -> reg\n   |                  ^\n"),
            (["run", "--algorithm", "/nonexistent/k.tile"] + shape, "error: /nonexistent/k.tile: cannot read program: No such file or directory\n"),
            (["run", "/nonexistent/s.json"], "error: /nonexistent/s.json: cannot read scenario: No such file or directory\n"),
            (["run", notUTF8], "error: \(notUTF8): cannot read scenario: not valid UTF-8 text\n"),
            (["run", badScenario], nil),
            (["roofline", directory], "error: \(directory): cannot read scenario: Is a directory\n"),
            (["kv", "--model", "/nonexistent/m.json", "--context", "1k"], "error: /nonexistent/m.json: cannot read model: No such file or directory\n"),
            (["kv", "--model", "llama-2-7b", "--context", "1k", "--hardware", "/nonexistent/h.json"],
             "error: /nonexistent/h.json: cannot read hardware profile: No such file or directory\n"),
            (["paged", "--model", "opt-13b", "--trace", "/nonexistent/t.csv"], "error: /nonexistent/t.csv: cannot read trace: No such file or directory\n"),
            (["validate", "/nonexistent/c.csv"], "error: cannot read '/nonexistent/c.csv': No such file or directory\n"),
            (["validate", directory], "error: cannot read '\(directory)': Is a directory\n"),
        ]
        for (arguments, expected) in cases {
            let result = run(arguments)
            #expect(result.code == 1, "\(arguments)")
            #expect(result.out.isEmpty, "\(arguments)")
            if let expected { #expect(result.err == expected, "\(arguments)") }
            #expect(result.err.hasPrefix("error: "), "\(arguments)")
            #expect(result.err.components(separatedBy: "error:").count == 2, "\(arguments): \(result.err)")
            for foundation in ["NSCocoaErrorDomain", "could not be completed", "The file", "couldn’t"] {
                #expect(!result.err.contains(foundation), "\(arguments): \(result.err)")
            }
        }
    }

    // MARK: standard output

    /// Text a test console received on standard error.
    final class ErrorText: @unchecked Sendable {
        var text = ""
    }

    @Test func failedStandardOutputExits1WithOneLine() {
        let errors = ErrorText()
        let console = Console(out: { _ in throw OutputError(.standardOutput, errorNumber: ENOSPC) }, err: { errors.text += $0 })
        #expect(AttnSimCommand.main(["list"], console: console) == 1)
        #expect(errors.text == "error: cannot write to standard output: No space left on device\n")
        // The same for help and version, which only print.
        for arguments in [["--help"], ["--version"], ["run", "--help"]] {
            let again = ErrorText()
            let failing = Console(out: { _ in throw OutputError(.standardOutput, errorNumber: ENOSPC) }, err: { again.text += $0 })
            #expect(AttnSimCommand.main(arguments, console: failing) == 1, "\(arguments)")
            #expect(again.text == "error: cannot write to standard output: No space left on device\n", "\(arguments)")
        }
    }

    /// A reader that went away (EPIPE, e.g. `attnsim list | head -c 10`) ends with exit
    /// code 1 and no message.
    @Test func closedPipeExits1Quietly() {
        let errors = ErrorText()
        let console = Console(out: { _ in throw OutputError(.standardOutput, errorNumber: EPIPE) }, err: { errors.text += $0 })
        #expect(AttnSimCommand.main(["list"], console: console) == 1)
        #expect(errors.text.isEmpty)
    }

    /// A failure after some output was written (tune prints its table, then a summary
    /// line): exit 1, and nothing more is written after the failure.
    @Test func failureMidwayIsNotExit0() {
        final class Sink: @unchecked Sendable {
            var writes = 0
            var out = ""
            var err = ""
        }
        let sink = Sink()
        let console = Console(
            out: { text in
                sink.writes += 1
                guard sink.writes == 1 else { throw OutputError(.standardOutput, errorNumber: EIO) }
                sink.out += text
            },
            err: { sink.err += $0 })
        let code = AttnSimCommand.main(["tune", "--algorithm", "flash2", "--heads", "1", "--head-dim", "16", "--context", "256", "--top", "2"], console: console)
        #expect(code == 1)
        #expect(sink.writes == 2)
        #expect(sink.out.hasPrefix("rank  parameters"))
        #expect(sink.err == "error: cannot write to standard output: Input/output error\n")
    }

    // MARK: output files

    /// Through a symlink: the target gets the content and the link stays a link.
    @Test func outputThroughASymlinkKeepsTheLink() throws {
        let target = temporaryPath(".svg")
        let link = temporaryPath("-link.svg")
        try "old content that is longer than nothing".write(toFile: target, atomically: true, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: target)
        defer { try? FileManager.default.removeItem(atPath: link); try? FileManager.default.removeItem(atPath: target) }
        let result = run(["roofline", "--model", "llama-2-7b", "--context", "1k", "--svg", link])
        #expect(result.code == 0, "\(result.err)")
        #expect(result.err == "roofline plot written to \(link)\n")
        #expect(fileType(link) == S_IFLNK)
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: link) == target)
        let written = try String(contentsOfFile: target, encoding: .utf8)
        #expect(written.hasPrefix("<svg") && written.hasSuffix("</svg>\n"))
        // flash2 and standard at 1k: two points.
        #expect(written.components(separatedBy: "<circle").count - 1 == 2)
    }

    /// A FIFO receives the bytes and stays a FIFO (a rename would have replaced it).
    @Test func outputToAFIFOKeepsTheFIFO() throws {
        let fifo = temporaryPath(".fifo")
        #expect(mkfifo(fifo, 0o600) == 0)
        defer { try? FileManager.default.removeItem(atPath: fifo) }
        // Open both ends here so the command's open does not wait for a reader; the trace
        // of this small run (a few KiB) fits in the pipe's buffer.
        let reader = open(fifo, O_RDWR | O_NONBLOCK)
        #expect(reader >= 0)
        defer { _ = close(reader) }
        let result = run(["run", "--algorithm", "flash2", "--heads", "1", "--head-dim", "16", "--context", "64",
                          "--param", "Br=32", "--param", "Bc=32", "--trace", fifo])
        #expect(result.code == 0, "\(result.err)")
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(reader, $0.baseAddress, $0.count) }
            guard count > 0 else { break }
            bytes += chunk[0..<count]
        }
        let lines = String(decoding: bytes, as: UTF8.self).split(separator: "\n")
        #expect(result.err == "trace: \(lines.count) events written to \(fifo)\n")
        #expect(lines.count > 10 && lines.allSatisfy { $0.hasPrefix("{") && $0.hasSuffix("}") })
        #expect(fileType(fifo) == S_IFIFO)
    }

    /// /dev/null takes the output and stays a character device.
    @Test(.enabled(if: DeviceNode.available, "cannot make a private device node, and running as root (the real /dev/null is not used then)"))
    func outputToDevNullKeepsTheDevice() throws {
        guard let null = DeviceNode("null", minor: 3) else { throw TestFailure("no null device node") }
        defer { null.remove() }
        let result = run(["roofline", "--model", "llama-2-7b", "--context", "1k", "--svg", null.path, "--timeline", null.path])
        #expect(result.code == 0, "\(result.err)")
        #expect(result.err == "roofline plot written to \(null.path)\ntimeline written to \(null.path) (open it in Perfetto)\n")
        #expect(null.isIntact)
    }

    /// /dev/full: every write fails with ENOSPC; one error line, exit 1, nothing "written",
    /// no report on standard output.
    @Test(.enabled(if: DeviceNode.available, "cannot make a private device node, and running as root (the real /dev/full is not used then)"))
    func outputToDevFullFails() throws {
        guard let full = DeviceNode("full", minor: 7) else { throw TestFailure("no full device node") }
        defer { full.remove() }
        let cases = [
            ["roofline", "--model", "llama-2-7b", "--context", "1k", "--svg", full.path],
            ["roofline", "--model", "llama-2-7b", "--context", "1k", "--timeline", full.path],
            ["run", "--algorithm", "flash2", "--heads", "1", "--head-dim", "16", "--context", "64", "--trace", full.path],
        ]
        for arguments in cases {
            let result = run(arguments)
            #expect(result.code == 1, "\(arguments)")
            #expect(result.err == "error: cannot write '\(full.path)': No space left on device\n", "\(arguments)")
            #expect(result.out.isEmpty, "\(arguments)")
        }
        #expect(full.isIntact)
    }

    @Test func outputToADirectoryFails() throws {
        let directory = temporaryPath("")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let result = run(["roofline", "--model", "llama-2-7b", "--context", "1k", "--timeline", directory])
        #expect(result.code == 1)
        #expect(result.err == "error: cannot write '\(directory)': Is a directory\n")
        let missing = run(["roofline", "--model", "llama-2-7b", "--context", "1k", "--svg", directory + "/no/such/dir.svg"])
        #expect(missing.code == 1)
        #expect(missing.err == "error: cannot write '\(directory)/no/such/dir.svg': No such file or directory\n")
    }

    // MARK: the real process

    /// The built `attnsim` next to the test bundle (both are products of one build).
    static let binary: String? = {
        var directories: [URL] = []
        if let executable = Bundle.main.executableURL { directories.append(executable.deletingLastPathComponent()) }
        if let first = CommandLine.arguments.first { directories.append(URL(fileURLWithPath: first).deletingLastPathComponent()) }
        for bundle in Bundle.allBundles where bundle.bundlePath.hasSuffix(".xctest") {
            directories.append(bundle.bundleURL.deletingLastPathComponent())
        }
        directories.append(repositoryRoot.appendingPathComponent(".build/debug"))
        return directories.map { $0.appendingPathComponent("attnsim").path }
            .first { FileManager.default.isExecutableFile(atPath: $0) }
    }()

    /// `attnsim list > /dev/full` used to crash in FileHandle.write; `attnsim list` into a
    /// closed pipe must not die of SIGPIPE. Both end with exit code 1.
    @Test(.enabled(if: binary != nil && hasDevFull, "no attnsim binary next to the test bundle (run swift build first), or no /dev/full"))
    func processStandardOutputFailures() throws {
        guard let binary = Self.binary, let full = FileHandle(forWritingAtPath: "/dev/full") else { throw TestFailure("setup") }
        func launch(_ output: Any) throws -> (status: Int32, reason: Process.TerminationReason, err: String) {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: binary)
            process.arguments = ["list"]
            process.standardOutput = output
            let errors = Pipe()
            process.standardError = errors
            try process.run()
            let data = errors.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            return (process.terminationStatus, process.terminationReason, String(decoding: data, as: UTF8.self))
        }
        let toFull = try launch(full)
        #expect(toFull.reason == .exit && toFull.status == 1)
        #expect(toFull.err == "error: cannot write to standard output: No space left on device\n")

        let closed = Pipe()
        try closed.fileHandleForReading.close()
        let toClosedPipe = try launch(closed)
        #expect(toClosedPipe.reason == .exit && toClosedPipe.status == 1)
        #expect(toClosedPipe.err.isEmpty)
    }
}
