import Elmo
import ElmoHDF5Output

/// One input line's output, as the sinks receive it, in input order.
struct EmbeddedLine {
    /// 0-based line index: the key `allennlp elmo` gives the sentence.
    let index: Int
    /// 1-based line number, for messages.
    let lineNumber: Int
    /// The line with surrounding whitespace removed (Python's `str.strip()`).
    let sentence: String
    /// The sentence's tokens (filled for JSON lines only).
    let tokens: [String]
    /// Shape of `values` (zero tokens for an empty line).
    let shape: [Int]
}

/// An output format. Every sink writes to a temporary file beside the output and moves it
/// into place only in `finish()`, so a failed run leaves nothing under the output's name.
protocol EmbeddingSink: AnyObject {
    func write(_ line: EmbeddedLine, values: UnsafeBufferPointer<Float>) throws
    /// Completes the output and moves it into place.
    func finish() throws
    /// Removes everything written so far.
    func abandon()
}

/// The output formats, chosen by the output's extension.
enum OutputFormat: String {
    case hdf5, npz, jsonl

    /// The format for an output path: ".hdf5"/".h5", ".npz", ".jsonl", and "-" (stdout) for
    /// JSON lines; nil for anything else.
    init?(outputPath: String) {
        if outputPath == "-" { self = .jsonl; return }
        let lower = outputPath.lowercased()
        if lower.hasSuffix(".hdf5") || lower.hasSuffix(".h5") { self = .hdf5 }
        else if lower.hasSuffix(".npz") { self = .npz }
        else if lower.hasSuffix(".jsonl") { self = .jsonl }
        else { return nil }
    }
}

/// `.hdf5`: exactly the layout `allennlp elmo` writes. One float32 dataset per line, named
/// by the line's 0-based index (or by the sentence itself with `--use-sentence-keys`), and
/// `sentence_to_index`: a shape-(1,) variable-length UTF-8 string dataset holding the JSON
/// object that maps each sentence to its key (not written with `--forget-sentences` or
/// `--use-sentence-keys`, as in allennlp).
final class HDF5Sink: EmbeddingSink {
    private let output: String
    private let input: String
    private let useSentenceKeys: Bool
    private let file: AtomicFile
    private let writer: HDF5OutputFile
    private let spool: SentenceIndexSpool?

    init(output: String, input: String, useSentenceKeys: Bool, forgetSentences: Bool) throws {
        self.output = output
        self.input = input
        self.useSentenceKeys = useSentenceKeys
        file = try AtomicFile(finalPath: output)
        do {
            writer = try HDF5OutputFile(path: file.temporaryPath)
            spool = useSentenceKeys || forgetSentences ? nil : try SentenceIndexSpool(beside: output)
        } catch {
            file.discard()
            throw error
        }
    }

    func write(_ line: EmbeddedLine, values: UnsafeBufferPointer<Float>) throws {
        let key: String
        if useSentenceKeys {
            guard !line.sentence.isEmpty else {
                throw CLIFailure("\(input):\(line.lineNumber): an empty line cannot be an HDF5 key (--use-sentence-keys)")
            }
            guard !writer.contains(line.sentence) else {
                throw CLIFailure("\(input):\(line.lineNumber): this sentence is already a key in \(output); "
                                 + "--use-sentence-keys needs unique sentences (leave it out to key by line number)")
            }
            key = line.sentence
        } else {
            key = String(line.index)
        }
        do {
            try writer.write(key, shape: line.shape, values: values)
        } catch {
            if useSentenceKeys {
                throw CLIFailure("\(input):\(line.lineNumber): the sentence cannot be an HDF5 key in \(output) "
                                 + "(names with '/' or '.' parts can fail; leave out --use-sentence-keys)")
            }
            throw CLIFailure("\(output): \(error)")
        }
        try spool?.add(sentence: line.sentence, index: line.index)
    }

    func finish() throws {
        do {
            if let spool {
                _ = try spool.finish()
                do {
                    try writer.writeString("sentence_to_index", contentsOfFile: spool.path)
                } catch let e as ElmoError where e.kind == .limitExceeded {
                    Terminal.warning("sentence_to_index left out of \(output): the sentences' JSON is larger than one HDF5 string can hold (4 GiB)")
                }
            }
            try writer.close()
            spool?.remove()
            try file.commit()
        } catch {
            abandon()
            throw error
        }
    }

    func abandon() {
        try? writer.close()
        spool?.remove()
        file.discard()
    }
}

