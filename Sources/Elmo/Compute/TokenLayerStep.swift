/// The token layer of one call: a vector for each distinct token, taken from the model's token
/// cache where it holds one, the rest computed by the character CNN (split into one contiguous
/// range per thread) and then stored in the cache. One per encoder, with the scratch memory
/// this needs; buffers grow to the largest batch seen and are then reused.
final class TokenLayerStep {
    private let model: ElmoModel
    /// Per thread: the token layer's scratch.
    private let tokenScratch: [ScratchBuffer]
    private let tokenScratchBF16: [BF16ScratchBuffer]
    /// unique x P: every distinct token's vector.
    private let tokenVectors = ScratchBuffer()
    /// Token-cache bookkeeping: per distinct token whether the cache had it; the ones it
    /// did not, their character ids and computed vectors.
    private var found: [Bool] = []
    private var missing: [Int] = []
    private var missedIds: [UInt16] = []
    private let missedVectors = ScratchBuffer()

    init(model: ElmoModel, threads: Int) {
        self.model = model
        tokenScratch = (0..<threads).map { _ in ScratchBuffer() }
        tokenScratchBF16 = (0..<threads).map { _ in BF16ScratchBuffer() }
    }

    /// The vectors of `tokens` (count x P, in unique-index order), valid until the next call.
    func vectors(of tokens: DistinctTokens, workers: WorkerThreads) throws -> UnsafeMutablePointer<Float> {
        let vectors = try tokenVectors.reserve(tokens.count * model.options.lstm.projectionDim)
        lookUpCache(tokens, into: vectors)
        if !missing.isEmpty { try computeMissing(tokens, into: vectors, workers: workers) }
        return vectors
    }

    /// Planning: copies the vectors the cache holds into `vectors` and lists the distinct
    /// tokens it does not hold in `missing`.
    private func lookUpCache(_ tokens: DistinctTokens, into vectors: UnsafeMutablePointer<Float>) {
        let unique = tokens.count
        let cache = model.tokenCache
        found.removeAll(keepingCapacity: true)
        found.append(contentsOf: repeatElement(false, count: unique))
        missing.removeAll(keepingCapacity: true)
        tokens.charIds.withUnsafeBufferPointer { ids in
            found.withUnsafeMutableBufferPointer { f in
                _ = cache.lookup(keys: ids.baseAddress!, count: unique, into: vectors, found: f.baseAddress!)
            }
        }
        for u in 0..<unique where !found[u] { missing.append(u) }
    }

    /// Computes the vectors of the `missing` tokens into `vectors` and stores them in the cache.
    /// Misses are computed contiguously: their character ids gathered, and (unless every token
    /// missed) their vectors into a separate buffer, scattered afterwards.
    private func computeMissing(_ tokens: DistinctTokens, into vectors: UnsafeMutablePointer<Float>,
                                workers: WorkerThreads) throws {
        let P = model.options.lstm.projectionDim
        let L = model.weights.tokenRows.width  // ids per token row
        let unique = tokens.count
        let computeCount = missing.count
        let direct = computeCount == unique
        let missVectors = direct ? vectors : try missedVectors.reserve(computeCount * P)
        if !direct {
            missedIds.removeAll(keepingCapacity: true)
            tokens.charIds.withUnsafeBufferPointer { ids in
                for u in missing { missedIds.append(contentsOf: ids[(u * L)..<((u + 1) * L)]) }
            }
        }
        // One part per 16 misses at most, so that a few misses stay on the calling thread.
        let parts = min(workers.helperCount + 1, max(1, computeCount / 16))
        let scratches = try tokenScratch.prefix(parts).map { try $0.reserve(model.tokenLayer.scratchFloats) }
        let bf16Scratches = try tokenScratchBF16.prefix(parts).map { try $0.reserve(model.tokenLayer.scratchBF16) }
        (direct ? tokens.charIds : missedIds).withUnsafeBufferPointer { ids in
            let idBase = ids.baseAddress!
            workers.run(tasks: parts) { part in
                let start = computeCount * part / parts, end = computeCount * (part + 1) / parts
                model.tokenLayer.forward(ids: idBase + start * L, count: end - start, out: missVectors + start * P,
                                         scratch: scratches[part], scratchBF16: bf16Scratches[part])
            }
            model.tokenCache.insert(keys: idBase, vectors: missVectors, count: computeCount)
        }
        if !direct {
            for (k, u) in missing.enumerated() { (vectors + u * P).update(from: missVectors + k * P, count: P) }
        }
    }

    /// Frees the scratch memory (it is reallocated by the next call).
    func releaseMemory() {
        for b in tokenScratch + [tokenVectors, missedVectors] { b.release() }
        for b in tokenScratchBF16 { b.release() }
        found = []
        missing = []
        missedIds = []
    }
}
