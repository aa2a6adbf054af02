import AttnScenario
import Foundation
import AttnTestSupport
import Testing
@testable import KVCache
import Workload

/// The vLLM paper (Kwon et al., "Efficient Memory Management for Large Language Model
/// Serving with PagedAttention", SOSP 2023, arXiv 2309.06180) reproduced from the shipped
/// scenarios: each target is the paper's value, cited next to it, and the test asserts
/// the simulation within 10% of it. Where a difference remains, the test asserts what
/// does hold and docs/kv-cache.md ("Against the paper") says why.
@Suite struct VLLMPaperTests {
    /// Figure 2: share of KV memory holding token states, and reserved for tokens still
    /// to come, under vLLM and the three Orca baselines (OPT-13B, A100-40GB, ShareGPT).
    static let figure2TokenStates = ["paged": 0.963, "contiguous-max": 0.204, "contiguous-pow2": 0.268, "contiguous-oracle": 0.382]
    static let figure2Reserved = ["contiguous-max": 0.133, "contiguous-pow2": 0.179, "contiguous-oracle": 0.252]
    /// Figure 13a: mean batched requests of the Orca baselines, OPT-13B, ShareGPT at 2 requests/s.
    static let figure13Batch = ["contiguous-max": 7.00, "contiguous-pow2": 9.81, "contiguous-oracle": 13.62]
    /// Section 6.2 (Figure 12a-c): vLLM sustains 1.7x-2.7x Orca (Oracle)'s request rate and
    /// 2.7x-8x Orca (Max)'s on ShareGPT.
    static let figure12OverOracle = 1.7...2.7
    static let figure12OverMax = 2.7...8.0
    /// Section 6.3 (Figure 12d, 14): over Orca (Oracle) on Alpaca, 1.3x in basic sampling,
    /// 2.3x with beam search of width 6.
    static let basicOverOracle = 1.3
    static let beam6OverOracle = 2.3
    /// Figure 15 (Alpaca): memory saved by sharing, parallel sampling of 2, 4, 6 samples
    /// and beam search of width 2, 4, 6 (the text: 6.1%-9.8% and 37.6%-55.2%).
    static let figure15Parallel = [0.0609, 0.0853, 0.0979]
    static let figure15Beam = [0.3756, 0.5313, 0.5516]

    func within10Percent(_ value: Double, _ paper: Double) -> Bool { abs(value / paper - 1) <= 0.1 }

    func within10Percent(_ value: Double, _ range: ClosedRange<Double>) -> Bool {
        value >= range.lowerBound * 0.9 && value <= range.upperBound * 1.1
    }

    func byPolicy(_ stats: [AllocationStats]) -> [String: AllocationStats] {
        Dictionary(stats.map { ($0.policy, $0) }, uniquingKeysWith: { a, _ in a })
    }

    /// The rate each policy sustains in a sweep, required to be a crossing within the swept
    /// rates (not the highest rate as a lower bound), by policy.
    func crossings(_ stats: [AllocationStats]) throws -> [String: Double] {
        let sustained = try #require(PagedSweep.sustainedRates(stats)).rates
        var rates: [String: Double] = [:]
        for (policy, rate) in sustained {
            let rate = try #require(rate, "\(policy) sustains no rate")
            try #require(!rate.isLowerBound, "\(policy) never reaches 2x within the swept rates (at least \(rate.requestsPerSecond))")
            rates[policy] = rate.requestsPerSecond
        }
        return rates
    }

    /// Paged's sustained rate over another policy's, both real crossings.
    func gain(_ stats: [AllocationStats], over policy: String) throws -> Double {
        let rates = try crossings(stats)
        return try #require(rates["paged"]) / #require(rates[policy])
    }

    @Test func figure2MemoryShares() throws {
        let stats = byPolicy(try PagedResults.shared.stats(scenario: "paged-sharegpt"))
        for (policy, paper) in Self.figure2TokenStates {
            let token = try #require(stats[policy]?.tokenFraction)
            #expect(within10Percent(token, paper), "\(policy): token states \(token) against Figure 2's \(paper)")
        }
        for (policy, paper) in Self.figure2Reserved {
            let reserved = try #require(stats[policy]?.reservedFraction)
            #expect(within10Percent(reserved, paper), "\(policy): reserved \(reserved) against Figure 2's \(paper)")
        }
    }

    @Test func figure12And13OPT13B() throws {
        let stats = try PagedResults.shared.stats(scenario: "paged-vllm-opt-13b-sharegpt")
        let overOracle = try gain(stats, over: "contiguous-oracle"), overMax = try gain(stats, over: "contiguous-max")
        #expect(within10Percent(overOracle, Self.figure12OverOracle), "\(overOracle)")
        #expect(within10Percent(overMax, Self.figure12OverMax), "\(overMax)")
        let atTwo = byPolicy(stats.filter { $0.rate == 2 })
        for (policy, paper) in Self.figure13Batch {
            let batch = try #require(atTwo[policy]?.meanBatch)
            #expect(within10Percent(batch, paper), "\(policy): mean batch \(batch) against Figure 13a's \(paper)")
        }
    }

    @Test func figure12OPT66B() throws {
        let stats = try PagedResults.shared.stats(scenario: "paged-vllm-opt-66b-sharegpt")
        let overOracle = try gain(stats, over: "contiguous-oracle"), overMax = try gain(stats, over: "contiguous-max")
        #expect(within10Percent(overOracle, Self.figure12OverOracle), "\(overOracle)")
        #expect(within10Percent(overMax, Self.figure12OverMax), "\(overMax)")
    }

