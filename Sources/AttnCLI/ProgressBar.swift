import Foundation

/// A one-line progress bar with an ETA on standard error, for work that takes more than
/// a second: shown only when standard error is a terminal, redrawn at most ten times a
/// second, and erased when the work is done.
///
/// Safe to call from any thread: a run's workers report progress on their own threads
/// (`ParallelReplay`), so one lock guards the redraw state and each redraw, and a redraw
/// never races `finish()`.
final class ProgressBar: Sendable {
    private let console: Console
    private let enabled: Bool
    private let now: @Sendable () -> Double
    private let start: Double
    private let state = Locked(State())

    /// What changes between redraws.
    private struct State {
        var lastDraw = -Double.infinity
        var shown = false
        var draws = 0
    }

    /// Redraws so far (tests check the rate limit).
    var draws: Int { state.withLock { $0.draws } }

    /// The least time between two redraws, seconds.
    static let redrawInterval = 0.1
    /// Work shorter than this shows no bar, seconds.
    static let delay = 1.0

    /// `isTerminal` and `clock` (seconds, monotonic) are for tests; by default standard
    /// error's `isatty` and the system's uptime.
    init(console: Console, isTerminal: Bool = isatty(2) != 0, clock: @escaping @Sendable () -> Double = ProgressBar.uptime) {
        self.console = console
        self.enabled = isTerminal
        self.now = clock
        self.start = clock()
    }

    @Sendable static func uptime() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }

    /// Shows `fraction` (0 to 1) of the work done under `label`, with the time left
    /// estimated from the rate so far.
    func update(label: String, fraction: Double) {
        guard enabled else { return }
        state.withLock { state in
            let t = now()
            let elapsed = t - start
            guard elapsed > Self.delay, t - state.lastDraw >= Self.redrawInterval else { return }
            state.lastDraw = t
            state.shown = true
            state.draws += 1
            console.err(Self.line(label: label, fraction: fraction, elapsed: elapsed))
        }
    }

    /// The bar's text: `\rlabel [####......]  42% ETA 3s   `.
    private static func line(label: String, fraction: Double, elapsed: Double) -> String {
        let done = min(max(fraction.isFinite ? fraction : 0, 0), 1)
        let width = 30
        let filled = Int((done * Double(width)).rounded(.down))
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
        let eta = done > 0 ? duration(elapsed * (1 - done) / done) : "?"
        let name = label.count > 24 ? String(label.prefix(23)) + "~" : label.padding(toLength: 24, withPad: " ", startingAt: 0)
        return "\r\(name) [\(bar)] \(String(format: "%3d", Int(done * 100)))% ETA \(eta)   "
    }

    /// Erases the bar, if it was shown.
    func finish() {
        state.withLock { state in
            if state.shown { console.err("\r" + String(repeating: " ", count: 79) + "\r") }
            state.shown = false
        }
    }

    /// `1m05s`, `12s`.
    static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0 else { return "?" }
        let s = Int(seconds.rounded())
        return s >= 60 ? "\(s / 60)m\(String(format: "%02d", s % 60))s" : "\(s)s"
    }
}
