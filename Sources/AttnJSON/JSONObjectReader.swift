import AttnNumerics

/// Reads the members of one JSON object, checking each value's type and rejecting
/// members nobody asked for, with errors that carry the file and the field path.
public struct JSONObjectReader {
    public let file: String
    public let path: String
    private let members: [JSONMember]
    /// Member name -> its index in `members` (the first, should a built value repeat a
    /// name), so each lookup is O(1) and reading an object of n members is O(n).
    private let index: [String: Int]
    private var consumed: Set<String> = []

    /// Unknown fields named in full by `finish()`; the rest are counted.
    public static let unknownFieldsShown = 3

    /// Fails unless `value` is an object.
    public init(_ value: JSONValue, file: String, path: String) throws(JSONInputError) {
        guard case .object(let members) = value else {
            throw JSONInputError(
                file: file, path: path, message: "expected an object, found \(value.summary)")
        }
        self.file = file
        self.path = path
        self.members = members
        var index: [String: Int] = [:]
        index.reserveCapacity(members.count)
        for (position, member) in members.enumerated() where index[member.key] == nil {
            index[member.key] = position
        }
        self.index = index
    }

    /// The path of member `key` below this object.
    public func path(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    /// An error at member `key`.
    public func error(_ key: String, _ message: String) -> JSONInputError {
        JSONInputError(file: file, path: path(key), message: message)
    }

    /// The member names in source order.
    public var keys: [String] { members.map(\.key) }

    /// The raw value of `key`, marking it as read; nil when absent or null.
    public mutating func value(_ key: String) -> JSONValue? {
        consumed.insert(key)
        guard let position = index[key] else { return nil }
        let member = members[position]
        if case .null = member.value { return nil }
        return member.value
    }

    /// A required member.
    public mutating func required(_ key: String) throws(JSONInputError) -> JSONValue {
        guard let v = value(key) else { throw error(key, "is required") }
        return v
    }

    public mutating func string(_ key: String) throws(JSONInputError) -> String? {
        guard let v = value(key) else { return nil }
        guard case .string(let s) = v else {
            throw error(key, "expected a string, found \(v.summary)")
        }
        return s
    }

    /// An integer member from `minimum` to `maximum`.
    public mutating func integer(_ key: String, minimum: Int = Int.min, maximum: Int = Int.max) throws(JSONInputError) -> Int? {
        guard let v = value(key) else { return nil }
        return try JSONObjectReader.integer(v, minimum: minimum, maximum: maximum, file: file, path: path(key))
    }

    /// A number member (integers accepted), finite.
    public mutating func number(_ key: String) throws(JSONInputError) -> Double? {
        guard let v = value(key) else { return nil }
        return try JSONObjectReader.number(v, file: file, path: path(key))
    }

    public mutating func bool(_ key: String) throws(JSONInputError) -> Bool? {
        guard let v = value(key) else { return nil }
        guard case .bool(let b) = v else { throw error(key, "expected true or false, found \(v.summary)") }
        return b
    }

    public mutating func array(_ key: String) throws(JSONInputError) -> [JSONValue]? {
        guard let v = value(key) else { return nil }
        guard case .array(let a) = v else { throw error(key, "expected an array, found \(v.summary)") }
        return a
    }

    public mutating func object(_ key: String) throws(JSONInputError) -> JSONObjectReader? {
        guard let v = value(key) else { return nil }
        return try JSONObjectReader(v, file: file, path: path(key))
    }

    /// Fails when a member was never read: a misspelt field is an error, not something
    /// silently ignored. The error is at the first unknown member and names up to
    /// `unknownFieldsShown` of the others (then a count), in O(members).
    public func finish() throws(JSONInputError) {
        let unknown = members.filter { !consumed.contains($0.key) }
        guard let first = unknown.first else { return }
        var message = "unknown field (line \(first.line)); expected one of: " + consumed.sorted().joined(separator: ", ")
        if unknown.count > 1 {
            let others = unknown.dropFirst()
            let shown = others.prefix(Self.unknownFieldsShown).map { "\(path($0.key)) (line \($0.line))" }
            let more = others.count - shown.count
            message += "; also unknown: " + shown.joined(separator: ", ") + (more > 0 ? " and \(more) more" : "")
        }
        throw JSONInputError(file: file, path: path(first.key), message: message)
    }

    /// `v` as an integer from `minimum` to `maximum`; a whole number written with a
    /// fraction or exponent (`1e3`) is accepted below 2^53, where doubles are exact.
    public static func integer(
        _ v: JSONValue, minimum: Int = Int.min, maximum: Int = Int.max, file: String, path: String
    ) throws(JSONInputError) -> Int {
        var expected = minimum == 1 ? "a positive integer" : minimum == 0 ? "a non-negative integer" : "an integer"
        switch v {
        case .integer(let i) where i >= minimum && i <= maximum: return i
        case .number(let x) where x == x.rounded() && abs(x) < 0x1p53 && x >= Double(minimum) && x <= Double(maximum):
            return Int(x)
        case .integer(let i) where i > maximum:
            expected += " of at most \(NumberFormat.grouped(maximum))"
        case .number(let x) where maximum < Int.max && x == x.rounded() && x > Double(maximum):
            expected += " of at most \(NumberFormat.grouped(maximum))"
        default:
            break
        }
        throw JSONInputError(file: file, path: path, message: "expected \(expected), found \(v.summary)")
    }

    public static func number(_ v: JSONValue, file: String, path: String) throws(JSONInputError) -> Double {
        switch v {
        case .integer(let i): return Double(i)
        case .number(let x) where x.isFinite: return x
        default:
            throw JSONInputError(file: file, path: path, message: "expected a number, found \(v.summary)")
        }
    }
}
