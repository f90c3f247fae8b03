/// A malformed structure inside a model file (HDF5, TF Hub checkpoint). The parsers throw it
/// with what is wrong; their callers, who know the file and the tensor, turn it into an `ElmoError`.
struct WireError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Runs `body`, turning a `WireError` into an `.invalidModel` error prefixed with `context`
/// (for example "model/variables/variables.index: data block at offset 0").
func decoding<T>(_ context: @autoclosure () -> String, _ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let e as WireError {
        throw ElmoError(.invalidModel, "\(context()): \(e.description)")
    }
}
