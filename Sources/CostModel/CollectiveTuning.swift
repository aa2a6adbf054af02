import AttnHardware

/// The constants of NCCL's own latency/bandwidth model of a collective (its tuner), which
/// the cost model times all-reduces, sends and all-to-alls with (`CostModel+Collectives`).
///
/// They are NCCL's software constants, not facts of one GPU: the profile keeps the link's
/// datasheet bandwidth, and this table says how much of it each of NCCL's algorithms and
/// protocols reaches and what latency each step costs. Every figure below is NCCL 2.30.7's
/// (github.com/NVIDIA/nccl, makefiles/version.mk 2.30.7, commit 5067397c,
/// src/graph/tuning.cc `ncclTunerConstantsDefaults` and `ncclTopoTuneModel` unless another
/// file is named). NCCL's tuner, for one node (an NVLink or PCIe domain):
///
///     latency(a, p)   = base(a, p) + hops(a) x hop(fabric, a, p)           (us)
///     hops(ring)      = 2 (G - 1) for an all-reduce;  hops(tree) = 2 (G - 1)
///                       (within a node NCCL's tree is a chain: 2 ((G/nodes - 1) intra
///                       + log2(nodes) inter) with one node)
///     busBw(a, p)     = link x (per-protocol and per-algorithm fractions below)
///     algBw(ring)     = busBw x G / (2 (G - 1));  algBw(tree) = busBw / 2 x correction(p, size)
///     time(a, p)      = latency(a, p) + bytes / algBw(a, p)
///
/// and NCCL runs the (algorithm, protocol) of least time (`ncclTopoGetAlgoTime`, enqueue's
/// `topoGetAlgoInfo`). Where the profile's link is an NVSwitch with multicast
/// (`Interconnect.nvswitchMulticast`, NVLink 4 or later) NCCL's NVLS all-reduce competes
/// too, under Simple only (`nvlsBusBytesPerSecond`):
///
///     latency(nvls)   = 25 us, no hop term (hwLatencies NVLINK NVLS Simple; base 0)
///     busBw(nvls)     = c x min(2 x w x eff x (c - 1) / c, top)
///     algBw(nvls)     = busBw x G / (2 (G - 1))
///
/// with c = min(G, 32) channels (one per GPU, `NCCL_MAX_NVLS_ARITY`), w the per-channel
/// bandwidth of NCCL's NVLS graph and top the largest entry of the speed array its search
/// draws w from. Not modelled: CollNet, NVLS tree and PAT (several nodes), the ring's and
/// tree's per-channel bandwidth caps (`perChMaxRingLL128Bws`, `perChMaxTreeBws`,
/// `perChMaxTreeLL128Bws`, which need the channel count NCCL's ring and tree searches pick)
/// and the inter-node terms.
public struct CollectiveTuning: Sendable, Equatable {
    /// NCCL's all-reduce algorithms that run within one node.
    public enum Algorithm: String, Sendable, CaseIterable {
        case ring, tree
        /// NVLS: every GPU pushes its slice to the NVSwitch, which reduces it and multicasts
        /// the sum back (NVLink SHARP); only where the link declares the switch.
        case nvls = "NVLS"
    }

    /// NCCL's protocols: LL (8-byte stores of 4 data bytes and a flag), LL128 (128-byte
    /// lines of 120 data bytes and a flag), Simple (bulk copies behind a fence).
    public enum CollectiveProtocol: String, Sendable, CaseIterable {
        case ll = "LL", ll128 = "LL128", simple = "Simple"
    }

    /// The link class NCCL picks hop latencies by (`NCCL_HW_NVLINK`, `NCCL_HW_PCI`).
    public enum HopClass: Sendable {
        case nvlink, pci
    }

    /// A collective's time and the algorithm and protocol that give it.
    public struct Choice: Sendable, Equatable {
        public var seconds: Double
        public var algorithm: Algorithm
        public var collectiveProtocol: CollectiveProtocol
    }

