import Foundation

/// Headless Chromium, driven from the command line (no DevTools client, no npm): dump a
/// page's DOM after its scripts ran, with the console on standard error, or take a
/// screenshot. The browser tests need it; `.ci/run` installs it when it is missing.
struct Chromium {
    let executable: URL

    /// How to get the browser when it is missing, for the failure message.
    static let installHint = """
        the browser test needs headless Chromium and found none (looked for $CHROMIUM, then chromium, chromium-browser, \
        google-chrome and google-chrome-stable on PATH). Install it with 'apt-get install -y chromium' (Debian, Ubuntu), \
        or run '.ci/run', which installs it when it is missing and then runs 'swift test'
        """

    /// `$CHROMIUM`, else the first Chromium on `PATH`; nil when there is none.
    static func find() -> Chromium? {
        let environment = ProcessInfo.processInfo.environment
        if let given = environment["CHROMIUM"], FileManager.default.isExecutableFile(atPath: given) {
            return Chromium(executable: URL(fileURLWithPath: given))
        }
        let folders = (environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":").map(String.init)
        for name in ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"] {
            for folder in folders {
                let path = folder + "/" + name
                if FileManager.default.isExecutableFile(atPath: path) { return Chromium(executable: URL(fileURLWithPath: path)) }
            }
        }
        return nil
    }

    /// What one run of the browser left: its exit status, standard output and error.
    struct Outcome {
        var status: Int32
        var out: String
        var err: String
        /// Every line the pages logged to the console (errors, warnings, messages): a
        /// correct page logs nothing.
        var consoleLines: [String] { err.split(separator: "\n").filter { $0.contains(":CONSOLE") }.map(String.init) }
    }

    /// Flags of every run: no sandbox (the tests run as root), no GPU, a fresh profile,
    /// file pages that may read each other (the harness reads its frames' documents), and
    /// the console on standard error.
    func run(_ arguments: [String], timeout: TimeInterval) throws -> Outcome {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("attnsim-chromium-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let flags = [
            "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions", "--disable-dev-shm-usage",
            "--allow-file-access-from-files", "--enable-logging=stderr", "--v=0", "--user-data-dir=\(scratch.path)",
        ]
        let outcome = try ChildProcess.run(executable, flags + arguments, timeout: timeout)
        return Outcome(status: outcome.status, out: outcome.out, err: outcome.err)
    }

    /// The DOM of `page` once loaded (its scripts and its frames' scripts have run).
    func dumpDOM(_ page: URL, timeout: TimeInterval = 180) throws -> Outcome {
        try run(["--dump-dom", page.absoluteString], timeout: timeout)
    }

    /// A PNG of `page` at `width` x `height` CSS pixels, written to `destination`.
    func screenshot(_ page: URL, to destination: URL, width: Int = 1200, height: Int, timeout: TimeInterval = 120) throws -> Outcome {
        try run(["--hide-scrollbars", "--window-size=\(width),\(height)", "--screenshot=\(destination.path)", page.absoluteString], timeout: timeout)
    }
}
