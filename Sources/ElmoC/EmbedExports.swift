// Output params, size queries and embedding.
import CElmoABI
import Elmo

@_cdecl("elmo_output_params_init")
public func elmoOutputParamsInit(_ params: UnsafeMutablePointer<elmo_output_params>?, _ size: Int) -> elmo_status {
    entryPoint("elmo_output_params_init") { try elmo_output_params.initialize(params, size: size) }
}

@_cdecl("elmo_tokens_output_size")
public func elmoTokensOutputSize(_ model: OpaquePointer?, _ tokenCounts: UnsafePointer<Int>?, _ sentenceCount: Int,
                                 _ output: UnsafePointer<elmo_output_params>?,
                                 _ floatCount: UnsafeMutablePointer<Int>?) -> elmo_status {
    entryPoint("elmo_tokens_output_size") {
        let model = try Handles.model(model)
        guard let floatCount else { throw invalidArgument("n_floats (the result pointer) is NULL") }
        let counts = try array(tokenCounts, count: sentenceCount, "token_counts", "n_sentences")
        let params = try elmo_output_params.read(output)
        floatCount.pointee = try model.requiredFloats(params.output(for: model), tokenCounts: counts,
                                                      sentenceBoundaries: params.sentenceBoundaries())
    }
}

@_cdecl("elmo_texts_output_size")
public func elmoTextsOutputSize(_ model: OpaquePointer?, _ texts: UnsafePointer<UnsafePointer<CChar>?>?, _ textCount: Int,
                                _ output: UnsafePointer<elmo_output_params>?, _ floatCount: UnsafeMutablePointer<Int>?,
                                _ tokenCounts: UnsafeMutablePointer<Int>?) -> elmo_status {
    entryPoint("elmo_texts_output_size") {
        let model = try Handles.model(model)
        guard let floatCount else { throw invalidArgument("n_floats (the result pointer) is NULL") }
        let params = try elmo_output_params.read(output)
        let kind = try params.output(for: model)
        let batch = try TokenBatch(cStringTexts: array(texts, count: textCount, "texts", "n_texts"))
        floatCount.pointee = try model.requiredFloats(kind, tokenCounts: batch.sentenceLengths,
                                                      sentenceBoundaries: params.sentenceBoundaries())
        tokenCounts?.update(from: batch.sentenceLengths, count: batch.count)
    }
}

@_cdecl("elmo_output_shape")
public func elmoOutputShape(_ model: OpaquePointer?, _ output: UnsafePointer<elmo_output_params>?, _ tokenCount: Int,
                            _ shape: UnsafeMutablePointer<Int>?, _ capacity: Int,
                            _ axisCount: UnsafeMutablePointer<Int>?) -> elmo_status {
    entryPoint("elmo_output_shape") {
        let model = try Handles.model(model)
        guard let axisCount else { throw invalidArgument("n_axes (the result pointer) is NULL") }
        guard let shape else { throw invalidArgument("shape is NULL") }
        let params = try elmo_output_params.read(output)
        let extents = try model.outputShape(params.output(for: model), tokens: tokenCount,
                                            sentenceBoundaries: params.sentenceBoundaries())
        axisCount.pointee = extents.count
        guard capacity >= extents.count else {
            throw ElmoError(.bufferTooSmall, "shape holds \(UInt(bitPattern: capacity)) extents but this output has \(extents.count) axes")
        }
        shape.update(from: extents, count: extents.count)
    }
}

@_cdecl("elmo_embed_tokens")
public func elmoEmbedTokens(_ session: OpaquePointer?, _ tokens: UnsafePointer<UnsafePointer<CChar>?>?,
                            _ tokenCounts: UnsafePointer<Int>?, _ sentenceCount: Int,
                            _ output: UnsafePointer<elmo_output_params>?, _ out: UnsafeMutablePointer<Float>?,
                            _ capacity: Int) -> elmo_status {
    entryPoint("elmo_embed_tokens") {
        let (session, kind, boundaries) = try embedding(session, output)
        let counts = try array(tokenCounts, count: sentenceCount, "token_counts", "n_sentences")
        // The counts decide how many token pointers are read: check them before reading any.
        let total = try session.limits.check(sentenceLengths: counts)
        let batch = try TokenBatch(cStringTokens: array(tokens, count: total, "tokens", "the token count"),
                                   sentenceLengths: counts)
        try session.embed(batch, output: kind, sentenceBoundaries: boundaries, into: outputBuffer(out, capacity))
    }
}

