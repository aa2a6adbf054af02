import Foundation
import Testing
import AttnAlgorithms
import AttnCLI
import AttnNumerics
import TileLanguage

/// Source text robustness: CRLF line ends, bytes that are not UTF-8, line lookup, and
/// expressions nested deeper than the parser allows.
@Suite struct SourceTextTests {
    static let program = """
        param Br = 16
        input  Q[batch * heads, N, d]
        output O[batch * heads, N, d]
        kernel copy grid(bh: batch * heads, i: cdiv(N, Br)):
          q = load Q[bh, rows(i, Br), :] -> sram
          store O[bh, rows(i, Br), :] = q + qq

        """

    static func diagnostic(_ source: SourceFile) -> Diagnostic? {
        do {
            _ = try Checker.check(source)
            return nil
        } catch {
            return error
        }
    }

    @Test func crlfGivesTheSameDiagnosticAsLF() throws {
        let lf = try #require(Self.diagnostic(SourceFile(name: "p.tile", text: Self.program)))
        let crlf = try #require(Self.diagnostic(SourceFile(name: "p.tile", text: Self.program.replacingOccurrences(of: "\n", with: "\r\n"))))
        #expect(lf.location == SourceLocation(line: 6, column: 37))
        #expect(crlf == lf)
        #expect(crlf.sourceLine == "  store O[bh, rows(i, Br), :] = q + qq")
    }

    @Test func crlfBuiltInChecksLikeLF() throws {
        let text = try AlgorithmLibrary.builtInSource("flash2").text
        let lf = try Checker.check(SourceFile(name: "f.tile", text: text))
        let crlf = try Checker.check(SourceFile(name: "f.tile", bytes: Array(text.replacingOccurrences(of: "\n", with: "\r\n").utf8)))
        #expect(crlf.kernels == lf.kernels && crlf.tensors == lf.tensors && crlf.checks == lf.checks)
    }

    /// A user's CRLF copy of flash2 runs through the CLI with the built-in's counts.
    @Test func crlfFileRunsThroughTheCLI() throws {
        let text = try AlgorithmLibrary.builtInSource("flash2").text.replacingOccurrences(of: "\n", with: "\r\n")
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("crlf-\(getpid()).tile").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        func csvRow(_ algorithm: String) -> (Int32, String) {
            let captured = CapturedConsole()
            let code = AttnSimCommand.main(["run", "--algorithm", algorithm, "--heads", "2", "--head-dim", "32", "--context", "300", "--format", "csv"], console: captured.console)
            let row = captured.stdout.split(separator: "\n").last.map(String.init) ?? ""
            return (code, row.split(separator: ",").dropFirst(2).joined(separator: ","))
        }
        let crlf = csvRow(path), lf = csvRow("flash2")
        #expect(crlf.0 == 0 && lf.0 == 0)
        #expect(crlf.1 == lf.1 && !lf.1.isEmpty)
    }

    @Test func invalidUTF8IsASyntaxDiagnosticAtItsLineAndColumn() throws {
        // Line 3 is "output Oé[...": 'é' as Latin-1 (0xE9), not UTF-8, after 8 characters.
        var bytes = Array("param Br = 16\r\ninput Q[batch * heads, N, d]\r\noutput O".utf8)
        bytes.append(0xE9)
        bytes += Array("[batch * heads, N, d]\r\n".utf8)
        do {
            _ = try SourceFile(name: "latin1.tile", bytes: bytes)
            Issue.record("bytes that are not UTF-8 were accepted")
        } catch {
            #expect(error.kind == .syntax)
            #expect(error.location == SourceLocation(line: 3, column: 9))
            #expect(error.message.contains("not valid UTF-8") && error.message.contains("0xE9"))
            #expect(error.description.hasPrefix("latin1.tile:3:9: error:"))
            #expect(error.sourceLine.hasPrefix("output O"))
        }
        // A truncated multi-byte sequence at the very end, after a multi-byte character.
        do {
            _ = try SourceFile(name: "t.tile", bytes: Array("# é\nx".utf8) + [0xC3])
            Issue.record("a truncated sequence was accepted")
        } catch {
            #expect(error.location == SourceLocation(line: 2, column: 2))
        }
    }

