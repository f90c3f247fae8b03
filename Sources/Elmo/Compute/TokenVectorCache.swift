#if canImport(Glibc)
import Glibc
#endif

/// A bounded cache of token-layer vectors, shared by every session of a model.
///
/// The token layer is a pure function of a token's character ids, and the kernels compute
/// each token's vector bit-for-bit the same whatever else is in the batch, so a stored
/// vector is exactly what recomputing would give: results are identical with and without
/// the cache. Keys are the character-id rows themselves (which also covers the sentence
/// boundary tokens and tokens truncated to the same characters).
///
/// Memory is bounded by `capacityBytes`: each entry is charged its vector, its key and a
/// fixed overhead. Vectors and keys live in two slabs allocated at first use and touched
/// only as entries are added; an open-addressing table indexes them, and when full the
/// CLOCK policy (an approximation of least-recently-used) picks the entry to replace.
/// All access goes through one lock, taken once per batch for lookups and once for inserts.
public final class TokenVectorCache: @unchecked Sendable {
    /// What the cache has done so far.
    public struct Statistics: Equatable, Sendable {
        /// Lookups of a distinct token of a batch that found its vector.
        public var hits: Int
        /// Lookups that did not (the vector was computed, then stored).
        public var misses: Int
        /// Vectors held now.
        public var entries: Int
        /// Most vectors the cache can hold.
        public var capacityEntries: Int
        /// Bytes charged for the entries held now.
        public var bytes: Int
        /// The configured bound.
        public var capacityBytes: Int
    }

    /// Floats per vector (the model's projection_dim).
    let width: Int
    /// Character ids per key (max_characters_per_token).
    let keyLength: Int
    /// The configured bound in bytes.
    public let capacityBytes: Int
    /// Most entries (capacityBytes / bytesPerEntry).
    let capacity: Int
    /// Bytes charged per entry: vector + key + table, hash and flag overhead.
    let bytesPerEntry: Int

    /// A pthread mutex (which thread sanitizers understand) guarding everything below.
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private var vectors: UnsafeMutablePointer<Float>?
    private var keys: UnsafeMutablePointer<UInt16>?
    private var hashes: [UInt64] = []
    private var referenced: [Bool] = []
    /// Open addressing with linear probing: slot index or -1.
    private var table: [Int32] = []
    private var count = 0
    private var hand = 0
    private var hits = 0
    private var misses = 0

