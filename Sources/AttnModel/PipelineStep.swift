/// A forward step under pipeline parallelism: the layers split into P stages on P GPUs
/// (or tensor-parallel groups), the batch into M micro-batches that follow each other
/// through the stages, activations sent from stage to stage over the interconnect.
public struct PipelineStep: Sendable, Equatable {
    public var phase: ModelPhase
    public var stages: Int
    public var microbatches: Int
    /// The layers of each stage (contiguous, as even as possible, the first stages taking
    /// one more when they do not split evenly).
    public var stageLayers: [Range<Int>]
    /// Seconds of one micro-batch on each stage: its layers, the embedding on the first
    /// and the final norm and LM head on the last.
    public var stageSeconds: [Double]
    /// Bytes of one micro-batch's hidden states sent from one stage to the next:
    /// tokens x hidden x e.
    public var sendBytes: Int
    /// Seconds of that send (`CostModel.transferSeconds`), after every stage but the last.
    public var sendSeconds: Double
    /// The step: prefill's fill and drain of every micro-batch (the time to first
    /// token), or decode's time for every sequence to get its next token (TPOT).
    public var seconds: Double

    public init(
        phase: ModelPhase, stages: Int, microbatches: Int, stageLayers: [Range<Int>], stageSeconds: [Double], sendBytes: Int, sendSeconds: Double,
        seconds: Double
    ) {
        self.phase = phase
        self.stages = stages
        self.microbatches = microbatches
        self.stageLayers = stageLayers
        self.stageSeconds = stageSeconds
        self.sendBytes = sendBytes
        self.sendSeconds = sendSeconds
        self.seconds = seconds
    }

    /// Per stage, its micro-batch time and the send after it (t_s + send, s < P - 1).
    public var stageCycleSeconds: [Double] {
        stageSeconds.enumerated().map { $0.offset < stageSeconds.count - 1 ? $0.element + sendSeconds : $0.element }
    }

    /// The step's seconds from each stage's time plus its send, t'_s
    /// (`ModelPredictor.pipeline` gives the schedules):
    ///
    ///     prefill: sum_s t'_s + (M - 1) max_s t'_s;   decode: max(M max_s t'_s, sum_s t'_s)
    public static func seconds(_ phase: ModelPhase, stageCycleSeconds cycle: [Double], microbatches m: Int) -> Double {
        let slowest = cycle.max() ?? 0, through = cycle.reduce(0, +)
        return phase == .prefill ? through + Double(m - 1) * slowest : max(Double(m) * slowest, through)
    }

    /// Share of the stages' time idle: 1 - M sum_s t_s / (P x seconds); (P - 1) / (M + P - 1)
    /// for prefill over equal stages without sends (GPipe's bubble, Huang et al. 2019).
    public var bubbleFraction: Double {
        seconds > 0 ? max(0, 1 - Double(microbatches) * stageSeconds.reduce(0, +) / (Double(stages) * seconds)) : 0
    }
}