/// `.npz`: a numpy archive (`numpy.load`) holding one float32 array per line, named by the
/// line's 0-based index ("0", "1", ...), and `sentence_to_index`: a shape-(1,) bytes array
/// whose element is the same JSON as in the HDF5 output (`json.loads(npz["sentence_to_index"][0])`
/// works for both). Written as it goes: memory does not grow with the input.
final class NPZSink: EmbeddingSink {
    private let output: String
    private let file: AtomicFile
    private let zip: ZipWriter
    private let spool: SentenceIndexSpool?

    init(output: String, forgetSentences: Bool) throws {
        self.output = output
        file = try AtomicFile(finalPath: output)
        do {
            zip = try ZipWriter(path: file.temporaryPath, displayPath: output)
            spool = forgetSentences ? nil : try SentenceIndexSpool(beside: output)
        } catch {
            file.discard()
            throw error
        }
    }

    func write(_ line: EmbeddedLine, values: UnsafeBufferPointer<Float>) throws {
        let header = npyHeader(descr: "<f4", shape: line.shape)
        try zip.beginEntry(name: "\(line.index).npy", size: UInt64(header.count + values.count * 4))
        try header.withUnsafeBytes { try zip.write($0) }
        try zip.write(UnsafeRawBufferPointer(values))  // float32, little-endian on every supported platform
        try zip.endEntry()
        try spool?.add(sentence: line.sentence, index: line.index)
    }

    func finish() throws {
        do {
            if let spool {
                let length = try spool.finish()
                let header = npyHeader(descr: "|S\(length)", shape: [1])
                try zip.beginEntry(name: "sentence_to_index.npy", size: UInt64(header.count) + length)
                try header.withUnsafeBytes { try zip.write($0) }
                try forEachChunk(ofFile: spool.path) { try zip.write($0) }
                try zip.endEntry()
                spool.remove()
            }
            try zip.finish()
            try file.commit()
        } catch {
            abandon()
            throw error
        }
    }

    func abandon() {
        zip.abandon()
        spool?.remove()
        file.discard()
    }
}

/// `.jsonl` (or `-`, stdout): one JSON object per line of input, in input order:
/// `{"index": 0, "sentence": "...", "tokens": [...], "shape": [3, 5, 1024], "embedding": [[[...]]]}`, the
/// embedding nested as `numpy.ndarray.tolist()` nests it (`numpy.array(obj["embedding"],
/// dtype="float32").reshape(obj["shape"])` restores the array, also for empty lines).
/// `--forget-sentences` leaves out "sentence" and "tokens". Floats are written as the shortest decimal
/// that reads back as the same float32.
final class JSONLSink: EmbeddingSink {
    private let file: AtomicFile?
    private let out: BufferedFile
    private let forgetSentences: Bool
    private var scratch: [UInt8] = []

    init(output: String, forgetSentences: Bool) throws {
        self.forgetSentences = forgetSentences
        if output == "-" {
            file = nil
            out = BufferedFile(descriptor: 1, displayPath: "<stdout>")
        } else {
            let f = try AtomicFile(finalPath: output)
            file = f
            out = try BufferedFile(path: f.temporaryPath, displayPath: output)
        }
    }

    func write(_ line: EmbeddedLine, values: UnsafeBufferPointer<Float>) throws {
        scratch.removeAll(keepingCapacity: true)
        scratch.append(contentsOf: "{\"index\": ".utf8)
        JSONText.appendInt(line.index, to: &scratch)
        if !forgetSentences {
            scratch.append(contentsOf: ", \"sentence\": ".utf8)
            JSONText.appendString(line.sentence, asciiOnly: false, to: &scratch)
            scratch.append(contentsOf: ", \"tokens\": [".utf8)
            for (i, t) in line.tokens.enumerated() {
                if i > 0 { scratch.append(contentsOf: ", ".utf8) }
                JSONText.appendString(t, asciiOnly: false, to: &scratch)
            }
            scratch.append(UInt8(ascii: "]"))
        }
        scratch.append(contentsOf: ", \"shape\": [".utf8)
        for (i, d) in line.shape.enumerated() {
            if i > 0 { scratch.append(contentsOf: ", ".utf8) }
            JSONText.appendInt(d, to: &scratch)
        }
        scratch.append(contentsOf: "], \"embedding\": ".utf8)
        JSONText.appendArray(values, shape: line.shape, to: &scratch)
        scratch.append(contentsOf: "}\n".utf8)
        try out.append(scratch)
    }

    func finish() throws {
        do {
            if file != nil { try out.sync() } else { try out.flush() }
            try file?.commit()
        } catch {
            abandon()
            throw error
        }
    }

    func abandon() {
        try? out.flush()
        file?.discard()
    }
}