    init(capacityBytes: Int, width: Int, keyLength: Int) {
        self.width = width
        self.keyLength = keyLength
        let perEntry = width * 4 + keyLength * 2 + 32
        bytesPerEntry = perEntry
        let entries = max(0, capacityBytes) / perEntry
        // Slot indices are Int32 in the table.
        capacity = min(entries, Int(Int32.max) / 4)
        self.capacityBytes = max(0, capacityBytes)
        mutex = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        free(vectors)
        free(keys)
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    private func locked<T>(_ body: () -> T) -> T {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return body()
    }

    /// Whether the cache stores anything at all (a capacity below one entry disables it).
    public var isEnabled: Bool { capacity > 0 }

    /// Counts and sizes so far.
    public var statistics: Statistics {
        locked {
            Statistics(hits: hits, misses: misses, entries: count, capacityEntries: capacity,
                       bytes: count * bytesPerEntry, capacityBytes: capacityBytes)
        }
    }

    /// Forgets every vector and resets the counts.
    public func removeAll() {
        locked {
            for i in table.indices { table[i] = -1 }
            count = 0
            hand = 0
            hits = 0
            misses = 0
        }
    }

    // MARK: use by the encoder

    /// For each of `n` keys (rows of `keyLength` ids), copies the cached vector to row i of
    /// `out` and sets found[i], or clears found[i]. Returns the number found.
    func lookup(keys rows: UnsafePointer<UInt16>, count n: Int, into out: UnsafeMutablePointer<Float>,
                found: UnsafeMutablePointer<Bool>) -> Int {
        guard isEnabled else {
            found.update(repeating: false, count: n)
            return 0
        }
        return locked {
            var hitCount = 0
            for i in 0..<n {
                let key = rows + i * keyLength
                if let slot = find(key, hash: hashKey(key)), let vectors {
                    (out + i * width).update(from: vectors + slot * width, count: width)
                    referenced[slot] = true
                    found[i] = true
                    hitCount += 1
                } else {
                    found[i] = false
                }
            }
            hits += hitCount
            misses += n - hitCount
            return hitCount
        }
    }

    /// Stores the vectors of keys that were not found (row i of `vectors` for key row i).
    func insert(keys rows: UnsafePointer<UInt16>, vectors source: UnsafePointer<Float>, count n: Int) {
        guard isEnabled, n > 0 else { return }
        locked {
            guard allocateIfNeeded(), let keys, let vectors else { return }
            for i in 0..<n {
                let key = rows + i * keyLength
                let h = hashKey(key)
                if find(key, hash: h) != nil { continue }  // another session stored it meanwhile
                let slot = count < capacity ? takeFreeSlot() : evictOne()
                (keys + slot * keyLength).update(from: key, count: keyLength)
                (vectors + slot * width).update(from: source + i * width, count: width)
                hashes[slot] = h
                referenced[slot] = false
                place(slot, hash: h)
            }
        }
    }

    // MARK: table (call with the lock held)

    private func hashKey(_ key: UnsafePointer<UInt16>) -> UInt64 {
        var hasher = Hasher()
        hasher.combine(bytes: UnsafeRawBufferPointer(start: key, count: keyLength * 2))
        return UInt64(bitPattern: Int64(hasher.finalize()))
    }

    private func allocateIfNeeded() -> Bool {
        if vectors != nil { return true }
        // malloc'ed, not zeroed: pages become resident only as entries are written.
        guard let v = malloc(capacity * width * 4), let k = malloc(capacity * keyLength * 2) else { return false }
        vectors = v.bindMemory(to: Float.self, capacity: capacity * width)
        keys = k.bindMemory(to: UInt16.self, capacity: capacity * keyLength)
        hashes = [UInt64](repeating: 0, count: capacity)
        referenced = [Bool](repeating: false, count: capacity)
        var size = 16
        while size < 2 * capacity { size *= 2 }
        table = [Int32](repeating: -1, count: size)
        return true
    }

    private func find(_ key: UnsafePointer<UInt16>, hash h: UInt64) -> Int? {
        guard !table.isEmpty, let keys else { return nil }
        let mask = table.count - 1
        var i = Int(truncatingIfNeeded: h) & mask
        while true {
            let slot = Int(table[i])
            if slot < 0 { return nil }
            if hashes[slot] == h && memcmp(keys + slot * keyLength, key, keyLength * 2) == 0 { return slot }
            i = (i + 1) & mask
        }
    }

    private func place(_ slot: Int, hash h: UInt64) {
        let mask = table.count - 1
        var i = Int(truncatingIfNeeded: h) & mask
        while table[i] >= 0 { i = (i + 1) & mask }
        table[i] = Int32(slot)
    }

    /// Slots fill in order until the cache is full.
    private func takeFreeSlot() -> Int {
        count += 1
        return count - 1
    }

    /// CLOCK: skip (and clear) recently used entries, replace the first one not used since.
    private func evictOne() -> Int {
        while referenced[hand] {
            referenced[hand] = false
            hand = (hand + 1) % capacity
        }
        let victim = hand
        hand = (hand + 1) % capacity
        remove(victim)
        return victim
    }

    /// Deletes a slot from the table, shifting later entries of its probe run back so that
    /// lookups never stop early (linear probing without tombstones).
    private func remove(_ slot: Int) {
        let mask = table.count - 1
        var i = Int(truncatingIfNeeded: hashes[slot]) & mask
        while Int(table[i]) != slot { i = (i + 1) & mask }
        var hole = i
        var j = (i + 1) & mask
        while table[j] >= 0 {
            let home = Int(truncatingIfNeeded: hashes[Int(table[j])]) & mask
            // Move j into the hole if its home position is not in (hole, j] cyclically.
            let inRange = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j)
            if !inRange {
                table[hole] = table[j]
                hole = j
            }
            j = (j + 1) & mask
        }
        table[hole] = -1
    }
}
