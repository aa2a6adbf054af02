import AttnHardware
import KVCache

/// Serving iteration times from the whole-model predictor: what `attnsim paged --timing
/// model` gives `ServingSimulator`.
///
/// An iteration over T tokens (every prompt chunk's tokens plus one per decoding
/// sequence) and S sequences takes
///
///     body(T) + lm_head(S) + decode_attention(n, mean context) + sum over chunks prefill_attention(t, cached)
///
/// where body is every operator of `ModelPredictor.iteration` but the attention kernels
/// and the LM head (projections, FFN or experts, norms, residuals, all-reduces), the
/// decode attention is one flash-decoding call over the n decoding sequences at their
/// mean context (its bytes grow with the summed context), and each prompt chunk of t
/// tokens after `cached` ones is one causal flash2 call. Each term is predicted at
/// powers of two (cached tokens also at 0) and interpolated linearly in between
/// (bilinearly for the two-argument terms), so a trace of thousands of iterations needs
/// a few dozen predictions; past the largest point a term grows in proportion.
///
/// With prefix caching, cached blocks that several decoding sequences hold are read as a
/// cascade kernel reads them (`IterationBatch.cascadeSavedTokens`): the decode attention
/// is taken over the KV tokens read, summed context less the tokens saved, so its bytes
/// are the cascade's (decode attention is bound by those bytes).
public struct ModelIterationTimer: IterationTimer {
    public var predictor: ModelPredictor
    public let label: String
    public var fixedSeconds: Double? { nil }

    private var body: [Int: Double] = [:]
    private var head: [Int: Double] = [:]
    private var decode: [[Int]: Double] = [:]
    private var prefill: [[Int]: Double] = [:]
    /// cascade.tile's Bb for one query per request: max(1, 128 / (heads / kv_heads)) requests
    /// whose queries share one tile of the prefix kernel.
    public let cascadeRequestsPerBlock: Int

    /// Grid points are powers of two up to 2^30; larger arguments scale the last cell.
    static let largestPoint = 1 << 30

    public init(predictor: ModelPredictor) {
        self.predictor = predictor
        let tp = predictor.options.tensorParallel
        let group = predictor.architecture.layers.lazy.compactMap { layer -> Int? in
            if case .attention(let heads, let kvHeads) = layer.mixer { return heads / max(1, kvHeads) }
            return nil
        }.first ?? 1
        cascadeRequestsPerBlock = max(1, 128 / max(1, group))
        label = "model \(predictor.architecture.id) on \(predictor.hardware.id)\(tp > 1 ? " x\(tp) (tp)" : "") \(predictor.options.dtype)"
    }

    /// A send of `bytes` to one peer over `link`, as the cost model times it (NCCL's
    /// point-to-point: one ring hop under LL or Simple, `CostModel.send`).
    public func transferSeconds(bytes: Int, over link: Interconnect) -> Double {
        predictor.costModel.transferSeconds(bytes: bytes, over: link)
    }

    /// A copy of `bytes` between HBM and `tier` in `transfers` copies, as the cost model
    /// times it (`CostModel.tierTransferSeconds`: a fixed cost per copy, then the bytes at
    /// the link's bandwidth).
    public func tierTransferSeconds(bytes: Int, transfers: Int, tier: MemoryTier) -> Double {
        predictor.costModel.tierTransferSeconds(bytes: bytes, transfers: transfers, tier: tier)
    }

    public mutating func seconds(_ batch: IterationBatch) throws -> Double {
        let tokens = batch.prefillTokens + batch.decodeSequences
        let sequences = batch.prefill.count + batch.decodeSequences
        guard tokens >= 1 else { throw ModelShapeError("an iteration needs at least one token") }
        var total = try Self.interpolate(tokens) { t throws(ModelShapeError) in try bodySeconds(t) }
        total += try Self.interpolate(sequences) { s throws(ModelShapeError) in try headSeconds(s) }
        if batch.decodeSequences > 0 {
            let read = batch.decodeContextTokens - batch.cascadeSavedTokens(requestsPerBlock: cascadeRequestsPerBlock)
            let mean = max(1, (read + batch.decodeSequences / 2) / batch.decodeSequences)
            total += try Self.interpolate(batch.decodeSequences, mean) { n, c throws(ModelShapeError) in try decodeSeconds(n, c) }
        }
        for chunk in batch.prefill {
            guard chunk.tokens >= 1, chunk.context >= chunk.tokens else {
                throw ModelShapeError("a prompt chunk needs tokens >= 1 and context >= tokens (found \(chunk.tokens), \(chunk.context))")
            }
            total += try Self.interpolate(chunk.tokens, chunk.context - chunk.tokens, secondFromZero: true) { t, p throws(ModelShapeError) in
                try prefillSeconds(t, p)
            }
        }
        return total
    }

