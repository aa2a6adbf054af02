import AttnHardware
import AttnJSON
import AttnModel
import AttnNumerics
import Foundation
import KVCache
import Workload

/// A scenario file of any kind: the `study` field says which (docs/scenarios.md).
public enum StudyFile: Sendable {
    /// `"study": "attention"` (the default): algorithms over context lengths.
    case attention(Scenario)
    /// `"study": "kv"`: a model's KV-cache footprint and capacity.
    case kv(KVStudy, description: String?)
    /// `"study": "paged"`: allocation policies over a request trace.
    case paged(PagedStudy, description: String?)
    /// `"study": "model"`: a whole decoder model's steps (`attnsim model`).
    case model(ModelStudyFile, description: String?)

    public var description: String? {
        switch self {
        case .attention(let s): return s.description
        case .kv(_, let d), .paged(_, let d), .model(_, let d): return d
        }
    }

    /// Reads a scenario file of any study kind.
    public static func load(path: String) throws(ScenarioError) -> StudyFile {
        let text: String
        do { text = try TextFile.read(path) } catch {
            throw .unreadable(file: path, reason: error.reason)
        }
        do {
            return try decode(text, file: path, directory: (path as NSString).deletingLastPathComponent)
        } catch {
            throw .invalid(error)
        }
    }

    public static func decode(_ text: String, file: String, directory: String? = nil) throws(JSONInputError) -> StudyFile {
        let root = try JSONParser.parse(text, file: file)
        var peek = try JSONObjectReader(root, file: file, path: "")
        let study = try peek.string("study") ?? "attention"
        switch study {
        case "attention":
            return .attention(try Scenario(json: root, file: file, directory: directory))
        case "kv":
            return try decodeKV(root, file: file)
        case "paged":
            return try decodePaged(root, file: file, directory: directory)
        case "model":
            return try decodeModel(root, file: file, directory: directory)
        default:
            throw peek.error("study", "expected \"attention\", \"kv\", \"paged\" or \"model\", found \"\(study)\"")
        }
    }

    private static func header(_ r: inout JSONObjectReader) throws(JSONInputError) -> String? {
        guard let version = try r.integer("version") else { throw r.error("version", "is required (the current version is \(Scenario.formatVersion))") }
        guard version == Scenario.formatVersion else { throw r.error("version", "expected \(Scenario.formatVersion), found \(version)") }
        _ = try r.string("study")
        _ = try r.string("name")
        return try r.string("description")
    }

    private static func kvDType(_ r: inout JSONObjectReader) throws(JSONInputError) -> KVDType {
        var group: KVDType.QuantGroup?
        if let value = r.value("quant_group") {
            let parsed: KVDType.QuantGroup?
            switch value {
            case .integer(let n): parsed = n >= 1 ? .elements(n) : nil
            case .string(let text): parsed = text == "token" ? .token : nil
            default: parsed = nil
            }
            guard let parsed else { throw r.error("quant_group", "expected a positive group size or \"token\", found \(value.summary)") }
            group = parsed
        }
        if let size = try r.integer("int4_group", minimum: 1) {
            guard group == nil else { throw r.error("int4_group", "sets the same group as quant_group; give one") }
            group = .elements(size)
        }
        let name = try r.string("dtype") ?? "fp16"
        guard let dtype = KVDType(name: name, group: group) else {
            throw r.error("dtype", "expected \"fp32\", \"fp16\", \"bf16\", \"fp8\", \"fp8e5m2\", \"int8\", \"int4\", \"nvfp4\" or \"mxfp4\", found \"\(name)\"")
        }
        if group != nil && dtype.group == nil {
            throw r.error("quant_group", "applies to dtype int8 or int4, not \(dtype)")
        }
        return dtype
    }

    /// The `hardware` field (a built-in profile or a profile .json path; `fallback` when
    /// absent), loaded once here so that a bad one is reported with the file and field
    /// before anything runs or warns, as an attention scenario's is.
    private static func hardware(_ r: inout JSONObjectReader, fallback: String) throws(JSONInputError) -> String {
        guard let name = try r.string("hardware") else { return fallback }
        do { _ = try HardwareProfile.named(name) } catch { throw r.error("hardware", error.description) }
        return name
    }

