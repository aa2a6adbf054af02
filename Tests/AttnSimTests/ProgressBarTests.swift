@testable import AttnCLI
import Testing

/// The progress bar: terminal only, after a second, at most ten redraws a second, an ETA
/// from the rate so far, erased at the end.
@Suite struct ProgressBarTests {
    final class Clock: @unchecked Sendable {
        var seconds = 0.0
    }

    @Test func drawsOnlyOnATerminalAfterASecondAtMostTenTimesASecond() {
        let clock = Clock()
        let captured = CapturedConsole()
        let bar = ProgressBar(console: captured.console, isTerminal: true, clock: { clock.seconds })
        // 1,000 updates over the first 0.9 s: nothing drawn yet.
        for i in 0..<1000 {
            clock.seconds = 0.0009 * Double(i)
            bar.update(label: "run", fraction: Double(i) / 4000)
        }
        #expect(bar.draws == 0)
        // 3,000 updates over the next 3 s: one redraw per 0.1 s at most, so 30.
        for i in 0..<3000 {
            clock.seconds = 1.0 + 0.001 * Double(i + 1)
            bar.update(label: "run", fraction: Double(1000 + i) / 4000)
        }
        #expect(bar.draws == 30)
        // At 4 s with 3/4 done, the rest takes a third as long: ETA 1s.
        clock.seconds = 4.05
        bar.update(label: "run", fraction: 0.75)
        #expect(captured.stderr.hasSuffix(" 75% ETA 1s   "))
        bar.finish()
        #expect(captured.stderr.hasSuffix("\r" + String(repeating: " ", count: 79) + "\r"))
    }

    @Test func silentWhenNotATerminal() {
        let clock = Clock()
        let captured = CapturedConsole()
        let bar = ProgressBar(console: captured.console, isTerminal: false, clock: { clock.seconds })
        clock.seconds = 5
        bar.update(label: "run", fraction: 0.5)
        bar.finish()
        #expect(captured.stderr.isEmpty)
    }

    @Test(arguments: [(0.0, "0s"), (12.4, "12s"), (65.0, "1m05s"), (-1.0, "?"), (Double.infinity, "?")])
    func durations(_ seconds: Double, _ text: String) {
        #expect(ProgressBar.duration(seconds) == text)
    }
}
