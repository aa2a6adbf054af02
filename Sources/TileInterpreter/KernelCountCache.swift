import AttnHardware
import Foundation
import TileLanguage

/// Compressed count-mode results of single kernels, shared by the runs of one program
/// on one hardware profile (the configurations `tune` sweeps), so that a kernel whose
/// inputs are the same in two configurations is counted once.
///
/// A kernel's counts (and whether it fails) depend only on what its replay reads: the
/// values of the parameters its statements and grid name (`Expr.Kind.parameter`), the
/// shapes and dtypes of the tensors it accesses, its grid extents and threads per block
/// (the register limit), and the hardware's limits. The key is exactly those values,
/// found by walking the kernel's syntax (`KernelCountCache.Footprint`); the forward kernel
/// of a forward-backward program, which names Br and Bc but not the backward's Bm and
/// Bn, is then counted once per (Br, Bc). Only successful counts are kept; a failing
/// kernel is counted again (and fails the same way) in every configuration. A kernel
/// taken from the cache spends the units of work counting it spent (`WorkBudget`), so a
/// budget runs out at the same total with or without the cache.
public final class KernelCountCache: @unchecked Sendable {
    /// The program and hardware every run using the cache must have; others bypass it.
    let program: Program
    let hardware: HardwareProfile
    /// Per kernel: the parameters and tensors it reads.
    let footprints: [Footprint]
    /// Each kernel's counts and the units of work counting it spent (`WorkBudget`).
    private var entries: [[Int]: (stats: KernelStats, units: Int)] = [:]
    private let lock = NSLock()
    private var missCount = 0
    private var hitCount = 0

    /// Kernels looked up and not found (then counted), and found (for tests and benchmarks).
    public var lookups: (misses: Int, hits: Int) {
        lock.lock()
        defer { lock.unlock() }
        return (missCount, hitCount)
    }

    public init(program: Program, hardware: HardwareProfile) {
        self.program = program
        self.hardware = hardware
        self.footprints = program.kernels.map(Footprint.init)
    }

    /// Whether runs of `bound` may use this cache.
    func accepts(_ bound: BoundProgram) -> Bool {
        bound.hardware == hardware && bound.program == program
    }

    /// The key of kernel `index` of `bound`: every value its count reads.
    func key(_ bound: BoundProgram, kernel index: Int) -> [Int] {
        let footprint = footprints[index]
        var key = [index]
        key.append(contentsOf: bound.gridExtents[index])
        key.append(-1)
        key.append(bound.kernelThreads[index])
        key.append(bound.kernelStages[index])
        for parameter in footprint.parameters {
            switch bound.parameterValues[parameter] {
            case .int(let i):
                key.append(0)
                key.append(i)
            case .float(let x):
                key.append(1)
                key.append(Int(truncatingIfNeeded: x.bitPattern))
            }
        }
        key.append(-2)
        for tensor in footprint.tensors {
            key.append(tensor)
            key.append(bound.tensorDTypes[tensor].bytes)
            key.append(contentsOf: bound.tensorShapes[tensor])
            key.append(-3)
        }
        return key
    }

    func lookup(_ key: [Int]) -> (stats: KernelStats, units: Int)? {
        lock.lock()
        defer { lock.unlock() }
        if let entry = entries[key] {
            hitCount += 1
            return entry
        }
        missCount += 1
        return nil
    }

    func store(_ key: [Int], _ stats: KernelStats, units: Int) {
        lock.lock()
        entries[key] = (stats, units)
        lock.unlock()
    }

    /// The parameters (by index) and tensors (by index) a kernel's syntax names.
    struct Footprint {
        var parameters: [Int]
        var tensors: [Int]

        init(_ kernel: KernelDecl) {
            var parameters = Set<Int>()
            var tensors = Set<Int>()
            func visit(_ e: Expr) {
                _ = e.contains { node in
                    switch node.kind {
                    case .parameter(let index): parameters.insert(index)
                    case .load(let access, _): tensors.insert(access.tensor)
                    default: break
                    }
                    return false
                }
            }
            func visit(_ access: TensorAccess) {
                tensors.insert(access.tensor)
                access.indexExpressions.forEach(visit)
            }
            func visit(_ statements: [Stmt]) {
                for statement in statements {
                    switch statement.kind {
                    case .assign(_, _, let e): visit(e)
                    case .store(let access, let e):
                        visit(access)
                        visit(e)
                    case .loop(_, _, let lower, let upper, let body):
                        visit(lower)
                        visit(upper)
                        visit(body)
                    case .conditional(let condition, let then, let otherwise):
                        visit(condition)
                        visit(then)
                        visit(otherwise)
                    }
                }
            }
            for axis in kernel.axes { visit(axis.extent) }
            // Not `cluster(c: n)`'s n: a multicast load's bytes are counted per CTA whatever
            // the cluster (`TensorTraffic.multicastToSram`); n enters only the cost model.
            [kernel.threads, kernel.warps, kernel.stages].compactMap { $0 }.forEach(visit)
            visit(kernel.body)
            self.parameters = parameters.sorted()
            self.tensors = tensors.filter { $0 >= 0 }.sorted()
        }
    }
}