    private static func utilization(_ r: inout JSONObjectReader) throws(JSONInputError) -> Double {
        guard let u = try r.number("memory_utilization") else { return KVCapacity.defaultMemoryUtilization }
        guard u > 0 && u <= 1 else { throw r.error("memory_utilization", "expected a number in (0, 1], found \(u)") }
        return u
    }

    private static func decodeKV(_ root: JSONValue, file: String) throws(JSONInputError) -> StudyFile {
        var r = try JSONObjectReader(root, file: file, path: "")
        let description = try header(&r)
        guard let model = try r.string("model") else { throw r.error("model", "is required: a built-in model or a model .json path") }
        let contexts = try contextList(&r, file: file)
        var study = KVStudy(
            model: model, contexts: contexts, batch: try r.integer("batch", minimum: 1) ?? 1, dtype: try kvDType(&r),
            hardware: try hardware(&r, fallback: HardwareProfile.defaultName),
            weightBytesPerParameter: try r.integer("weight_bytes", minimum: 1, maximum: KVStudy.maxWeightBytesPerParameter) ?? 2,
            memoryUtilization: try utilization(&r), window: try r.integer("window", minimum: 1, maximum: ModelSpec.maxContext),
            sinks: try r.integer("sinks", minimum: 0, maximum: ModelSpec.maxContext))
        study.allowBeyondMax = try r.bool("allow_beyond_max") ?? false
        study.weightFormat = try weightFormat(&r)
        try r.finish()
        // Whether footprints fit in 64 bits depends on the model: checked here when it
        // loads (an unknown model is reported when the study runs), so the error names
        // the file and the field.
        if let spec = try? ModelSpec.named(model) {
            let policyModel: ModelSpec
            do {
                policyModel = try study.policyModel(spec)
                try study.checkFootprints(policyModel)
            } catch {
                let path = error.index.map { "contexts[\($0)]" } ?? (error.input == "weight-bytes" ? "weight_bytes" : error.input)
                throw JSONInputError(file: file, path: path, message: error.message)
            }
            if !study.allowBeyondMax {
                try refuseBeyondMax(study.contexts, limits: { policyModel.contextLimit(KVStudy.positions(context: $0, window: study.window, sinks: study.sinks ?? spec.attentionSinks)) }, file: file)
            }
        }
        return .kv(study, description: description)
    }

    /// The first of `contexts` past the model's maximum context, as an error at its field.
    private static func refuseBeyondMax(_ contexts: [Int], limits: (Int) -> ContextLimit?, file: String) throws(JSONInputError) {
        for (index, context) in contexts.enumerated() {
            guard let limit = limits(context) else { continue }
            throw JSONInputError(
                file: file, path: "contexts[\(index)]",
                message: "\(limit); expected at most \(limit.maxContext) tokens, or \"allow_beyond_max\": true to run it anyway")
        }
    }

    /// `contexts`: a non-empty array of lengths (numbers or strings such as "4k").
    private static func contextList(_ r: inout JSONObjectReader, file: String) throws(JSONInputError) -> [Int] {
        guard let values = try r.array("contexts"), !values.isEmpty else {
            throw r.error("contexts", "is required: a non-empty array of lengths such as [4096, \"128k\"]")
        }
        var contexts: [Int] = []
        for (index, value) in values.enumerated() {
            let path = r.path("contexts") + "[\(index)]"
            if case .string(let text) = value {
                guard let n = ContextList.parseLength(text) else {
                    throw JSONInputError(file: file, path: path, message: "expected a length such as 4096 or \"4k\", found \"\(text)\"")
                }
                contexts.append(n)
            } else {
                contexts.append(try JSONObjectReader.integer(value, minimum: 1, file: file, path: path))
            }
        }
        if let (index, earlier) = ContextList.firstRepeat(contexts) {
            throw JSONInputError(file: file, path: r.path("contexts") + "[\(index)]", message: "\(contexts[index]) repeats contexts[\(earlier)]; give each length once")
        }
        return contexts
    }

