import Foundation

/// How routed tokens spread over the GPUs of expert parallelism: T tokens each pick
/// top-k of E experts, the experts split evenly over G ranks (n = E / G each), and the
/// slowest rank, the one with the most token-expert pairs, sets the MoE layer's time.
///
/// Under uniform routing (each token's k experts a uniformly random k-subset, as an
/// auxiliary-loss-balanced router aims for) the pairs one token sends to a rank are
/// hypergeometric, c ~ HG(E, n, k):
///
///     P(c) = C(n, c) C(E - n, k - c) / C(E, k),   mean k/G,
///     variance k (n/E) (1 - n/E) (E - k) / (E - 1)
///
/// and a rank's load L is the sum of T independent such draws, mean mu = T k / G and
/// variance sigma^2 = T times the above.
///
/// Up to `exactTokens` tokens L's distribution F is computed exactly (T-fold
/// convolution) and the expected maximum over the G ranks takes them as independent:
///
///     E[max] = sum_{x >= 0} (1 - F(x)^G)
///
/// The loads are negatively associated (they sum to T k; sums of independent
/// multivariate hypergeometric vectors are: Joag-Dev and Proschan 1983), so
/// P(max <= x) <= F(x)^G and this is a lower bound of the true expected maximum.
/// Beyond `exactTokens` the loads are normal (T > 256 terms of a bounded draw) with
/// their fixed sum: L_r = mu + sigma sqrt(G / (G - 1)) (Z_r - mean Z) for independent
/// standard normals Z (variance sigma^2, correlation -1 / (G - 1), as the loads have), so
///
///     E[max] = mu + sigma sqrt(G / (G - 1)) E[max of G standard normals]
///
/// The tests compare both with the exact enumeration of a small case and with a
/// seeded simulation of DeepSeek-V3's routing.
public enum ExpertRouting {
    /// The most tokens whose rank load is convolved exactly; beyond, the normal law.
    public static let exactTokens = 256

    /// P(c) for c = 0 ... min(k, n): the pairs one token sends to a rank of n = E / G experts.
    public static func perTokenDistribution(experts: Int, topK: Int, ranks: Int) -> [Double] {
        let n = experts / ranks
        let top = min(topK, n)
        return (0...top).map { c in
            guard topK - c <= experts - n else { return 0 }
            return exp(logChoose(n, c) + logChoose(experts - n, topK - c) - logChoose(experts, topK))
        }
    }

    /// P(L = x), x = 0 ... T min(k, n): one rank's load over `tokens` tokens (exact convolution).
    public static func rankLoadDistribution(tokens: Int, experts: Int, topK: Int, ranks: Int) -> [Double] {
        let one = perTokenDistribution(experts: experts, topK: topK, ranks: ranks)
        var load = [1.0]
        for _ in 0..<tokens {
            var next = [Double](repeating: 0, count: load.count + one.count - 1)
            for (x, p) in load.enumerated() where p > 0 {
                for (c, q) in one.enumerated() { next[x + c] += p * q }
            }
            load = next
        }
        return load
    }

    /// The expected pairs of the busiest of `ranks` ranks (see the type's comment); T k
    /// for one rank.
    public static func expectedMaxLoad(tokens: Int, experts: Int, topK: Int, ranks: Int) -> Double {
        let mean = Double(tokens) * Double(topK) / Double(ranks)
        guard ranks > 1, tokens > 0 else { return mean }
        if tokens <= exactTokens {
            let pmf = rankLoadDistribution(tokens: tokens, experts: experts, topK: topK, ranks: ranks)
            var cdf = 0.0, expected = 0.0
            for p in pmf.dropLast() {
                cdf += p
                expected += 1 - pow(min(1, cdf), Double(ranks))
            }
            return expected
        }
        let e = Double(experts), n = Double(experts / ranks), k = Double(topK)
        let variance = Double(tokens) * k * (n / e) * (1 - n / e) * (e - k) / max(1, e - 1)
        let g = Double(ranks)
        return mean + (variance * g / (g - 1)).squareRoot() * expectedMaxOfNormals(ranks)
    }

    /// E[max of g independent standard normals] = integral of x d(Phi(x)^g), by
    /// Simpson's rule on [-10, 10] (2,000 intervals; the integrand's tails beyond are
    /// below 1e-20).
    public static func expectedMaxOfNormals(_ g: Int) -> Double {
        guard g > 1 else { return 0 }
        let intervals = 2000
        let (a, b) = (-10.0, 10.0)
        let h = (b - a) / Double(intervals)
        func density(_ x: Double) -> Double {
            let phi = exp(-x * x / 2) / (2 * Double.pi).squareRoot()
            let cdf = 0.5 * erfc(-x / 2.0.squareRoot())
            return x * Double(g) * pow(cdf, Double(g - 1)) * phi
        }
        var sum = density(a) + density(b)
        for i in 1..<intervals { sum += (i % 2 == 1 ? 4 : 2) * density(a + Double(i) * h) }
        return sum * h / 3
    }

    /// log C(n, k) through lgamma; -infinity where k is out of 0 ... n.
    static func logChoose(_ n: Int, _ k: Int) -> Double {
        guard k >= 0, k <= n else { return -.infinity }
        return lgamma(Double(n + 1)) - lgamma(Double(k + 1)) - lgamma(Double(n - k + 1))
    }
}
