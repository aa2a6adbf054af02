import AttnNumerics
import TileLanguage

/// What one run's executor has spent of its command's budget: units are charged to the
/// shared `WorkBudget` a quantum at a time (a lock per statement would cost more than
/// the statement), and once more when the run ends.
struct WorkMeter {
    /// The command's budget; nil: no limit.
    var budget: WorkBudget? {
        didSet { quantum = budget.map { Swift.max(1, Swift.min(4096, $0.limitUnits / 64)) } ?? 4096 }
    }
    /// Units this executor has spent, charged or not.
    private(set) var unitsDone = 0
    private var pending = 0
    private var quantum = 4096

    /// Spends `units`; false once the budget is passed.
    mutating func spend(_ units: Int) -> Bool {
        unitsDone = unitsDone.addingReportingOverflow(units).overflow ? Int.max : unitsDone + units
        pending = pending.addingReportingOverflow(units).overflow ? Int.max : pending + units
        return pending < quantum || settle()
    }

    /// Charges what is pending to the budget; false when it is passed.
    mutating func settle() -> Bool {
        defer { pending = 0 }
        guard let budget, pending > 0 else { return true }
        return budget.spend(pending) >= 0
    }

    /// Whether `units` more fit in what is left of the budget.
    func affords(_ units: Int) -> Bool {
        guard let budget else { return true }
        return units <= budget.limitUnits - budget.spentUnits - pending
    }
}

extension BlockExecutor {
    /// Spends `units` of work done outside statements (proof steps, blocks or rows listed
    /// from coordinates), or stops the run at its budget.
    func spend(_ units: Int) throws(Diagnostic) {
        if !work.spend(units) { throw budgetError(at: kernel.location) }
    }

    /// Charges the units still pending to the budget, or stops the run (at its end).
    func settleWork() throws(Diagnostic) {
        if !work.settle() { throw budgetError(at: kernel.location) }
    }

    /// Refuses at once `count` repetitions of `body` (loop iterations or thread blocks run
    /// one by one) when they cannot fit in what is left of the budget: each runs at least
    /// its top-level statements.
    func affordRepeats(_ count: Int, of body: PlannedBlock, at location: SourceLocation) throws(Diagnostic) {
        guard work.budget != nil, count > 1 else { return }
        let (units, overflow) = count.multipliedReportingOverflow(by: Swift.max(1, body.statements.count))
        if overflow || !work.affords(units) { throw budgetError(at: location, ahead: overflow ? Int.max : units) }
    }

    /// The diagnostic for a run stopped at its budget, or refused because the replay ahead
    /// (`ahead` units at least) cannot fit in it.
    func budgetError(at location: SourceLocation, ahead: Int? = nil) -> Diagnostic {
        let limit = NumberFormat.grouped(work.budget?.limitUnits ?? 0)
        let what = ahead.map { "would replay at least \(NumberFormat.grouped($0)) statements one by one here, more than is left of its budget of \(limit) units of work (about a minute)" }
            ?? "was stopped at its budget of \(limit) units of work (statements replayed and proof steps, about a minute)"
        return error(
            "the run \(what): kernel '\(kernel.name)' has blocks or iterations count mode cannot prove alike at this shape, so it replays them one by one",
            location, kind: .budget,
            notes: ["run a smaller context (counts follow the closed-form laws in docs/io-laws.md), or run it with `attnsim run --allow-long` (scenario field \"allow_long\": true) to the end"])
    }
}
