import Foundation
import Testing
@testable import AttnCLI
import AttnTestSupport

/// One binary, really (Linux): the release build links the Swift runtime and Foundation
/// statically (Package.swift, `staticRuntime`), so `.build/release/attnsim` needs no
/// library of the toolchain. The test builds the release binary exactly as the README
/// says, in its own scratch folder (`.build-static`, so the debug build of the tests is
/// left alone; incremental after the first run), reads the libraries the ELF file needs
/// (DT_NEEDED), and runs it from an empty folder in a mount namespace where the
/// toolchain's directory is an empty tmpfs. The debug binary, which does need the
/// runtime, must fail there: the proof that the toolchain was out of reach.
@Suite struct StaticBinaryTests {
    /// The libraries a dynamically linked ELF file names as needed (its DT_NEEDED entries).
    static func neededLibraries(_ file: URL) throws -> [String] {
        let bytes = [UInt8](try Data(contentsOf: file))
        func integer(_ offset: Int, _ size: Int) throws -> Int {
            guard offset >= 0, offset + size <= bytes.count else { throw TestFailure("\(file.path): truncated ELF file") }
            var value = 0
            for i in (0..<size).reversed() { value = value << 8 | Int(bytes[offset + i]) }
            return value
        }
        // ELF64 little-endian: "\x7FELF", class 2, data 1.
        guard bytes.count > 64, bytes[0..<4] == [0x7F, 0x45, 0x4C, 0x46], bytes[4] == 2, bytes[5] == 1 else {
            throw TestFailure("\(file.path) is not a 64-bit little-endian ELF file")
        }
        let programHeaders = try integer(0x20, 8), entrySize = try integer(0x36, 2), count = try integer(0x38, 2)
        var loads: [(vaddr: Int, offset: Int, size: Int)] = []
        var dynamic: (offset: Int, size: Int)?
        for index in 0..<count {
            let header = programHeaders + index * entrySize
            let type = try integer(header, 4)
            let offset = try integer(header + 8, 8), vaddr = try integer(header + 16, 8), size = try integer(header + 32, 8)
            if type == 1 { loads.append((vaddr, offset, size)) }
            if type == 2 { dynamic = (offset, size) }
        }
        guard let dynamic else { return [] }  // statically linked: needs nothing
        var needed: [Int] = []
        var stringTable: Int?
        for entry in stride(from: dynamic.offset, to: dynamic.offset + dynamic.size, by: 16) {
            let tag = try integer(entry, 8), value = try integer(entry + 8, 8)
            if tag == 0 { break }
            if tag == 1 { needed.append(value) }
            if tag == 5 { stringTable = value }
        }
        guard let address = stringTable, let segment = loads.first(where: { address >= $0.vaddr && address < $0.vaddr + $0.size }) else {
            throw TestFailure("\(file.path): no string table for its dynamic section")
        }
        let table = address - segment.vaddr + segment.offset
        return needed.map { name in
            var end = table + name
            while end < bytes.count, bytes[end] != 0 { end += 1 }
            return String(decoding: bytes[(table + name)..<end], as: UTF8.self)
        }
    }

    /// Runs `executable` with `arguments`, waiting at most `timeout` seconds.
    static func run(_ executable: String, _ arguments: [String], in directory: URL? = nil, timeout: TimeInterval) throws -> (status: Int32, out: String, err: String) {
        let outcome = try ChildProcess.run(URL(fileURLWithPath: executable), arguments, in: directory, timeout: timeout)
        return (outcome.status, outcome.out, outcome.err)
    }

