import AttnNumerics
import Foundation

/// The text printed for a failure: exactly one `error:` prefix, and the system's reason
/// (strerror) for file problems, never Foundation's wording.
enum ErrorReport {
    /// `error: MESSAGE\n` for `error`.
    static func text(_ error: any Error) -> String {
        "error: " + message(error) + "\n"
    }

    /// The message without the prefix. A wrapped tile-language diagnostic renders as
    /// `file:line:column: error: ...`; its inner `error:` is dropped because the line
    /// already starts with one.
    static func message(_ error: any Error) -> String {
        var text: String
        if let usage = error as? UsageError {
            text = usage.message
        } else if let advised = error as? any AdvisedError {
            // The library names the settings to change; the command line spells its flags.
            text = advised.advice.spelled(\.flag)
        } else if let foundation = foundationMessage(error) {
            // Before CustomStringConvertible: NSError's description is Foundation's wording.
            text = foundation
        } else {
            text = String(describing: error)
        }
        while text.hasPrefix("error: ") { text.removeFirst("error: ".count) }
        text = text.replacingOccurrences(of: ": error: ", with: ": ")
        text = text.replacingOccurrences(of: "\nerror: ", with: "\n")
        return text
    }

    /// A Foundation file error told as `cannot access 'PATH': <strerror>` from its POSIX
    /// cause; nil for errors that are not Foundation's.
    private static func foundationMessage(_ error: any Error) -> String? {
        let ns = error as NSError
        guard ns.domain == NSCocoaErrorDomain || ns.domain == NSPOSIXErrorDomain else { return nil }
        let posix = ns.domain == NSPOSIXErrorDomain ? ns : ns.userInfo[NSUnderlyingErrorKey] as? NSError
        let reason = posix.flatMap { $0.domain == NSPOSIXErrorDomain ? TextFile.systemMessage(Int32($0.code)) : nil }
            ?? "the file operation failed"
        if let path = ns.userInfo[NSFilePathErrorKey] as? String { return "cannot access '\(path)': \(reason)" }
        return reason
    }
}
