import Foundation
import Testing
import AttnTestSupport

/// Every error message the documentation shows is the one the tool prints: each `error:`
/// example in README.md and docs/ (in code blocks, or in inline code, which may wrap) is
/// reproduced here by running the binary in a scratch folder and compared with what it
/// prints on standard error, the source line and caret of a program error included. An
/// example the table below cannot reproduce fails, so a new one needs its reproduction.
@Suite struct DocErrorTests {
    /// An error the docs show, as written there (whitespace of wrapped inline code joined).
    struct Example: CustomStringConvertible {
        var file: String
        var lines: [String]
        var description: String { "\(file): \(lines.joined(separator: "\n"))" }
    }

    /// The `error:` examples of every Markdown file of the repository's docs.
    static func examples() throws -> [Example] {
        let files = ["README.md"] + (try FileManager.default.contentsOfDirectory(atPath: repositoryRoot.appendingPathComponent("docs").path))
            .filter { $0.hasSuffix(".md") }.sorted().map { "docs/" + $0 } + ["docs/data/README.md"]
        var found: [Example] = []
        for file in files {
            let text = try String(contentsOf: repositoryRoot.appendingPathComponent(file), encoding: .utf8)
            let parts = text.components(separatedBy: "```")
            for (index, part) in parts.enumerated() {
                if index % 2 == 1 {
                    // A code block: an error line, and the source line and caret under it.
                    let lines = part.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
                    for (i, line) in lines.enumerated() where line.hasPrefix("error: ") {
                        var example = [line]
                        var j = i + 1
                        while j < lines.count, lines[j].hasPrefix(" "), lines[j].contains(" | ") || lines[j].hasSuffix(" |") || lines[j].contains("|   ") {
                            example.append(lines[j])
                            j += 1
                        }
                        found.append(Example(file: file, lines: example))
                    }
                } else {
                    // Prose: inline code spans (which may wrap over lines) that are messages.
                    let spans = part.components(separatedBy: "`")
                    for s in stride(from: 1, to: spans.count, by: 2) {
                        let span = spans[s].split(whereSeparator: \.isWhitespace).joined(separator: " ")
                        if span.hasPrefix("error: ") { found.append(Example(file: file, lines: [span])) }
                    }
                }
            }
        }
        return found
    }

    /// How to make an error happen: files to put in an empty folder, the arguments, and
    /// what standard output is (`full`: /dev/full).
    struct Reproduction: Sendable {
        var arguments: [String]
        var setup: @Sendable (URL) throws -> Void = { _ in }
        var stdoutFull = false
    }

    static func write(_ text: String, _ name: String) -> @Sendable (URL) throws -> Void {
        { folder in try text.write(to: folder.appendingPathComponent(name), atomically: true, encoding: .utf8) }
    }

    static let scenario: @Sendable (URL) throws -> Void = { folder in
        try FileManager.default.copyItem(
            at: repositoryRoot.appendingPathComponent("scenarios/standard-vs-flash.json"), to: folder.appendingPathComponent("s.json"))
    }

