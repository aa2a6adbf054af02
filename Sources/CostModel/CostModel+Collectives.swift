import AttnHardware

extension CostModel {
    /// The all-reduce of `bytes` over `gpus` GPUs on `link` as NCCL's tuner times it
    /// (`CollectiveTuning`, NCCL 2.30.7 src/graph/tuning.cc): for each algorithm a and
    /// protocol p NCCL enables on the link,
    ///
    ///     t(a, p) = base(a, p) + 2 (G - 1) hop(a, p) + bytes / algBw(a, p)
    ///     ring:  busBw = B (Simple), 0.92 B (LL128), min(LL ceiling, 0.5 B) (LL);
    ///            algBw = busBw x G / (2 (G - 1))
    ///     tree:  busBw = 0.92 B (Simple), 0.92 x 7/9 B (LL128), min(LL ceiling, 0.92 B / 3.8) (LL);
    ///            algBw = busBw / 2 x correction(p, bytes)
    ///     nvls (Simple only, an NVSwitch with multicast):
    ///            t = 25 us + bytes / (busBw(nvls) x G / (2 (G - 1)))
    ///
    /// with B the link's bandwidth times NCCL's per-link fraction, busBw(nvls) NCCL's NVLS
    /// bandwidth (`CollectiveTuning.nvlsBusBytesPerSecond`), and the least of them (NCCL
    /// runs the fastest). nil for one GPU.
    public func allReduce(bytes: Int, gpus: Int, over link: Interconnect) -> CollectiveTuning.Choice? {
        guard gpus > 1 else { return nil }
        let tuning = collectives
        let hop = CollectiveTuning.hopClass(link)
        let bus = tuning.busBytesPerSecond(link)
        let ll = tuning.llCeiling(link)
        let hops = Double(2 * (gpus - 1))
        var best: CollectiveTuning.Choice?
        for a in [CollectiveTuning.Algorithm.ring, .tree] {
            for p in CollectiveTuning.CollectiveProtocol.allCases where CollectiveTuning.enables(p, on: link) {
                guard let base = tuning.baseLatencySeconds[a]?[p], let step = tuning.hopLatencySeconds[hop]?[a]?[p] else { continue }
                let algorithmBandwidth: Double
                switch a {
                case .ring:
                    let busBandwidth = switch p {
                    case .ll: min(ll, bus * tuning.ringLLFraction)
                    case .ll128: bus * tuning.ringLL128Fraction
                    case .simple: bus
                    }
                    algorithmBandwidth = busBandwidth * Double(gpus) / hops
                case .tree:
                    let tree = bus * tuning.treeFraction
                    let busBandwidth = switch p {
                    case .ll: min(ll, tree * tuning.treeLLFraction)
                    case .ll128: tree * tuning.treeLL128Fraction
                    case .simple: tree
                    }
                    algorithmBandwidth = busBandwidth / 2 * tuning.treeCorrection(p, bytes: bytes)
                case .nvls:
                    continue
                }
                let seconds = base + hops * step + Double(bytes) / algorithmBandwidth
                if best.map({ seconds < $0.seconds }) ?? true {
                    best = CollectiveTuning.Choice(seconds: seconds, algorithm: a, collectiveProtocol: p)
                }
            }
        }
        if let nvls = tuning.nvlsBusBytesPerSecond(link, gpus: gpus) {
            let seconds = tuning.nvlsLatencySeconds + Double(bytes) / (nvls * Double(gpus) / hops)
            if best.map({ seconds < $0.seconds }) ?? true {
                best = CollectiveTuning.Choice(seconds: seconds, algorithm: .nvls, collectiveProtocol: .simple)
            }
        }
        return best
    }

    /// Seconds of the all-reduce of `bytes` over `gpus` GPUs on `link` (`allReduce`); 0
    /// for one GPU.
    public func allReduceSeconds(bytes: Int, gpus: Int, over link: Interconnect) -> Double {
        allReduce(bytes: bytes, gpus: gpus, over: link)?.seconds ?? 0
    }

    /// A send of `bytes` to one peer over `link` (NCCL's send/recv). NCCL's tuner has no
    /// point-to-point model: its p2p runs LL up to 16 KiB per channel and Simple above
    /// (src/enqueue.cc `NCCL_P2P_LL_THRESHOLD`). The cost model times a send as one hop of
    /// NCCL's ring under each of those two protocols and takes the lesser:
    ///
    ///     t(p) = base(ring, p) + hop(ring, p) + bytes / busBw(ring, p)
    ///     busBw = B (Simple), min(LL ceiling, 0.5 B) (LL)
    public func send(bytes: Int, over link: Interconnect) -> CollectiveTuning.Choice {
        let tuning = collectives
        let hop = CollectiveTuning.hopClass(link)
        let bus = tuning.busBytesPerSecond(link)
        var best = CollectiveTuning.Choice(seconds: .infinity, algorithm: .ring, collectiveProtocol: .simple)
        for p in [CollectiveTuning.CollectiveProtocol.ll, .simple] {
            guard let base = tuning.baseLatencySeconds[.ring]?[p], let step = tuning.hopLatencySeconds[hop]?[.ring]?[p] else { continue }
            let bandwidth = p == .ll ? min(tuning.llCeiling(link), bus * tuning.ringLLFraction) : bus
            let seconds = base + step + Double(max(0, bytes)) / bandwidth
            if seconds < best.seconds { best = CollectiveTuning.Choice(seconds: seconds, algorithm: .ring, collectiveProtocol: p) }
        }
        return best
    }

    /// Seconds to pass one block of `bytes` to the next GPU of a ring or pipeline (`send`).
    public func transferSeconds(bytes: Int, over link: Interconnect) -> Double {
        send(bytes: bytes, over: link).seconds
    }
}
