import Workload

/// How a cluster's router picks the replica for an arriving request.
public enum Router: String, Sendable, Equatable, CaseIterable {
    /// Replicas in turn, whatever their load.
    case roundRobin = "round-robin"
    /// The replica holding the fewest requests (queued, running or swapped out): join the
    /// shortest queue (Winston 1977); ties go to the lowest index.
    case leastLoaded = "least-loaded"
    /// SGLang's cache-aware routing (sgl-router): while the replicas are balanced, the one
    /// whose prefix cache holds the longest prefix of the request's prompt, when that
    /// covers more than `cacheThreshold` of its full blocks (the least loaded among equals);
    /// otherwise, and whenever the loads differ by more than `balanceThreshold` requests,
    /// the least loaded. Needs prefix caching.
    case prefixAffinity = "prefix-affinity"

    /// sgl-router's defaults: `--cache-threshold 0.5`, `--balance-abs-threshold 32`.
    public static let cacheThreshold = 0.5
    public static let balanceThreshold = 32
}

/// Several identical replicas behind a router, each a `ServingSimulator` with its own
/// pool, simulated together in time: the earliest replica runs its next iteration unless
/// a request arrives first, which the router hands to a replica as it stands then.
public struct ServingCluster {
    public let configuration: ServingSimulator.Configuration
    public let replicas: Int
    public let router: Router

    /// The most replicas a cluster may have.
    public static let maxReplicas = 1024

    public init(_ configuration: ServingSimulator.Configuration, replicas: Int, router: Router) {
        self.configuration = configuration
        self.replicas = replicas
        self.router = router
    }

    /// Runs the trace to completion over the replicas, iteration times from `timer` (one
    /// timer for all: the replicas run the same model on the same GPUs). The statistics
    /// add the replicas' (fractions of their summed memory, latencies of every request);
    /// `cluster` says how many requests each served. The timeline is the cluster's: at the
    /// start of each replica iteration, that replica's sample plus every other replica's
    /// state as it stands (its running requests' memory; requests running, waiting and
    /// admitted).
    public func run<Timer: IterationTimer>(
        _ trace: [Request], timer: inout Timer, progress: ((Double) -> Void)? = nil
    ) throws(ServingSimulator.SimulationError) -> AllocationStats {
        try simulate(trace, timer: &timer, progress: progress).stats
    }

    /// `run`, also returning when each request's first token came, by id. With
    /// `origins` (a request's arrival at the service, by id, where the trace's arrival is
    /// later: a disaggregated decode pool's requests arrive when their KV does) the
    /// latencies and the span of the throughput count from the origins.
    func simulate<Timer: IterationTimer>(
        _ trace: [Request], timer: inout Timer, progress: ((Double) -> Void)? = nil, origins: [Int: Double]? = nil
    ) throws(ServingSimulator.SimulationError) -> (stats: AllocationStats, firstToken: [Int: Double]) {
        guard replicas >= 1 && replicas <= ServingCluster.maxReplicas else {
            throw .invalid("replicas \(replicas): expected from 1 to \(ServingCluster.maxReplicas)")
        }
        var c = configuration
        if let fixed = timer.fixedSeconds { c.iterationSeconds = fixed }
        if router == .prefixAffinity && !c.prefixCaching {
            throw .invalid("the prefix-affinity router needs prefix caching (it routes to the replica caching the longest prefix)")
        }
        let blockSize = try ServingSimulator.validate(c, trace: trace)
        let waiting = try ServingSimulator.arrivals(trace, configuration: c, fixedClock: false)
        var sims: [ServingSimulator] = []
        for _ in 0..<replicas {
            var s = ServingSimulator(c)
            s.reset(c, blockSize: blockSize)
            sims.append(s)
        }
        var clocks = Array(repeating: 0.0, count: replicas)
        var served = Array(repeating: 0, count: replicas)
        var next = 0, turn = 0
        var timeline = ServingTimeline()
        func completed() -> Int { sims.reduce(0) { $0 + $1.tally.completed } }
        var done = 0
        while done < waiting.count {
            var earliest: Int?
            for i in sims.indices where !sims[i].isIdle {
                if earliest.map({ clocks[i] < clocks[$0] }) ?? true { earliest = i }
            }
            let arrival = next < waiting.count ? waiting[next].arrival : .infinity
            if let b = earliest, clocks[b] < arrival {
                let start = clocks[b]
                clocks[b] = try sims[b].iterate(now: start, fixed: false, configuration: c, timer: &timer)
                sims[b].tally.iterations += 1
                if let own = sims[b].tally.latest { timeline.offer { Self.sample(own, others: sims, except: b, configuration: c) } }
                done = completed()
                if sims[b].tally.iterations % 256 == 0 { progress?(Double(done) / Double(waiting.count)) }
                continue
            }
            guard next < waiting.count else { break }
            let request = waiting[next]
            next += 1
            let target: Int
            switch router {
            case .roundRobin:
                target = turn % replicas
                turn += 1
            case .leastLoaded:
                target = Self.leastLoaded(sims, among: Array(sims.indices))
            case .prefixAffinity:
                let keys = sims[0].promptKeys(request)
                let matches = sims.map { $0.pool.cachedPrefix(keys) }
                let best = matches.max() ?? 0
                let loads = sims.map(\.outstanding)
                let balanced = (loads.max() ?? 0) - (loads.min() ?? 0) <= Router.balanceThreshold
                if balanced, !keys.isEmpty, Double(best) / Double(keys.count) > Router.cacheThreshold {
                    target = Self.leastLoaded(sims, among: sims.indices.filter { matches[$0] == best })
                } else {
                    target = Self.leastLoaded(sims, among: Array(sims.indices))
                }
            }
            if sims[target].isIdle { clocks[target] = max(clocks[target], request.arrival) }
            sims[target].queue.append(request)
            served[target] += 1
        }
        for i in sims.indices {
            try sims[i].checkEmptyPool(c)
            sims[i].tally.evictions = sims[i].pool.evictions
        }
        let reported = origins.map { o in waiting.map { r -> Request in
            var r = r
            r.arrival = o[r.id] ?? r.arrival
            return r
        } } ?? waiting
        var stats = sims[0].summary(sims.map(\.tally), waiting: reported, configuration: c, timing: timer.label)
        stats.copyOnWriteCopies = sims.reduce(0) { $0 + $1.copies }
        stats.cluster = .init(replicas: replicas, router: router.rawValue, requestsPerReplica: served)
        stats.timeline = timeline.thinned
        var firstToken: [Int: Double] = [:]
        for sim in sims { firstToken.merge(sim.tally.firstToken) { a, _ in a } }
        return (stats, firstToken)
    }

    /// A cluster timeline sample: replica `b`'s own sample plus the other replicas' state now.
    static func sample(
        _ own: ServingTimeline.Sample, others sims: [ServingSimulator], except b: Int, configuration c: ServingSimulator.Configuration
    ) -> ServingTimeline.Sample {
        var total = own
        for i in sims.indices where i != b {
            let s = sims[i].sample(now: own.seconds, memory: sims[i].memory(configuration: c))
            total.usedTokens += s.usedTokens
            total.allocatedTokens += s.allocatedTokens
            total.running += s.running
            total.waiting += s.waiting
            total.admitted += s.admitted
        }
        return total
    }

    /// The replica of `candidates` holding the fewest requests (the lowest index on ties).
    static func leastLoaded(_ sims: [ServingSimulator], among candidates: [Int]) -> Int {
        candidates.min { (sims[$0].outstanding, $0) < (sims[$1].outstanding, $1) } ?? 0
    }
}