    /// Where the constants come from.
    public var source: String
    /// Fixed latency of one collective per algorithm and protocol, seconds
    /// (`baseLatencies`: tree 6.8/14.0/8.4 us, ring 6.6/14.0/8.4 us for LL/LL128/Simple).
    public var baseLatencySeconds: [Algorithm: [CollectiveProtocol: Double]]
    /// Latency of one hop per link class, algorithm and protocol, seconds (`hwLatencies`:
    /// NVLink tree 0.6/1.25/4.0, ring 0.6/1.9/3.4 us; PCI tree 1.0/1.9/4.0, ring
    /// 1.0/2.5/5.7 us).
    public var hopLatencySeconds: [HopClass: [Algorithm: [CollectiveProtocol: Double]]]
    /// The LL protocol's bandwidth ceiling on one node, bytes/s, by NVLink generation (the
    /// GPU generation NCCL indexes it by: `llMaxBws` Ampere 87.7, Hopper 141.0, Blackwell
    /// 2 x 141.0 GB/s, N1 column). Where no generation is known it is not applied.
    public var llMaxBytesPerSecond: [Int: Double]
    /// Bandwidth NCCL's topology assumes per NVLink link over the datasheet's per-link
    /// bandwidth per direction, by NVLink generation (src/graph/topo.h `SM80_NVLINK_BW`
    /// 20.0, `SM90_NVLINK_BW` 20.6, `SM100_NVLINK_BW` 40.1 GB/s over 25, 25 and 50 GB/s):
    /// the bus bandwidth NCCL's model starts from is this fraction of the profile's link.
    public var nvlinkFraction: [Int: Double]
    /// Ring LL: half the bus bandwidth (`busBw * .5`), capped at the LL ceiling.
    public var ringLLFraction = 0.5
    /// Ring LL128: 120 of 128 bytes carry data (`busBw * 0.92`).
    public var ringLL128Fraction = 0.92
    /// Tree all-reduce, every protocol: `busBw * .92`.
    public var treeFraction = 0.92
    /// Tree LL: a further 1 / 3.8 (`busBw * 1.0 / 3.8`), capped at the LL ceiling.
    public var treeLLFraction = 1 / 3.8
    /// Tree LL128 on one node: a further 7 / 9 (`busBw * 7.0 / 9.0`).
    public var treeLL128Fraction = 7.0 / 9.0
    /// The tree's measured-against-model correction of its bandwidth, per protocol, for
    /// messages of 64 B x 2^k, k = 0 ..< 23 (`treeCorrectionFactor`; k = floor(log2(bytes / 64))).
    public var treeCorrection: [CollectiveProtocol: [Double]]
    /// NVLS's latency on one node, seconds: `hwLatencies[NCCL_HW_NVLINK][NCCL_ALGO_NVLS]`
    /// Simple, 25 us, which `ncclTopoTuneModel` takes as the whole latency (no hops; its base
    /// latency is 0 and LL and LL128 are not run).
    public var nvlsLatencySeconds = 25e-6
    /// NVLS's efficiency by NVLink generation (`nvlsEfficiency`: Hopper 0.85, Blackwell 0.74).
    public var nvlsEfficiency: [Int: Double] = [4: 0.85, 5: 0.74]
    /// The per-channel bandwidths NCCL's topology search tries on one node, largest first,
    /// bytes/s, by NVLink generation (src/graph/search.cc `sm90SpeedArrayIntra` 60, 50, 40,
    /// 30, 24, 20, 15, 12, 11, 6, 3 GB/s; `sm100SpeedArrayIntra` 90, 80, 70, 60, 50, 45, 40,
    /// 30, 24, 20, 19, 18 GB/s).
    public var intraSpeedsBytesPerSecond: [Int: [Double]] = [
        4: [60, 50, 40, 30, 24, 20, 15, 12, 11, 6, 3].map { $0 * 1e9 },
        5: [90, 80, 70, 60, 50, 45, 40, 30, 24, 20, 19, 18].map { $0 * 1e9 },
    ]
    /// The most GPUs one NVLS channel joins, and so the most channels (src/include/device.h
    /// `NCCL_MAX_NVLS_ARITY`; search.cc sets the NVLS graph's channels to min(32, GPUs)).
    public var maxNVLSArity = 32

    /// NCCL 2.30.7's defaults.
    public static let nccl = CollectiveTuning(
        source: "NCCL 2.30.7 (NVIDIA/nccl commit 5067397c), src/graph/tuning.cc ncclTunerConstantsDefaults, ncclTopoTuneModel, "
            + "treeCorrectionFactor, nvlsEfficiency; src/graph/topo.h SM80/SM90/SM100_NVLINK_BW; src/graph/search.cc "
            + "sm90/sm100SpeedArrayIntra, ncclTopoSearchTryNvls",
        baseLatencySeconds: [
            .tree: [.ll: 6.8e-6, .ll128: 14.0e-6, .simple: 8.4e-6],
            .ring: [.ll: 6.6e-6, .ll128: 14.0e-6, .simple: 8.4e-6],
        ],
        hopLatencySeconds: [
            .nvlink: [.tree: [.ll: 0.6e-6, .ll128: 1.25e-6, .simple: 4.0e-6], .ring: [.ll: 0.6e-6, .ll128: 1.9e-6, .simple: 3.4e-6]],
            .pci: [.tree: [.ll: 1.0e-6, .ll128: 1.9e-6, .simple: 4.0e-6], .ring: [.ll: 1.0e-6, .ll128: 2.5e-6, .simple: 5.7e-6]],
        ],
        llMaxBytesPerSecond: [3: 87.7e9, 4: 141.0e9, 5: 2 * 141.0e9],
        nvlinkFraction: [3: 20.0 / 25, 4: 20.6 / 25, 5: 40.1 / 50],
        treeCorrection: [
            .ll: [1.0, 1.0, 1.0, 1.0, 0.9, 0.8, 0.7, 0.7, 0.7, 0.7, 0.6, 0.5, 0.4, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.0, 1.0, 1.0],
            .ll128: [1.0, 1.0, 1.0, 1.0, 1.0, 0.9, 0.8, 0.8, 0.8, 0.7, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.8, 0.9, 0.9, 0.9, 0.9, 1.0, 1.0],
            .simple: [0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.8, 0.7, 0.6, 0.6, 0.5, 0.5, 0.5, 0.5, 0.6, 0.7, 0.8, 0.7, 0.7, 0.8, 0.9, 0.9],
        ])

