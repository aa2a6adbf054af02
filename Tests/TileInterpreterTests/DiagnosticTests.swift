import Testing
import AttnHardware
import AttnNumerics
import TileLanguage
@testable import TileInterpreter
import AttnTestSupport
import TileTestSupport

/// Errors in programs name file:line:column and show the line with a caret.
@Suite struct DiagnosticTests {
    typealias S = TestSupport

    static let header = """
        input  Q[batch * heads, N, d]
        input  K[batch * kv_heads, Nkv, d]
        output O[batch * heads, N, d]

        """

    func staticError(_ body: String) -> Diagnostic? {
        do {
            _ = try Checker.check(SourceFile(name: "prog.tile", text: Self.header + body))
            return nil
        } catch {
            return error
        }
    }

    func runtimeError(_ body: String, n: Int = 64, d: Int = 16, params: [String: Int] = [:]) throws -> Diagnostic? {
        let bound = try S.bindSource(Self.header + body, S.shape(heads: 1, n: n, d: d), params: params)
        do {
            _ = try S.count(bound)
            return nil
        } catch let error as Diagnostic {
            return error
        }
    }

    /// (program body, line, column, message fragment) — lines count the 4-line header.
    static let staticCases: [(String, Int, Int, String)] = [
        ("kernel k grid(i: 1):\n  x = (1 + \n", 6, 1, "expected an expression"),
        ("kernel k grid(i: 1):\n  q = load Q[0, rows(i, 4), :]\n  s = q @ kk^T\n", 6, 11, "unknown name 'kk'"),
        ("kernel k grid(i: 1):\n  q = load Q[0, :]\n", 5, 12, "'Q' has 3 dimensions, indexed with 2"),
        ("kernel k grid(i: 1):\n  q = load Q[0, 1, :]\n  s = q @ q\n", 6, 9, "'@' multiplies two 2-D tiles"),
        ("kernel k grid(i: 1):\n  i = 3\n", 5, 3, "grid axis or loop variable"),
        ("kernel k grid(i: 1):\n  x = foo(1)\n", 5, 7, "unknown function 'foo'"),
        ("kernel k grid(i: 1):\n  q = load Q[0, rows(i, 4), :]\n  store O[0, 0, rows(i, 4)] = q\n", 6, 31, "slice of 'O' is 1-D but the stored tile is 2-D"),
        ("kernel k grid(i: 1):\n\tx = 1\n", 5, 1, "tab in indentation"),
        ("param Br = 4\nparam Br = 8\nkernel k grid(i: 1):\n  x = 1\n", 5, 7, "already a parameter"),
        ("kernel k grid(i: 1):\n  if 1.5 < 2:\n    x = 1\n", 5, 10, "comparisons are between integers"),
    ]

