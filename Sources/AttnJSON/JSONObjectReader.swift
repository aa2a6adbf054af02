/// Reads the members of one JSON object, checking each value's type and rejecting
/// members nobody asked for, with errors that carry the file and the field path.
public struct JSONObjectReader {
    public let file: String
    public let path: String
    private let members: [JSONMember]
    private var consumed: Set<String> = []

    /// Fails unless `value` is an object.
    public init(_ value: JSONValue, file: String, path: String) throws(JSONInputError) {
        guard case .object(let members) = value else {
            throw JSONInputError(
                file: file, path: path, message: "expected an object, found \(value.summary)")
        }
        self.file = file
        self.path = path
        self.members = members
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
        guard let member = members.first(where: { $0.key == key }) else { return nil }
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

    /// An integer member no smaller than `minimum`.
    public mutating func integer(_ key: String, minimum: Int = Int.min) throws(JSONInputError) -> Int? {
        guard let v = value(key) else { return nil }
        return try JSONObjectReader.integer(v, minimum: minimum, file: file, path: path(key))
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

    /// Fails on the first member that was never read: a misspelt field is an error, not
    /// something silently ignored.
    public func finish() throws(JSONInputError) {
        for member in members where !consumed.contains(member.key) {
            throw JSONInputError(
                file: file, path: path(member.key),
                message: "unknown field (line \(member.line)); expected one of: "
                    + consumed.sorted().joined(separator: ", "))
        }
    }

    public static func integer(
        _ v: JSONValue, minimum: Int = Int.min, file: String, path: String
    ) throws(JSONInputError) -> Int {
        let expected = minimum == 1 ? "a positive integer" : minimum == 0 ? "a non-negative integer"
            : "an integer"
        switch v {
        case .integer(let i) where i >= minimum: return i
        case .number(let x) where x == x.rounded() && x >= Double(minimum) && abs(x) < 0x1p53:
            return Int(x)
        default:
            throw JSONInputError(file: file, path: path, message: "expected \(expected), found \(v.summary)")
        }
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