    /// OPT-175B: paged still sustains the most, in the paper's order, but by less than the
    /// paper's 1.7x over Oracle and 2.7x over Max (docs/kv-cache.md: the cache read grows
    /// with the batch as much as the weights' read here, and the 2023 vLLM's host time is
    /// not modelled by default): 1.31x and 1.92x (1.32x and 2.01x before the all-reduces
    /// took NCCL's tuning model: at paged's batch of about 100 each 2.4 MB all-reduce over
    /// 8 GPUs costs more than 14 steps of the assumed 2 us, and the larger batch pays it;
    /// then 1.26x and 1.89x until the streaming operators were timed by their latency).
    @Test func figure12OPT175B() throws {
        let stats = try PagedResults.shared.stats(scenario: "paged-vllm-opt-175b-sharegpt")
        let sustained = try crossings(stats)
        let order = ["paged", "contiguous-oracle", "contiguous-pow2", "contiguous-max"].compactMap { sustained[$0] }
        #expect(order.count == 4 && order == order.sorted(by: >), "\(sustained)")
        #expect(try gain(stats, over: "contiguous-oracle") > 1.2)
        #expect(try gain(stats, over: "contiguous-max") > 1.8)
    }

    /// Basic sampling on Alpaca: 1.47x, 13% above the paper's 1.3x since the A100 profiles
    /// carry their measured matmul ceiling (docs/kv-cache.md, "Against the paper": a faster
    /// matmul makes paged's larger batch cheaper; the 1.32x before was a lower bound, paged
    /// never reaching 2x within the rates then swept). Held between 10% and 20% above.
    @Test func basicAndBeamSearchGainsOnAlpaca() throws {
        let basic = try gain(try PagedResults.shared.stats(scenario: "paged-vllm-opt-13b-alpaca"), over: "contiguous-oracle")
        #expect(basic > Self.basicOverOracle * 1.1 && basic < Self.basicOverOracle * 1.2, "\(basic)")
        // The gain grows with beam search, as the paper's does, though to less than its 2.3x.
        let beam = try gain(try PagedResults.shared.stats(scenario: "paged-vllm-beam-search-6"), over: "contiguous-oracle")
        #expect(beam > basic && beam < Self.beam6OverOracle, "\(beam)")
    }

    /// The engine's host time (docs/kv-cache.md, "With the engine's host time"): 13 ms per
    /// iteration, the top of the 5-13 ms the vLLM team measured per decode step in vLLM 0.5
    /// (vllm-project/vllm issue #6854), brings beam search of width 6 within 10% of the
    /// paper's 2.3x (2.38x) but lifts basic sampling on Alpaca further past 10% of its 1.3x (1.75x):
    /// no host time that does not grow with the batch fits both, so the shipped scenarios
    /// keep the kernels alone. The rates are the lightest and those around each policy's
    /// crossing in the doc's finer sweeps, so the interpolated rates are the same.
    @Test func hostTimeClosesBeamSearchButNotBasicSampling() throws {
        func gainWithHostTime(_ scenario: String, rates: [Double]) throws -> Double {
            let path = repositoryRoot.appendingPathComponent("scenarios/\(scenario).json").path
            guard case .paged(var study, _) = try StudyFile.load(path: path) else { throw TestFailure("\(scenario) is not a paged study") }
            study.hostOverheadSeconds = 0.013
            study.rates = rates
            return try gain(try PagedResults.shared.stats(path + "#host-0.013", study), over: "contiguous-oracle")
        }
        let beam = try gainWithHostTime("paged-vllm-beam-search-6", rates: [1, 4.5, 5, 11.5, 12])
        #expect(within10Percent(beam, Self.beam6OverOracle), "\(beam)")
        let basic = try gainWithHostTime("paged-vllm-opt-13b-alpaca", rates: [10, 32, 36, 56, 60])
        #expect(basic > Self.basicOverOracle * 1.1, "\(basic)")
    }

    /// Figure 15's settings: OPT-13B, A100-40GB, Alpaca at a light load (no preemption).
    /// A request's samples and beams share the prompt's blocks from admission, as vLLM
    /// 0.1's sequence groups did: parallel sampling saves 6.89%, 10.34% and 11.49% (13%,
    /// 21% and 17% above the paper), beam search 40.1%, 59.7% and 65.9%. Parallel
    /// sampling's saving is (n - 1)/n of the prompt's full blocks' lifetime-weighted share
    /// of a sequence's blocks, 13.8% here against the 11.4%-12.2% the paper's figures imply:
    /// set by the joint prompt and output lengths, which the paper does not publish.
    @Test func figure15SharingSavings() throws {
        func saved(_ sharing: SharingMode) throws -> Double {
            try PagedStudy(model: "opt-13b", trace: "alpaca", requests: 500, rate: 1, policies: ["paged"], sharing: sharing, hardware: "a100-40gb-sxm")
                .run()[0].sharingSavedFraction
        }
        let parallel = try [2, 4, 6].map { try saved(.parallelSampling(samples: $0)) }
        let beam = try [2, 4, 6].map { try saved(.beamSearch(width: $0)) }
        // Two beams land within 10%, two samples between 10% and 15% above; the savings
        // grow with the number of sequences as the paper's, faster (docs/kv-cache.md).
        #expect(parallel[0] > Self.figure15Parallel[0] * 1.1 && parallel[0] < Self.figure15Parallel[0] * 1.15, "\(parallel)")
        #expect(within10Percent(beam[0], Self.figure15Beam[0]), "\(beam)")
        #expect(parallel == parallel.sorted() && beam == beam.sorted())
        for (ours, paper) in zip(parallel + beam, Self.figure15Parallel + Self.figure15Beam) {
            #expect(ours >= paper * 0.9 && ours <= paper * 1.3, "\(ours) against \(paper)")
        }
    }
}
