import Dispatch
import Elmo

/// What `elmo embed` does, once its arguments are checked: read lines, embed them in
/// batches on `threads` sessions at once, write each line's output in input order.
///
/// Memory is independent of the input's length: one round of at most `threads` batches is
/// in flight (read, embedded in parallel, written), and the outputs grow only in files.
struct EmbedSettings {
    var input: String
    var output: String
    var format: OutputFormat
    var modelPath: String
    /// The options file to load the model with (nil: found beside the weights).
    var optionsFile: String?
    var precision: PrecisionChoice
    var layers: LayerSpec
    var batchSize: Int
    var threads: Int
    var tokenize: Bool
    var skipInvalid: Bool
    var useSentenceKeys: Bool
    var forgetSentences: Bool
    var quiet: Bool
}

/// Which output `elmo embed` writes, as its options name it.
enum LayerSpec {
    /// `--all`: every layer.
    case all
    /// `--top`: the top LSTM layer (allennlp's `embeddings[-1]`).
    case top
    /// `--average`: the plain mean of all layers (allennlp's `numpy.average(embeddings, axis=0)`).
    case average
    /// `--output-layer NAME`: one of TF Hub's outputs.
    case named(ElmoOutput)

    func output(for options: ElmoOptions) -> ElmoOutput {
        switch self {
        case .all: return .allLayers
        case .top: return .lstm(options.lstm.layerCount)
        case .average: return .elmo(ScalarMix.average(layerCount: options.outputLayerCount))
        case .named(let kind): return kind
        }
    }
}

/// One input line on its way through the pipeline.
private struct LineRecord {
    enum State {
        /// Embedded as sentence `slot` of its batch.
        case sentence(slot: Int, tokens: Int)
        /// No tokens: an empty entry.
        case empty
        /// Cannot be embedded (reason); an empty entry with `--skip-invalid`, else an error.
        case invalid(String)
    }

    let index: Int
    let lineNumber: Int
    let sentence: String
    var state: State
    /// The tokens (kept for JSON lines, which list them).
    var tokens: [String] = []
}

/// A batch and its lines (empty and invalid lines ride along, so output stays in order).
private final class Chunk: @unchecked Sendable {
    var lines: [LineRecord] = []
    /// The tokens of the batch's sentences (whitespace-split, then `WordTokenizer`'s with
    /// `--tokenize`), as `readLine` split them.
    var tokenized: [[String]] = []
    var sentenceCount = 0
    var tokenCount = 0
    /// Output floats of each sentence, filled by a worker.
    var values: UnsafeMutableBufferPointer<Float> = .init(start: nil, count: 0)
    var offsets: [Int] = []
    /// Whether `values` belongs to the chunk (made line by line after a failure) rather than
    /// to a worker.
    var ownsValues = false
    var error: Error?

    deinit {
        if ownsValues { values.deallocate() }
    }

    func batch() throws -> TokenBatch {
        try TokenBatch(sentences: tokenized)
    }
}

/// One thread's session and output buffer, reused from round to round.
private final class Worker: @unchecked Sendable {
    let session: ElmoSession
    private(set) var buffer: UnsafeMutableBufferPointer<Float> = .init(start: nil, count: 0)

    init(model: ElmoModel) {
        // The workers are the parallelism: each session uses only its own thread.
        session = ElmoSession(model: model, threads: 1)
    }

    deinit { buffer.deallocate() }

    func reserve(_ count: Int) -> UnsafeMutableBufferPointer<Float> {
        if buffer.count < count {
            buffer.deallocate()
            buffer = .allocate(capacity: max(count, buffer.count * 3 / 2))
        }
        return UnsafeMutableBufferPointer(rebasing: buffer[0..<count])
    }
}

final class EmbedRunner {
    private let settings: EmbedSettings
    private let model: ElmoModel
    private let options: ElmoOptions
    private let outputKind: ElmoOutput
    private let reader: LineReader
    private let sink: EmbeddingSink
    private let progress: ProgressReporter
    private let workers: [Worker]
    private var lineBytes: [UInt8] = []
    private var nextIndex = 0
    private var finishedReading = false
    private var written = 0, tokensWritten = 0, emptyLines = 0, skippedLines = 0
    private var emptyValues: [Float]

