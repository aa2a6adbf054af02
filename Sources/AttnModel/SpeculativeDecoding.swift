import AttnNumerics
import Foundation
import Workload

/// Why a speculative-decoding setup cannot be modelled as given.
public enum SpeculativeDecodingError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Fewer than one draft token, or a tree width below 1.
    case drafts(Int)
    case width(Int)
    /// An acceptance rate outside [0, 1), or none given.
    case acceptance(Double)
    case noAcceptance
    /// The draft model's vocabulary differs from the target's (its tokens could not be verified).
    case vocabulary(draft: Int, target: Int)

    public var description: String {
        switch self {
        case .drafts(let n): return "a speculative step drafts at least 1 token, found \(n)"
        case .width(let w): return "a draft tree's width is at least 1, found \(w)"
        case .acceptance(let a): return "an acceptance rate is in [0, 1), found \(a)"
        case .noAcceptance: return "a speculative setup needs at least one acceptance rate"
        case .vocabulary(let draft, let target):
            return "the draft model's vocabulary (\(draft) tokens) is not the target's (\(target)); speculative decoding verifies the draft's tokens with the target, so both need one vocabulary"
        }
    }
}

/// Speculative decoding (Leviathan, Kalman and Matias 2023, "Fast Inference from
/// Transformers via Speculative Decoding"; Chen et al. 2023, "Accelerating Large Language
/// Model Decoding with Speculative Sampling"): a cheap drafter proposes tokens, the target
/// model checks them all in one forward pass (the verify step) and keeps the longest
/// accepted prefix plus one token of its own.
///
/// The proposals form a `DraftTree` of `drafts + 1` nodes in breadth-first order: node 0
/// is the last accepted token (fed to the verify step, whose key is not yet cached), node
/// n > 0 a draft token whose parent is node (n - 1) / width. Width 1 is a chain of
/// `drafts` tokens (Leviathan et al.); a wider tree proposes several candidates per
/// position (SpecInfer, Medusa, EAGLE).
public struct SpeculativeDecoding: Sendable, Equatable {
    /// What proposes the draft tokens.
    public enum Drafter: Sendable, Equatable {
        /// A smaller model with the target's vocabulary, run one decode step per tree depth
        /// (Leviathan et al. 2023).
        case model(Architecture)
        /// EAGLE's draft head (Li, Wei, Zhang and Zhang 2024, "EAGLE: Speculative Sampling
        /// Requires Rethinking Feature Uncertainty", Section 4.1): an FC layer from the
        /// concatenated feature and token embedding (2h -> h), one decoder layer of the
        /// target's shape and the target's LM head, run once per tree depth.
        case eagle
        /// Medusa heads (Cai et al. 2024, "Medusa: Simple LLM Inference Acceleration
        /// Framework with Multiple Decoding Heads", Section 2.1.1): head d predicts the
        /// token d positions ahead from the last hidden state, through one residual block
        /// (h x h, SiLU) and its own h x V LM head; one head per tree depth, all run once
        /// per step.
        case medusa
    }

    public let drafter: Drafter
    /// Draft tokens per step (the tree's nodes besides the last accepted token).
    public let drafts: Int
    /// Children per tree node (1: a chain).
    public let width: Int
    /// The acceptance rate of the first candidate at depth 1, 2, ...; the last one holds
    /// for every deeper level.
    public let acceptance: [Double]
    /// The drafter's own format, as `--dtype` gives a model's (`ModelPrecision.uniform`:
    /// an FP8 draft model beside a bf16 target, or the reverse); nil: the target's precision.
    public let draftFormat: TensorFormat?

    /// A validated setup: at least one draft, a width of at least 1, acceptance rates in [0, 1).
    public init(drafter: Drafter, drafts: Int, width: Int = 1, acceptance: [Double], draftFormat: TensorFormat? = nil) throws(SpeculativeDecodingError) {
        guard drafts >= 1 else { throw .drafts(drafts) }
        guard width >= 1 else { throw .width(width) }
        guard !acceptance.isEmpty else { throw .noAcceptance }
        if let bad = acceptance.first(where: { !($0 >= 0 && $0 < 1) }) { throw .acceptance(bad) }
        self.drafter = drafter
        self.drafts = drafts
        self.width = width
        self.acceptance = acceptance
        self.draftFormat = draftFormat
    }

    /// The tree's nodes (its drafts and the last accepted token): the tokens of the verify step.
    public var verifyTokens: Int { drafts + 1 }

    var tree: DraftTree? { DraftTree(width: width) }

    /// Tree depth of node n (the last accepted token is depth 0).
    func depth(of node: Int) -> Int { (tree?.pathLength(to: node) ?? 1) - 1 }

    /// The deepest draft: drafter steps a draft model or EAGLE runs, Medusa's heads.
    public var depth: Int { depth(of: drafts) }

    /// Draft nodes at each depth 1 ... `depth` (the frontier a drafter step extends is the
    /// level above: 1 node for depth 1).
    public var levels: [Int] {
        var counts = Array(repeating: 0, count: depth)
        for node in 1...drafts { counts[depth(of: node) - 1] += 1 }
        return counts
    }

    /// The first candidate's acceptance rate at `depth` (1 ...).
    func acceptance(depth: Int) -> Double { acceptance[min(depth, acceptance.count) - 1] }

    /// Expected tokens a step produces (accepted drafts plus the target's own token).
    ///
    /// A node is accepted when its parent is and the target's token at that position is
    /// the node's. Siblings are candidates for one position, so at most one of them is
    /// accepted: with the first candidate at depth d accepted with probability a_d and
    /// candidates drawn independently, the r-th sibling (r = 0, 1, ...) is the accepted one
    /// with probability p(d, r) = a_d (1 - a_d)^r (the first r missed, this one matched;
    /// Sequoia's positional acceptance, Chen et al. 2024, "Sequoia: Scalable, Robust, and
    /// Hardware-aware Speculative Decoding", Section 3.1). Hence
    ///
    ///   E[tokens] = 1 + sum over draft nodes n of prod over n's path below the root of p(d, r),
    ///
    /// the 1 being the token the target adds (a correction or, when every draft on a path
    /// is accepted, its next token). A chain (width 1) with a_d = a gives 1 + a + ... + a^k
    /// = (1 - a^(k+1)) / (1 - a), Leviathan et al.'s Equation 1.
    public var expectedTokens: Double {
        guard let tree else { return 1 }
        var reach = [1.0]  // probability that node n is accepted (node 0 is)
        var total = 1.0
        for node in 1...drafts {
            let a = acceptance(depth: depth(of: node))
            let rank = (node - 1) % width
            let p = reach[tree.parent(of: node)] * a * pow(1 - a, Double(rank))
            reach.append(p)
            total += p
        }
        return total
    }
}
