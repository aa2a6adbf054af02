import Foundation

/// The work one command may do before it stops with a `.budget` diagnostic, shared by
/// every run the command makes (a scenario's runs, `tune`'s configurations, `model`'s
/// kernels), on any thread.
///
/// Work is counted in units: one per statement the interpreter replays, five per
/// statement a uniformity proof visits (`UniformityChecker.unitsPerStep`), and one per
/// block or row count mode lists from coordinates. Compressed runs spend a few thousand; a run that cannot compress
/// replays about 6e6 a second (release build, 2-core reference machine), so
/// `standardUnits` is about a minute of it. A kernel taken from a `KernelCountCache`
/// spends what counting it spent, so whether a command passes its budget does not depend
/// on the cache or on the order its runs finish in.
public final class WorkBudget: @unchecked Sendable {
    /// The units the command may spend.
    public let limitUnits: Int
    private let lock = NSLock()
    private var spent = 0

    public init(limitUnits: Int) {
        self.limitUnits = limitUnits
    }

    /// A command's budget unless it is run with `--allow-long`: 3.6e8 units, about a
    /// minute of replay that cannot compress (a loop carrying an integer, 4096 x 4096
    /// iterations, ran in 2.8 s: 6e6 statements a second).
    public static let standardUnits = 360_000_000

    /// A fresh budget of `standardUnits`.
    public static func standard() -> WorkBudget { WorkBudget(limitUnits: standardUnits) }

    /// Units spent so far by every run that shares the budget.
    public var spentUnits: Int {
        lock.lock()
        defer { lock.unlock() }
        return spent
    }

    /// Spends `units` and returns the units left (negative once past the limit).
    func spend(_ units: Int) -> Int {
        lock.lock()
        defer { lock.unlock() }
        let (sum, overflow) = spent.addingReportingOverflow(units)
        spent = overflow ? Int.max : sum
        return limitUnits - spent
    }
}
