import AttnNumerics

/// A KV-cache study input whose value the simulator cannot take: it names the input
/// (`batch`, `context`, `requests`, ...), the value given and what was expected.
public struct KVInputError: AdvisedError, Sendable, Equatable {
    /// The input's name as both the command line and scenario files spell it (without `--`).
    public var input: String
    /// The value as given.
    public var value: String
    /// What is wrong and what was expected, with the settings it names as values (`Remedy`).
    public var detail: Advice
    /// For a context length: its position in the study's list.
    public var index: Int?

    public init(input: String, value: String, message: String, index: Int? = nil) {
        self.init(input: input, value: value, advice: Advice(message), index: index)
    }

    public init(input: String, value: String, advice: Advice, index: Int? = nil) {
        self.input = input
        self.value = value
        self.detail = advice
        self.index = index
    }

    /// What is wrong and what was expected.
    public var message: String { detail.description }

    public var advice: Advice { "\(input) \(value): " + detail }

    public var description: String { advice.description }
}

/// Integer arithmetic that reports overflow instead of trapping.
enum Checked {
    /// a x b, or nil when it does not fit in an Int.
    static func product(_ a: Int, _ b: Int) -> Int? {
        let (value, overflow) = a.multipliedReportingOverflow(by: b)
        return overflow ? nil : value
    }

    /// a + b, or nil when it does not fit in an Int.
    static func sum(_ a: Int, _ b: Int) -> Int? {
        let (value, overflow) = a.addingReportingOverflow(b)
        return overflow ? nil : value
    }

    /// ceil(a / b) for a >= 0, b > 0, without forming a + b - 1.
    static func ceilDiv(_ a: Int, _ b: Int) -> Int { a / b + (a % b == 0 ? 0 : 1) }
}