@_cdecl("elmo_embed_texts")
public func elmoEmbedTexts(_ session: OpaquePointer?, _ texts: UnsafePointer<UnsafePointer<CChar>?>?, _ textCount: Int,
                           _ output: UnsafePointer<elmo_output_params>?, _ out: UnsafeMutablePointer<Float>?,
                           _ capacity: Int, _ tokenCounts: UnsafeMutablePointer<Int>?) -> elmo_status {
    entryPoint("elmo_embed_texts") {
        let (session, kind, boundaries) = try embedding(session, output)
        guard textCount <= session.limits.maxSentences else {
            throw ElmoError(.limitExceeded, "batch of \(UInt(bitPattern: textCount)) texts exceeds the limit of \(session.limits.maxSentences) per call")
        }
        let batch = try TokenBatch(cStringTexts: array(texts, count: textCount, "texts", "n_texts"))
        try session.embed(batch, output: kind, sentenceBoundaries: boundaries, into: outputBuffer(out, capacity))
        tokenCounts?.update(from: batch.sentenceLengths, count: batch.count)
    }
}

@_cdecl("elmo_embed_character_ids")
public func elmoEmbedCharacterIds(_ session: OpaquePointer?, _ ids: UnsafePointer<Int32>?, _ characters: Int,
                                  _ tokenCounts: UnsafePointer<Int>?, _ sentenceCount: Int,
                                  _ output: UnsafePointer<elmo_output_params>?, _ out: UnsafeMutablePointer<Float>?,
                                  _ capacity: Int) -> elmo_status {
    entryPoint("elmo_embed_character_ids") {
        let (session, kind, boundaries) = try embedding(session, output)
        let width = session.model.options.charCNN.maxCharactersPerToken
        guard characters == width else {
            throw invalidArgument("n_characters is \(UInt(bitPattern: characters)) but the model reads \(width) character ids per token")
        }
        let counts = try array(tokenCounts, count: sentenceCount, "token_counts", "n_sentences")
        // The counts decide how many ids are read: check them before reading any. The limits
        // keep total * width far from overflowing (both are bounded), checked anyway.
        // With the boundary rows asked for, a sentence may have 0 tokens (its rows are <S> </S>).
        let total = try session.limits.check(sentenceLengths: counts, allowEmpty: boundaries)
        let (idCount, overflow) = total.multipliedReportingOverflow(by: width)
        guard !overflow else { throw ElmoError(.limitExceeded, "\(total) tokens of \(width) ids are more than any batch can hold") }
        let idRows = total == 0 ? UnsafeBufferPointer<Int32>(start: nil, count: 0)
            : try array(ids, count: idCount, "character_ids", "the id count")
        let batch = try TokenBatch(characterIds: idRows, charactersPerToken: width, sentenceLengths: counts,
                                   allowEmptySentences: boundaries)
        try session.embed(batch, output: kind, sentenceBoundaries: boundaries, into: outputBuffer(out, capacity))
    }
}

/// The session of an embedding call and what its output params ask for: the output and
/// whether it includes the sentence boundary rows (the params are read once).
func embedding(_ session: OpaquePointer?, _ output: UnsafePointer<elmo_output_params>?) throws -> (ElmoSession, ElmoOutput, Bool) {
    let session = try Handles.session(session)
    let params = try elmo_output_params.read(output)
    return (session, try params.output(for: session.model), try params.sentenceBoundaries())
}

/// A caller's array of `count` elements. A count of zero is an empty batch; a size_t above
/// Int.max (arrives negative) is refused before anything is read.
func array<T>(_ pointer: UnsafePointer<T>?, count: Int, _ name: String, _ countName: String) throws -> UnsafeBufferPointer<T> {
    guard count != 0 else { throw ElmoError(.invalidInput, "empty batch: \(countName) is 0") }
    guard count > 0 else { throw ElmoError(.limitExceeded, "\(countName) is \(UInt(bitPattern: count)), more than any batch can hold") }
    guard let pointer else { throw invalidArgument("\(name) is NULL") }
    return UnsafeBufferPointer(start: pointer, count: count)
}

/// The caller's output buffer. NULL with a capacity of 0 is an empty buffer (reported as too
/// small by the core); NULL with a nonzero capacity is an error.
func outputBuffer(_ pointer: UnsafeMutablePointer<Float>?, _ capacity: Int) throws -> UnsafeMutableBufferPointer<Float> {
    guard capacity >= 0 else { throw invalidArgument("out_capacity \(UInt(bitPattern: capacity)) is larger than any buffer can be") }
    guard pointer != nil || capacity == 0 else { throw invalidArgument("out is NULL but out_capacity is \(capacity)") }
    return UnsafeMutableBufferPointer(start: pointer, count: capacity)
}