    // MARK: The terms at grid points

    private static func attention(_ step: StepPrediction) -> Double {
        step.operators.filter { $0.name == "attention" }.reduce(0) { $0 + $1.totalSeconds }
    }

    private mutating func bodySeconds(_ tokens: Int) throws(ModelShapeError) -> Double {
        if let hit = body[tokens] { return hit }
        let step = try predictor.iteration(ForwardLoad(prefill: [.init(tokens: tokens, context: tokens)]))
        let value = step.operators.filter { $0.name != "attention" && $0.name != "lm_head" }.reduce(0) { $0 + $1.totalSeconds }
        body[tokens] = value
        return value
    }

    private mutating func headSeconds(_ sequences: Int) throws(ModelShapeError) -> Double {
        if let hit = head[sequences] { return hit }
        let step = try predictor.iteration(ForwardLoad(decode: [.init(context: 1, sequences: sequences)]))
        let value = step.operators.filter { $0.name == "lm_head" }.reduce(0) { $0 + $1.totalSeconds }
        head[sequences] = value
        return value
    }

    private mutating func decodeSeconds(_ sequences: Int, _ context: Int) throws(ModelShapeError) -> Double {
        if let hit = decode[[sequences, context]] { return hit }
        let value = Self.attention(try predictor.iteration(ForwardLoad(decode: [.init(context: context, sequences: sequences)])))
        decode[[sequences, context]] = value
        return value
    }

    private mutating func prefillSeconds(_ tokens: Int, _ cached: Int) throws(ModelShapeError) -> Double {
        if let hit = prefill[[tokens, cached]] { return hit }
        let value = Self.attention(try predictor.iteration(ForwardLoad(prefill: [.init(tokens: tokens, context: tokens + cached)])))
        prefill[[tokens, cached]] = value
        return value
    }

    // MARK: Interpolation

    /// The grid cell around x >= 1 (or >= 0 with `fromZero`): (low, high, weight of high).
    static func cell(_ x: Int, fromZero: Bool = false) -> (Int, Int, Double) {
        if fromZero && x == 0 { return (0, 0, 0) }
        if fromZero && x == 1 { return (1, 1, 0) }
        if x >= largestPoint { return (largestPoint / 2, largestPoint, Double(x - largestPoint / 2) / Double(largestPoint / 2)) }
        var low = 1
        while low * 2 <= x { low *= 2 }
        if low == x { return (x, x, 0) }
        return (low, low * 2, Double(x - low) / Double(low))
    }

    /// f at x, linear between the powers of two around it.
    static func interpolate(_ x: Int, _ f: (Int) throws(ModelShapeError) -> Double) throws(ModelShapeError) -> Double {
        let (low, high, w) = cell(x)
        let a = try f(low)
        return w == 0 ? a : a + (try f(high) - a) * w
    }

    /// f at (x, y), bilinear between the powers of two around them (y's grid also has 0).
    static func interpolate(
        _ x: Int, _ y: Int, secondFromZero: Bool = false, _ f: (Int, Int) throws(ModelShapeError) -> Double
    ) throws(ModelShapeError) -> Double {
        let (y0, y1, wy) = cell(y, fromZero: secondFromZero)
        // Between 0 and 1 cached tokens there is no point; 0 and 1 are both exact.
        let low = try interpolate(x) { a throws(ModelShapeError) in try f(a, y0) }
        guard wy != 0 else { return low }
        let high = try interpolate(x) { a throws(ModelShapeError) in try f(a, y1) }
        return low + (high - low) * wy
    }
}