    private static func decodeModel(_ root: JSONValue, file: String, directory: String?) throws(JSONInputError) -> StudyFile {
        var r = try JSONObjectReader(root, file: file, path: "")
        let description = try header(&r)
        guard var model = try r.string("model") else { throw r.error("model", "is required: a built-in model with a decoder object or a model .json path") }
        if model.hasSuffix(".json"), !model.hasPrefix("/"), let directory { model = (directory as NSString).appendingPathComponent(model) }
        let contexts = try contextList(&r, file: file)
        var study = ModelStudyFile(model: model, contexts: contexts)
        study.hardware = try hardware(&r, fallback: study.hardware)
        study.batch = try r.integer("batch", minimum: 1, maximum: ModelStudyFile.maxCount) ?? 1
        (study.dtype, study.precision) = try modelPrecision(&r)
        study.tensorParallel = try r.integer("tp", minimum: 1, maximum: ModelStudyFile.maxGPUs) ?? 1
        study.contextParallel = try r.integer("cp", minimum: 1, maximum: ModelStudyFile.maxGPUs) ?? 1
        study.expertParallel = try r.integer("ep", minimum: 1, maximum: ModelStudyFile.maxGPUs) ?? 1
        study.attentionDataParallel = try r.bool("attention_dp") ?? false
        if let f = try r.number("expert_imbalance") {
            guard f >= 1 else { throw r.error("expert_imbalance", "expected the busiest GPU's load over the mean, at least 1, found \(f)") }
            study.expertImbalance = f
        }
        study.pipelineParallel = try r.integer("pp", minimum: 1, maximum: ModelStudyFile.maxGPUs) ?? 1
        study.microbatches = try r.integer("microbatches", minimum: 1, maximum: ModelStudyFile.maxCount) ?? 1
        study.prune = try r.string("prune")
        if let view = try r.string("view") {
            guard ModelStudyFile.views.contains(view) else { throw r.error("view", "expected \(ModelStudyFile.views.map { "\"\($0)\"" }.joined(separator: ", ")), found \"\(view)\"") }
            study.view = view
        }
        if let phase = try r.string("phase") {
            guard ["prefill", "decode"].contains(phase) else { throw r.error("phase", "expected \"prefill\" or \"decode\", found \"\(phase)\"") }
            study.phase = phase
        }
        study.crossover = try r.bool("crossover") ?? false
        study.allowLong = try r.bool("allow_long") ?? false
        study.allowBeyondMax = try r.bool("allow_beyond_max") ?? false
        if var speculative = try r.object("speculative") { study.speculative = try SpeculativeRequest.decode(&speculative, directory: directory) }
        try r.finish()
        // A context past the model's maximum context (an unknown model is reported when
        // the study runs), named by its field.
        if !study.allowBeyondMax, let spec = try? ModelSpec.named(model) {
            try refuseBeyondMax(contexts, limits: spec.contextLimit, file: file)
        }
        return .model(study, description: description)
    }

    /// A kv or paged study's `weights`: the layers' format (`TensorFormat`); nil when absent.
    private static func weightFormat(_ r: inout JSONObjectReader) throws(JSONInputError) -> TensorFormat? {
        guard let name = try r.string("weights") else { return nil }
        guard let format = TensorFormat(name: name) else { throw r.error("weights", "expected \(TensorFormat.names), found \"\(name)\"") }
        return format
    }

    /// A model study's `dtype` with `weights`, `experts`, `activations` and `kv` beside it
    /// (`ModelPrecision.resolve`), each a format name (`TensorFormat`, `KVDType`).
    private static func modelPrecision(_ r: inout JSONObjectReader) throws(JSONInputError) -> (DType, ModelPrecision) {
        func format(_ field: String) throws(JSONInputError) -> TensorFormat? {
            guard let name = try r.string(field) else { return nil }
            guard let format = TensorFormat(name: name) else { throw r.error(field, "expected \(TensorFormat.names), found \"\(name)\"") }
            return format
        }
        let dtype = try format("dtype"), weights = try format("weights"), experts = try format("experts"), activations = try format("activations")
        if let activations, case .int4 = activations { throw r.error("activations", "expected fp32, fp16, bf16, fp8, fp8e5m2, nvfp4 or mxfp4 (integer formats are weight-only), found \"\(activations)\"") }
        if let activations, case .int8 = activations { throw r.error("activations", "expected fp32, fp16, bf16, fp8, fp8e5m2, nvfp4 or mxfp4 (integer formats are weight-only), found \"\(activations)\"") }
        var kv: KVDType?
        if let name = try r.string("kv") {
            guard let parsed = KVDType.named(name) else { throw r.error("kv", "expected \(KVDType.names) (int8-token, int4-g64: a group), found \"\(name)\"") }
            kv = parsed
        }
        return ModelPrecision.resolve(dtype: dtype, weights: weights, experts: experts, activations: activations, kv: kv)
    }

    private static func decodePaged(_ root: JSONValue, file: String, directory: String?) throws(JSONInputError) -> StudyFile {
        var r = try JSONObjectReader(root, file: file, path: "")
        let description = try header(&r)
        guard let model = try r.string("model") else { throw r.error("model", "is required: a built-in model or a model .json path") }
        guard var trace = try r.string("trace") else {
            throw r.error("trace", "is required: a built-in workload (\(RequestTrace.syntheticNames.joined(separator: ", "))) or a CSV or JSONL path")
        }
        if !RequestTrace.isSynthetic(trace), !trace.hasPrefix("/"), let directory {
            trace = (directory as NSString).appendingPathComponent(trace)
        }
        var sharing = SharingMode.none
        if let text = try r.string("sharing") {
            let parts = text.split(separator: ":").map(String.init)
            let limit = parts.first == "prefix" ? ServingSimulator.maxRequestTokens : ServingSimulator.maxSequences
            if parts.count == 2, let n = Int(parts[1]), n > 0, n <= limit, ["parallel", "beam", "prefix"].contains(parts[0]) {
                sharing = parts[0] == "parallel" ? .parallelSampling(samples: n) : parts[0] == "beam" ? .beamSearch(width: n) : .sharedPrefix(tokens: n)
            } else if text != "none" {
                throw r.error("sharing", "expected \"parallel:N\", \"beam:W\", \"prefix:T\" or \"none\", found \"\(text)\"" + (parts.count == 2 && (Int(parts[1]) ?? 0) > limit ? " (at most \(limit))" : ""))
            }
        }
        var policies = sharing == .none ? PagedStudy.allPolicies : ["paged"]
        if let values = try r.array("policies") {
            guard !values.isEmpty else { throw r.error("policies", "expected one or more of \(PagedStudy.allPolicies.joined(separator: ", ")), found []") }
            policies = []
            for (index, value) in values.enumerated() {
                guard case .string(let name) = value, PagedStudy.allPolicies.contains(name) else {
                    throw JSONInputError(file: file, path: r.path("policies") + "[\(index)]",
                                         message: "expected one of \(PagedStudy.allPolicies.joined(separator: ", ")), found \(value.summary)")
                }
                policies.append(name)
            }
        }
        var allocator = ContiguousAllocator.Strategy.firstFit
        if let name = try r.string("allocator") {
            guard let a = ContiguousAllocator.Strategy(rawValue: name) else { throw r.error("allocator", "expected \"first-fit\" or \"buddy\", found \"\(name)\"") }
            allocator = a
        }
        var rate = 10.0
        if let value = try r.number("rate") {
            guard value > 0 else { throw r.error("rate", "expected a positive number, found \(value)") }
            guard value >= PagedStudy.minRate else { throw r.error("rate", "expected at least \(PagedStudy.minRate) requests per second, found \(value)") }
            rate = value
        }
        var study = PagedStudy(
            model: model, trace: trace, requests: try r.integer("requests", minimum: 1, maximum: PagedStudy.maxRequests) ?? 1000, rate: rate,
            blockSize: try r.integer("block_size", minimum: 1, maximum: ServingSimulator.maxRequestTokens) ?? 16,
            maxLength: try r.integer("max_len", minimum: 2, maximum: ServingSimulator.maxRequestTokens) ?? 2048,
            policies: policies, allocator: allocator, sharing: sharing, dtype: try kvDType(&r),
            hardware: try hardware(&r, fallback: HardwareProfile.defaultName), memoryUtilization: try utilization(&r),
            seed: UInt64(try r.integer("seed", minimum: 0) ?? 1), window: try r.integer("window", minimum: 1, maximum: ModelSpec.maxContext),
            sinks: try r.integer("sinks", minimum: 0, maximum: ModelSpec.maxContext),
            timing: try timing(&r), prefillChunk: try r.integer("chunk", minimum: 1, maximum: ServingSimulator.maxRequestTokens),
            tensorParallel: try r.integer("tp", minimum: 1, maximum: KVStudy.maxTensorParallel) ?? 1)
        study.weightFormat = try weightFormat(&r)
        study.allowLong = try r.bool("allow_long") ?? false
        study.allowBeyondMax = try r.bool("allow_beyond_max") ?? false
        study.prefixCaching = try r.bool("prefix_caching") ?? false
        if let text = try r.string("preemption") {
            guard let mode = PagedStudy.PreemptionMode(rawValue: text) else {
                throw r.error("preemption", "expected \"recompute\", \"swap\" or \"swap-storage\", found \"\(text)\"")
            }
            study.preemption = mode
        }
        study.replicas = try r.integer("replicas", minimum: 1, maximum: ServingCluster.maxReplicas) ?? 1
        if let seconds = try r.number("host_overhead_s") {
            guard seconds >= 0 && seconds <= PagedStudy.maxHostOverheadSeconds else {
                throw r.error("host_overhead_s", "expected 0 to \(PagedStudy.maxHostOverheadSeconds) seconds per iteration, found \(seconds)")
            }
            study.hostOverheadSeconds = seconds
        }
        if var d = try r.object("disaggregate") {
            guard let prefill = try d.integer("prefill_replicas", minimum: 1, maximum: ServingCluster.maxReplicas) else {
                throw d.error("prefill_replicas", "is required: the replicas that compute prompts")
            }
            guard let decode = try d.integer("decode_replicas", minimum: 1, maximum: ServingCluster.maxReplicas) else {
                throw d.error("decode_replicas", "is required: the replicas that decode")
            }
            try d.finish()
            study.disaggregation = .init(prefillReplicas: prefill, decodeReplicas: decode)
        }
        if let text = try r.string("router") {
            guard let router = Router(rawValue: text) else {
                throw r.error("router", "expected \(Router.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", ")), found \"\(text)\"")
            }
            guard router != .prefixAffinity || study.prefixCaching else {
                throw r.error("router", "\"prefix-affinity\" routes by cached prefixes: it needs \"prefix_caching\": true")
            }
            study.router = router
        }
        if let values = try r.array("rates") {
            guard RequestTrace.isSynthetic(trace) else { throw r.error("rates", "sweeps a built-in workload; a trace file has its own arrivals") }
            guard !values.isEmpty else { throw r.error("rates", "expected one or more request rates, found []") }
            var rates: [Double] = []
            for (index, value) in values.enumerated() {
                let x: Double?
                switch value {
                case .integer(let i): x = Double(i)
                case .number(let n): x = n
                default: x = nil
                }
                guard let x, x >= PagedStudy.minRate, x.isFinite else {
                    throw JSONInputError(file: file, path: r.path("rates") + "[\(index)]", message: "expected a rate of at least \(PagedStudy.minRate) requests per second, found \(value.summary)")
                }
                rates.append(x)
            }
            study.rates = rates
        }
        try r.finish()
        return .paged(study, description: description)
    }

    /// A paged study's `timing`: `"model"` or `"fixed:S"`; absent: fixed 0.05 s, so that
    /// scenarios written before model timing keep their numbers.
    private static func timing(_ r: inout JSONObjectReader) throws(JSONInputError) -> IterationTiming {
        guard let text = try r.string("timing") else { return .defaultFixed }
        guard let timing = IterationTiming(parsing: text) else {
            throw r.error("timing", "expected \"model\" or \"fixed:SECONDS\" (e.g. \"fixed:0.05\"), found \"\(text)\"")
        }
        return timing
    }
}
