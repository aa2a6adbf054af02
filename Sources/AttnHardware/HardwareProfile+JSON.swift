import AttnJSON
import AttnNumerics
import Foundation

extension HardwareProfile {
    /// The largest HBM a profile may declare: 2^50 bytes (1 PiB). With the other limits
    /// below it keeps every product the simulator forms from a profile within 64 bits.
    public static let maxHBMBytes = 1 << 50
    /// The largest L2, shared-memory size or register count a profile may declare: 2^32.
    public static let maxOnChipCount = 1 << 32
    /// The largest SM count, per-clock rate, thread or block count: 2^20.
    public static let maxUnitCount = 1 << 20
    /// The largest rate a profile may declare (bytes/s, FLOP/s or Hz): 1e24.
    public static let maxRate = 1e24

    /// The physical range of each real-valued figure, with its unit: a value outside it
    /// (a typo such as `clock_hz: 1e-300`, or a rate off by a factor of a thousand) is an
    /// error naming the file and the field. The ranges span every GPU built to date by
    /// orders of magnitude on each side (a 100 MHz to 10 GHz clock, 1 GB/s to 1 PB/s of
    /// DRAM bandwidth, ...), so they refuse only figures no part can have.
    public static let physicalRanges: [String: (range: ClosedRange<Double>, unit: String)] = [
        "hbm_bytes_per_second": (1e9...1e15, "bytes/s"),
        "measured_hbm_bytes_per_second": (1e9...1e15, "bytes/s"),
        "l2_bytes_per_second": (1e9...1e16, "bytes/s"),
        "clock_hz": (1e8...1e10, "Hz"),
        "matmul_flops_per_second": (1e9...1e18, "FLOP/s"),
        "measured_matmul_flops_per_second": (1e9...1e18, "FLOP/s"),
        "matmul_int8_ops_per_second": (1e9...1e18, "op/s"),
        "vector_flops_per_second": (1e9...1e17, "FLOP/s"),
        "dram_latency_seconds": (1e-8...1e-5, "s"),
        "l2_latency_seconds": (1e-9...1e-5, "s"),
    ]

    /// `value` if it is finite and within the physical range of `key` (reported under the
    /// field `label`, `key` by default).
    static func physical(_ key: String, _ value: Double, in r: JSONObjectReader, label: String? = nil) throws(JSONInputError) -> Double {
        let field = label ?? key
        guard let (range, unit) = physicalRanges[key] else { return value }
        guard value.isFinite, range.contains(value) else {
            throw r.error(field, "expected a number from \(format(range.lowerBound)) to \(format(range.upperBound)) (\(unit)), found \(format(value))")
        }
        return value
    }

    /// A number as the messages print it: `%g` (1e-300, 1.98e+09, 600).
    static func format(_ value: Double) -> String {
        var text = ""
        withVaList([value]) { text = NSString(format: "%g", arguments: $0) as String }
        return text
    }

