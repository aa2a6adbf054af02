/// Number formatting shared by messages and reports.
public enum NumberFormat {
    /// `1234567` as `1,234,567`.
    public static func grouped(_ n: Int) -> String {
        let digits = String(n.magnitude)
        var out = ""
        for (i, c) in digits.enumerated() {
            if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
            out.append(c)
        }
        return n < 0 ? "-" + out : out
    }

    /// `232448` as `232,448 bytes`.
    public static func bytes(_ n: Int) -> String { "\(grouped(n)) bytes" }
}
