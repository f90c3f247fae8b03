/// A runtime failure of a command (exit status 1). The message names the file, and the
/// line where there is one; usage errors are ArgumentParser's `ValidationError` (status 2).
struct CLIFailure: Error, CustomStringConvertible {
    let message: String

    init(_ message: String) {
        self.message = message
    }

    var description: String { message }
}