    /// Decodes and validates a profile from JSON text (the format of the built-in files
    /// under `Profiles/`; documented in docs/hardware.md). Every figure is checked against
    /// the limits above, so a typo such as `1e300` is an error naming the field.
    public init(jsonText: String, file: String) throws(JSONInputError) {
        let root = try JSONParser.parse(jsonText, file: file)
        var r = try JSONObjectReader(root, file: file, path: "")
        func need<T>(_ key: String, _ value: T?) throws(JSONInputError) -> T {
            guard let value else { throw r.error(key, "is required") }
            return value
        }
        func positive(_ key: String, _ value: Double?) throws(JSONInputError) -> Double {
            let v = try need(key, value)
            guard v > 0 else { throw r.error(key, "expected a positive number, found \(v)") }
            guard v <= HardwareProfile.maxRate else { throw r.error(key, "expected a number at most 1e24, found \(v)") }
            return try HardwareProfile.physical(key, v, in: r)
        }
        func count(_ key: String, maximum: Int) throws(JSONInputError) -> Int {
            try need(key, r.integer(key, minimum: 1, maximum: maximum))
        }
        func rates(_ key: String, required: Bool) throws(JSONInputError) -> [DType: Double] {
            guard var o = try r.object(key) else {
                if required { throw r.error(key, "is required") }
                return [:]
            }
            var result: [DType: Double] = [:]
            var spelled: [DType: String] = [:]
            for name in o.keys {
                guard let dtype = DType(matmulRateKey: name) else {
                    throw o.error(name, "unknown dtype; expected \(DType.matmulRateKeys)")
                }
                if let first = spelled[dtype] {
                    throw o.error(name, "names the same dtype as '\(first)' (\(dtype.rawValue)); give each dtype once")
                }
                spelled[dtype] = name
                let v = try o.number(name) ?? 0
                guard v > 0 else { throw o.error(name, "expected a positive number, found \(v)") }
                guard v <= HardwareProfile.maxRate else { throw o.error(name, "expected a number at most 1e24, found \(v)") }
                result[dtype] = try HardwareProfile.physical(key, v, in: o, label: name)
            }
            try o.finish()
            return result
        }

        id = try need("id", r.string("id"))
        name = try need("name", r.string("name"))
        hbmBytes = try count("hbm_bytes", maximum: HardwareProfile.maxHBMBytes)
        hbmBytesPerSecond = try positive("hbm_bytes_per_second", r.number("hbm_bytes_per_second"))
        l2Bytes = try r.integer("l2_bytes", minimum: 1, maximum: HardwareProfile.maxOnChipCount)
        if let value = try r.number("l2_bytes_per_second") {
            l2BytesPerSecond = try positive("l2_bytes_per_second", value)
        } else {
            l2BytesPerSecond = nil
        }
        smCount = try count("sm_count", maximum: HardwareProfile.maxUnitCount)
        clockHz = try positive("clock_hz", r.number("clock_hz"))
        sharedMemoryBytesPerSM = try count("shared_memory_bytes_per_sm", maximum: HardwareProfile.maxOnChipCount)
        sharedMemoryBytesPerBlock = try count("shared_memory_bytes_per_block", maximum: HardwareProfile.maxOnChipCount)
        sharedMemoryBytesPerClockPerSM = try count("shared_memory_bytes_per_clock_per_sm", maximum: HardwareProfile.maxUnitCount)
        registersPerSM = try count("registers_per_sm", maximum: HardwareProfile.maxOnChipCount)
        registersPerBlock = try count("registers_per_block", maximum: HardwareProfile.maxOnChipCount)
        registersPerThread = try r.integer("max_registers_per_thread", minimum: 1, maximum: HardwareProfile.maxUnitCount) ?? 255
        l1BytesPerSM = try r.integer("l1_bytes_per_sm", minimum: 1, maximum: HardwareProfile.maxOnChipCount)
        mmaRowsPerWarpGroup = try r.integer("mma_rows_per_warp_group", minimum: 0, maximum: 1024) ?? 0
        mmaWarpsPerWarpGroup = try r.integer("mma_warps_per_warp_group", minimum: 1, maximum: 32) ?? 4
        mmaRowsPerWarp = try r.integer("mma_rows_per_warp", minimum: 1, maximum: 256) ?? 16
        warpSize = try r.integer("warp_size", minimum: 1, maximum: 1024) ?? 32
        guard warpSize == 32 || warpSize == 64 else {
            throw r.error("warp_size", "expected 32 (an NVIDIA warp) or 64 (an AMD CDNA wavefront), found \(warpSize)")
        }
        if let latency = try r.number("dram_latency_seconds") {
            dramLatencySeconds = try HardwareProfile.physical("dram_latency_seconds", latency, in: r)
        }
        if let latency = try r.number("l2_latency_seconds") {
            l2LatencySeconds = try HardwareProfile.physical("l2_latency_seconds", latency, in: r)
        }
        maxThreadsPerSM = try count("max_threads_per_sm", maximum: HardwareProfile.maxUnitCount)
        maxBlocksPerSM = try count("max_blocks_per_sm", maximum: HardwareProfile.maxUnitCount)
        maxThreadsPerBlock = try r.integer("max_threads_per_block", minimum: 1, maximum: HardwareProfile.maxUnitCount) ?? 1024
        matmulFlopsPerSecond = try rates("matmul_flops_per_second", required: true)
        if let int8 = try r.number("matmul_int8_ops_per_second") {
            matmulInt8OpsPerSecond = try positive("matmul_int8_ops_per_second", int8)
        }
        tensorMemoryBytesPerSM = try r.integer("tensor_memory_bytes_per_sm", minimum: 0, maximum: HardwareProfile.maxOnChipCount) ?? 0
        mmaRowsPerCTA = try r.integer("mma_rows_per_cta", minimum: 0, maximum: 1024) ?? 0
        mmaCTAGroupSize = try r.integer("mma_cta_group_size", minimum: 1, maximum: 16) ?? 1
        maxClusterCTAs = try r.integer("max_cluster_ctas", minimum: 1, maximum: 16) ?? 1
        vectorFlopsPerSecond = try positive("vector_flops_per_second", r.number("vector_flops_per_second"))
        specialFunctionOpsPerClockPerSM = try count("special_function_ops_per_clock_per_sm", maximum: HardwareProfile.maxUnitCount)
        if let measured = try r.number("measured_hbm_bytes_per_second") {
            measuredHBMBytesPerSecond = try positive("measured_hbm_bytes_per_second", measured)
        } else {
            measuredHBMBytesPerSecond = nil
        }
        measuredMatmulFlopsPerSecond = try rates("measured_matmul_flops_per_second", required: false)
        if r.keys.contains("cost_model") {
            throw r.error(
                "cost_model",
                "a profile holds datasheet figures only; the cost model's fitted constants are calibration sets (docs/cost-model.md, \"Constants\"): remove this field")
        }
        if var link = try r.object("interconnect") {
            interconnect = try Self.interconnect(&link)
        }
        if var tier = try r.object("host_memory") { hostMemory = try Self.memoryTier(&tier) }
        if var tier = try r.object("storage") { storage = try Self.memoryTier(&tier) }
        var sourcesReader = try need("sources", r.object("sources"))
        var sources: [String: String] = [:]
        for key in sourcesReader.keys {
            sources[key] = try sourcesReader.string(key)
        }
        try sourcesReader.finish()
        self.sources = sources
        try r.finish()

        if sharedMemoryBytesPerBlock > sharedMemoryBytesPerSM {
            throw r.error("shared_memory_bytes_per_block", "exceeds shared_memory_bytes_per_sm")
        }
        if let l1BytesPerSM, l1BytesPerSM < sharedMemoryBytesPerSM {
            throw r.error("l1_bytes_per_sm", "is less than shared_memory_bytes_per_sm (the L1 holds the shared memory)")
        }
        if mmaCTAGroupSize > 1 && mmaRowsPerCTA == 0 {
            throw r.error("mma_cta_group_size", "is above 1 without mma_rows_per_cta (a CTA-pair MMA is a CTA-wide MMA, tcgen05's cta_group::2)")
        }
        if mmaCTAGroupSize > maxClusterCTAs {
            throw r.error("mma_cta_group_size", "is \(mmaCTAGroupSize) but max_cluster_ctas is \(maxClusterCTAs) (the CTAs of one MMA are a cluster)")
        }
        if maxClusterCTAs > 1 && sources["max_cluster_ctas"] == nil {
            throw r.error("sources.max_cluster_ctas", "is required (where the figure comes from)")
        }
        if mmaRowsPerCTA > 0 && tensorMemoryBytesPerSM == 0 {
            throw r.error("mma_rows_per_cta", "needs tensor_memory_bytes_per_sm (a CTA-wide MMA accumulates into tensor memory)")
        }
        if registersPerBlock > registersPerSM {
            throw r.error("registers_per_block", "exceeds registers_per_sm")
        }
        if maxThreadsPerBlock % warpSize != 0 || maxThreadsPerBlock > maxThreadsPerSM {
            throw r.error("max_threads_per_block", "expected a multiple of warp_size (\(warpSize)) of at most max_threads_per_sm (\(maxThreadsPerSM)), found \(maxThreadsPerBlock)")
        }
        if l2LatencySeconds > dramLatencySeconds {
            throw r.error("l2_latency_seconds", "exceeds dram_latency_seconds (an L2 hit is faster than a DRAM access)")
        }
        if let measured = measuredHBMBytesPerSecond, measured > hbmBytesPerSecond {
            throw r.error("measured_hbm_bytes_per_second", "exceeds hbm_bytes_per_second (a measured ceiling is at most the datasheet peak)")
        }
        for (dtype, measured) in measuredMatmulFlopsPerSecond {
            if let peak = matmulFlopsPerSecond[dtype], measured > peak {
                throw r.error("measured_matmul_flops_per_second", "\(dtype) exceeds matmul_flops_per_second (a measured ceiling is at most the datasheet peak)")
            }
        }
    }