    /// Each documented error (its first line; `PATH`, `FILE`, `LINE`, `COLUMN` and `<...>`
    /// stand for any text)
    /// with the command that prints it.
    static let reproductions: [(String, Reproduction)] = [
        ("error: 8,192 tokens are past llama-2-7b's maximum context of 4,096 tokens; give --allow-beyond-max to run it anyway",
         Reproduction(arguments: ["kv", "--model", "llama-2-7b", "--context", "8k"])),
        ("error: batch 99999999999999: 99999999999999 sequences of 2147483648 bytes (llama-2-7b at context 4096) overflow a 64-bit byte count; expected a batch of at most 4294967295",
         Reproduction(arguments: ["kv", "--model", "llama-2-7b", "--context", "4k", "--batch", "99999999999999"])),
        ("error: '--svg' would overwrite the input 's.json'; give another path",
         Reproduction(arguments: ["roofline", "s.json", "--svg", "s.json"], setup: scenario)),
        ("error: cannot write 'plot.svg': No space left on device",
         Reproduction(arguments: ["roofline", "s.json", "--svg", "plot.svg"], setup: { folder in
             try scenario(folder)
             try FileManager.default.createSymbolicLink(atPath: folder.appendingPathComponent("plot.svg").path, withDestinationPath: "/dev/full")
         })),
        ("error: cannot write 'PATH': <reason>",
         Reproduction(arguments: ["roofline", "s.json", "--svg", "plot.svg"], setup: { folder in
             try scenario(folder)
             try FileManager.default.createSymbolicLink(atPath: folder.appendingPathComponent("plot.svg").path, withDestinationPath: "/dev/full")
         })),
        ("error: cannot write 'out/': Is a directory",
         Reproduction(arguments: ["roofline", "s.json", "--svg", "out/"], setup: { folder in
             try scenario(folder)
             try FileManager.default.createDirectory(at: folder.appendingPathComponent("out"), withIntermediateDirectories: false)
         })),
        ("error: cannot write to standard output: No space left on device", Reproduction(arguments: ["list"], stdoutFull: true)),
        ("error: scenario.json: cannot read scenario: No such file or directory", Reproduction(arguments: ["run", "scenario.json"])),
        ("error: big.json: cannot read scenario: 5,368,709,120 bytes, more than the 64 MiB (67,108,864 bytes) an input file may hold",
         Reproduction(arguments: ["run", "big.json"], setup: { folder in
             // A sparse 5 GiB file: its size is refused before a byte is read.
             let path = folder.appendingPathComponent("big.json").path
             _ = FileManager.default.createFile(atPath: path, contents: nil)
             let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
             try handle.truncate(atOffset: 5 << 30)
             try handle.close()
         })),
        ("error: /dev/zero: cannot read scenario: a character device, not a file", Reproduction(arguments: ["run", "/dev/zero"])),
        ("error: FILE:LINE:COLUMN: <message>", Reproduction(arguments: ["run", "--algorithm", "my.tile", "--heads", "1", "--head-dim", "16", "--context", "64"], setup: myTile)),
        ("error: flash4 at context 512:",
         Reproduction(arguments: ["run", "--algorithm", "flash4", "--heads", "1", "--head-dim", "64", "--context", "512", "--hardware", "b200", "--param", "Bc=512"])),
        ("error: flash4 at context 1024:",
         Reproduction(arguments: ["run", "--algorithm", "flash4", "--heads", "1", "--head-dim", "64", "--context", "1024", "--hardware", "b200", "--param", "Br=32", "--param", "cta_pair=1"])),
        ("error: pair.tile at context 128: pair.tile:2:38: kernel 'k' runs as a CTA pair (cluster(2)), which h100-sxm cannot (its mma_cta_group_size is 1)",
         Reproduction(
             arguments: ["run", "--algorithm", "pair.tile", "--heads", "1", "--head-dim", "64", "--context", "128", "--hardware", "h100-sxm"],
             setup: write("output O[1, 64]\nkernel k grid(b: 1) warps(4) cluster(2) mma(async):\n  store O[0, :] = zeros(64)\n", "pair.tile"))),
        ("error: my.tile:5:11: unknown name 'z'",
         Reproduction(arguments: ["run", "--algorithm", "my.tile", "--heads", "1", "--head-dim", "16", "--context", "64"], setup: myTile)),
    ]

    /// docs/tile-language.md's program: `z` is never defined.
    static let myTile = write("""
        input  X[N, d]
        output Y[N, d]
        kernel k grid(i: N):
          x = load X[rows(i, 1), :] -> sram
          y = x @ z
          store Y[rows(i, 1), :] = y

        """, "my.tile")

    /// Whether `line` matches `pattern`, where `PATH` and `<...>` match any text.
    static func matches(_ line: String, _ pattern: String) -> Bool {
        var regex = "^"
        var rest = Substring(pattern)
        while !rest.isEmpty {
            if let word = ["PATH", "FILE", "LINE", "COLUMN"].first(where: { rest.hasPrefix($0) }) {
                regex += ".+"
                rest = rest.dropFirst(word.count)
            } else if rest.hasPrefix("<"), let close = rest.firstIndex(of: ">") {
                regex += ".+"
                rest = rest[rest.index(after: close)...]
            } else {
                regex += NSRegularExpression.escapedPattern(for: String(rest.prefix(1)))
                rest = rest.dropFirst()
            }
        }
        return line.range(of: regex + "$", options: .regularExpression) != nil
    }

    @Test func everyDocumentedErrorIsPrinted() throws {
        let examples = try Self.examples()
        #expect(examples.count >= 10, "found \(examples)")
        let binary = try BinaryTests.binary()
        for example in examples {
            guard let (_, reproduction) = Self.reproductions.first(where: { $0.0 == example.lines[0] }) else {
                Issue.record("\(example): no reproduction in DocErrorTests.reproductions (is it the tool's wording?)")
                continue
            }
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("attnsim-doc-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: folder) }
            try reproduction.setup(folder)
            let printed = try Self.run(binary, reproduction.arguments, in: folder, stdoutFull: reproduction.stdoutFull)
            let lines = printed.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            #expect(Self.matches(lines.first ?? "", example.lines[0]), "\(example.file): the docs show\n\(example.lines[0])\nthe tool prints\n\(lines.first ?? "")")
            // A program error's source line and caret, as shown.
            for (offset, shown) in example.lines.enumerated().dropFirst() {
                #expect(offset < lines.count && lines[offset] == shown, "\(example.file): line \(offset + 1) of the error: docs '\(shown)', tool '\(offset < lines.count ? lines[offset] : "")'")
            }
        }
    }

    /// Runs `binary` in `folder` and returns its standard error.
    static func run(_ binary: URL, _ arguments: [String], in folder: URL, stdoutFull: Bool) throws -> String {
        let full = stdoutFull ? FileHandle(forWritingAtPath: "/dev/full") : nil
        return try ChildProcess.run(binary, arguments, in: folder, standardOutput: full, timeout: 120).err
    }
}
