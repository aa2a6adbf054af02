import AttnCLI
import Foundation
import Testing

/// `tune` keeps apart configurations that cannot run (over capacity), those the program
/// refuses (a failed `require`), and real errors, which end it with exit 1.
@Suite struct TuneTests {
    /// The program declares Br's space, 16, 32, 64, 128, 256 (`# @tune`). `X[Br, 512]` fp32
    /// loaded into SRAM holds Br x 2 KiB:
    /// 32 KiB, 64 KiB and 128 KiB fit the H100's 227 KiB per block; Br = 128 needs 256 KiB
    /// of shared memory (over capacity: registers would spill, shared memory cannot);
    /// Br = 256 fails `require Br <= 128`.
    static func program(failingAt failing: Int?) -> String {
        var text = """
            param Br = 16
            # @tune Br: 16, 32, 64, 128, 256
            require Br <= 128
            input X[Br, 512] fp32
            output O[1, 4]
            kernel k grid(i: 1):
              t = load X[0 ..< Br, :] -> sram
              u = zeros(1, 4)

            """
        if let failing {
            text += "  if Br == \(failing):\n    c = col(zeros(2, 2), 5)\n"
        }
        text += "  store O[0 ..< 1, :] = u\n"
        return text
    }

    func tune(_ text: String, verbose: Bool = false) throws -> (code: Int32, out: String, err: String) {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("tune-\(UUID().uuidString).tile")
        try text.write(to: url, atomically: false, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: url) }
        let captured = CapturedConsole()
        var arguments = ["tune", "--algorithm", url.path, "--heads", "1", "--head-dim", "4", "--context", "4"]
        if verbose { arguments.append("--verbose") }
        let code = AttnSimCommand.main(arguments, console: captured.console)
        return (code, captured.stdout, captured.stderr)
    }

    @Test func capacityAndRequirementsAreReportedApart() throws {
        let result = try tune(Self.program(failingAt: nil), verbose: true)
        #expect(result.code == 0)
        #expect(result.out.contains("3 configurations fit h100-sxm; 1 over its shared memory or registers; 1 refused by the program"))
        #expect(result.out.contains("over capacity: Br=128: kernel 'k' needs 262,144 bytes of shared memory (SRAM) per thread block"))
        #expect(result.out.contains("refused: Br=256: "))
    }

    /// A configuration that fails for any other reason is not counted as rejected: tune
    /// stops with the error.
    @Test func otherErrorsAreNeverSwallowed() throws {
        let result = try tune(Self.program(failingAt: 32))
        #expect(result.code == 1)
        #expect(result.err.contains("column 5 is outside the 2x2 tile"))
        #expect(!result.out.contains("configurations fit"))
    }
}
