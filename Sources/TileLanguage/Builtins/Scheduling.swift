/// Launch heuristics a program's parameters use to pick its schedule.
extension Builtin {
    static let scheduling: [Builtin] = [.fa2NumSplits]

    /// `fa2_num_splits(batch_nheads_mblocks, num_sms, num_n_blocks, max_splits)`:
    /// FlashAttention-2's split count for split-KV decoding (`SplitHeuristic`). Counts
    /// nothing; in count mode it is known where its arguments are single values.
    public static let fa2NumSplits = Builtin(
        "fa2_num_splits",
        BuiltinSpec(required: Array(repeating: ArgumentSpec("an argument", .integer), count: 4), result: .integer, counting: .none),
        .integer(numSplits, form: .pointwise(numSplits)))

    @Sendable private static func numSplits(_ x: [Int]) throws(BuiltinFailure) -> Int {
        guard x[1] > 0, x[3] > 0 else { throw .invalid("'fa2_num_splits' needs a positive SM count and maximum") }
        return SplitHeuristic.numSplits(batchHeadsMBlocks: x[0], numSMs: x[1], numNBlocks: x[2], maxSplits: x[3])
    }
}
