/// An error whose message may name settings to change (`Remedy`): the command line prints
/// `advice` spelled with its flags, other callers its description.
public protocol AdvisedError: Error, CustomStringConvertible {
    /// The message, with the settings it names as values.
    var advice: Advice { get }
}
