/// The distinct tokens of a batch and the row of ids the token layer reads for each. The
/// token layer depends only on those ids, so it runs once per distinct token rather than once
/// per row. Unique index 0 is `<S>`, 1 is `</S>`, then the batch's tokens in first-seen order
/// (`TokenDeduplicator`). One per encoder: the arrays keep their capacity between calls.
struct DistinctTokens {
    private(set) var dedup = TokenDeduplicator()
    /// count x width ids, in unique-index order (the token cache's keys).
    private(set) var charIds: [UInt16] = []

    var count: Int { dedup.uniqueCount }

    /// Finds the distinct tokens of `batch` and writes their rows of ids as `rowsOfIds` makes
    /// them. A character-id token is its whole row (2 bytes per id); text counts its
    /// significant bytes (tokens equal in those get the same row).
    mutating func build(_ batch: TokenBatch, rows rowsOfIds: TokenRows) {
        let L = rowsOfIds.width  // ids per token row
        let fromIds = batch.charactersPerToken != nil
        dedup.build(batch: batch, significantBytes: fromIds ? 2 * L : rowsOfIds.significantBytes)
        let unique = dedup.uniqueCount
        let firstOccurrence = dedup.firstOccurrence
        charIds.removeAll(keepingCapacity: true)
        charIds.append(contentsOf: repeatElement(0, count: unique * L))
        charIds.withUnsafeMutableBufferPointer { ids in
            let base = ids.baseAddress!
            rowsOfIds.writeBoundary(end: false, into: base)
            rowsOfIds.writeBoundary(end: true, into: base + L)
            batch.bytes.withUnsafeBufferPointer { bytes in
                for (k, tokenIndex) in firstOccurrence.enumerated() {
                    if fromIds {
                        batch.copyCharacterIds(ofToken: tokenIndex, into: base + (k + 2) * L)
                        continue
                    }
                    let r = batch.tokenRange(tokenIndex)
                    rowsOfIds.encode(UnsafeBufferPointer(rebasing: bytes[r]), into: base + (k + 2) * L)
                }
            }
        }
    }

    /// Frees the ids (the deduplicator's arrays are small and stay).
    mutating func releaseMemory() {
        charIds = []
    }
}
