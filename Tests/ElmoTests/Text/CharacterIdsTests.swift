import XCTest
@testable import Elmo

/// Character ids exactly as bilm-tf's UnicodeCharsVocabulary + Batcher produce them
/// (begin-of-word 258, end-of-word 259, padding 260, sentence marks 256/257, all + 1).
final class CharacterIdsTests: XCTestCase {
    func expected(_ bytes: [Int], length: Int = 50) -> [Int] {
        var ids = [Int](repeating: 261, count: length)
        ids[0] = 259
        for (k, b) in bytes.enumerated() { ids[k + 1] = b + 1 }
        ids[bytes.count + 1] = 260
        return ids
    }

    func testASCII() throws {
        XCTAssertEqual(try CharacterIds.ids(for: "hello"), expected([104, 101, 108, 108, 111]))
        XCTAssertEqual(try CharacterIds.ids(for: "a").prefix(4), [259, 98, 260, 261])
    }

    func testMultiByteUTF8UsesBytes() throws {
        // "é" is C3 A9, "日" is E6 97 A5: one id per byte, as bilm-tf's word.encode('utf-8').
        XCTAssertEqual(try CharacterIds.ids(for: "café"), expected([99, 97, 102, 0xC3, 0xA9]))
        XCTAssertEqual(try CharacterIds.ids(for: "日"), expected([0xE6, 0x97, 0xA5]))
    }

    func testLongTokenIsTruncatedToMaxMinusTwoBytes() throws {
        let token = String(repeating: "abcdefghij", count: 6)  // 60 characters
        let ids = try CharacterIds.ids(for: token)
        XCTAssertEqual(ids.count, 50)
        XCTAssertEqual(ids[0], 259)
        XCTAssertEqual(Array(ids[1...48]), Array(token.utf8.prefix(48)).map { Int($0) + 1 })
        XCTAssertEqual(ids[49], 260)
    }

    func testTruncationMayCutAMultiByteCharacterAsBilmTFDoes() throws {
        let token = String(repeating: "a", count: 47) + "é"  // 49 bytes: the é is cut after its first byte
        let ids = try CharacterIds.ids(for: token)
        XCTAssertEqual(ids[48], 0xC3 + 1)
        XCTAssertEqual(ids[49], 260)
    }

    func testSentenceBoundaries() {
        XCTAssertEqual(Array(CharacterIds.beginSentenceIds().prefix(5)), [259, 257, 260, 261, 261])
        XCTAssertEqual(Array(CharacterIds.endSentenceIds().prefix(5)), [259, 258, 260, 261, 261])
        XCTAssertEqual(CharacterIds.beginSentenceIds().count, 50)
    }

    func testLiteralBoundaryTokensMapToBoundaries() throws {
        XCTAssertEqual(try CharacterIds.ids(for: "<S>"), CharacterIds.beginSentenceIds())
        XCTAssertEqual(try CharacterIds.ids(for: "</S>"), CharacterIds.endSentenceIds())
        XCTAssertEqual(try CharacterIds.ids(for: "<S"), expected([60, 83]))
    }

    func testOtherTokenLengths() throws {
        XCTAssertEqual(try CharacterIds.ids(for: "abcdef", maxCharacters: 5), [259, 98, 99, 100, 260])
        XCTAssertThrowsError(try CharacterIds.ids(for: "a", maxCharacters: 2))
    }

    func testEmptyInputIsRejected() {
        XCTAssertThrowsError(try CharacterIds.ids(for: "")) { error in
            XCTAssertEqual((error as? ElmoError)?.kind, .invalidInput)
        }
        XCTAssertThrowsError(try TokenBatch(sentences: [["a", ""]])) { error in
            XCTAssertEqual((error as? ElmoError)?.kind, .invalidInput)
            XCTAssertTrue("\(error)".contains("sentence 0: token 1 is empty"), "\(error)")
        }
        XCTAssertThrowsError(try TokenBatch(sentences: [["a"], []])) { error in
            XCTAssertTrue("\(error)".contains("sentence 1 is empty"), "\(error)")
        }
        XCTAssertThrowsError(try TokenBatch(texts: ["fine", " \t\n "])) { error in
            XCTAssertTrue("\(error)".contains("sentence 1 is empty"), "\(error)")
        }
    }

    func testRawTextSplitsLikePythonStrSplit() throws {
        let batch = try TokenBatch(texts: ["  The bank\tof the\u{3000}river\u{00A0}.\n", "x\u{2009}y\u{1C}z"])
        XCTAssertEqual(batch.tokens(ofSentence: 0), ["The", "bank", "of", "the", "river", "."])
        XCTAssertEqual(batch.tokens(ofSentence: 1), ["x", "y", "z"])
        // Characters Python does not treat as whitespace stay inside tokens.
        let kept = try TokenBatch(texts: ["a\u{200B}b c\u{FEFF}d"])
        XCTAssertEqual(kept.tokens(ofSentence: 0), ["a\u{200B}b", "c\u{FEFF}d"])
    }

    func testUTF8Validation() {
        func check(_ bytes: [UInt8]) -> Int? { bytes.withUnsafeBufferPointer { firstInvalidUTF8Offset($0) } }
        XCTAssertNil(check(Array("héllo 日本 🎉".utf8)))
        XCTAssertEqual(check([0x61, 0xFF]), 1)
        XCTAssertEqual(check([0xC0, 0xAF]), 0)              // overlong
        XCTAssertEqual(check([0xED, 0xA0, 0x80]), 0)        // surrogate
        XCTAssertEqual(check([0xF4, 0x90, 0x80, 0x80]), 0)  // above U+10FFFF
        XCTAssertEqual(check([0x61, 0xE6, 0x97]), 1)        // truncated
    }
}
