import XCTest
@testable import Elmo

/// The core APIs the C interface is built on: batches from NUL-terminated strings, limit checks
/// from counts alone, size queries on the model, and a session refusing a second thread.
final class CBufferInputTests: XCTestCase {
    /// Calls `body` with C strings for `strings` (nil entries stay NULL).
    private func withCStrings<R>(_ strings: [[UInt8]?], _ body: (UnsafeBufferPointer<UnsafePointer<CChar>?>) throws -> R) rethrows -> R {
        let copies: [UnsafeMutablePointer<CChar>?] = strings.map { bytes in
            bytes.map { b in
                let p = UnsafeMutablePointer<CChar>.allocate(capacity: b.count + 1)
                for (i, x) in b.enumerated() { p[i] = CChar(bitPattern: x) }
                p[b.count] = 0
                return p
            }
        }
        defer { copies.forEach { $0?.deallocate() } }
        let pointers = copies.map { $0.map { UnsafePointer($0) } }
        return try pointers.withUnsafeBufferPointer { try body($0) }
    }

    private func kind(_ body: () throws -> Void) -> ElmoError.Kind? {
        do { try body() } catch { return (error as? ElmoError)?.kind }
        return nil
    }

    func testTokensFromCStringsEqualTheStringInitializer() throws {
        let sentences = [["The", "bank", "é", "<S>"], ["river"]]
        let expected = try TokenBatch(sentences: sentences)
        let batch = try withCStrings(sentences.flatMap { $0 }.map { Array($0.utf8) }) {
            try TokenBatch(cStringTokens: $0, sentenceLengths: [4, 1])
        }
        XCTAssertEqual(batch, expected)
    }

    func testBadTokensAreReportedWithTheirPosition() throws {
        let cases: [([[UInt8]?], [Int], ElmoError.Kind, String)] = [
            ([Array("a".utf8), nil], [2], .invalidArgument, "sentence 0: token 1 is NULL"),
            ([Array("a".utf8), []], [1, 1], .invalidInput, "sentence 1: token 0 is empty"),
            ([[0x61, 0xFF]], [1], .invalidInput, "not valid UTF-8 (byte 1)"),
            ([[0xED, 0xA0, 0x80]], [1], .invalidInput, "not valid UTF-8"),
            ([Array("a".utf8)], [1, 0], .invalidInput, "sentence 1 is empty"),
            ([Array("a".utf8)], [2], .invalidArgument, "add up to more than the 1 tokens"),
            ([Array("a".utf8), Array("b".utf8)], [1], .invalidArgument, "add up to 1 but 2 tokens"),
        ]
        for (tokens, lengths, expectedKind, fragment) in cases {
            try withCStrings(tokens) { buffer in
                XCTAssertThrowsError(try TokenBatch(cStringTokens: buffer, sentenceLengths: lengths)) { error in
                    let e = error as? ElmoError
                    XCTAssertEqual(e?.kind, expectedKind, "\(tokens)")
                    XCTAssertTrue(e?.message.contains(fragment) ?? false, "\(e?.message ?? "") lacks \(fragment)")
                }
            }
        }
    }

    func testTextsFromCStringsSplitLikeTheStringInitializer() throws {
        let texts = ["  The bank\tof the\u{3000}river\u{00A0}.\n", "x\u{2009}y\u{1C}z", "a\u{200B}b"]
        let expected = try TokenBatch(texts: texts)
        let batch = try withCStrings(texts.map { Array($0.utf8) }) { try TokenBatch(cStringTexts: $0) }
        XCTAssertEqual(batch, expected)
        XCTAssertEqual(batch.sentenceLengths, [6, 3, 1])
    }

    func testBadTextsAreRefused() {
        XCTAssertEqual(kind { try self.withCStrings([Array("a".utf8), nil]) { _ = try TokenBatch(cStringTexts: $0) } }, .invalidArgument)
        XCTAssertEqual(kind { try self.withCStrings([Array(" \t ".utf8)]) { _ = try TokenBatch(cStringTexts: $0) } }, .invalidInput)
        XCTAssertEqual(kind { try self.withCStrings([[0x61, 0x20, 0xC3]]) { _ = try TokenBatch(cStringTexts: $0) } }, .invalidInput)
        XCTAssertEqual(kind { try self.withCStrings([[0xC0, 0xAF]]) { _ = try TokenBatch(cStringTexts: $0) } }, .invalidInput)
        // Split and validated in one pass: the message names the text and the first bad byte.
        XCTAssertThrowsError(try withCStrings([Array("ok".utf8), [0x61, 0x20, 0x62, 0xC3]]) { _ = try TokenBatch(cStringTexts: $0) }) {
            XCTAssertEqual(($0 as? ElmoError)?.message, "text 1 is not valid UTF-8 (byte 3)")
        }
    }

    func testLimitsCheckCountsBeforeAnyTokenIsRead() throws {
        let limits = ElmoLimits(maxSentences: 3, maxTokensPerSentence: 5, maxTokensPerCall: 8)
        XCTAssertEqual(try limits.check(sentenceLengths: [5, 3]), 8)
        XCTAssertEqual(kind { _ = try limits.check(sentenceLengths: [Int]()) }, .invalidInput)
        XCTAssertEqual(kind { _ = try limits.check(sentenceLengths: [1, 0]) }, .invalidInput)
        XCTAssertEqual(kind { _ = try limits.check(sentenceLengths: [6]) }, .limitExceeded)
        XCTAssertEqual(kind { _ = try limits.check(sentenceLengths: [5, 4]) }, .limitExceeded)
        XCTAssertEqual(kind { _ = try limits.check(sentenceLengths: [1, 1, 1, 1]) }, .limitExceeded)
        XCTAssertEqual(kind { _ = try limits.check(sentenceLengths: [-1]) }, .limitExceeded)  // a size_t above Int.max
        let huge = ElmoLimits(maxSentences: 2, maxTokensPerSentence: .max, maxTokensPerCall: .max)
        XCTAssertEqual(kind { _ = try huge.check(sentenceLengths: [Int.max, Int.max]) }, .limitExceeded)
    }