    init(settings: EmbedSettings) throws {
        self.settings = settings
        reader = try LineReader(path: settings.input)
        // The output first: an unwritable destination is reported before the model loads.
        let sink: EmbeddingSink
        switch settings.format {
        case .hdf5:
            sink = try HDF5Sink(output: settings.output, input: reader.displayName,
                                useSentenceKeys: settings.useSentenceKeys, forgetSentences: settings.forgetSentences)
        case .npz:
            sink = try NPZSink(output: settings.output, forgetSentences: settings.forgetSentences)
        case .jsonl:
            sink = try JSONLSink(output: settings.output, forgetSentences: settings.forgetSentences)
        }
        let loaded: ElmoModel
        do {
            loaded = try ElmoModel(path: settings.modelPath, optionsFile: settings.optionsFile, loadOptions: ElmoLoadOptions(
                precision: try settings.precision.resolve(path: settings.modelPath, optionsFile: settings.optionsFile)))
        } catch {
            sink.abandon()
            throw CLIFailure("\(error)")
        }
        self.sink = sink
        model = loaded
        options = loaded.options
        outputKind = settings.layers.output(for: loaded.options)
        progress = ProgressReporter(style: ProgressReporter.style(quiet: settings.quiet), totalBytes: reader.totalBytes)
        workers = (0..<settings.threads).map { _ in Worker(model: loaded) }
        // An empty line's output: zero tokens, or a zero vector for the sentence mean.
        emptyValues = [Float](repeating: 0, count: outputKind.floats(tokens: 0, options: loaded.options))
        if case .lstm(let k) = outputKind, k > options.lstm.layerCount {
            sink.abandon()
            throw CLIFailure("\(settings.modelPath): the model has \(options.lstm.layerCount) LSTM layers, so there is no lstm_outputs\(k)")
        }
    }

    /// Runs to the end of the input; on failure removes the partial output.
    func run() throws {
        do {
            while !finishedReading {
                let round = try readRound()
                if round.isEmpty { break }
                embed(round)
                for chunk in round { try write(chunk) }
                progress.update(sentences: written, tokens: tokensWritten, bytes: reader.bytesConsumed)
            }
            try sink.finish()
        } catch {
            progress.interrupt()
            sink.abandon()
            throw error
        }
        progress.finish(sentences: written, tokens: tokensWritten, empty: emptyLines, skipped: skippedLines,
                        output: settings.output == "-" ? "<stdout>" : settings.output)
    }

    // MARK: reading

    /// Up to one batch per worker.
    private func readRound() throws -> [Chunk] {
        var round: [Chunk] = []
        while round.count < workers.count && !finishedReading {
            let chunk = try readChunk()
            if !chunk.lines.isEmpty { round.append(chunk) }
        }
        return round
    }

    /// A sentence read but left for the next batch (it did not fit in the token budget).
    private var carried: (line: LineRecord, tokens: [String])?

    /// Lines up to `batchSize` sentences or the per-call token limit, whichever comes first.
    private func readChunk() throws -> Chunk {
        let chunk = Chunk()
        let limits = ElmoLimits.default
        let maxLines = max(settings.batchSize * 4, 1024)  // bounds a run of empty lines
        if let c = carried {
            carried = nil
            add(c.line, tokens: c.tokens, to: chunk)
        }
        while chunk.sentenceCount < settings.batchSize && chunk.lines.count < maxLines {
            guard let (record, tokens) = try readLine(limits: limits) else {
                finishedReading = true
                break
            }
            guard case .sentence = record.state else {
                chunk.lines.append(record)
                continue
            }
            if chunk.tokenCount + tokens.count > limits.maxTokensPerCall {
                carried = (record, tokens)
                break
            }
            add(record, tokens: tokens, to: chunk)
        }
        return chunk
    }

    private func add(_ record: LineRecord, tokens: [String], to chunk: Chunk) {
        var r = record
        r.state = .sentence(slot: chunk.sentenceCount, tokens: tokens.count)
        if settings.format == .jsonl { r.tokens = tokens }
        chunk.lines.append(r)
        chunk.tokenized.append(tokens)
        chunk.sentenceCount += 1
        chunk.tokenCount += tokens.count
    }

