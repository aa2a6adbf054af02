import AttnNumerics
import AttnReport
import AttnScenario
import Foundation
import KVCache
import Workload

/// `attnsim paged`: paged vs contiguous KV-cache allocation over a request trace.
enum PagedCommand {
    static let options = [
        .model("Model preset or model file (required)."),
        OptionSpec(
            name: "trace", value: "FILE|NAME",
            help: "A CSV or JSONL trace (arrival,prompt_tokens,output_tokens; Azure LLM inference and BurstGPT columns too) or a synthetic workload: sharegpt, alpaca, chat, fewshot, agent (required).",
            role: .input(suffix: "")),
        OptionSpec(name: "block-size", value: "N", help: "Tokens per KV block of the paged policy (default 16)."),
        OptionSpec(name: "requests", value: "N", help: "Requests of a synthetic trace (default 1000)."),
        OptionSpec(name: "rate", value: "R[,R...]", help: "Poisson arrivals per second of a synthetic trace (default 10); a list sweeps rates."),
        OptionSpec(name: "timing", value: "model|fixed:S", help: "Iteration time: the model's predicted forward pass over each batch (default) or S seconds."),
        OptionSpec(name: "host-overhead", value: "S", help: "The serving engine's host time per iteration, added to --timing's (scheduling, input preparation, sampled-token read-back; default 0: the kernels alone)."),
        OptionSpec(name: "chunk", value: "N", help: "Chunked prefill: at most N tokens per iteration, decode steps first (default: whole prompts)."),
        OptionSpec(name: "max-len", value: "N", help: "Longest sequence; contiguous-max reserves it (default 2048)."),
        OptionSpec(name: "policies", value: "LIST", help: "Comma-separated: paged, contiguous-max, contiguous-pow2, contiguous-oracle (default all; paged with --sharing, under which contiguous policies keep a private copy per sequence)."),
        OptionSpec(name: "allocator", value: "first-fit|buddy", help: "Contiguous allocator (default first-fit)."),
        OptionSpec(name: "sharing", value: "MODE", help: "parallel:N (N samples), beam:W (beam width W) or prefix:T (shared T-token prefix); paged blocks are shared, contiguous reservations private."),
        .kvDType("KV-cache dtype (default fp16; int8 per token, int4 in groups of 64)."),
        OptionSpec(name: "window", value: "W", help: "Eviction policy: sequences keep their last W tokens, freeing older blocks (default: the model's window when every layer has it; global + windowed layers: one block table per layer group in a shared pool, docs/kv-cache.md)."),
        OptionSpec(name: "sinks", value: "S", help: "Eviction policy: and their first S tokens (StreamingLLM attention sinks)."),
        .hardware("GPU (default h100-sxm)."),
        .weights("The layers' weight format: fp16/bf16 (default), fp8, nvfp4, mxfp4, int8, int4 (g128): the pool's room and, with --timing model, the GEMMs (quantized weights with fp16 activations: weight-only)."),
        OptionSpec(name: "tp", value: "G", help: "Tensor parallelism: KV heads and weights split over G GPUs (KV heads replicated past kv_heads); the pool is one GPU's (default 1)."),
        .memoryUtilization("Share of HBM the server may use (default 0.9)."),
        .allowBeyondMax,
        .allowLong("With model timing, run each tile program even when counting it exceeds the work budget (about a minute of count mode)."),
        OptionSpec(name: "seed", value: "N", help: "Seed of synthetic traces and beam choices (default 1)."),
        OptionSpec(name: "prefix-caching", value: nil, help: "Paged policy: keep full blocks cached by content after their request lets go of them; prompts that start with cached blocks take them (vLLM automatic prefix caching, SGLang RadixAttention)."),
        OptionSpec(name: "preemption", value: "MODE", help: "Paged policy: recompute (default), swap (to the GPU's host memory over its host link) or swap-storage (to NVMe)."),
        OptionSpec(name: "replicas", value: "N", help: "Replicas behind a router, each with its own pool (default 1)."),
        OptionSpec(name: "router", value: "NAME", help: "round-robin (default), least-loaded or prefix-affinity (needs --prefix-caching)."),
        OptionSpec(name: "disaggregate", value: "prefill=P,decode=D", help: "Disaggregated prefill and decode: P prefill and D decode replicas (each of --tp GPUs), the KV sent over the interconnect; in place of --replicas."),
        .format,
        .reportOutput,
        .helpFlag,
    ]

