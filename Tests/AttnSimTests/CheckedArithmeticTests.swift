import Testing
import AttnCLI
import AttnNumerics
import TileInterpreter
import TileLanguage
import AttnTestSupport
import TileTestSupport

/// Integer arithmetic on parameters is checked (an overflow is a diagnostic naming the
/// expression, never a trap) and the split heuristic's search is bounded.
@Suite struct CheckedArithmeticTests {
    typealias S = TestSupport

    static func program(_ expression: String) -> String {
        """
        param M = 1
        param X = \(expression)
        input  Q[batch * heads, N, d]
        output O[batch * heads, N, d]
        kernel copy grid(bh: batch * heads):
          q = load Q[bh, :, :] -> sram
          store O[bh, :, :] = q
        """
    }

    static func bindX(_ expression: String, M: Int) throws -> ScalarValue? {
        try S.bindSource(program(expression), S.shape(heads: 1, n: 4, d: 4), params: ["M": M]).parameter("X")
    }

    static func overflow(_ expression: String, M: Int) -> Diagnostic? {
        do {
            _ = try bindX(expression, M: M)
            return nil
        } catch BindingError.program(let diagnostic) {
            return diagnostic
        } catch {
            return nil
        }
    }

    @Test func overflowsAreDiagnosticsNamingTheExpression() throws {
        let cases: [(expression: String, M: Int, detail: String)] = [
            ("-M", Int.min, "'-M': -(-9223372036854775808)"),
            ("M * 4 + 1", Int.max / 2, "'M * 4': 4611686018427387903 * 4"),
            ("(M - 1) * (M + 0)", Int.max, "'(M - 1) * (M + 0)': 9223372036854775806 * 9223372036854775807"),
            ("M + d", Int.max, "'M + d': 9223372036854775807 + 4"),
            ("M - 1", Int.min, "'M - 1': -9223372036854775808 - 1"),
            ("M / -1", Int.min, "'M / -1': -9223372036854775808 / -1"),
            ("cdiv(M, -1)", Int.min, "'cdiv(M, -1)': cdiv(-9223372036854775808, -1)"),
        ]
        for c in cases {
            let diagnostic = try #require(Self.overflow(c.expression, M: c.M), "\(c.expression)")
            #expect(diagnostic.kind == .overflow, "\(c.expression)")
            #expect(diagnostic.location.line == 2, "\(c.expression)")
            #expect(diagnostic.message.hasPrefix("integer overflow in \(c.detail)"), "\(c.expression): \(diagnostic.message)")
            #expect(diagnostic.message.hasSuffix("does not fit in 64 bits"))
        }
    }

    @Test func divisionsNearIntMinAreExact() throws {
        // ceil(-2^63 / 256) = -2^55; Int.min mod 3 = 1 (2^63 = 3 x 3074457345618258602 + 2);
        // Int.min mod -1 = 0; floor(-2^63 / 3) = -3074457345618258603.
        #expect(try Self.bindX("cdiv(M, 256)", M: Int.min) == .int(-(1 << 55)))
        #expect(try Self.bindX("M % 3", M: Int.min) == .int(1))
        #expect(try Self.bindX("M % -1", M: Int.min) == .int(0))
        #expect(try Self.bindX("M / 3", M: Int.min) == .int(-3_074_457_345_618_258_603))
        #expect(try Self.bindX("cdiv(M, 3)", M: Int.max) == .int(3_074_457_345_618_258_603))
        #expect(try Self.bindX("-M", M: Int.max) == .int(-Int.max))
        // block_mask(i, j, 1, local, ...) on blocks 2^64 apart: not local, no trap.
        #expect(try Self.bindX("block_mask(M, 1, 1, 2, 0, 250, 1)", M: Int.min) == .int(0))
        #expect(try Self.bindX("block_mask(M, M + 1, 1, 2, 0, 250, 1)", M: Int.min) == .int(1))
    }

    @Test func hugeTensorsAndGridsAreOverflowDiagnostics() throws {
        let huge = """
            param M = 1
            input  Q[M, M, d]
            output O[M, M, d]
            kernel copy grid(i: M, j: M):
              q = load Q[i, j, :] -> sram
              store O[i, j, :] = q
            """
        do {
            _ = try S.bindSource(huge, S.shape(heads: 1, n: 4, d: 4), params: ["M": 1 << 31])
            Issue.record("a tensor of 2^64 elements was bound")
        } catch BindingError.program(let diagnostic) {
            #expect(diagnostic.kind == .overflow)
            #expect(diagnostic.message.contains("tensor 'Q'"))
        }
    }

    @Test func intMinParameterThroughTheCLIIsAnErrorNotACrash() {
        let captured = CapturedConsole()
        let code = AttnSimCommand.main(
            ["run", "--algorithm", "flash1", "--heads", "8", "--head-dim", "64", "--context", "4k", "--param", "M=-9223372036854775808"],
            console: captured.console)
        #expect(code == 1)
        #expect(captured.stderr.contains("block sizes Br and Bc must be positive"))
        #expect(captured.stderr.contains("Bc=-36028797018963968"))
    }

    /// FlashAttention-2 bounds the candidates by min(max_splits, num_SMs, num_n_blocks)
    /// and supports at most 128 splits; huge arguments neither loop long nor overflow.
    @Test func splitSearchIsBounded() {
        // One block per split on an enormous machine: efficiency s / numSMs grows with s,
        // the best is at the cap 128, and the smallest within 85% is 109 (108/128 = 0.84).
        #expect(SplitHeuristic.numSplits(batchHeadsMBlocks: 1, numSMs: Int.max, numNBlocks: Int.max, maxSplits: Int.max) == 109)
        #expect(SplitHeuristic.numSplits(batchHeadsMBlocks: 1, numSMs: 1_000_000_007, numNBlocks: 1_000_000_007, maxSplits: 1_000_000_007) == 109)
        // FlashAttention-2's own example: 48 blocks on 108 SMs, 2 splits (efficiency 0.89).
        #expect(SplitHeuristic.numSplits(batchHeadsMBlocks: 48, numSMs: 108, numNBlocks: 64, maxSplits: 128) == 2)
        #expect(SplitHeuristic.numSplits(batchHeadsMBlocks: Int.max / 2, numSMs: 7, numNBlocks: 3, maxSplits: 128) == 1)
        #expect(SplitHeuristic.numSplits(batchHeadsMBlocks: 0, numSMs: 0, numNBlocks: 0, maxSplits: 0) == 1)
    }
}