    /// Reads the optional `interconnect` object: `name`, `bytes_per_second` (per GPU and
    /// direction), `latency_seconds` (per step of a ring collective), optionally
    /// `domain_gpus` (the GPUs it joins all-to-all), `nvswitch_multicast` (true where an
    /// NVSwitch with NVLink SHARP joins them) and `sources` with an entry for each figure.
    static func interconnect(_ r: inout JSONObjectReader) throws(JSONInputError) -> Interconnect {
        guard let name = try r.string("name") else { throw r.error("name", "is required") }
        guard !name.isEmpty else { throw r.error("name", "expected a non-empty string") }
        guard let bandwidth = try r.number("bytes_per_second") else { throw r.error("bytes_per_second", "is required") }
        guard bandwidth > 0 else { throw r.error("bytes_per_second", "expected a positive number, found \(bandwidth)") }
        guard bandwidth.isFinite, bandwidth >= 1e6, bandwidth <= 1e15 else {
            throw r.error("bytes_per_second", "expected a number from 1e+06 to 1e+15 (bytes/s), found \(HardwareProfile.format(bandwidth))")
        }
        guard let latency = try r.number("latency_seconds") else { throw r.error("latency_seconds", "is required") }
        guard latency >= 0 && latency <= Interconnect.maxLatencySeconds else {
            throw r.error("latency_seconds", "expected a number from 0 to 1, found \(latency)")
        }
        let domain = try r.integer("domain_gpus", minimum: 2, maximum: HardwareProfile.maxUnitCount)
        let multicast = try r.bool("nvswitch_multicast")
        guard var s = try r.object("sources") else { throw r.error("sources", "is required") }
        var sources: [String: String] = [:]
        for key in s.keys {
            guard ["bytes_per_second", "latency_seconds", "domain_gpus", "nvswitch_multicast", "name"].contains(key) else {
                throw s.error(key, "unknown field; expected bytes_per_second, latency_seconds, domain_gpus, nvswitch_multicast or name")
            }
            sources[key] = try s.string(key)
        }
        try s.finish()
        let sourced = ["bytes_per_second", "latency_seconds"] + (domain == nil ? [] : ["domain_gpus"]) + (multicast == nil ? [] : ["nvswitch_multicast"])
        for key in sourced where sources[key] == nil {
            throw s.error(key, "is required (where the figure comes from)")
        }
        try r.finish()
        guard var link = Interconnect(name: name, bytesPerSecond: bandwidth, latencySeconds: latency, sources: sources) else {
            throw r.error("bytes_per_second", "expected a positive number, found \(bandwidth)")
        }
        link.domainGPUs = domain
        link.nvswitchMulticast = multicast ?? false
        return link
    }