    /// The text of `attnsim paged --help`.
    static let help = helpText(
        usage: "attnsim paged --model NAME --trace FILE|sharegpt|alpaca [options]",
        summary: """
            Replays a request trace with iteration-level scheduling under each allocation policy and prints the
            time-averaged split of KV memory into token states, reservations, internal and external
            fragmentation (Kwon et al. 2023, Figure 2), the largest batch reached, with --sharing the memory
            saved by sharing blocks, and the serving latency: TTFT and TPOT percentiles, normalized latency
            (seconds per output token, Kwon et al. 2023, Figure 12) and requests/s. Iterations take the whole
            model's predicted time over their batch (attnsim model) unless --timing fixed:S.
            """,
        options: options,
        footer: "EXAMPLES:\n  attnsim paged --model opt-13b --hardware a100-40gb-sxm --trace sharegpt\n  attnsim paged --model opt-13b --hardware a100-40gb-sxm --trace sharegpt --rate 0.5,1,1.5,2 --policies paged,contiguous-oracle\n  attnsim paged --model opt-13b --trace alpaca --sharing beam:4 --timing fixed:0.05\n  attnsim paged --model llama-3-8b --trace sharegpt --policies paged --rate 20 --disaggregate prefill=1,decode=1")

    /// Runs the command on its parsed arguments (dispatch answers `--help` with `help`).
    static func main(_ parsed: ParsedArguments, console: Console) throws -> ExitCode {
        guard parsed.positionals.isEmpty else { throw UsageError(message: "'paged' takes no positional arguments") }
        let study = try studyFrom(parsed)
        let rates = try rateList(parsed)
        if rates.count > 1 && !RequestTrace.isSynthetic(study.trace) {
            throw UsageError(message: "'--rate' with several rates sweeps a synthetic trace (\(RequestTrace.syntheticNames.joined(separator: ", "))); a trace file has its own arrivals")
        }
        return try run(study, rates: rates, target: try parsed.reportTarget(try parsed.outputs()), console: console)
    }

    /// Runs a paged study (from the command line or a scenario file) at each of `rates`
    /// and delivers the report: 0, 64 for a `tp` that does not split the model's heads, 1
    /// when the simulation fails.
    static func run(
        _ study: PagedStudy, rates: [Double], target: ReportTarget, console: Console,
        how: String = "give --allow-beyond-max (or a smaller --max-len) to run it anyway"
    ) throws -> ExitCode {
        do { try study.validate() } catch {
            // A bad --tp or an empty selection of policies is a bad option value; other
            // inputs are reported below.
            if ["tp", "policies", "replicas", "disaggregate"].contains(error.input) { throw UsageError(message: error.advice.spelled(\.flag)) }
        }
        if study.tensorParallel > 1, let spec = try? ModelSpec.named(study.model),
           let problem = KVStudy.tensorParallelProblem(spec, gpus: study.tensorParallel) {
            // A --tp that does not split the model's heads is a bad option value.
            throw UsageError(message: KVInputError(input: "tp", value: "\(study.tensorParallel)", message: problem).description)
        }
        // Requests past the model's maximum context (an unreadable model or trace is
        // reported when the study runs).
        if let spec = try? ModelSpec.named(study.model), let requests = try? study.loadTrace(), let limit = study.contextLimit(spec, requests: requests) {
            try CommandSupport.beyondMax([limit], allowed: study.allowBeyondMax, how: how, console: console)
        }
        let bar = ProgressBar(console: console)
        do {
            let stats = try StudyRunner.run(study, rates: rates) { bar.update(label: $0, fraction: $1) }
            bar.finish()
            try target.deliver(console, kind: .paged, title: "attnsim paged: \(study.model) on \(study.hardware)", datasets: { [.paged(stats, command: $0)] }) {
                KVReport.render(stats, format: $0)
            }
            return .success
        } catch {
            bar.finish()
            console.err(ErrorReport.text(error))
            return .failure
        }
    }

