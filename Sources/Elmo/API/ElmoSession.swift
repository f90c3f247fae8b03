import Synchronization

/// One thread's use of a model: scratch memory sized to the largest batch so far and, in
/// stateful mode, the LSTM states carried from one call to the next.
///
/// A session must be used by one thread at a time (make one per thread; they are cheap
/// until they embed). Using one from two threads at once is detected and refused with an
/// error rather than corrupting its memory.
///
/// Stateless (the default): a sentence's vectors depend only on the sentence, not on the
/// rest of its batch or on earlier calls. Stateful: batch row i starts from the LSTM states
/// with which row i of the previous call ended, reproducing bilm-tf and AllenNLP.
public final class ElmoSession {
    /// The model this session embeds with (shared, never modified).
    public let model: ElmoModel
    /// Whether LSTM states carry from one call to the next (`init(model:stateful:...)`).
    public let isStateful: Bool
    /// Limits applied to every call.
    public var limits: ElmoLimits

    private let encoder: Encoder
    private let state: LSTMStateStore?
    private let allLayersScratch = ScratchBuffer()
    private let busy = Atomic<Bool>(false)

    /// LSTMs (layers x directions) this session has run: for tests of request planning.
    var lstmRunCount: Int { encoder.lstmRunCount }

    /// Threads one call may use, the calling thread included.
    public var threadCount: Int { encoder.threadCount }

    /// A session on `model`; nothing is allocated until the first call.
    ///
    /// - stateful: carry each batch row's LSTM states to the same row of the next call
    ///   (bilm-tf's and AllenNLP's behaviour); false (the default): every sentence starts
    ///   from zero states, so its vectors depend on nothing else.
    /// - limits: the bounds every call is checked against (`ElmoLimits.default`).
    /// - threads: how many threads one call may use, the calling thread included (1 to 256;
    ///   values outside are clamped); nil (the default) means every processor this process
    ///   may run on. Helper threads are started
    ///   at the first call that needs them, sleep between calls, and end with the session.
    ///   Results are bit-identical whatever the thread count. The matrix kernels are the
    ///   library's own, so no process-global setting (such as OpenBLAS's thread count) is
    ///   read or changed. To run several sessions in parallel, give each a share of the
    ///   cores (for example `threads: 1` each) rather than oversubscribing them.
    public init(model: ElmoModel, stateful: Bool = false, limits: ElmoLimits = .default, threads: Int? = nil) {
        self.model = model
        self.isStateful = stateful
        self.limits = limits
        encoder = Encoder(model: model, threads: threads ?? availableProcessors())
        state = stateful ? LSTMStateStore(options: model.options) : nil
    }

    // MARK: convenience API

    /// Embeds pre-tokenized sentences.
    public func embed(_ sentences: [[String]]) throws -> ElmoEmbeddings {
        try embed(TokenBatch(sentences: sentences))
    }

    /// Embeds raw sentences, splitting each on whitespace.
    public func embed(texts: [String]) throws -> ElmoEmbeddings {
        try embed(TokenBatch(texts: texts))
    }

    /// Embeds a batch and returns all layers of every sentence.
    public func embed(_ batch: TokenBatch) throws -> ElmoEmbeddings {
        try limits.check(batch)
        let count = try requiredFloats(batch, output: .allLayers)
        var values = [Float](repeating: 0, count: count)
        try values.withUnsafeMutableBufferPointer { buf in
            try exclusively { try encoder.encode(batch, state: state, into: buf.baseAddress!) }
        }
        return ElmoEmbeddings(options: model.options, defaultMix: model.defaultMix,
                              tokenCounts: batch.sentenceLengths, allLayers: values)
    }

    // MARK: buffer API (what the C interface uses)

    /// Floats that `embed(_:output:into:)` writes for this batch.
    public func requiredFloats(_ batch: TokenBatch, output: ElmoOutput) throws -> Int {
        try model.requiredFloats(output, tokenCounts: batch.sentenceLengths)
    }

    /// Embeds a batch and writes the requested output for all sentences, contiguously in
    /// batch order, into `destination` (which must hold `requiredFloats` floats).
    /// `sentenceBoundaries`: per-token outputs also cover the `<S>` and `</S>` positions
    /// (tokens + 2 rows per sentence; not for `sentenceMean`).
    public func embed(_ batch: TokenBatch, output: ElmoOutput, sentenceBoundaries: Bool = false,
                      into destination: UnsafeMutableBufferPointer<Float>) throws {
        // With the boundary rows asked for, a sentence of 0 tokens has an output: <S> </S>.
        try limits.check(batch, allowEmpty: sentenceBoundaries)
        if batch.charactersPerToken != nil, case .manyLangs = model.weights.tokenRows {
            // The ids are bilm-tf's byte ids; an ELMoForManyLangs model numbers characters by its own vocabulary.
            throw ElmoError(.invalidArgument, "character-id input is for bilm-tf/AllenNLP models; this ELMoForManyLangs model reads text or tokens")
        }
        if let width = batch.charactersPerToken, width != model.options.charCNN.maxCharactersPerToken {
            throw ElmoError(.invalidArgument, "rows of \(width) character ids, but the model reads \(model.options.charCNN.maxCharactersPerToken) per token")
        }
        let needed = try model.requiredFloats(output, tokenCounts: batch.sentenceLengths, sentenceBoundaries: sentenceBoundaries)
        guard let base = destination.baseAddress, destination.count >= needed else {
            throw ElmoError(.bufferTooSmall, "output buffer holds \(destination.count) floats but \(needed) are needed")
        }
        try exclusively {
            if output == .allLayers {
                try encoder.encode(batch, state: state, sentenceBoundaries: sentenceBoundaries, into: base)
                return
            }
            let allCount = try model.requiredFloats(.allLayers, tokenCounts: batch.sentenceLengths,
                                                    sentenceBoundaries: sentenceBoundaries)
            let all = try allLayersScratch.reserve(allCount)
            // Only the layers the output reads are computed (`ElmoOutput.lstmLayersNeeded`).
            try encoder.encode(batch, state: state, sentenceBoundaries: sentenceBoundaries,
                               lstmLayers: output.lstmLayersNeeded(options: model.options), into: all)
            let rows = ElmoModel.rows(tokenCounts: batch.sentenceLengths, sentenceBoundaries: sentenceBoundaries)
            OutputWriter.write(output, mix: model.defaultMix, from: all, tokenCounts: rows,
                               options: model.options, into: base)
        }
    }

    // MARK: state and memory

    /// Forgets the carried LSTM states (stateful sessions); no effect on stateless ones.
    /// Throws `.sessionBusy` if another thread is embedding with this session right now.
    public func reset() throws {
        try exclusively { state?.reset() }
    }

    /// Returns the session's scratch memory to the system; the next call reallocates it.
    /// Throws `.sessionBusy` if another thread is embedding with this session right now.
    public func releaseMemory() throws {
        try exclusively {
            encoder.releaseMemory()
            allLayersScratch.release()
        }
    }

    private func exclusively<T>(_ body: () throws -> T) throws -> T {
        guard busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else {
            throw ElmoError(.sessionBusy, "session is already in use by another thread: use one session per thread")
        }
        defer { busy.store(false, ordering: .releasing) }
        return try body()
    }
}
