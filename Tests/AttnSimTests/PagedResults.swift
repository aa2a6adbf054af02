import AttnScenario
import AttnTestSupport
import Foundation
import KVCache

/// Results of paged scenario files, computed once per test run: the shipped-scenario test
/// and the reproduction tests read the same sweeps, which take tens of seconds each.
final class PagedResults: @unchecked Sendable {
    static let shared = PagedResults()
    private let lock = NSLock()
    private var results: [String: [AllocationStats]] = [:]
    /// One lock per file, so two tests asking for one file wait for the first's run.
    private var fileLocks: [String: NSLock] = [:]

    func stats(_ path: String, _ study: PagedStudy) throws -> [AllocationStats] {
        lock.lock()
        let fileLock = fileLocks[path] ?? NSLock()
        fileLocks[path] = fileLock
        lock.unlock()
        fileLock.lock()
        defer { fileLock.unlock() }
        lock.lock()
        let cached = results[path]
        lock.unlock()
        if let cached { return cached }
        let stats = try StudyRunner.run(study)
        lock.lock()
        results[path] = stats
        lock.unlock()
        return stats
    }

    /// The results of the shipped scenario `name` (without `.json`).
    func stats(scenario name: String) throws -> [AllocationStats] {
        let path = repositoryRoot.appendingPathComponent("scenarios/\(name).json").path
        guard case .paged(let study, _) = try StudyFile.load(path: path) else { throw TestFailure("\(name) is not a paged study") }
        return try stats(path, study)
    }
}