    static func studyFrom(_ parsed: ParsedArguments) throws(UsageError) -> PagedStudy {
        guard let model = parsed.value("model") else { throw UsageError(message: "'--model' is required") }
        guard let trace = parsed.value("trace") else { throw UsageError(message: "'--trace' is required (a CSV or JSONL file, or \(RequestTrace.syntheticNames.joined(separator: ", ")))") }
        var sharing = SharingMode.none
        if let text = parsed.value("sharing") {
            guard let mode = parseSharing(text) else {
                throw UsageError(message: "'--sharing' expects parallel:N, beam:W or prefix:T, found '\(text)'")
            }
            sharing = mode
        }
        var policies = sharing == .none ? PagedStudy.allPolicies : ["paged"]
        if let names = try parsed.names("policies") {
            policies = names
            for name in policies where !PagedStudy.allPolicies.contains(name) {
                throw UsageError(message: "unknown policy '\(name)'; expected: \(PagedStudy.allPolicies.joined(separator: ", "))")
            }
        }
        var allocator = ContiguousAllocator.Strategy.firstFit
        if let name = parsed.value("allocator") {
            guard let a = ContiguousAllocator.Strategy(rawValue: name) else {
                throw UsageError(message: "'--allocator' expects first-fit or buddy, found '\(name)'")
            }
            allocator = a
        }
        let rate = try rateList(parsed)[0]
        let timingText = parsed.value("timing") ?? "model"
        guard let timing = IterationTiming(parsing: timingText) else {
            throw UsageError(message: "'--timing' expects model or fixed:SECONDS (e.g. fixed:0.05), found '\(timingText)'")
        }
        var preemption = PagedStudy.PreemptionMode.recompute
        if let text = parsed.value("preemption") {
            guard let mode = PagedStudy.PreemptionMode(rawValue: text) else {
                throw UsageError(message: "'--preemption' expects recompute, swap or swap-storage, found '\(text)'")
            }
            preemption = mode
        }
        var router = Router.roundRobin
        if let text = parsed.value("router") {
            guard let r = Router(rawValue: text) else {
                throw UsageError(message: "'--router' expects \(Router.allCases.map(\.rawValue).joined(separator: ", ")), found '\(text)'")
            }
            router = r
        }
        var study = PagedStudy(
            model: model, trace: trace, requests: try parsed.integer("requests") ?? 1000, rate: rate,
            blockSize: try parsed.integer("block-size") ?? 16, maxLength: try parsed.integer("max-len", minimum: 2) ?? 2048,
            policies: policies, allocator: allocator, sharing: sharing, dtype: try parsed.kvDType(),
            hardware: parsed.hardware, memoryUtilization: try parsed.memoryUtilization(), seed: UInt64(try parsed.integer("seed", minimum: 0) ?? 1),
            window: try parsed.integer("window"), sinks: try parsed.integer("sinks", minimum: 0),
            timing: timing, prefillChunk: try parsed.integer("chunk", minimum: 1),
            tensorParallel: try parsed.integer("tp") ?? 1)
        study.allowBeyondMax = parsed.allowBeyondMax
        study.weightFormat = try parsed.tensorFormat("weights")
        if parsed.allowLong { study.allowLong = true }
        study.prefixCaching = parsed.has("prefix-caching")
        study.preemption = preemption
        study.replicas = try parsed.integer("replicas", minimum: 1) ?? 1
        if let text = parsed.value("host-overhead") {
            guard let seconds = Double(text), seconds >= 0, seconds <= PagedStudy.maxHostOverheadSeconds else {
                throw UsageError(message: "'--host-overhead' expects 0 to \(PagedStudy.maxHostOverheadSeconds) seconds per iteration, found '\(text)'")
            }
            study.hostOverheadSeconds = seconds
        }
        study.router = router
        if let text = parsed.value("disaggregate") { study.disaggregation = try disaggregation(text) }
        if router == .prefixAffinity && !study.prefixCaching {
            throw UsageError(message: "'--router prefix-affinity' routes by cached prefixes: add --prefix-caching")
        }
        return study
    }

    /// `--disaggregate prefill=P,decode=D`: both pools' replicas, each at least 1.
    static func disaggregation(_ text: String) throws(UsageError) -> PagedStudy.Disaggregation {
        var counts: [String: Int] = [:]
        for item in text.split(separator: ",", omittingEmptySubsequences: false) {
            let parts = item.split(separator: "=", omittingEmptySubsequences: false).map(String.init)
            guard parts.count == 2, ["prefill", "decode"].contains(parts[0]), counts[parts[0]] == nil,
                  let n = NumberFormat.size(parts[1]), n >= 1, n <= ServingCluster.maxReplicas else {
                throw UsageError(message: "'--disaggregate' expects prefill=P,decode=D with P and D from 1 to \(ServingCluster.maxReplicas) replicas, found '\(text)'")
            }
            counts[parts[0]] = n
        }
        guard let prefill = counts["prefill"], let decode = counts["decode"] else {
            throw UsageError(message: "'--disaggregate' expects prefill=P,decode=D with P and D from 1 to \(ServingCluster.maxReplicas) replicas, found '\(text)'")
        }
        return PagedStudy.Disaggregation(prefillReplicas: prefill, decodeReplicas: decode)
    }

    /// `--rate R[,R...]`: positive arrival rates (default 10), written without spaces.
    static func rateList(_ parsed: ParsedArguments) throws(UsageError) -> [Double] {
        guard let text = parsed.value("rate") else { return [10] }
        var rates: [Double] = []
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            guard let r = Double(part), r > 0, r.isFinite else {
                throw UsageError(message: "'--rate' expects positive numbers separated by commas, found '\(text)'")
            }
            rates.append(r)
        }
        return rates
    }

    static func parseSharing(_ text: String) -> SharingMode? {
        let parts = text.split(separator: ":").map(String.init)
        if parts == ["none"] { return SharingMode.none }
        guard parts.count == 2, let n = NumberFormat.size(parts[1]), n > 0 else { return nil }
        switch parts[0] {
        case "parallel": return .parallelSampling(samples: n)
        case "beam": return .beamSearch(width: n)
        case "prefix": return .sharedPrefix(tokens: n)
        default: return nil
        }
    }
}
