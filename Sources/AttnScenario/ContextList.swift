import AttnNumerics

/// Context lengths as users write them, on the command line (`--context 1k,4k,16k`) and
/// in scenario files (`"contexts": [1024, "4k"]`): `1024`, `4k` (4,096) or `1m`
/// (1,048,576).
public enum ContextList {
    /// One length: a size (`NumberFormat.size`: ASCII digits, an optional `k` or `m`
    /// suffix, no sign and no spaces) of at least 1; nil otherwise. Strict: `" 4k"` and
    /// `0` are refused, not trimmed or passed on.
    public static func parseLength(_ text: String) -> Int? {
        guard let n = NumberFormat.size(text), n >= 1 else { return nil }
        return n
    }

    /// A comma-separated list such as `1k,4k,16k`; nil if any entry is malformed or empty
    /// (`1k,,4k`, `1k,`, or nothing at all).
    public static func parse(_ text: String) -> [Int]? {
        var result: [Int] = []
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            guard let value = parseLength(String(part)) else { return nil }
            result.append(value)
        }
        return result
    }

    /// The first length that repeats an earlier one, as (its index, the earlier index); nil
    /// when all differ. A repeated length would only print the same row twice, so the
    /// readers refuse it as the typo it most likely is.
    public static func firstRepeat(_ lengths: [Int]) -> (index: Int, earlier: Int)? {
        var seen: [Int: Int] = [:]
        for (index, n) in lengths.enumerated() {
            if let earlier = seen[n] { return (index, earlier) }
            seen[n] = index
        }
        return nil
    }

    /// `4096` as `4k`, `1048576` as `1m`, other values as they are.
    public static func format(_ n: Int) -> String {
        if n >= 1024 * 1024 && n % (1024 * 1024) == 0 { return "\(n / (1024 * 1024))m" }
        if n >= 1024 && n % 1024 == 0 { return "\(n / 1024)k" }
        return String(n)
    }
}
