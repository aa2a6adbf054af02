import AttnScenario
import Workload

/// `attnsim model --speculative SPEC`: the drafter and its tree, parsed into the study's
/// `SpeculativeRequest` (docs/model.md, "Speculative decoding").
///
///   draft=MODEL,k=4,accept=0.7                 a draft model proposing a chain of 4
///   eagle,tree=24,width=4,accept=0.8/0.7/0.6   EAGLE's head, a breadth-first tree of 24 drafts
///   medusa,depth=3,width=2,accept=0.6          Medusa's heads, a full binary tree of depth 3
///   draft=MODEL,dtype=fp8,k=4,accept=0.7       the draft model in FP8 whatever the target's --dtype
///
/// `k=K` is a chain of K drafts; `tree=N` N drafts in a tree of `width` (default 1); `depth=D`
/// the full tree of `width` with D levels (width + width^2 + ... + width^D drafts).
/// `accept` gives the first candidate's acceptance rate per depth, separated by `/`, the
/// last holding deeper. `dtype=FMT` runs the drafter in its own format, a `--dtype` name
/// (default: the target's precision).
enum SpeculativeOption {
    static let example = "draft=llama-3-8b,k=4,accept=0.7 or eagle,tree=24,width=4,accept=0.8"

    static func parse(_ text: String) throws(UsageError) -> SpeculativeRequest {
        func fail(_ message: String) -> UsageError { UsageError(message: "'--speculative' \(message) (e.g. \(example))") }
        var drafter: SpeculativeRequest.Drafter?
        var values: [String: String] = [:]
        for item in text.split(separator: ",", omittingEmptySubsequences: false).map(String.init) {
            if item == "eagle" || item == "medusa" {
                guard drafter == nil else { throw fail("names its drafter more than once, found '\(item)'") }
                drafter = item == "eagle" ? .eagle : .medusa
                continue
            }
            let parts = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            guard parts.count == 2, !parts[1].isEmpty else { throw fail("expects eagle, medusa or KEY=VALUE items, found '\(item)'") }
            let (key, value) = (parts[0], parts[1])
            guard ["draft", "k", "tree", "depth", "width", "accept", "dtype"].contains(key) else {
                throw fail("knows draft, k, tree, depth, width, accept and dtype, found '\(key)'")
            }
            guard values[key] == nil else { throw fail("gives '\(key)' more than once") }
            if key == "draft" {
                guard drafter == nil else { throw fail("names its drafter more than once, found 'draft=\(value)'") }
                drafter = .model(value)
            }
            values[key] = value
        }
        guard let drafter else { throw fail("needs a drafter: draft=MODEL, eagle or medusa") }
        func count(_ key: String, maximum: Int) throws(UsageError) -> Int? {
            guard let text = values[key] else { return nil }
            guard let n = Int(text), n >= 1, n <= maximum else { throw fail("'\(key)' expects a whole number from 1 to \(maximum), found '\(text)'") }
            return n
        }
        let limit = SpeculativeRequest.maxDrafts
        let width = try count("width", maximum: limit) ?? 1
        let sizes = ["k", "tree", "depth"].filter { values[$0] != nil }
        guard sizes.count == 1 else { throw fail("needs exactly one of k, tree and depth, found \(sizes.isEmpty ? "none" : sizes.joined(separator: " and "))") }
        let drafts: Int
        if let k = try count("k", maximum: limit) {
            guard values["width"] == nil || width == 1 else { throw fail("'k' is a chain (width 1); give tree=N with width=\(width)") }
            drafts = k
        } else if let n = try count("tree", maximum: limit) {
            drafts = n
        } else {
            // A full tree of `depth` levels: width + width^2 + ... + width^depth drafts.
            let depth = try count("depth", maximum: limit) ?? 1
            var total = 0, level = 1
            for _ in 0..<depth {
                level *= width
                total += level
                guard total <= limit else { throw fail("depth=\(depth) with width=\(width) is more than \(limit) drafts") }
            }
            drafts = total
        }
        guard let acceptText = values["accept"] else { throw fail("needs accept=RATE (the first candidate's acceptance rate, per depth separated by '/')") }
        var acceptance: [Double] = []
        for part in acceptText.split(separator: "/", omittingEmptySubsequences: false) {
            guard let a = Double(part), a >= 0, a < 1 else { throw fail("'accept' expects rates in [0, 1) separated by '/', found '\(part)'") }
            acceptance.append(a)
        }
        var draftFormat: TensorFormat?
        if let name = values["dtype"] {
            guard let format = TensorFormat(name: name) else { throw fail("'dtype' (the drafter's format) expects \(TensorFormat.names), found '\(name)'") }
            draftFormat = format
        }
        return SpeculativeRequest(drafter: drafter, drafts: drafts, width: width, acceptance: acceptance, draftFormat: draftFormat)
    }

    /// `request` as the option's text, which `parse` reads back to it: the drafter, then
    /// `k=K` for a chain or `tree=N,width=W`, the rates per depth (`accept=0.8/0.7`) and the
    /// drafter's own format (`dtype=fp8`) when it has one.
    static func text(_ request: SpeculativeRequest) -> String {
        var items: [String]
        switch request.drafter {
        case .model(let name): items = ["draft=\(name)"]
        case .eagle: items = ["eagle"]
        case .medusa: items = ["medusa"]
        }
        items += request.width == 1 ? ["k=\(request.drafts)"] : ["tree=\(request.drafts)", "width=\(request.width)"]
        items.append("accept=" + request.acceptance.map { "\($0)" }.joined(separator: "/"))
        if let format = request.draftFormat { items.append("dtype=\(format)") }
        return items.joined(separator: ",")
    }
}
