import CostModel
import Workload

extension ModelPredictor {
    /// The layers of each of `stages` stages: contiguous, L / P each, the first L mod P
    /// stages one more.
    public static func stageLayers(layers: Int, stages: Int) -> [Range<Int>] {
        var ranges: [Range<Int>] = []
        var start = 0
        for s in 0..<stages {
            let count = layers / stages + (s < layers % stages ? 1 : 0)
            ranges.append(start..<(start + count))
            start += count
        }
        return ranges
    }

    /// `step` (one micro-batch through every layer) as a pipeline over the options'
    /// stages and micro-batches. Each operator's time is spread evenly over the layers of
    /// its group; the embedding runs on the first stage, the final norm and LM head on the
    /// last; after each stage but the last the micro-batch's hidden states (tokens x h x
    /// e) go to the next GPU (alpha + bytes / beta). With t'_s the stage's time plus its send:
    ///
    ///     prefill (fill and drain, GPipe: Huang et al. 2019):  sum_s t'_s + (M - 1) max_s t'_s
    ///     decode (steady state, M micro-batches in flight):    max(M max_s t'_s, sum_s t'_s)
    ///
    /// A prefill's makespan over a flow of M alike micro-batches is that of a permutation
    /// flow shop: the first micro-batch through every stage, then one per bottleneck
    /// stage time. In decode a micro-batch's next token needs its previous one through
    /// every stage, so a round takes the longer of the bottleneck's M micro-batches and
    /// one micro-batch's trip; with equal stages that is M t for M >= P (no bubble) and
    /// P t for M < P (idle (P - M) / P).
    public func pipeline(_ step: StepPrediction) -> PipelineStep {
        let p = options.pipelineParallel, m = options.microbatches
        let layers = local.layers.count
        var perLayer = [Double](repeating: 0, count: layers)
        var first = 0.0, last = 0.0
        var labels: [String: [Int]] = [:]
        for group in local.layerGroups { labels[Architecture.formatIndices(group.indices)] = group.indices }
        for op in step.operators {
            if let indices = labels[op.layers] {
                for i in indices { perLayer[i] += op.totalSeconds / Double(indices.count) }
            } else if op.name == "embedding" {
                first += op.totalSeconds
            } else {
                last += op.totalSeconds
            }
        }
        let ranges = Self.stageLayers(layers: layers, stages: p)
        var stageSeconds = ranges.map { perLayer[$0].reduce(0, +) }
        stageSeconds[0] += first
        stageSeconds[p - 1] += last
        let tokens = step.phase == .prefill ? localBatch * step.context : localBatch
        let sendBytes = tokens * local.hiddenSize * e
        let send = interconnect.map { costModel.transferSeconds(bytes: sendBytes, over: $0) } ?? 0
        var pipe = PipelineStep(
            phase: step.phase, stages: p, microbatches: m, stageLayers: ranges, stageSeconds: stageSeconds, sendBytes: sendBytes,
            sendSeconds: send, seconds: 0)
        pipe.seconds = PipelineStep.seconds(step.phase, stageCycleSeconds: pipe.stageCycleSeconds, microbatches: m)
        return pipe
    }
}
