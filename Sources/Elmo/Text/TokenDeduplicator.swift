/// Finds the distinct tokens of a batch, so that the token layer (which depends only on a
/// token's characters) is computed once per distinct token. Unique index 0 is the sentence
/// start `<S>` and 1 the sentence end `</S>`; real tokens follow in first-seen order.
struct TokenDeduplicator {
    /// For each token of the batch (global index), its unique index.
    private(set) var uniqueIndexOfToken: [Int32] = []
    /// For each unique index >= 2, the global index of its first occurrence.
    private(set) var firstOccurrence: [Int] = []

    static let beginSentenceIndex: Int32 = 0
    static let endSentenceIndex: Int32 = 1

    var uniqueCount: Int { firstOccurrence.count + 2 }

    /// Keys compare the token bytes that reach the model: tokens equal in their first
    /// `significantBytes` bytes get the same character ids, hence the same vector.
    private struct Key: Hashable {
        let bytes: UnsafeBufferPointer<UInt8>
        static func == (l: Key, r: Key) -> Bool {
            l.bytes.count == r.bytes.count && (l.bytes.count == 0 || memcmp(l.bytes.baseAddress!, r.bytes.baseAddress!, l.bytes.count) == 0)
        }
        func hash(into h: inout Hasher) { h.combine(bytes: UnsafeRawBufferPointer(bytes)) }
    }

    mutating func build(batch: TokenBatch, significantBytes: Int) {
        uniqueIndexOfToken.removeAll(keepingCapacity: true)
        firstOccurrence.removeAll(keepingCapacity: true)
        uniqueIndexOfToken.reserveCapacity(batch.tokenCount)
        batch.bytes.withUnsafeBufferPointer { all in
            var seen: [Key: Int32] = [:]
            seen.reserveCapacity(min(batch.tokenCount, 1 << 16))
            for i in 0..<batch.tokenCount {
                let r = batch.tokenRange(i)
                let n = min(r.count, significantBytes)
                let key = Key(bytes: UnsafeBufferPointer(rebasing: all[r.lowerBound..<(r.lowerBound + n)]))
                if let u = seen[key] {
                    uniqueIndexOfToken.append(u)
                } else {
                    let u = Int32(firstOccurrence.count + 2)
                    seen[key] = u
                    firstOccurrence.append(i)
                    uniqueIndexOfToken.append(u)
                }
            }
        }
    }
}

#if canImport(Glibc)
import Glibc
#endif