    func testModelSizeQueryMatchesTheOutputShapes() throws {
        let model = try Fixtures.model()
        let o = model.options
        let counts = [3, 5]
        for output in [ElmoOutput.allLayers, .wordEmbedding, .lstm(2), .elmo(nil), .sentenceMean(nil)] {
            let expected = counts.map { output.shape(tokens: $0, options: o).reduce(1, *) }.reduce(0, +)
            XCTAssertEqual(try model.requiredFloats(output, tokenCounts: counts), expected, "\(output)")
        }
        XCTAssertEqual(kind { _ = try model.requiredFloats(.elmo(nil), tokenCounts: [Int]()) }, .invalidInput)
        XCTAssertEqual(kind { _ = try model.requiredFloats(.elmo(nil), tokenCounts: [2, 0]) }, .invalidInput)
        XCTAssertEqual(kind { _ = try model.requiredFloats(.elmo(nil), tokenCounts: [-1]) }, .limitExceeded)
        XCTAssertEqual(kind { _ = try model.requiredFloats(.allLayers, tokenCounts: [Int.max / 64]) }, .limitExceeded)
        XCTAssertEqual(kind { _ = try model.requiredFloats(.sentenceMean(nil), tokenCounts: Array(repeating: Int.max, count: 1)) },
                       nil)  // the mean's size does not grow with tokens
        XCTAssertEqual(kind { _ = try model.requiredFloats(.lstm(3), tokenCounts: [1]) }, .invalidArgument)
        XCTAssertEqual(model.lstmLayerCount, 2)
    }

    /// One sentence's shape (what `elmo_output_shape` answers): `ElmoOutput.shape` of its rows.
    func testOutputShapeOfOneSentence() throws {
        let model = try Fixtures.model()
        let (P, W, L) = (model.tokenDim, model.outputDim, model.layerCount)
        XCTAssertEqual(try model.outputShape(.allLayers, tokens: 4, sentenceBoundaries: false), [L, 4, W])
        XCTAssertEqual(try model.outputShape(.allLayers, tokens: 4, sentenceBoundaries: true), [L, 6, W])
        XCTAssertEqual(try model.outputShape(.wordEmbedding, tokens: 0, sentenceBoundaries: false), [0, P])
        XCTAssertEqual(try model.outputShape(.lstm(1), tokens: 0, sentenceBoundaries: true), [2, W])
        XCTAssertEqual(try model.outputShape(.sentenceMean(nil), tokens: 9, sentenceBoundaries: false), [W])
        XCTAssertEqual(kind { _ = try model.outputShape(.sentenceMean(nil), tokens: 1, sentenceBoundaries: true) }, .invalidArgument)
        XCTAssertEqual(kind { _ = try model.outputShape(.lstm(3), tokens: 1, sentenceBoundaries: false) }, .invalidArgument)
        XCTAssertEqual(kind { _ = try model.outputShape(.elmo(nil), tokens: -1, sentenceBoundaries: false) }, .limitExceeded)
        XCTAssertEqual(kind { _ = try model.outputShape(.elmo(nil), tokens: Int.max - 1, sentenceBoundaries: true) }, .limitExceeded)
        // The size query is the sum of these shapes' products.
        let counts = [0, 3, 1]
        for output in [ElmoOutput.allLayers, .wordEmbedding, .elmo(nil)] {
            let sizes = try counts.map { try model.outputShape(output, tokens: $0, sentenceBoundaries: true).reduce(1, *) }
            XCTAssertEqual(try model.requiredFloats(output, tokenCounts: counts, sentenceBoundaries: true), sizes.reduce(0, +))
        }
    }

    func testASecondThreadIsRefusedWithSessionBusy() throws {
        let model = try Fixtures.model()
        let session = ElmoSession(model: model)
        let sentences = try Fixtures.sentences()[0]
        let expected = try session.embed(sentences).allLayers
        // Two threads share the session until one of them has been refused.
        final class Outcome: @unchecked Sendable {
            let lock = NSLock()
            var busy = 0, ok = 0, wrong = 0, other = 0
        }
        let outcome = Outcome()
        nonisolated(unsafe) let shared = session
        DispatchQueue.concurrentPerform(iterations: 2) { _ in
            for _ in 0..<500 {
                var result: ElmoError.Kind? = nil
                var values: [Float] = []
                do { values = try shared.embed(sentences).allLayers } catch { result = (error as? ElmoError)?.kind ?? .io }
                outcome.lock.lock()
                switch result {
                case nil: outcome.ok += 1; if values != expected { outcome.wrong += 1 }
                case .sessionBusy?: outcome.busy += 1
                default: outcome.other += 1
                }
                let done = outcome.busy > 0 && outcome.ok > 1
                outcome.lock.unlock()
                if done { break }
            }
        }
        XCTAssertGreaterThan(outcome.busy, 0)
        XCTAssertEqual(outcome.wrong, 0)
        XCTAssertEqual(outcome.other, 0)
        XCTAssertEqual(try session.embed(sentences).allLayers, expected)
        try session.reset()
        try session.releaseMemory()
        XCTAssertEqual(try session.embed(sentences).allLayers, expected)
    }
}