    public init(
        source: String, baseLatencySeconds: [Algorithm: [CollectiveProtocol: Double]],
        hopLatencySeconds: [HopClass: [Algorithm: [CollectiveProtocol: Double]]], llMaxBytesPerSecond: [Int: Double],
        nvlinkFraction: [Int: Double], treeCorrection: [CollectiveProtocol: [Double]]
    ) {
        self.source = source
        self.baseLatencySeconds = baseLatencySeconds
        self.hopLatencySeconds = hopLatencySeconds
        self.llMaxBytesPerSecond = llMaxBytesPerSecond
        self.nvlinkFraction = nvlinkFraction
        self.treeCorrection = treeCorrection
    }

    /// The hop class of `link`: PCI for a PCIe link, NVLink otherwise (NCCL's `typeIntra
    /// == LINK_NVL`; an Infinity Fabric link takes the NVLink figures, RCCL's own table not
    /// being modelled).
    public static func hopClass(_ link: Interconnect) -> HopClass {
        link.nvlinkGeneration == nil && link.isPCIe ? .pci : .nvlink
    }

    /// Whether NCCL enables `p` on `link`: LL128 only over NVLink (`typeIntra <= PATH_NVB`).
    public static func enables(_ p: CollectiveProtocol, on link: Interconnect) -> Bool {
        p != .ll128 || hopClass(link) == .nvlink
    }

    /// The bus bandwidth NCCL's model starts from on `link`, bytes/s: the datasheet
    /// bandwidth times NCCL's per-link fraction for an NVLink generation it knows, else the
    /// datasheet bandwidth.
    public func busBytesPerSecond(_ link: Interconnect) -> Double {
        link.bytesPerSecond * (link.nvlinkGeneration.flatMap { nvlinkFraction[$0] } ?? 1)
    }

    /// The LL ceiling on `link`, bytes/s; infinity where NCCL gives none for it.
    public func llCeiling(_ link: Interconnect) -> Double {
        link.nvlinkGeneration.flatMap { llMaxBytesPerSecond[$0] } ?? .infinity
    }

    /// NVLS's bus bandwidth over `gpus` GPUs on `link`, bytes/s, as NCCL 2.30.7 derives it
    /// for one node; nil where NCCL would not run NVLS (no NVSwitch with multicast, an NVLink
    /// generation before Hopper's, fewer than 2 channels, or no per-channel bandwidth fits).
    ///
    /// NCCL's NVLS graph has c = min(G, 32) channels, each headed by one GPU (search.cc
    /// `ncclTopoCompute`: min = max channels on one node). A channel of bandwidth w takes w
    /// on every GPU's link to and from the switch and 2w on its head's
    /// (`ncclTopoSearchTryNvls`), so a GPU's link carries (c + 1) w, and the search keeps the
    /// largest w of its speed array with (c + 1) w <= B, B the GPU's NVLink bandwidth as NCCL
    /// counts it (`busBytesPerSecond`). Its second pass raises the graph's inter-node
    /// bandwidth to the array's top, which no path on one node uses. `ncclTopoTuneModel`
    /// then takes per channel
    ///
    ///     min(w x eff x (c - 1) / c x 2, top)
    ///
    /// (x 2: an all-reduce pipelines its reduce and its multicast), and the bus bandwidth
    /// is c times that.
    public func nvlsBusBytesPerSecond(_ link: Interconnect, gpus: Int) -> Double? {
        guard link.nvswitchMulticast, let generation = link.nvlinkGeneration, let efficiency = nvlsEfficiency[generation],
              let speeds = intraSpeedsBytesPerSecond[generation], let top = speeds.first else { return nil }
        let channels = min(gpus, maxNVLSArity)
        guard channels >= 2 else { return nil }
        let bus = busBytesPerSecond(link)
        guard let perChannel = speeds.first(where: { Double(channels + 1) * $0 <= bus }) else { return nil }
        let nvlsPerChannel = min(perChannel * efficiency * Double(channels - 1) / Double(channels) * 2, top)
        return Double(channels) * nvlsPerChannel
    }

    /// The tree's correction of its bandwidth for `bytes` under `p`: 1 outside 64 B ..< 512 MiB.
    public func treeCorrection(_ p: CollectiveProtocol, bytes: Int) -> Double {
        let units = bytes >> 6
        guard units > 0, let table = treeCorrection[p] else { return 1 }
        let k = Int.bitWidth - 1 - units.leadingZeroBitCount
        return k < table.count ? table[k] : 1
    }
}
