import AttnCLI
import AttnNumerics
import Foundation
import Testing
import TileInterpreter
import TileLanguage
import AttnTestSupport
import TileTestSupport

/// Every integer the interpreter computes from program values is checked (issue 19): an
/// overflow in a tile size, a mask's or a rotation's positions, a slice, a loop's trip
/// count, a product's FLOPs or a counter is a diagnostic naming the expression at its
/// line and column, in count and numeric mode alike — never a trap.
@Suite struct KernelOverflowTests {
    typealias S = TestSupport

    /// A program whose kernel's second line is `line`.
    static func program(_ line: String) -> String {
        """
        input  Q[batch * heads, N, d]
        output O[batch * heads, N, d]
        temp   T[4] i32
        kernel k grid(i: 1):
          \(line)
          store O[0, 0 ..< N, :] = zeros(N, d)

        """
    }

    func run(_ arguments: [String]) -> (code: Int32, out: String, err: String) {
        let captured = CapturedConsole()
        let code = AttnSimCommand.main(arguments, console: captured.console)
        return (code, captured.stdout, captured.stderr)
    }

    /// The four programs that trapped (exit 132) before, through the command line: `run`
    /// in count and numeric mode and `tune` end with the diagnostic at line 5, column 7,
    /// its source line and caret, and exit 1.
    @Test(arguments: [
        ("t = zeros(4611686018427387904, 4611686018427387904)",
         "integer overflow in 'zeros(4611686018427387904, 4611686018427387904)': a tile of 4611686018427387904 x 4611686018427387904 elements at up to 8 bytes each does not fit in 64 bits"),
        ("t = mask_causal(zeros(2, 2), 9223372036854775807, -9223372036854775807)",
         "integer overflow in 'mask_causal(zeros(2, 2), 9223372036854775807, -9223372036854775807)': the query-key offset q0 - k0 = 9223372036854775807 - (-9223372036854775807) does not fit in 64 bits"),
        ("t = rope_cos(9223372036854775807, 4, 2, 10000.0, 0, 1.0, 4096)",
         "integer overflow in 'rope_cos(9223372036854775807, 4, 2, 10000.0, 0, 1.0, 4096)': the last row's position p0 + r = 9223372036854775807 + 3 does not fit in 64 bits"),
        ("t = full(9223372036854775807, 1.0)",
         "integer overflow in 'full(9223372036854775807, 1.0)': a tile of 9223372036854775807 x 1 elements at up to 8 bytes each does not fit in 64 bits"),
    ])
    func formerCrashesAreDiagnostics(_ line: String, _ message: String) throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("overflow-\(UUID().uuidString).tile")
        try Self.program(line).write(to: url, atomically: false, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: url) }
        let shape = ["--heads", "1", "--head-dim", "4", "--context", "4"]
        for arguments in [["run", "--algorithm", url.path, "--mode", "count"], ["run", "--algorithm", url.path, "--mode", "numeric"], ["tune", "--algorithm", url.path]] {
            let result = run(arguments + shape)
            #expect(result.code == 1, "\(arguments[0]) \(arguments.last ?? ""): \(result.err)")
            #expect(result.err.contains(":5:7: \(message)\n 5 |   \(line)\n   |       ^"), "\(arguments): \(result.err)")
        }
    }

    /// Library runs of `line`: compressed and exhaustive count mode (and numeric mode,
    /// with `numeric`) all end with one diagnostic of kind overflow whose message is
    /// `message`, at line 5.
    @Test(arguments: [
        // A row whose query-key offset passes 2^63 - 1 (the offset itself fits).
        ("t = mask_causal(zeros(4, 2), 9223372036854775806, 0)", true,
         "integer overflow in 'mask_causal(zeros(4, 2), 9223372036854775806, 0)': the last row's query-key offset q0 + r - k0 = 9223372036854775806 + 3 does not fit in 64 bits"),
        ("t = alibi(zeros(2, 2), 9223372036854775807, -9223372036854775807, 0.5)", true,
         "integer overflow in 'alibi(zeros(2, 2), 9223372036854775807, -9223372036854775807, 0.5)': the key-query offset k0 - q0 = -9223372036854775807 - 9223372036854775807 does not fit in 64 bits"),
        ("t = alibi(zeros(2, 3), 0, 9223372036854775806, 0.5)", true,
         "integer overflow in 'alibi(zeros(2, 3), 0, 9223372036854775806, 0.5)': the last column's distance k0 + c - q0 = 9223372036854775806 + 2 does not fit in 64 bits"),
        ("q = load Q[0, rows(4611686018427387904, 4), :]", true,
         "integer overflow in 'rows(4611686018427387904, 4)': its first row 4611686018427387904 * 4 does not fit in 64 bits"),
        ("x = 4611686018427387904 * 2 + i", true,
         "integer overflow in '4611686018427387904 * 2': 4611686018427387904 * 2 does not fit in 64 bits"),
        ("x = cdiv(-9223372036854775807 - 1, -1)", true,
         "integer overflow in 'cdiv(-9223372036854775807 - 1, -1)': cdiv(-9223372036854775808, -1) does not fit in 64 bits"),
        // Numeric mode holds neither operand (over the host limit) — count mode only.
        ("t = zeros(1048576, 4194304) @ zeros(4194304, 1048576)", false,
         "integer overflow in 'zeros(1048576, 4194304) @ zeros(4194304, 1048576)': its FLOPs 2 x 1048576 x 1048576 x 4194304 does not fit in 64 bits"),
        ("t = zeros(4294967296) + zeros(1, 4294967296)", false,
         "integer overflow in 'zeros(4294967296) + zeros(1, 4294967296)': a tile of 4294967296 x 4294967296 elements at up to 8 bytes each does not fit in 64 bits"),
    ])
    func overflowsNameTheExpression(_ line: String, _ numeric: Bool, _ message: String) throws {
        let bound = try S.bindSource(Self.program(line), S.shape(heads: 1, n: 4, d: 4))
        var modes = [RunOptions(mode: .count, compress: true), RunOptions(mode: .count, compress: false)]
        if numeric { modes.append(RunOptions(mode: .numeric)) }
        for options in modes {
            do {
                _ = try Simulator.run(bound, options: options)
                Issue.record("\(line) ran in \(options.mode) mode")
            } catch {
                #expect(error.kind == .overflow, "\(line)")
                #expect(error.message == message, "\(line) (\(options.mode))")
                #expect(error.location.line == 5)
            }
        }
    }

    /// A loop whose trip count passes 2^63 - 1 is refused before it runs, counted or not.
    @Test func loopTripCountOverflow() throws {
        let text = Self.program("for j in -9223372036854775807 - 1 ..< 9223372036854775807:\n    x = j")
        let bound = try S.bindSource(text, S.shape(heads: 1, n: 4, d: 4))
        for options in [RunOptions(mode: .count, compress: true), RunOptions(mode: .count, compress: false), RunOptions(mode: .numeric)] {
            #expect(throws: Diagnostic.self) { _ = try Simulator.run(bound, options: options) }
            do {
                _ = try Simulator.run(bound, options: options)
            } catch {
                #expect(error.kind == .overflow)
                #expect(error.message == "integer overflow in 'for j in -9223372036854775807 - 1 ..< 9223372036854775807': its trip count 9223372036854775807 - (-9223372036854775808) does not fit in 64 bits")
            }
        }
    }

    /// Counters past 2^63 - 1 from one kernel's calls: 8 exponentials of 2^60 elements
    /// each (2^63 exps; each iteration also spills 2^62 bytes). Compressed count mode
    /// multiplies one iteration by 8, exhaustive adds them one by one: each names the
    /// first counter it finds past 2^63 - 1. (Numeric mode cannot hold such a tile.)
    @Test func counterOverflowFromCalls() throws {
        let bound = try S.bindSource(Self.program("for j in 0 ..< 8:\n    t = exp(zeros(1152921504606846976))"), S.shape(heads: 1, n: 4, d: 4))
        for compress in [true, false] {
            do {
                _ = try Simulator.run(bound, options: RunOptions(mode: .count, compress: compress))
                Issue.record("counted")
            } catch {
                #expect(error.kind == .overflow)
                #expect(error.message.hasSuffix("of kernel 'k' pass 2^63 - 1: the run is too large to count in 64-bit integers"), "\(error.message)")
                #expect(error.message.hasPrefix(compress ? "the exps" : "the spill bytes"), "\(error.message)")
            }
        }
    }

    /// Extremes that fit run: a key offset of -2^63 hides every score; a loop at the top
    /// of the integers; a block mask of block 2^63 - 1 in count mode's abstract form.
    @Test func extremesThatFitRun() throws {
        let text = """
            input  Q[batch * heads, N, d]
            output O[batch * heads, N, d]
            kernel k grid(i: 3):
              x = mask_causal(zeros(4, 2), -9223372036854775807 - 1, 0)
              for j in 9223372036854775806 ..< 9223372036854775807:
                y = j + 1
              if block_mask(i, 9223372036854775807, 1, 2, 3, 250, 1):
                z = zeros(2, 2)
              store O[0, 0 ..< N, :] = zeros(N, d)

            """
        let bound = try S.bindSource(text, S.shape(heads: 1, n: 4, d: 4))
        let compressed = try S.count(bound)
        #expect(compressed == (try S.count(bound, compress: false)))
        // Every block masks all 8 scores of its tile.
        #expect(compressed.total.maskedElements == 3 * 8)
        _ = try S.numeric(bound)
    }

    /// A numeric tile's values must fit in host memory (2 GiB, the limit of a numeric run's
    /// tensors); count mode, which holds no values, counts the same program.
    @Test func numericTilesHaveAHostLimit() throws {
        let bound = try S.bindSource(Self.program("t = full(1099511627776, 1.0)"), S.shape(heads: 1, n: 4, d: 4))
        #expect(try S.count(bound).total.peakRegisterBytes == 4 * 1_099_511_627_776)
        do {
            _ = try Simulator.run(bound, options: RunOptions(mode: .numeric))
            Issue.record("allocated 4 TiB")
        } catch {
            #expect(error.message == "the 1099511627776 x 1 tile of 'full(1099511627776, 1.0)' needs 4398046511104 bytes of host memory in numeric mode, over the limit of 2147483648 bytes (2 GiB)")
        }
    }

    /// An i32 element that is not an integer of 64 bits (an input given as 1e30) is a
    /// diagnostic when a numeric run reads it, not a trap.
    @Test func integerLoadsOfNonIntegers() throws {
        let text = Self.program("x = load T[0]\n  y = load Q[0, x % N, :]").replacingOccurrences(of: "temp   T[4] i32", with: "input  T[4] i32")
        let bound = try S.bindSource(text, S.shape(heads: 1, n: 4, d: 4))
        var table = HostTensor(shape: [4], dtype: .fp32)
        table.values = [1e30, 0, 1, 2]
        do {
            _ = try Simulator.run(bound, options: RunOptions(mode: .numeric, inputs: ["T": table]))
            Issue.record("read 1e30 as an integer")
        } catch {
            #expect(error.message == "the value read from 'T' here is not an integer of 64 bits")
            #expect(error.location.line == 5)
        }
    }
}