    /// Reads an optional memory level below HBM (`host_memory`, `storage`): `name`,
    /// `bytes` (per GPU), `bytes_per_second` (per direction), `latency_seconds` (per copy)
    /// and `sources` with an entry for each figure.
    static func memoryTier(_ r: inout JSONObjectReader) throws(JSONInputError) -> MemoryTier {
        guard let name = try r.string("name"), !name.isEmpty else { throw r.error("name", "is required: a non-empty string") }
        guard let bytes = try r.integer("bytes", minimum: 0, maximum: HardwareProfile.maxHBMBytes * 1024) else { throw r.error("bytes", "is required") }
        guard let bandwidth = try r.number("bytes_per_second") else { throw r.error("bytes_per_second", "is required") }
        guard bandwidth > 0, bandwidth <= HardwareProfile.maxRate else {
            throw r.error("bytes_per_second", "expected a positive number at most 1e24, found \(bandwidth)")
        }
        guard let latency = try r.number("latency_seconds") else { throw r.error("latency_seconds", "is required") }
        guard latency >= 0 && latency <= 1 else { throw r.error("latency_seconds", "expected a number from 0 to 1, found \(latency)") }
        guard var s = try r.object("sources") else { throw r.error("sources", "is required") }
        var sources: [String: String] = [:]
        for key in s.keys {
            guard ["name", "bytes", "bytes_per_second", "latency_seconds"].contains(key) else {
                throw s.error(key, "unknown field; expected name, bytes, bytes_per_second or latency_seconds")
            }
            sources[key] = try s.string(key)
        }
        try s.finish()
        for key in ["bytes", "bytes_per_second", "latency_seconds"] where sources[key] == nil {
            throw s.error(key, "is required (where the figure comes from)")
        }
        try r.finish()
        guard let tier = MemoryTier(name: name, bytes: bytes, bytesPerSecond: bandwidth, latencySeconds: latency, sources: sources) else {
            throw r.error("bytes_per_second", "expected a positive number, found \(bandwidth)")
        }
        return tier
    }
}
