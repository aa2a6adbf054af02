import Foundation

/// Top-k selection in float64, and whether a selection a kernel recorded agrees with it.
///
/// Tie rule. A kernel scores candidates in fp32 (or lower) and keeps the k largest; the
/// reference recomputes every score in float64 from the same rounded inputs, with a bound
/// `slack` on how far the kernel's score may lie from it (rounding of the kernel's
/// arithmetic, derived per algorithm). The recorded set agrees when it is the top k of
/// *some* scores within those bounds: every chosen candidate's upper bound s_i + slack_i
/// is at least every other candidate's lower bound s_j - slack_j. Candidates closer than
/// their bounds are ties, and either may be chosen; a choice no such perturbation explains
/// is a disagreement. -inf (a hidden candidate) has no slack: it is chosen only when fewer
/// than k candidates are visible, and then any hidden ones may fill the set.
public enum TopKSelection {
    /// The indices of the k largest scores, largest first, equal scores in index order,
    /// NaN below -inf (the order `topk` gives).
    public static func select(_ scores: [Double], k: Int) -> [Int] {
        let order = scores.indices.sorted { a, b in
            let (x, y) = (scores[a], scores[b])
            if x.isNaN != y.isNaN { return y.isNaN }
            if !x.isNaN && x != y { return x > y }
            return a < b
        }
        return Array(order.prefix(k))
    }

    /// nil when `chosen` (k distinct candidates) is a top-k of `scores` within `slack`;
    /// otherwise what disagrees: a repeated or invalid index, or the lowest chosen
    /// candidate and the highest left out.
    public static func disagreement(chosen: [Int], scores: [Double], slack: [Double]) -> SelectionDisagreement? {
        var seen = Set<Int>()
        for index in chosen {
            guard index >= 0, index < scores.count else { return .invalid(index: index, candidates: scores.count) }
            guard seen.insert(index).inserted else { return .repeated(index: index) }
        }
        func upper(_ i: Int) -> Double { scores[i].isInfinite ? scores[i] : scores[i] + slack[i] }
        func lower(_ i: Int) -> Double { scores[i].isInfinite ? scores[i] : scores[i] - slack[i] }
        guard let lowestChosen = chosen.min(by: { upper($0) < upper($1) }) else { return nil }
        var highestLeftOut: Int?
        for j in scores.indices where !seen.contains(j) {
            if highestLeftOut.map({ lower(j) > lower($0) }) ?? true { highestLeftOut = j }
        }
        guard let left = highestLeftOut, lower(left) > upper(lowestChosen) else { return nil }
        return .outranked(chosen: lowestChosen, chosenScore: scores[lowestChosen], chosenSlack: slack[lowestChosen],
                          leftOut: left, leftOutScore: scores[left], leftOutSlack: slack[left])
    }

    /// A bound on the error of a sum of n products computed in fp32 (recursive summation:
    /// |error| <= gamma_n sum |terms|, Higham 2002, eq. 3.5, with gamma_n about n u), given
    /// the sum of the terms' magnitudes; doubled, and n counted with two more for the
    /// products' own rounding and one conversion.
    public static func dotSlack(terms n: Int, magnitude: Double) -> Double {
        2 * Double(n + 2) * 0x1p-24 * magnitude
    }
}

/// How a recorded selection disagrees with the float64 top-k.
public enum SelectionDisagreement: Sendable, Equatable, CustomStringConvertible {
    /// An index outside 0 ..< candidates.
    case invalid(index: Int, candidates: Int)
    /// The same candidate chosen twice.
    case repeated(index: Int)
    /// A candidate left out that outranks a chosen one beyond both bounds.
    case outranked(chosen: Int, chosenScore: Double, chosenSlack: Double, leftOut: Int, leftOutScore: Double, leftOutSlack: Double)

    public var description: String {
        switch self {
        case .invalid(let index, let candidates):
            return "index \(index) is not one of the \(candidates) candidates"
        case .repeated(let index):
            return "candidate \(index) is chosen twice"
        case .outranked(let chosen, let chosenScore, let chosenSlack, let leftOut, let leftOutScore, let leftOutSlack):
            func score(_ s: Double, _ slack: Double) -> String {
                s.isInfinite ? "\(s)" : String(format: "%.9g (+/- %.3g)", s, slack)
            }
            return "candidate \(leftOut) scores \(score(leftOutScore, leftOutSlack)) in float64 and was left out, "
                + "while candidate \(chosen) scoring \(score(chosenScore, chosenSlack)) was chosen"
        }
    }
}
