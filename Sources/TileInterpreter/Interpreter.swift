import AttnHardware
import AttnNumerics
import Foundation
import TileLanguage

/// Replays a bound program kernel by kernel: sets up HBM (numeric mode), runs each
/// kernel's grid through a `BlockExecutor` — every block in order, on all cores in
/// numeric mode (`ParallelReplay`, same results), or through a `CountCompressor` in
/// compressed count mode — and verifies the outputs.
struct Interpreter {
    let bound: BoundProgram
    let options: RunOptions
    let trace: TraceSink?

    var source: SourceFile { bound.program.source }
    var isNumeric: Bool { options.mode == .numeric }

    /// Threads a numeric replay runs blocks on (`RunOptions.threads`; nil: one per core).
    var threads: Int { max(1, options.threads ?? ProcessInfo.processInfo.activeProcessorCount) }

    /// Whether boxes of blocks and iterations may be counted once and multiplied.
    var compresses: Bool { options.mode == .count && options.compress && trace == nil }

    func run() throws(Diagnostic) -> RunResult {
        let host = isNumeric ? try allocateTensors() : HostMemory()
        let executor = BlockExecutor(bound: bound, mode: options.mode, host: host, trace: trace)
        executor.work.budget = options.budget
        var kernels: [KernelStats] = []
        let cache = compresses ? options.countCache.flatMap { $0.accepts(bound) ? $0 : nil } : nil
        for (index, declaration) in bound.program.kernels.enumerated() {
            let key = cache?.key(bound, kernel: index)
            if let cache, let key, let entry = cache.lookup(key) {
                // A kernel counted before spends what counting it spent.
                try executor.spend(entry.units)
                kernels.append(entry.stats)
                continue
            }
            let before = executor.work.unitsDone
            let stats = try runKernel(declaration, extents: bound.gridExtents[index], executor, number: index)
            if let cache, let key { cache.store(key, stats, units: executor.work.unitsDone - before) }
            kernels.append(stats)
        }
        try executor.settleWork()
        let stats = RunStats(kernels: kernels, tensorNames: bound.program.tensors.map(\.name))
        do {
            _ = try stats.checkedTotal()
        } catch {
            throw executor.overflowError(error)
        }
        guard isNumeric else { return RunResult(stats: stats, checks: [], tensors: [:]) }
        let checks = try Verifier(bound: bound, tensors: executor.host.tensors, written: executor.host.written).verify()
        var byName: [String: HostTensor] = [:]
        for (declaration, tensor) in zip(bound.program.tensors, executor.host.tensors) { byName[declaration.name] = tensor }
        return RunResult(stats: stats, checks: checks, tensors: byName)
    }

    private func allocateTensors() throws(Diagnostic) -> HostMemory {
        var tensors: [HostTensor] = []
        var written: [[Bool]] = []
        var generator = SeededGenerator(seed: options.seed)
        for (index, declaration) in bound.program.tensors.enumerated() {
            let shape = bound.tensorShapes[index]
            let dtype = bound.tensorDTypes[index]
            if let given = options.inputs[declaration.name] {
                guard given.shape == shape else {
                    throw Diagnostic(.bounds, source, declaration.location, "the given '\(declaration.name)' has shape \(given.shape); the program declares \(shape)")
                }
                tensors.append(given)
            } else if declaration.role == .input {
                switch declaration.initializer {
                case .normal:
                    tensors.append(HostTensor(randomNormal: shape, dtype: dtype, generator: &generator))
                case .uniform(let lo, let hi):
                    let a = try ScalarEvaluator.evaluate(lo, parameters: bound.parameterValues, source: source).asDouble
                    let b = try ScalarEvaluator.evaluate(hi, parameters: bound.parameterValues, source: source).asDouble
                    var tensor = HostTensor(shape: shape, dtype: dtype)
                    for i in tensor.values.indices { tensor.values[i] = dtype.round(Float(a + (b - a) * generator.nextUnit())) }
                    tensors.append(tensor)
                case .permutation:
                    var tensor = HostTensor(shape: shape, dtype: dtype)
                    var order = Array(0..<tensor.count)
                    order.shuffle(using: &generator)
                    tensor.values = order.map(Float.init)
                    tensors.append(tensor)
                case .quantize(let quantize):
                    tensors.append(try quantizedInput(quantize, index: index, into: &tensors))
                case .pool(let pool):
                    tensors.append(try pooledInput(pool, index: index, from: tensors))
                }
            } else {
                tensors.append(HostTensor(shape: shape, dtype: dtype))
            }
            written.append(declaration.role == .output ? Array(repeating: false, count: shape.reduce(1, *)) : [])
        }
        return HostMemory(tensors: tensors, written: written)
    }
    /// Runs one kernel's grid: compressed, or block by block in row-major order.
    private func runKernel(_ declaration: KernelDecl, extents: [Int], _ executor: BlockExecutor, number: Int) throws(Diagnostic) -> KernelStats {
        executor.begin(declaration)
        let plan = KernelPlan(declaration)
        var blocks = 1
        for extent in extents {
            let (product, overflow) = blocks.multipliedReportingOverflow(by: extent)
            if overflow {
                throw Diagnostic(.overflow, source, declaration.location, "kernel '\(declaration.name)' has a grid of \(extents.map(String.init).joined(separator: " x ")) thread blocks, more than 2^63 - 1")
            }
            blocks = product
        }
        if compresses {
            try CountCompressor(executor: executor, plan: plan).countGrid(extents: extents)
        } else if blocks > 1, threads > 1, isNumeric, trace == nil, executor.work.budget == nil, ParallelReplay.isSafe(plan) {
            let kernels = Double(bound.program.kernels.count)
            let progress = options.progress.map { report in
                { @Sendable (fraction: Double) in report((Double(number) + fraction) / kernels) }
            }
            try ParallelReplay(plan: plan, extents: extents, blocks: blocks, threads: threads, progress: progress).run(into: executor)
        } else if blocks > 0 {
            try executor.affordRepeats(blocks, of: plan.body, at: declaration.location)
            let grid = GridBox(extents: extents)
            let kernels = Double(bound.program.kernels.count)
            // Told about 1,000 times a kernel at most: the bar redraws ten times a second.
            let every = max(1, blocks / 1000)
            for block in 0..<blocks {
                if let progress = options.progress, block % every == 0 {
                    progress((Double(number) + Double(block) / Double(blocks)) / kernels)
                }
                try executor.runBlock(plan, grid.point(atIndex: block))
            }
        }
        return KernelStats(name: declaration.name, grid: extents, blocks: blocks, counters: executor.counters)
    }
}
