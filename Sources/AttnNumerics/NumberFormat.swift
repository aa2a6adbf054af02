/// Number formatting shared by messages and reports, and the one parser of sizes that
/// every option and scenario field with a count reads.
public enum NumberFormat {
    /// `1234567` as `1,234,567`.
    public static func grouped(_ n: Int) -> String {
        let digits = Array(String(n.magnitude))
        var out = n < 0 ? "-" : ""
        for (i, c) in digits.enumerated() {
            if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
            out.append(c)
        }
        return out
    }

    /// `232448` as `232,448 bytes`.
    public static func bytes(_ n: Int) -> String { "\(grouped(n)) bytes" }

    /// A time in seconds in the unit that puts it at 1 or more (s, ms, us, ns), with at
    /// most three significant digits and no trailing zeros: `0.013` as `13 ms`, `1e-05`
    /// as `10 us`, `0.0125` as `12.5 ms`, `2` as `2 s`, `0` as `0 s`. A value that rounds
    /// to 1000 of its unit is written in the next (`0.9996` as `1 s`); one below 1 ns is
    /// written in ns (`5e-10` as `0.5 ns`); a negative or non-finite one as Swift prints it.
    public static func seconds(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds > 0 else { return seconds == 0 ? "0 s" : "\(seconds) s" }
        let units: [(String, Double)] = [("s", 1), ("ms", 1e-3), ("us", 1e-6), ("ns", 1e-9)]
        var index = units.firstIndex { seconds >= $0.1 } ?? units.count - 1
        var value = seconds / units[index].1
        var text = significant(value)
        // 999.6 ms rounds to "1000": one unit up, where it is 1.
        if text == "1000" && index > 0 {
            index -= 1
            value = seconds / units[index].1
            text = significant(value)
        }
        return "\(text) \(units[index].0)"
    }

    /// `value` (positive, below 1000 unless it is in seconds) with three significant
    /// digits, trailing zeros and point dropped: 12.34 as `12.3`, 13.000000000000002 as `13`.
    private static func significant(_ value: Double) -> String {
        let decimals = value >= 100 ? 0 : value >= 10 ? 1 : value >= 1 ? 2 : 3
        var text = String(format: "%.\(decimals)f", value)
        if text.contains(".") {
            while text.hasSuffix("0") { text.removeLast() }
            if text.hasSuffix(".") { text.removeLast() }
        }
        return text
    }

    /// A size as a user writes it: ASCII digits with an optional suffix `k` (x 1,024) or
    /// `m` (x 1,048,576), either case: `4096`, `4k`, `1M`. Strict: no sign, no spaces, no
    /// other characters, nothing after the suffix; nil when malformed or past 2^63 - 1.
    /// Zero parses: each caller states the least value it accepts (a context must be at
    /// least 1, a seed or a sink count may be 0).
    public static func size(_ text: String) -> Int? {
        magnitude(text).flatMap { $0 <= UInt64(Int.max) ? Int($0) : nil }
    }

    /// A size with an optional leading `-` (integer parameters and seeds may be negative):
    /// `-4k` is -4,096; down to -2^63.
    public static func signedSize(_ text: String) -> Int? {
        guard text.hasPrefix("-") else { return size(text) }
        guard let m = magnitude(String(text.dropFirst())), m <= Int.min.magnitude else { return nil }
        return m == Int.min.magnitude ? Int.min : -Int(m)
    }

    /// The value `size` reads, as a magnitude up to 2^64 - 1; nil when malformed or larger.
    private static func magnitude(_ text: String) -> UInt64? {
        var digits = Substring(text).utf8
        var factor: UInt64 = 1
        switch digits.last {
        case UInt8(ascii: "k"), UInt8(ascii: "K"): factor = 1 << 10
        case UInt8(ascii: "m"), UInt8(ascii: "M"): factor = 1 << 20
        default: break
        }
        if factor > 1 { digits = digits.dropLast() }
        guard !digits.isEmpty else { return nil }
        var value: UInt64 = 0
        for byte in digits {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            let (shifted, o1) = value.multipliedReportingOverflow(by: 10)
            let (next, o2) = shifted.addingReportingOverflow(UInt64(byte - UInt8(ascii: "0")))
            guard !o1, !o2 else { return nil }
            value = next
        }
        let (scaled, overflow) = value.multipliedReportingOverflow(by: factor)
        return overflow ? nil : scaled
    }
}
