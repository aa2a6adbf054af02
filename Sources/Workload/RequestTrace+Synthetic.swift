import AttnNumerics
import Foundation

extension RequestTrace {
    /// A synthetic dataset of independent requests: prompt and output lengths drawn
    /// independently from the dataset's length histograms (the paper gives the two
    /// marginal histograms, not their joint distribution), arrivals Poisson.
    public struct Dataset: Sendable, Equatable {
        public var name: String
        public var prompt: LengthHistogram
        public var output: LengthHistogram
        /// The means the paper prints (the histograms' own means are within 1.3%).
        public var meanPromptTokens: Double
        public var meanOutputTokens: Double

        /// ShareGPT: the histograms of Kwon et al. 2023, Figure 11a (mean 161.31 input and
        /// 337.99 output tokens).
        public static let shareGPT = Dataset(
            name: "sharegpt", prompt: .shareGPTPrompt, output: .shareGPTOutput, meanPromptTokens: 161.31, meanOutputTokens: 337.99)
        /// Alpaca: the histograms of Kwon et al. 2023, Figure 11b (mean 19.31 input and
        /// 58.45 output tokens).
        public static let alpaca = Dataset(
            name: "alpaca", prompt: .alpacaPrompt, output: .alpacaOutput, meanPromptTokens: 19.31, meanOutputTokens: 58.45)

        public static func named(_ name: String) -> Dataset? {
            switch name.lowercased() {
            case "sharegpt": return .shareGPT
            case "alpaca": return .alpaca
            default: return nil
            }
        }
    }

    /// A synthetic workload whose requests share prefixes: sessions of several turns (each
    /// turn's prompt holds the session's earlier prompts and answers) and a prefix every
    /// request starts with (a system prompt or few-shot examples). Lengths are log-normal
    /// with the given means and `sigma`; turns per session geometric with mean
    /// `meanTurns`; a session's next turn arrives an exponential think time (mean
    /// `thinkSeconds`) after the one before; sessions start as a Poisson process at
    /// rate / meanTurns, so that requests arrive at about `rate`. A session ends early
    /// when its next turn would pass the longest sequence. Every figure here is a stated
    /// parameter of the generator, not a measurement.
    public struct SessionDataset: Sendable, Equatable {
        public var name: String
        /// Tokens every request starts with (group 0), 0 for none.
        public var sharedPrefixTokens: Int
        public var meanTurns: Double
        /// The new tokens of each turn's prompt (a user message, an observation).
        public var meanNewTokens: Double
        public var meanOutputTokens: Double
        public var thinkSeconds: Double
        public var sigma: Double

        /// Multi-turn chat: a 200-token system prompt, 4 turns per conversation on average,
        /// user messages of 80 and answers of 250 tokens, 30 s between turns.
        public static let chat = SessionDataset(
            name: "chat", sharedPrefixTokens: 200, meanTurns: 4, meanNewTokens: 80, meanOutputTokens: 250, thinkSeconds: 30, sigma: 0.9)
        /// Few-shot prompts: the vLLM paper's 5-shot translation prefix of 341 tokens
        /// (Kwon et al. 2023, Figure 16b, WMT16 English to German), then a sentence of 30
        /// tokens translated into 30; one turn per request.
        public static let fewShot = SessionDataset(
            name: "fewshot", sharedPrefixTokens: 341, meanTurns: 1, meanNewTokens: 30, meanOutputTokens: 30, thinkSeconds: 0, sigma: 0.5)
        /// Agents: a 1,000-token tool and system prompt, 8 steps per task on average, each
        /// appending a 200-token observation and producing a 60-token action, 2 s of tool
        /// time between steps.
        public static let agent = SessionDataset(
            name: "agent", sharedPrefixTokens: 1000, meanTurns: 8, meanNewTokens: 200, meanOutputTokens: 60, thinkSeconds: 2, sigma: 0.9)

        public static let all = [chat, fewShot, agent]

        public static func named(_ name: String) -> SessionDataset? { all.first { $0.name == name.lowercased() } }
    }

    /// The names of the built-in synthetic workloads.
    public static let syntheticNames = ["sharegpt", "alpaca"] + SessionDataset.all.map(\.name)

