/// The one error type thrown by the Elmo library.
///
/// `kind` is a stable category (it maps one to one onto the C API's status codes);
/// `message` is a human-readable sentence that names the file, tensor, sentence or
/// argument involved.
public struct ElmoError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The category of an error: the same categories as the C API's status codes
    /// (`ELMO_ERR_INVALID_ARGUMENT`, ...) and the Python binding's exception classes.
    public enum Kind: String, Sendable, CaseIterable {
        /// A caller passed an argument that can never be valid (negative size, unknown output, ...).
        case invalidArgument
        /// Text input that cannot be embedded: empty batch or sentence, invalid UTF-8, ...
        case invalidInput
        /// A file could not be opened, read or written.
        case io
        /// A model file (options, weights, native file, TF Hub bundle) is malformed.
        case invalidModel
        /// A weight tensor has a shape that disagrees with the options.
        case shapeMismatch
        /// A documented resource limit (sentence length, batch size, ...) was exceeded.
        case limitExceeded
        /// Memory for the computation could not be allocated.
        case outOfMemory
        /// A caller-provided output buffer is too small.
        case bufferTooSmall
        /// A session was used from a second thread while a call on it was running.
        case sessionBusy
    }

    /// What went wrong, as a stable category to branch on.
    public let kind: Kind
    /// A sentence for people, naming the file, tensor, sentence or argument involved. Its
    /// wording may change between versions: branch on `kind`, not on the message.
    public let message: String

    package init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    /// The message (`message`), so that printing an error says what went wrong.
    public var description: String { message }
}

extension ElmoError {
    static func invalidOptions(_ file: String, _ detail: String) -> ElmoError {
        ElmoError(.invalidModel, "\(file): invalid options: \(detail)")
    }

    package static func missingTensor(_ file: String, _ name: String) -> ElmoError {
        ElmoError(.invalidModel, "\(file): missing weight tensor '\(name)'")
    }

    package static func shapeMismatch(_ file: String, _ name: String, expected: [Int], actual: [Int]) -> ElmoError {
        ElmoError(.shapeMismatch,
                  "\(file): tensor '\(name)' has shape \(formatShape(actual)) but the options require \(formatShape(expected))")
    }
}

/// "(2, 3, 4)": shapes as Python users read them.
package func formatShape(_ shape: [Int]) -> String {
    if shape.count == 1 { return "(\(shape[0]),)" }
    return "(" + shape.map(String.init).joined(separator: ", ") + ")"
}
