/// The statements a run may replay before it stops (`RunOptions.statementBudget`), and how
/// many it has replayed.
struct StatementBudget {
    /// The most statements; `Int.max` for no limit.
    let limit: Int
    private(set) var spent = 0

    init(limit: Int?) {
        self.limit = limit ?? Int.max
    }

    /// Whether the run has a limit.
    var isLimited: Bool { limit != Int.max }

    /// Counts one statement; false once the run is past its limit.
    mutating func spend() -> Bool {
        spent += 1
        return spent <= limit
    }
}
