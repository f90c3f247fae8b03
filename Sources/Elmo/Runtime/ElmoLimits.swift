/// Resource limits of one embedding call. Inputs beyond them are refused with a
/// `.limitExceeded` error before any memory is committed, instead of running the host out
/// of memory. Working memory grows with the tokens of a call: for the original model about
/// 14 KB per token plus the requested output.
public struct ElmoLimits: Equatable, Sendable {
    /// Most sentences in one call.
    public var maxSentences: Int
    /// Most tokens in one sentence (boundaries not counted).
    public var maxTokensPerSentence: Int
    /// Most tokens in one call, all sentences together.
    public var maxTokensPerCall: Int

    public init(maxSentences: Int = 16_384, maxTokensPerSentence: Int = 65_536, maxTokensPerCall: Int = 65_536) {
        self.maxSentences = maxSentences
        self.maxTokensPerSentence = maxTokensPerSentence
        self.maxTokensPerCall = maxTokensPerCall
    }

    public static let `default` = ElmoLimits()

    func check(_ batch: TokenBatch) throws {
        guard batch.count > 0 else { throw ElmoError(.invalidInput, "empty batch: at least one sentence is needed") }
        guard batch.count <= maxSentences else {
            throw ElmoError(.limitExceeded, "batch of \(batch.count) sentences exceeds the limit of \(maxSentences) per call")
        }
        guard batch.tokenCount <= maxTokensPerCall else {
            throw ElmoError(.limitExceeded, "batch of \(batch.tokenCount) tokens exceeds the limit of \(maxTokensPerCall) tokens per call")
        }
        for (i, n) in batch.sentenceLengths.enumerated() where n > maxTokensPerSentence {
            throw ElmoError(.limitExceeded, "sentence \(i) has \(n) tokens, more than the limit of \(maxTokensPerSentence)")
        }
    }
}
