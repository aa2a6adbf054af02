import AttnJSON
import AttnModel
import Foundation
import Workload

/// Speculative decoding as a study asks for it (`attnsim model --speculative`, a model
/// study's `"speculative"` object): the drafter by name, resolved by `ModelStudyPlan`
/// into a `SpeculativeDecoding` (docs/model.md, "Speculative decoding").
public struct SpeculativeRequest: Sendable, Equatable {
    public enum Drafter: Sendable, Equatable {
        /// A draft model: a built-in model with a `decoder` object, or a model file.
        case model(String)
        case eagle
        case medusa
    }

    public var drafter: Drafter
    /// Draft tokens per step (a chain's k; a tree's nodes besides the last accepted token).
    public var drafts: Int
    /// Children per tree node (1: a chain).
    public var width: Int
    /// The first candidate's acceptance rate per depth (the last holds deeper).
    public var acceptance: [Double]
    /// The drafter's own format (`--speculative dtype=FMT`, the object's `"dtype"`), as
    /// `--dtype` gives a model's; nil: the target's precision.
    public var draftFormat: TensorFormat?

    public init(drafter: Drafter, drafts: Int, width: Int = 1, acceptance: [Double], draftFormat: TensorFormat? = nil) {
        self.drafter = drafter
        self.drafts = drafts
        self.width = width
        self.acceptance = acceptance
        self.draftFormat = draftFormat
    }

    /// The largest tree a study may ask for (draft tokens per step).
    public static let maxDrafts = 1024

    /// The library's setup: the draft model resolved (and pruned as nothing else: a draft
    /// model runs as its file gives it), the tree and acceptance checked.
    func resolved() throws(ModelStudyError) -> SpeculativeDecoding {
        let drafter: SpeculativeDecoding.Drafter
        switch self.drafter {
        case .eagle: drafter = .eagle
        case .medusa: drafter = .medusa
        case .model(let name):
            do { drafter = .model(try Architecture(model: try ModelSpec.named(name))) } catch { throw .setup(error) }
        }
        guard drafts <= Self.maxDrafts else { throw .speculative(.drafts(drafts)) }
        do {
            return try SpeculativeDecoding(drafter: drafter, drafts: drafts, width: width, acceptance: acceptance, draftFormat: draftFormat)
        } catch {
            throw .speculative(error)
        }
    }
}

extension SpeculativeRequest {
    /// A model study's `"speculative"` object: `"drafter"` (a model, `"eagle"` or
    /// `"medusa"`), `"drafts"`, `"width"` (default 1), `"accept"` (a rate, or one per
    /// depth) and `"dtype"` (the drafter's own format, as the study's `dtype`; default the
    /// target's precision); a draft model file's relative path is resolved against `directory`.
    static func decode(_ r: inout JSONObjectReader, directory: String?) throws(JSONInputError) -> SpeculativeRequest {
        guard var name = try r.string("drafter") else { throw r.error("drafter", "is required: a draft model, \"eagle\" or \"medusa\"") }
        if name.hasSuffix(".json"), !name.hasPrefix("/"), let directory { name = (directory as NSString).appendingPathComponent(name) }
        let drafter: Drafter = name == "eagle" ? .eagle : name == "medusa" ? .medusa : .model(name)
        guard let drafts = try r.integer("drafts", minimum: 1, maximum: maxDrafts) else { throw r.error("drafts", "is required: draft tokens per step") }
        let width = try r.integer("width", minimum: 1, maximum: maxDrafts) ?? 1
        let rates: [JSONValue]
        var isList = true
        switch r.value("accept") {
        case .array(let list)?: rates = list
        case let one?: (rates, isList) = ([one], false)
        case nil: throw r.error("accept", "is required: the first candidate's acceptance rate, or one per depth")
        }
        var acceptance: [Double] = []
        for (i, v) in rates.enumerated() {
            let path = isList ? r.path("accept") + "[\(i)]" : r.path("accept")
            let a = try JSONObjectReader.number(v, file: r.file, path: path)
            guard a >= 0, a < 1 else { throw JSONInputError(file: r.file, path: path, message: "expected an acceptance rate in [0, 1), found \(a)") }
            acceptance.append(a)
        }
        guard !acceptance.isEmpty else { throw r.error("accept", "expected at least one acceptance rate") }
        var draftFormat: TensorFormat?
        if let name = try r.string("dtype") {
            guard let format = TensorFormat(name: name) else { throw r.error("dtype", "expected the drafter's format, \(TensorFormat.names), found \"\(name)\"") }
            draftFormat = format
        }
        try r.finish()
        return SpeculativeRequest(drafter: drafter, drafts: drafts, width: width, acceptance: acceptance, draftFormat: draftFormat)
    }
}
