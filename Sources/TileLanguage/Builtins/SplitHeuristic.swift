/// FlashAttention-2's choice of the number of KV splits for split-KV (Flash-Decoding)
/// kernels: `num_splits_heuristic` in flash-attention's csrc/flash_attn/flash_api.cpp.
///
/// With `batch_nheads_mblocks` thread blocks per split and `num_SMs` slots (the caller
/// passes twice the SM count, for 128-thread blocks), it keeps one split when the blocks
/// already fill 80% of the slots; otherwise, among split counts up to
/// min(max_splits, num_SMs, num_n_blocks), it scores each by wave efficiency
/// n_waves / ceil(n_waves) with n_waves = blocks * splits / num_SMs, skips counts that
/// give the same blocks per split as one fewer split, and returns the smallest count
/// within 85% of the best efficiency.
///
/// The search is bounded: FlashAttention-2 calls the heuristic with max_splits = 128 and
/// rejects more (`set_params_splitkv`: `TORCH_CHECK(params.num_splits <= 128, "num_splits
/// > 128 not supported")`), so candidates stop at `maxSupportedSplits` whatever the
/// caller passes, and the loop never runs more than 128 times.
public enum SplitHeuristic {
    /// The most splits FlashAttention-2's split-KV kernels support.
    public static let maxSupportedSplits = 128

    public static func numSplits(batchHeadsMBlocks: Int, numSMs: Int, numNBlocks: Int, maxSplits: Int) -> Int {
        guard numSMs > 0, batchHeadsMBlocks > 0 else { return 1 }
        if Float(batchHeadsMBlocks) >= 0.8 * Float(numSMs) { return 1 }
        let limit = min(maxSplits, numSMs, numNBlocks, maxSupportedSplits)
        guard limit >= 1 else { return 1 }
        // numNBlocks >= limit >= 1 here: the quotient form cannot overflow.
        func ceilDivide(_ a: Int, _ b: Int) -> Int { a / b + (a % b == 0 ? 0 : 1) }
        func eligible(_ splits: Int) -> Bool {
            splits == 1 || ceilDivide(numNBlocks, splits) != ceilDivide(numNBlocks, splits - 1)
        }
        var efficiency: [Float] = []
        var best: Float = 0
        for splits in 1...limit {
            guard eligible(splits) else {
                efficiency.append(0)
                continue
            }
            // Float arithmetic as in the C++ source, so ties break the same way (the
            // product in Float: blocks * splits may not fit in an Int).
            let waves = Float(batchHeadsMBlocks) * Float(splits) / Float(numSMs)
            let value = waves / waves.rounded(.up)
            best = max(best, value)
            efficiency.append(value)
        }
        for splits in 1...limit where eligible(splits) && efficiency[splits - 1] >= 0.85 * best {
            return splits
        }
        return 1
    }
}