    /// The folder of the toolchain this test runs on: the prefix of the Swift runtime
    /// library the test process has loaded (`/opt/swift` for `/opt/swift/usr/lib/swift/linux/libswiftCore.so`).
    static func toolchainRoot() throws -> String {
        // /proc files report a size of 0: read them to their end, not by their size.
        guard let handle = FileHandle(forReadingAtPath: "/proc/self/maps") else { throw TestFailure("cannot read /proc/self/maps") }
        let maps = String(decoding: handle.readDataToEndOfFile(), as: UTF8.self)
        guard let line = maps.split(separator: "\n").first(where: { $0.hasSuffix("/libswiftCore.so") }),
            let path = line.split(separator: " ").last, let range = path.range(of: "/usr/lib/swift")
        else { throw TestFailure("the test process has not loaded libswiftCore.so from a toolchain") }
        return String(path[..<range.lowerBound])
    }

    /// The first executable `name` on PATH.
    static func onPath(_ name: String) -> String? {
        let folders = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":")
        return folders.map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    #if os(Linux)
    @Test func releaseBinaryNeedsNoSwiftLibrary() throws {
        guard let swift = Self.onPath("swift") else { throw TestFailure("no swift on PATH to build the release binary") }
        // The README's release build, in its own scratch folder.
        let build = try Self.run(
            swift, ["build", "-c", "release", "--product", "attnsim", "--scratch-path", repositoryRoot.appendingPathComponent(".build-static").path],
            in: repositoryRoot, timeout: 1500)
        #expect(build.status == 0, "swift build -c release failed:\n\(build.out.suffix(3000))\n\(build.err.suffix(3000))")
        let binary = repositoryRoot.appendingPathComponent(".build-static/release/attnsim")

        let needed = try Self.neededLibraries(binary)
        let swiftLibraries = needed.filter { $0.hasPrefix("libswift") || $0.contains("Foundation") || $0.hasPrefix("libdispatch") || $0.hasPrefix("libBlocksRuntime") }
        #expect(swiftLibraries.isEmpty, "the release binary needs \(swiftLibraries)")
        #expect(Set(needed).isSubset(of: ["libc.so.6", "libm.so.6", "libstdc++.so.6", "libgcc_s.so.1", "libpthread.so.0", "libdl.so.2", "ld-linux-x86-64.so.2", "ld-linux-aarch64.so.1"]),
            "the release binary needs \(needed)")
        // The reader reads what it should: the debug binary needs the runtime.
        let debugNeeded = try Self.neededLibraries(try BinaryTests.binary())
        #expect(debugNeeded.contains("libswiftCore.so"), "debug binary needs \(debugNeeded)")

        // An empty folder, the binary and a scenario; the toolchain hidden under a tmpfs.
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("attnsim-static-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        try FileManager.default.copyItem(at: binary, to: folder.appendingPathComponent("attnsim"))
        try FileManager.default.copyItem(at: try BinaryTests.binary(), to: folder.appendingPathComponent("attnsim-debug"))
        try FileManager.default.copyItem(
            at: repositoryRoot.appendingPathComponent("scenarios/standard-vs-flash.json"), to: folder.appendingPathComponent("standard-vs-flash.json"))
        let toolchain = try Self.toolchainRoot()
        guard let unshare = Self.onPath("unshare") else { throw TestFailure("no unshare on PATH (util-linux) to hide the toolchain") }
        func hidden(_ command: String) throws -> (status: Int32, out: String, err: String) {
            try Self.run(unshare, ["--mount", "--propagation", "private", "sh", "-c", "mount -t tmpfs none '\(toolchain)' && \(command)"], in: folder, timeout: 120)
        }
        let version = try hidden("ls -A '\(toolchain)' | wc -l && ./attnsim --version")
        #expect(version.status == 0 && version.out == "0\nattnsim \(AttnSimCommand.version)\n", "attnsim --version with \(toolchain) hidden: \(version)")
        let run = try hidden("./attnsim run standard-vs-flash.json --format csv")
        #expect(run.status == 0, "attnsim run with \(toolchain) hidden: \(run.err)")
        #expect(run.out.split(separator: "\n").count == 13, "\(run.out)")
        let control = try hidden("./attnsim-debug --version")
        #expect(control.status != 0 && control.err.contains("libswift"), "the debug binary started with \(toolchain) hidden: \(control)")
    }
    #endif
}