    /// The next line as a record (a `.sentence` record's slot is set when it joins a batch)
    /// and its tokens; nil at the end of the input.
    private func readLine(limits: ElmoLimits) throws -> (LineRecord, [String])? {
        guard let line = try reader.next() else { return nil }
        let index = nextIndex
        nextIndex += 1
        let number = reader.lineNumber
        switch line {
        case .tooLong(let bytes):
            return (LineRecord(index: index, lineNumber: number, sentence: "",
                               state: .invalid("line of \(bytes) bytes is longer than the \(reader.maxLineBytes)-byte limit")), [])
        case .text(let bytes):
            // The line is split once, here, validated in the same pass; the batch is built
            // from these tokens (`Chunk.batch`), not split again.
            var pieces: [String] = []
            if let bad = PythonText.forEachToken(bytes, { pieces.append(String(decoding: $0, as: UTF8.self)) }) {
                return (LineRecord(index: index, lineNumber: number, sentence: String(decoding: bytes, as: UTF8.self),
                                   state: .invalid("invalid UTF-8 at byte \(bad + 1) of the line")), [])
            }
            let sentence = String(decoding: UnsafeBufferPointer(rebasing: bytes[PythonText.strippedRange(bytes)]), as: UTF8.self)
            let tokens = settings.tokenize ? WordTokenizer.tokenize(pieces) : pieces
            if tokens.isEmpty {
                return (LineRecord(index: index, lineNumber: number, sentence: sentence, state: .empty), [])
            }
            if tokens.count > limits.maxTokensPerSentence {
                return (LineRecord(index: index, lineNumber: number, sentence: sentence,
                                   state: .invalid("\(tokens.count) tokens, more than the limit of \(limits.maxTokensPerSentence) per sentence")), [])
            }
            return (LineRecord(index: index, lineNumber: number, sentence: sentence, state: .sentence(slot: -1, tokens: tokens.count)), tokens)
        }
    }

    // MARK: embedding

    /// Embeds the round's batches in parallel, one worker each. Failures are kept per chunk
    /// and sorted out line by line when the chunk is written.
    private func embed(_ round: [Chunk]) {
        let output = outputKind
        let workers = self.workers
        let options = self.options
        DispatchQueue.concurrentPerform(iterations: round.count) { i in
            let chunk = round[i]
            guard chunk.sentenceCount > 0 else { return }
            do {
                let batch = try chunk.batch()
                let count = try workers[i].session.requiredFloats(batch, output: output)
                let buffer = workers[i].reserve(count)
                try workers[i].session.embed(batch, output: output, into: buffer)
                chunk.values = buffer
                var offsets: [Int] = []
                var o = 0
                for n in batch.sentenceLengths {
                    offsets.append(o)
                    o += output.floats(tokens: n, options: options)
                }
                chunk.offsets = offsets
            } catch {
                chunk.error = error
            }
        }
    }

    // MARK: writing

    private func write(_ chunk: Chunk) throws {
        if chunk.error != nil { try embedOneByOne(chunk) }
        for line in chunk.lines {
            switch line.state {
            case .sentence(let slot, let tokens):
                let n = outputKind.floats(tokens: tokens, options: options)
                let values = UnsafeBufferPointer(rebasing: chunk.values[chunk.offsets[slot]..<(chunk.offsets[slot] + n)])
                try emit(line, shape: outputKind.shape(tokens: tokens, options: options), values: values)
                tokensWritten += tokens
            case .empty:
                try emitEmpty(line)
                emptyLines += 1
            case .invalid(let reason):
                let message = "\(reader.displayName):\(line.lineNumber): \(reason)"
                guard settings.skipInvalid else {
                    throw CLIFailure(message + " (--skip-invalid writes an empty entry instead)")
                }
                progress.interrupt()
                Terminal.warning(message + "; written as an empty entry")
                try emitEmpty(line)
                skippedLines += 1
            }
            written += 1
        }
    }

    private func emit(_ line: LineRecord, shape: [Int], values: UnsafeBufferPointer<Float>) throws {
        try sink.write(EmbeddedLine(index: line.index, lineNumber: line.lineNumber, sentence: line.sentence,
                                    tokens: line.tokens, shape: shape), values: values)
    }

    private func emitEmpty(_ line: LineRecord) throws {
        try emptyValues.withUnsafeBufferPointer {
            try emit(line, shape: outputKind.shape(tokens: 0, options: options), values: $0)
        }
    }

    /// After a batch failed: embeds its sentences one at a time to find the lines at fault,
    /// which become invalid lines (reported with their line numbers).
    private func embedOneByOne(_ chunk: Chunk) throws {
        let worker = workers[0]
        var lines = chunk.lines
        var values: [Float] = []
        var offsets = [Int](repeating: 0, count: chunk.sentenceCount)
        for (i, line) in lines.enumerated() {
            guard case .sentence(let slot, _) = line.state else { continue }
            do {
                let batch = try TokenBatch(sentences: [chunk.tokenized[slot]])
                let count = try worker.session.requiredFloats(batch, output: outputKind)
                let buffer = worker.reserve(count)
                try worker.session.embed(batch, output: outputKind, into: buffer)
                offsets[slot] = values.count
                values.append(contentsOf: buffer)
            } catch {
                lines[i].state = .invalid("cannot be embedded: \(error)")
            }
        }
        chunk.lines = lines
        chunk.offsets = offsets
        let stable = UnsafeMutableBufferPointer<Float>.allocate(capacity: max(values.count, 1))
        _ = stable.initialize(from: values)
        chunk.values = stable
        chunk.ownsValues = true
        chunk.error = nil
    }
}