    @Test func staticErrorsHaveLocations() throws {
        for (body, line, column, fragment) in Self.staticCases {
            let error = try #require(staticError(body), "expected an error for: \(body)")
            #expect(error.location == SourceLocation(line: line, column: column), "\(error)")
            #expect(error.message.contains(fragment), "\(error.message)")
            let rendered = error.description.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            #expect(rendered[0].hasPrefix("prog.tile:\(line):\(column): error: "))
            #expect(rendered[1].hasSuffix(error.sourceLine))
            // The caret sits under the reported column.
            let caretLine = rendered[2]
            let bar = try #require(caretLine.firstIndex(of: "|"))
            let caretOffset = caretLine.distance(from: bar, to: try #require(caretLine.firstIndex(of: "^"))) - 2
            #expect(caretOffset == column - 1, "\(error)")
        }
    }

    @Test func outOfBoundsSliceIsReportedWhereItHappens() throws {
        let body = """
            kernel k grid(i: cdiv(N, 16)):
              q = load Q[0, rows(i + 1, 16), :]
              store O[0, rows(i, 16), :] = q * 2
            """
        let error = try #require(try runtimeError(body, n: 64))
        #expect(error.location == SourceLocation(line: 5, column: 17))
        #expect(error.message == "block 4 of size 16 starts at 64, outside dimension 1 of 'Q' (extent 64)")
    }

    @Test func shapeMismatchIsReported() throws {
        let body = """
            kernel k grid(i: 1):
              q = load Q[0, rows(i, 16), :]
              k = load K[0, rows(i, 8), :]
              x = q + k
            """
        let error = try #require(try runtimeError(body))
        #expect(error.location == SourceLocation(line: 7, column: 9))
        #expect(error.message.hasPrefix("shape mismatch in '+': 16x16 and 8x16"))
    }

    @Test func storeShapeMismatchIsReported() throws {
        let body = """
            kernel k grid(i: 1):
              q = load Q[0, rows(0, 16), :]
              store O[0, rows(0, 8), :] = q * 2
            """
        let error = try #require(try runtimeError(body))
        #expect(error.message == "the stored tile is 16x16 but the slice of 'O' is 8x16")
    }

    /// A program over the per-block SRAM limit names the kernel, the live buffers with
    /// their bytes, what it needs and the limit.
    @Test func capacityErrorNamesBuffersAndLimit() throws {
        let bound = try S.bind("flash2", S.shape(heads: 1, n: 1024, d: 128), dtype: .fp16, params: ["Br": 256, "Bc": 512])
        do {
            _ = try S.count(bound)
            Issue.record("expected a capacity error")
        } catch let error as Diagnostic {
            // q (256x128x2) + k (512x128x2) + v (512x128x2) = 327,680 > 232,448.
            #expect(error.message.contains("kernel 'fwd' needs 327,680 bytes of shared memory (SRAM) per thread block"))
            #expect(error.message.contains("over the limit of 232,448 bytes"))
            #expect(error.notes.contains("live: q 256x128 x 2 B = 65,536 bytes"))
            #expect(error.notes.contains("live: k 512x128 x 2 B = 131,072 bytes"))
            #expect(error.notes.contains("allocating: v 512x128 x 2 B = 131,072 bytes"))
            #expect(error.file == "builtin:flash2.tile")
            #expect(error.sourceLine.contains("v = load V["))
        }
    }

    @Test func failedRequirementIsReported() throws {
        do {
            _ = try S.bind("flash2", S.shape(heads: 1, n: 64, d: 16), params: ["Br": 0])
            Issue.record("expected a requirement failure")
        } catch let error as BindingError {
            guard case .program(let diagnostic) = error else { throw TestFailure("\(error)") }
            #expect(diagnostic.message == "block sizes Br and Bc must be positive")
            #expect(diagnostic.location.line == (try S.line(of: "require Br > 0", in: "flash2")))
        }
    }

    @Test func unknownParameterOverride() throws {
        do {
            _ = try S.bind("flash2", S.shape(heads: 1, n: 64, d: 16), params: ["Bx": 3])
            Issue.record("expected an error")
        } catch let error as BindingError {
            #expect(error.description == "unknown parameter 'Bx' for builtin:flash2.tile; declared parameters: Br, Bc, causal, window, block_pattern, block_local, block_stride, block_density, block_seed")
        }
    }

    @Test func outputNeverWrittenIsAnError() throws {
        let text = Self.header + """
            check O = attention(Q, K, K)
            kernel k grid(i: 1):
              q = load Q[0, rows(0, 16), :]
              store O[0, rows(0, 16), :] = q
            """
        let program = try Checker.check(SourceFile(name: "partial.tile", text: text.replacingOccurrences(of: "input  K", with: "input  K")))
        let bound = try BoundProgram(program: program, shape: S.shape(heads: 1, n: 64, d: 16), dtype: .fp32, hardware: S.h100)
        do {
            _ = try S.numeric(bound)
            Issue.record("expected an error")
        } catch let error as Diagnostic {
            #expect(error.message == "768 of 1024 elements of 'O' were never written by the program")
        }
    }
}
