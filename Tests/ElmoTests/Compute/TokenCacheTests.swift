import XCTest
import Synchronization
@testable import Elmo
@testable import ElmoHDF5

/// The token-layer cache: bit-identical results with and without it, bounded memory,
/// honest counts, and safe sharing between sessions on different threads.
final class TokenCacheTests: XCTestCase {
    func makeModels(cacheBytes: Int) throws -> (cached: ElmoModel, uncached: ElmoModel) {
        let d = try Fixtures.require()
        return (try ElmoModel(optionsFile: d + "/options.json", weightsFile: d + "/lm_weights.hdf5",
                              loadOptions: ElmoLoadOptions(tokenCacheBytes: cacheBytes)),
                try ElmoModel(optionsFile: d + "/options.json", weightsFile: d + "/lm_weights.hdf5",
                              loadOptions: ElmoLoadOptions(tokenCacheBytes: 0)))
    }

    /// Random batches drawn from the fixture's words, each containing "bank" somewhere.
    func batches(_ count: Int, seed: UInt64) throws -> [[[String]]] {
        let words = Array(Set(try Fixtures.sentences().flatMap { $0 }.flatMap { $0 })).sorted()
        var rng = SplitMix64(seed: seed)
        return (0..<count).map { _ in
            (0..<(1 + Int(rng.next() % 9))).map { _ in
                var s = (0..<(1 + Int(rng.next() % 12))).map { _ in words[Int(rng.next() % UInt64(words.count))] }
                s.insert("bank", at: Int(rng.next() % UInt64(s.count + 1)))
                return s
            }
        }
    }

    func testSameTokenIsBitIdenticalInEveryBatchWithAndWithoutCache() throws {
        let (cached, uncached) = try makeModels(cacheBytes: ElmoLoadOptions.defaultTokenCacheBytes)
        let withCache = ElmoSession(model: cached), without = ElmoSession(model: uncached)
        let alone = try without.embed([["bank"]]).output(.wordEmbedding, sentence: 0).values
        for batch in try batches(40, seed: 1) {
            let a = try withCache.embed(batch), b = try without.embed(batch)
            XCTAssertEqual(a.allLayers, b.allLayers)
            for (s, sentence) in batch.enumerated() {
                let emb = try a.output(.wordEmbedding, sentence: s)
                for (t, token) in sentence.enumerated() where token == "bank" {
                    XCTAssertEqual(Array(emb.row(t)), alone)
                }
            }
        }
        let stats = cached.tokenCache.statistics
        XCTAssertGreaterThan(stats.hits, stats.misses, "repeated words should mostly hit: \(stats)")
    }

    func testCountsHitsAndMissesPerDistinctToken() throws {
        let (cached, _) = try makeModels(cacheBytes: 1 << 20)
        let session = ElmoSession(model: cached)
        _ = try session.embed([["a", "b", "a"]])
        // Distinct: <S>, </S>, a, b.
        XCTAssertEqual(cached.tokenCache.statistics.misses, 4)
        XCTAssertEqual(cached.tokenCache.statistics.hits, 0)
        XCTAssertEqual(cached.tokenCache.statistics.entries, 4)
        _ = try session.embed([["b", "c"]])
        XCTAssertEqual(cached.tokenCache.statistics.hits, 3)    // <S>, </S>, b
        XCTAssertEqual(cached.tokenCache.statistics.misses, 5)  // + c
        let stats = cached.tokenCache.statistics
        XCTAssertEqual(stats.bytes, stats.entries * cached.tokenCache.bytesPerEntry)
        cached.tokenCache.removeAll()
        XCTAssertEqual(cached.tokenCache.statistics, TokenVectorCache.Statistics(
            hits: 0, misses: 0, entries: 0, capacityEntries: stats.capacityEntries, bytes: 0, capacityBytes: 1 << 20))
    }

    /// A cache far smaller than the vocabulary evicts constantly and stays within its bound,
    /// and every vector it returns is still the right one.
    func testTinyCacheStaysBoundedAndCorrect() throws {
        let d = try Fixtures.require()
        let probe = try ElmoModel(optionsFile: d + "/options.json", weightsFile: d + "/lm_weights.hdf5")
        let bound = 7 * probe.tokenCache.bytesPerEntry + 5
        let (cached, uncached) = try makeModels(cacheBytes: bound)
        XCTAssertEqual(cached.tokenCache.statistics.capacityEntries, 7)
        let withCache = ElmoSession(model: cached), without = ElmoSession(model: uncached)
        for batch in try batches(30, seed: 2) {
            XCTAssertEqual(try withCache.embed(batch).allLayers, try without.embed(batch).allLayers)
            let stats = cached.tokenCache.statistics
            XCTAssertLessThanOrEqual(stats.entries, 7)
            XCTAssertLessThanOrEqual(stats.bytes, bound)
        }
        XCTAssertGreaterThan(cached.tokenCache.statistics.hits, 0)
    }

    func testZeroBytesDisablesTheCache() throws {
        let (_, uncached) = try makeModels(cacheBytes: 0)
        XCTAssertFalse(uncached.tokenCache.isEnabled)
        _ = try ElmoSession(model: uncached).embed([["a", "a"]])
        XCTAssertEqual(uncached.tokenCache.statistics.entries, 0)
    }

    /// Sessions on several threads share one model's cache; every result equals the serial one.
    func testConcurrentSessionsShareTheCacheSafely() throws {
        let (cached, uncached) = try makeModels(cacheBytes: 40 * 1024)  // small: constant eviction
        let work = try batches(24, seed: 3)
        let expected = try work.map { try ElmoSession(model: uncached, threads: 1).embed($0).allLayers }
        let failures = Atomic(0)
        DispatchQueue.concurrentPerform(iterations: 4) { worker in
            let session = ElmoSession(model: cached, threads: 1)
            for round in 0..<3 {
                for (i, batch) in work.enumerated() where (i + worker + round) % 2 == 0 {
                    if (try? session.embed(batch).allLayers) != expected[i] { failures.add(1, ordering: .relaxed) }
                }
            }
        }
        XCTAssertEqual(failures.load(ordering: .relaxed), 0)
        let stats = cached.tokenCache.statistics
        XCTAssertGreaterThan(stats.hits, 0)
        XCTAssertLessThanOrEqual(stats.bytes, 40 * 1024)
    }
}