    @Test func readingAFileChecksItsBytes() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("latin1-\(getpid()).tile").path
        try Data(Array("# caf".utf8) + [0xE9] + Array("\r\nparam Br = 16\r\n".utf8)).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(throws: Diagnostic.self) { try SourceFile.read(path: path) }
        do {
            _ = try SourceFile.read(path: path)
        } catch {
            #expect(error.kind == .syntax && error.location == SourceLocation(line: 1, column: 6) && error.file == path)
        }
        do {
            _ = try SourceFile.read(path: path + ".missing")
            Issue.record("a missing file was read")
        } catch {
            #expect(error.kind == .io && error.message == "cannot read the program: No such file or directory")
        }
    }

    @Test func byteOrderMarkIsDropped() throws {
        let source = try SourceFile(name: "bom.tile", bytes: [0xEF, 0xBB, 0xBF] + Array("param Br = 16\n".utf8))
        #expect(source.text == "param Br = 16\n")
    }

    @Test func lineLookup() {
        var source = SourceFile(name: "x", text: "a\r\nbb\n\nccc")
        #expect((0...5).map(source.line) == ["", "a", "bb", "", "ccc", ""])
        source.text = "é1\nz"
        #expect(source.line(1) == "é1" && source.line(2) == "z" && source.line(3) == "")
        #expect(SourceFile(name: "x", text: "").line(1) == "")
        #expect(SourceFile(name: "x", text: "a\n").line(2) == "")
    }

    /// Many diagnostics on one large source: each line lookup is O(line), not O(file).
    @Test func lineLookupDoesNotRescanTheFile() {
        let text = String(repeating: "x = a + b + c + d + e + f + g + h # padding padding\n", count: 20_000)
        let source = SourceFile(name: "big", text: text)
        let started = Date()
        var total = 0
        for n in stride(from: 1, through: 20_000, by: 1) { total += source.line(n).utf8.count }
        #expect(total == 20_000 * 51)
        // Splitting the whole file per call took minutes here; 20,000 lookups now take milliseconds.
        #expect(Date().timeIntervalSince(started) < 5)
    }

    /// A valid program whose second line is `param b = EXPRESSION`.
    static func kernelWith(_ expression: String) -> SourceFile {
        SourceFile(name: "deep.tile", text: "param a = 1\nparam b = \(expression)\n" + program.replacingOccurrences(of: "q + qq", with: "q * b"))
    }

    @Test func fiveThousandParenthesesAreADiagnostic() throws {
        let depth = 5_000
        let source = Self.kernelWith(String(repeating: "(", count: depth) + "a" + String(repeating: ")", count: depth))
        let error = try #require(Self.diagnostic(source))
        #expect(error.kind == .syntax)
        #expect(error.message.hasPrefix("expression nested deeper than 200 levels"))
        // Line 2 is "param b = (((...": the value is level 1, the expression after the k-th
        // '(' level k + 1; level 201 starts at the 201st '(', column 11 + 200.
        #expect(error.location == SourceLocation(line: 2, column: 11 + Parser.maxDepth))
    }

    @Test func tenThousandTermSumIsADiagnostic() throws {
        let source = Self.kernelWith(Array(repeating: "a", count: 10_000).joined(separator: " + "))
        let error = try #require(Self.diagnostic(source))
        #expect(error.kind == .syntax)
        #expect(error.message.hasPrefix("expression nested deeper than 200 levels"))
        // The chain's height passes 200 at the 200th '+': "param b = a" is 11 characters,
        // each further " + a" 4, so '+' number k is at column 13 + 4 (k - 1).
        #expect(error.location == SourceLocation(line: 2, column: 13 + 4 * (Parser.maxDepth - 1)))
    }

    @Test func deepBlocksAndLongElifChainsAreDiagnostics() throws {
        var nested = "param a = 1\ninput Q[batch * heads, N, d]\noutput O[batch * heads, N, d]\nkernel k grid(bh: batch * heads):\n"
        for level in 1...300 { nested += String(repeating: " ", count: level) + "if a > 0:\n" }
        nested += String(repeating: " ", count: 301) + "x = 1\n"
        let deep = try #require(Self.diagnostic(SourceFile(name: "blocks.tile", text: nested)))
        #expect(deep.kind == .syntax && deep.message.hasPrefix("blocks nested deeper than 200 levels"))
        var chain = "param a = 1\ninput Q[batch * heads, N, d]\noutput O[batch * heads, N, d]\nkernel k grid(bh: batch * heads):\n  if a == 0:\n    x = 0\n"
        for i in 1...5_000 { chain += "  elif a == \(i):\n    x = \(i)\n" }
        let long = try #require(Self.diagnostic(SourceFile(name: "elif.tile", text: chain)))
        // Each 'elif' nests the rest of the chain one block deeper.
        #expect(long.kind == .syntax && long.message.hasPrefix("blocks nested deeper than 200 levels"))
        #expect(long.location.line < 6 + 2 * 201)
    }

    @Test func depthsAtTheLimitStillParse() throws {
        // 199 '+' make a tree of height 200; 198 nested parentheses around it reach 199
        // nested expressions (the outer one is the 200th).
        let sum = Array(repeating: "a", count: 200).joined(separator: " + ")
        #expect(Self.diagnostic(Self.kernelWith(sum)) == nil)
        let nested = String(repeating: "(", count: 199) + "a" + String(repeating: ")", count: 199)
        #expect(Self.diagnostic(Self.kernelWith(nested)) == nil)
        let negations = String(repeating: "-", count: 5_000) + "a"
        let error = try #require(Self.diagnostic(Self.kernelWith(negations)))
        #expect(error.message.hasPrefix("expression nested deeper than 200 levels"))
    }
}
