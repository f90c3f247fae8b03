import XCTest
@testable import Elmo

/// `PythonText` against what Python's str.strip() / str.split() return (values worked out by
/// hand from Python's definition of whitespace) and `ElmoModel.files`.
final class PythonTextTests: XCTestCase {
    private func stripped(_ s: String) -> String {
        var bytes = Array(s.utf8)
        let r = bytes.withUnsafeMutableBufferPointer { PythonText.strippedRange(UnsafeBufferPointer($0)) }
        return String(decoding: bytes[r], as: UTF8.self)
    }

    private func tokens(_ s: String) -> [String] {
        var bytes = Array(s.utf8)
        var out: [String] = []
        bytes.withUnsafeMutableBufferPointer { buf in
            PythonText.forEachToken(UnsafeBufferPointer(buf)) { out.append(String(decoding: $0, as: UTF8.self)) }
        }
        return out
    }

    func testStripMatchesPython() {
        XCTAssertEqual(stripped("  a b  "), "a b")
        XCTAssertEqual(stripped("\t\u{0B}\u{0C}\r\n x\u{1C}"), "x")
        XCTAssertEqual(stripped("\u{00A0}\u{3000}日本 語\u{2029}\u{85}"), "日本 語")
        XCTAssertEqual(stripped("\u{200B}a\u{200B}"), "\u{200B}a\u{200B}")  // zero-width space is not whitespace
        XCTAssertEqual(stripped("\u{FEFF}a"), "\u{FEFF}a")  // nor is the byte-order mark
        XCTAssertEqual(stripped(" \u{2000} "), "")
        XCTAssertEqual(stripped(""), "")
        XCTAssertEqual(stripped("é"), "é")
    }

    func testSplitMatchesPython() {
        XCTAssertEqual(tokens(" The  cat\u{00A0}sat\u{3000}. "), ["The", "cat", "sat", "."])
        XCTAssertEqual(tokens("\u{2028}"), [])
    }

    func testFirstInvalidUTF8() {
        let cases: [([UInt8], Int?)] = [
            (Array("abc é".utf8), nil), ([0x61, 0xFF, 0x62], 1), ([0x61, 0xC3], 1),
            ([0xED, 0xA0, 0x80], 0),  // a surrogate
            ([0xC0, 0xAF], 0),  // overlong
        ]
        for (bytes, expected) in cases {
            XCTAssertEqual(bytes.withUnsafeBufferPointer { PythonText.firstInvalidUTF8($0) }, expected, "\(bytes)")
        }
    }

    /// The split validates in the same pass: it stops at the offset `firstInvalidUTF8` reports,
    /// having passed on the tokens before it.
    func testSplitReportsTheFirstInvalidSequence() {
        let cases: [([UInt8], Int?, [String])] = [
            (Array(" abc é ".utf8), nil, ["abc", "é"]), ([0x61, 0x20, 0xFF, 0x62], 2, ["a"]),
            ([0x61, 0x62, 0xC3], 2, []), ([0x61, 0x20, 0xED, 0xA0, 0x80], 2, ["a"]),
            ([0xC0, 0xAF, 0x20, 0x61], 0, []), ([0x61, 0xE2, 0x80, 0xA8, 0x62, 0xF4, 0x90, 0x80, 0x80], 5, ["a"]),
        ]
        for (bytes, expected, before) in cases {
            var out: [String] = []
            let bad = bytes.withUnsafeBufferPointer { buf in
                PythonText.forEachToken(buf) { out.append(String(decoding: $0, as: UTF8.self)) }
            }
            XCTAssertEqual(bad, expected, "\(bytes)")
            XCTAssertEqual(bad, bytes.withUnsafeBufferPointer { PythonText.firstInvalidUTF8($0) }, "\(bytes)")
            XCTAssertEqual(out, before, "\(bytes)")
        }
    }

    func testModelFilesOfTheFixture() throws {
        let d = try Fixtures.require()
        let (format, files) = try ElmoModel.files(forPath: d)
        XCTAssertTrue(format.contains("HDF5"))
        XCTAssertEqual(files.map(\.role), [.options, .weights])
        XCTAssertEqual(files.map(\.path), [d + "/options.json", d + "/lm_weights.hdf5"])
        XCTAssertEqual(files[1].size, try FileManager.default.attributesOfItem(atPath: d + "/lm_weights.hdf5")[.size] as? Int)
        XCTAssertThrowsError(try ElmoModel.files(forPath: d + "/nothing-here"))
    }

    func testModelFilesOfATFHubModule() throws {
        let tfhub = Fixtures.repositoryRoot + "/Tests/Fixtures/tfhub"
        let (format, files) = try ElmoModel.files(forPath: tfhub + "/module")
        XCTAssertTrue(format.contains("TF Hub"))
        XCTAssertEqual(files.map(\.role), [.index, .weights])
        XCTAssertEqual(files.map(\.path), [tfhub + "/module/variables/variables.index",
                                            tfhub + "/module/variables/variables.data-00000-of-00001"])
        let archive = try ElmoModel.files(forPath: tfhub + "/module.tar.gz")
        XCTAssertEqual(archive.files.map(\.role), [.module])
        XCTAssertEqual(archive.files[0].size, try FileManager.default.attributesOfItem(atPath: tfhub + "/module.tar.gz")[.size] as? Int)
    }
}
