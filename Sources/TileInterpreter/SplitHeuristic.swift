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
public enum SplitHeuristic {
    public static func numSplits(batchHeadsMBlocks: Int, numSMs: Int, numNBlocks: Int, maxSplits: Int) -> Int {
        if Float(batchHeadsMBlocks) >= 0.8 * Float(numSMs) { return 1 }
        let limit = min(maxSplits, numSMs, numNBlocks)
        guard limit >= 1 else { return 1 }
        func ceilDivide(_ a: Int, _ b: Int) -> Int { (a + b - 1) / b }
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
            // Float arithmetic as in the C++ source, so ties break the same way.
            let waves = Float(batchHeadsMBlocks * splits) / Float(numSMs)
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
