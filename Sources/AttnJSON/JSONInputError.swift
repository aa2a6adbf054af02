/// A problem with a JSON input file: where it is and what was expected there.
public struct JSONInputError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file the text came from (as the user named it).
    public var file: String
    /// The field path, e.g. `algorithms[1].params.Br`; empty for the document itself.
    public var path: String
    /// What is wrong, e.g. `expected a positive integer, found "abc"`.
    public var message: String

    public init(file: String, path: String, message: String) {
        self.file = file
        self.path = path
        self.message = message
    }

    public var description: String {
        path.isEmpty ? "\(file): \(message)" : "\(file): \(path): \(message)"
    }
}
