import Foundation
import TileLanguage

/// Runs the thread blocks of one kernel's grid on several cores in numeric mode, with
/// results bit-identical to running them one after another.
///
/// Each worker thread has its own `BlockExecutor` (its own locals, counters and on-chip
/// accounting) reading the kernel's input tensors, which no block of the kernel writes.
/// A worker's stores are held back (`PendingStore`); once every block has run, the
/// coordinator adds each block's counters and applies its stores in row-major block
/// order, exactly the sequence a one-by-one replay produces, so outputs, counters and
/// the first error (by block order) do not depend on the number of threads or on the
/// schedule. A kernel that loads a tensor it also stores could read another block's
/// writes, so it is never run this way (`ParallelReplay.isSafe`).
struct ParallelReplay {
    let plan: KernelPlan
    let extents: [Int]
    let blocks: Int
    let threads: Int
    /// Told the fraction of the kernel done, from any worker (under a lock, so in order).
    let progress: (@Sendable (Double) -> Void)?

    /// Whether the blocks of `plan` may run concurrently: no tensor is both loaded and
    /// stored by the kernel, so no block can observe another block's writes.
    static func isSafe(_ plan: KernelPlan) -> Bool {
        var loaded: Set<Int> = []
        var stored: Set<Int> = []
        collect(plan.body, loaded: &loaded, stored: &stored)
        return loaded.isDisjoint(with: stored)
    }

    private static func collect(_ block: PlannedBlock, loaded: inout Set<Int>, stored: inout Set<Int>) {
        for statement in block.statements {
            switch statement.kind {
            case .assign(_, let value):
                if case .load(let access, _) = value.kind { loaded.insert(access.tensor) }
            case .store(let access, _):
                stored.insert(access.tensor)
            case .loop(_, _, _, let body, _):
                collect(body, loaded: &loaded, stored: &stored)
            case .conditional(_, let then, let otherwise):
                collect(then, loaded: &loaded, stored: &stored)
                collect(otherwise, loaded: &loaded, stored: &stored)
            }
        }
    }

    /// Runs every block and adds the results to `executor` (its counters, its tensors) in
    /// block order; throws the error of the first block (in that order) that failed.
    func run(into executor: BlockExecutor) throws(Diagnostic) {
        let grid = GridBox(extents: extents)
        let workerCount = max(1, min(threads, blocks))
        var workers: [BlockExecutor] = []
        for _ in 0..<workerCount {
            var host = HostMemory(tensors: executor.host.tensors, written: Array(repeating: [], count: executor.host.tensors.count))
            host.pendingStores = []
            let worker = BlockExecutor(bound: executor.bound, mode: .numeric, host: host, trace: nil)
            worker.begin(executor.kernel)
            workers.append(worker)
        }
        let board = Board(blocks: blocks, progress: progress)
        let shared = Workers(executors: workers, plan: plan, grid: grid)
        DispatchQueue.concurrentPerform(iterations: workerCount) { w in
            let worker = shared.executors[w]
            while let block = board.next() {
                worker.host.pendingStores = []
                let outcome = Result<Counters, Diagnostic> { () throws(Diagnostic) in
                    try worker.countBlock(shared.plan, shared.grid.point(atIndex: block))
                }
                board.finish(block, outcome.map { BlockResult(counters: $0, stores: worker.host.pendingStores ?? []) })
            }
        }
        for block in 0..<blocks {
            guard let outcome = board.result(block) else { continue }
            switch outcome {
            case .failure(let error):
                throw error
            case .success(let result):
                do {
                    try executor.counters.add(result.counters)
                } catch {
                    throw executor.overflowError(error)
                }
                executor.host.apply(result.stores, dtypes: executor.bound.tensorDTypes)
            }
        }
    }

    /// What one block did.
    struct BlockResult {
        var counters: Counters
        var stores: [PendingStore]
    }

    /// The workers' executors, each used by one thread at a time, and what they share
    /// read-only.
    private final class Workers: @unchecked Sendable {
        let executors: [BlockExecutor]
        let plan: KernelPlan
        let grid: GridBox
        init(executors: [BlockExecutor], plan: KernelPlan, grid: GridBox) {
            self.executors = executors
            self.plan = plan
            self.grid = grid
        }
    }

    /// Hands out block indices in order and collects their results (under a lock). After
    /// a failure, blocks past the first failing one are no longer handed out: their
    /// results could not matter.
    private final class Board: @unchecked Sendable {
        private let lock = NSLock()
        private var nextBlock = 0
        private var done = 0
        private var firstFailure = Int.max
        private var results: [Result<BlockResult, Diagnostic>?]
        private let blocks: Int
        private let progress: (@Sendable (Double) -> Void)?
        private let every: Int

        init(blocks: Int, progress: (@Sendable (Double) -> Void)?) {
            self.blocks = blocks
            self.results = Array(repeating: nil, count: blocks)
            self.progress = progress
            // Told about 1,000 times a kernel at most: the bar redraws ten times a second.
            self.every = max(1, blocks / 1000)
        }

        func next() -> Int? {
            lock.lock()
            defer { lock.unlock() }
            guard nextBlock < blocks, nextBlock < firstFailure else { return nil }
            nextBlock += 1
            return nextBlock - 1
        }

        func finish(_ block: Int, _ result: Result<BlockResult, Diagnostic>) {
            lock.lock()
            defer { lock.unlock() }
            results[block] = result
            if case .failure = result { firstFailure = min(firstFailure, block) }
            done += 1
            if let progress, done % every == 0 { progress(Double(done) / Double(blocks)) }
        }

        /// The result of `block`; nil for a block never run (past the first failure).
        func result(_ block: Int) -> Result<BlockResult, Diagnostic>? {
            lock.lock()
            defer { lock.unlock() }
            return results[block]
        }
    }
}
