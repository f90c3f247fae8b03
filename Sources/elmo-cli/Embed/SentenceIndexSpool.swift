/// The `sentence_to_index` JSON object that `allennlp elmo` stores with the embeddings
/// (sentence -> its key, the line index as a string), spooled to a scratch file as lines are
/// written so that memory does not grow with the input.
///
/// allennlp builds a Python dict, so a sentence that occurs on several lines appears once,
/// at its first position, with the index of its last line. Remembering which sentences were
/// seen would take memory that grows with the input; instead every line's pair is written,
/// duplicates included. JSON parsers that keep the last value of a repeated name (Python's
/// `json.loads`, JavaScript's `JSON.parse`, ...) give exactly allennlp's dict, in its order.
/// The text uses json.dumps' defaults (ASCII only, ", " and ": " separators).
final class SentenceIndexSpool {
    let path: String
    private let file: BufferedFile
    private var count = 0
    private var scratch: [UInt8] = []
    private(set) var finished = false

    init(beside output: String) throws {
        path = scratchPath(beside: output, purpose: "sentences")
        TemporaryFiles.register(path)
        file = try BufferedFile(path: path)
        try file.append([UInt8(ascii: "{")])
    }

    func add(sentence: String, index: Int) throws {
        scratch.removeAll(keepingCapacity: true)
        if count > 0 { scratch.append(contentsOf: ", ".utf8) }
        JSONText.appendString(sentence, asciiOnly: true, to: &scratch)
        scratch.append(contentsOf: ": ".utf8)
        JSONText.appendString(String(index), asciiOnly: true, to: &scratch)
        try file.append(scratch)
        count += 1
    }

    /// Closes the object and flushes; returns the JSON's length in bytes.
    func finish() throws -> UInt64 {
        try file.append([UInt8(ascii: "}")])
        try file.flush()
        finished = true
        return file.offset
    }

    /// Removes the scratch file.
    func remove() {
        TemporaryFiles.remove(path)
    }
}
