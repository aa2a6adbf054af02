/// Why a built-in's scalar meaning has no value for its arguments; the caller turns it
/// into a diagnostic at the call.
package enum BuiltinFailure: Error, Sendable {
    /// An integer result does not fit in 64 bits.
    case overflow
    /// The arguments lie outside the built-in's domain (a division by zero, an unknown
    /// pattern): the message says which.
    case invalid(String)
}