    /// Whether `name` is a built-in synthetic workload rather than a file.
    public static func isSynthetic(_ name: String) -> Bool { Dataset.named(name) != nil || SessionDataset.named(name) != nil }

    /// The requests of the built-in workload `name` (nil for a file name).
    public static func synthetic(named name: String, count: Int, rate: Double, maxLength: Int, seed: UInt64) -> [Request]? {
        if let dataset = Dataset.named(name) { return synthetic(dataset, count: count, rate: rate, maxLength: maxLength, seed: seed) }
        if let dataset = SessionDataset.named(name) { return synthetic(dataset, count: count, rate: rate, maxLength: maxLength, seed: seed) }
        return nil
    }

    /// A log-normal length with the given mean (mean = exp(mu + sigma^2 / 2)), at least 1.
    static func logNormal(mean: Double, sigma: Double, _ generator: inout SeededGenerator) -> Int {
        let mu = Foundation.log(mean) - sigma * sigma / 2
        return max(1, Int(Foundation.exp(mu + sigma * generator.nextNormal()).rounded()))
    }

    /// An exponential wait at `rate` events per second (inverse transform); 0 at an
    /// infinite rate.
    static func exponential(rate: Double, _ generator: inout SeededGenerator) -> Double {
        -Foundation.log(max(generator.nextUnit(), 0x1p-53)) / rate
    }

    /// `count` requests with Poisson arrivals at `rate`; prompt + output is clipped to
    /// `maxLength` (shortening the output; the paper's datasets already keep sequences of
    /// at most 2,048 tokens).
    public static func synthetic(_ dataset: Dataset, count: Int, rate: Double, maxLength: Int, seed: UInt64) -> [Request] {
        var generator = SeededGenerator(seed: seed)
        var time = 0.0
        var requests: [Request] = []
        for id in 0..<count {
            time += exponential(rate: rate, &generator)
            let prompt = min(dataset.prompt.draw(&generator), maxLength - 1)
            let output = min(dataset.output.draw(&generator), maxLength - prompt)
            requests.append(Request(id: id, arrival: time, promptTokens: prompt, outputTokens: output))
        }
        return requests
    }

    /// `count` requests of sessions (`SessionDataset`), in arrival order, ids from 0 in
    /// that order. Turn k of a session has prompt = shared prefix + the earlier turns'
    /// new tokens and outputs + its own new tokens; a turn that would pass `maxLength`
    /// (or leave no room for one output token) ends its session.
    public static func synthetic(_ dataset: SessionDataset, count: Int, rate: Double, maxLength: Int, seed: UInt64) -> [Request] {
        var generator = SeededGenerator(seed: seed)
        var requests: [Request] = []
        var start = 0.0
        var session = 0
        // Continuation probability of a geometric turn count with mean meanTurns.
        let more = 1 - 1 / max(1, dataset.meanTurns)
        while requests.count < count {
            start += exponential(rate: rate / max(1, dataset.meanTurns), &generator)
            var context = dataset.sharedPrefixTokens
            var arrival = start
            repeat {
                let new = logNormal(mean: dataset.meanNewTokens, sigma: dataset.sigma, &generator)
                let prompt = context + new
                guard prompt < maxLength else { break }
                let output = min(logNormal(mean: dataset.meanOutputTokens, sigma: dataset.sigma, &generator), maxLength - prompt)
                requests.append(Request(
                    id: 0, arrival: arrival, promptTokens: prompt, outputTokens: output, session: session,
                    prefixGroup: dataset.sharedPrefixTokens > 0 ? 0 : nil, sharedPrefixTokens: dataset.sharedPrefixTokens))
                context = prompt + output
                arrival += dataset.thinkSeconds > 0 ? exponential(rate: 1 / dataset.thinkSeconds, &generator) : 0
            } while requests.count < count && generator.nextUnit() < more
            session += 1
        }
        requests.sort { ($0.arrival, $0.session ?? 0) < ($1.arrival, $1.session ?? 0) }
        for i in requests.indices { requests[i].id = i }
        return requests
    }
}
