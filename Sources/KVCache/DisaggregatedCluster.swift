import AttnHardware
import Workload

/// Disaggregated prefill and decode (DistServe, Zhong et al. 2024; Splitwise, Patel et al.
/// 2024): a pool of prefill replicas computes each prompt, the prompt's KV goes over the
/// interconnect to a pool of decode replicas, which generate the rest. Prefill never
/// shares an iteration with decode steps, so decode's TPOT is free of prefill's
/// interference; the price is the transfer and the GPUs split in two pools.
///
/// Simulated in two passes over the same trace, each pool a `ServingCluster` of alike
/// replicas (their own KV pools, the same iteration timer):
///
/// 1. the prefill pool runs every request's prompt (no output tokens): a request's
///    prefill ends with the iteration that finishes its prompt;
/// 2. its KV, prompt tokens x bytes per token and GPU, goes from each GPU of the prefill
///    replica to its counterpart in the decode replica (the same tensor parallelism),
///    all GPUs at once, in the iteration timer's `transferSeconds` (the model timer's is the
///    cost model's NCCL send, `CostModel.send`; a fixed clock's alpha + bytes / beta on the
///    profile's link figures); transfers do not contend;
/// 3. the decode pool receives the request then (its prompt's blocks allocated, not
///    computed) and decodes it.
///
/// TTFT = prefill end + transfer - arrival (the first token reaches the decode replica,
/// which streams every token); TPOT = (finish - arrival at the decode pool) / output
/// tokens, waiting for a decode slot included. Memory statistics are the decode pool's.
public struct DisaggregatedCluster {
    public let configuration: ServingSimulator.Configuration
    public let prefillReplicas: Int
    public let decodeReplicas: Int
    public let router: Router
    /// KV bytes one GPU holds per token (the pool's bytes per token under tensor parallelism).
    public let kvBytesPerToken: Int
    public let link: Interconnect

    public init(
        _ configuration: ServingSimulator.Configuration, prefillReplicas: Int, decodeReplicas: Int, router: Router, kvBytesPerToken: Int,
        link: Interconnect
    ) {
        self.configuration = configuration
        self.prefillReplicas = prefillReplicas
        self.decodeReplicas = decodeReplicas
        self.router = router
        self.kvBytesPerToken = kvBytesPerToken
        self.link = link
    }

    /// Bytes one GPU sends for a prompt of `promptTokens`: tokens x KV bytes per token and GPU.
    public func transferBytes(promptTokens: Int) -> Int { promptTokens * kvBytesPerToken }

    /// Runs the trace through both pools (see the type's comment).
    public func run<Timer: IterationTimer>(
        _ trace: [Request], timer: inout Timer, progress: ((Double) -> Void)? = nil
    ) throws(ServingSimulator.SimulationError) -> AllocationStats {
        guard prefillReplicas >= 1, decodeReplicas >= 1 else {
            throw .invalid("disaggregation needs at least 1 prefill and 1 decode replica, found \(prefillReplicas) and \(decodeReplicas)")
        }
        guard !configuration.promptsArriveComputed, configuration.sharing == .none else {
            throw .invalid("disaggregated prefill and decode is modeled without sharing (parallel sampling, beam search or a shared prefix)")
        }
        let prompts = trace.map { r -> Request in
            var p = r
            p.outputTokens = 0
            return p
        }
        let prefill = try ServingCluster(configuration, replicas: prefillReplicas, router: router)
            .simulate(prompts, timer: &timer) { progress?($0 / 2) }
        var decodeTrace: [Request] = []
        var origins: [Int: Double] = [:]
        var bytes = 0, seconds = 0.0, longest = 0.0
        var prefillTTFT: [Double] = []
        for r in trace {
            guard let done = prefill.firstToken[r.id] else { throw .invalid("request \(r.id) left the prefill pool without its first token") }
            let sent = transferBytes(promptTokens: r.promptTokens)
            let t = timer.transferSeconds(bytes: sent, over: link)
            bytes += sent
            seconds += t
            longest = max(longest, t)
            prefillTTFT.append(done - r.arrival)
            var d = r
            d.arrival = done + t
            origins[r.id] = r.arrival
            decodeTrace.append(d)
        }
        var decodeConfiguration = configuration
        decodeConfiguration.promptsArriveComputed = true
        var stats = try ServingCluster(decodeConfiguration, replicas: decodeReplicas, router: router)
            .simulate(decodeTrace, timer: &timer, progress: { progress?(0.5 + $0 / 2) }, origins: origins).stats
        stats.disaggregation = .init(
            prefillReplicas: prefillReplicas, decodeReplicas: decodeReplicas,
            prefillRequestsPerReplica: prefill.stats.cluster?.requestsPerReplica ?? [], prefillIterations: prefill.stats.iterations,
            transferBytes: bytes, transferSeconds: seconds, longestTransferSeconds: longest, prefillTTFT: LatencySummary(prefillTTFT))
        return stats
    }
}
