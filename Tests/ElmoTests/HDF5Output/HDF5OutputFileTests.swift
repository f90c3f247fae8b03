import Foundation
import XCTest
@testable import Elmo
@testable import ElmoHDF5
@testable import ElmoHDF5Output

/// The elmo command's own HDF5 writer, read back by libhdf5 (HDF5Reader) and by libelmo's
/// bounded reader (HDF5WeightFile). h5py reads its files in Tests/cli.
final class HDF5OutputFileTests: XCTestCase {
    private var directory: String!

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "elmo-hdf5-output-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: directory)
    }

    func testDecimalNamesComeInByteOrder() {
        for count in [0, 1, 2, 9, 10, 11, 19, 20, 99, 100, 101, 110, 1234, 10_000, 10_001] {
            var names = DecimalNames(count: count)
            var generated: [String] = []
            while let n = names.next() { generated.append(String(decoding: n, as: UTF8.self)) }
            let expected = (0..<count).map(String.init).sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
            XCTAssertEqual(generated, expected, "count \(count)")
        }
    }

    func testCanonicalDecimalValues() {
        XCTAssertEqual(DecimalNames.value("0"), 0)
        XCTAssertEqual(DecimalNames.value("120"), 120)
        for name in ["", "07", "+7", "-1", "1.0", "a1", " 1"] { XCTAssertNil(DecimalNames.value(name), name) }
    }

    /// Enough datasets for a two-level B-tree (more than 64 symbol table nodes of 64 entries),
    /// a streamed string, and named datasets in nested groups.
    func testFileIsReadBackByLibhdf5AndTheBoundedReader() throws {
        let n = 64 * 64 + 300
        let out = directory + "/out.hdf5"
        let source = directory + "/index.json"
        let text = "{\"a\": \"0\", \"ünï\": \"1\"}" + String(repeating: " ", count: 5000)
        try text.write(toFile: source, atomically: false, encoding: .utf8)
        let writer = try HDF5OutputFile(path: out)
        for i in 0..<n {
            let tokens = i % 7  // zero tokens too: no storage at all
            try writer.write(String(i), shape: [3, tokens, 2], values: (0..<(6 * tokens)).map { Float(i) + Float($0) / 8 })
        }
        try writer.write("a / b", shape: [2], values: [1.5, -2])
        try writer.write("x/y/z", shape: [1, 1], values: [7])
        XCTAssertTrue(writer.contains("0") && writer.contains(String(n - 1)) && writer.contains("x/y") && writer.contains("a /"))
        XCTAssertFalse(writer.contains(String(n)) || writer.contains("x/z"))
        XCTAssertThrowsError(try writer.write("17", shape: [1], values: [0]))  // already there
        XCTAssertThrowsError(try writer.write("5/c", shape: [1], values: [0]))  // "5" is a dataset
        XCTAssertThrowsError(try writer.write("x/y/z/w", shape: [1], values: [0]))
        XCTAssertThrowsError(try writer.write("/", shape: [1], values: [0]))
        try writer.writeString("sentence_to_index", contentsOfFile: source)
        try writer.close()

        let reader = try HDF5Reader(path: out)
        let expectedRoot = ((0..<n).map(String.init) + ["a ", "sentence_to_index", "x"]).sorted()
        XCTAssertEqual(reader.rootNames(), expectedRoot)
        for i in [0, 1, 6, 63, 64, 4095, 4096, n - 1] {
            let tokens = i % 7
            XCTAssertEqual(try reader.shape(of: String(i)), [3, tokens, 2])
            if tokens > 0 {
                XCTAssertEqual(try reader.readFloats(String(i), expected: [3, tokens, 2]).values,
                               (0..<(6 * tokens)).map { Float(i) + Float($0) / 8 })
            }
        }
        XCTAssertEqual(try reader.readFloats("a / b", expected: [2]).values, [1.5, -2])
        XCTAssertEqual(try reader.readFloats("x/y/z", expected: [1, 1]).values, [7])
        let strings = try reader.readVariableLengthStrings("sentence_to_index")
        XCTAssertEqual(strings.shape, [1])
        XCTAssertEqual(strings.values, [text])

        let bounded = try HDF5WeightFile(path: out)
        XCTAssertEqual(try bounded.tensor("4096", expected: [3, 1, 2]).values, (0..<6).map { 4096 + Float($0) / 8 })
        XCTAssertEqual(try bounded.tensor("x/y/z", expected: [1, 1]).values, [7])
    }

    /// Strings around the global heap collection's sizes (4096 bytes at least), read by libhdf5.
    func testLargeStringsOfAnyLengthAreReadBackByLibhdf5() throws {
        for length in [0, 1, 7, 8, 4000, 4096, 70_001] {
            let text = String((0..<length).map { i in Character(UnicodeScalar(UInt8(33 + i % 90))) })
            let source = directory + "/source-\(length).txt"
            try text.write(toFile: source, atomically: false, encoding: .utf8)
            let out = directory + "/strings-\(length).hdf5"
            let writer = try HDF5OutputFile(path: out)
            try writer.write("0", shape: [2, 3], values: [1, 2, 3, 4, 5, 6])
            try writer.writeString("sentence_to_index", contentsOfFile: source)
            try writer.write("1", shape: [1, 0, 4], values: [])
            try writer.close()
            let reader = try HDF5Reader(path: out)
            let read = try reader.readVariableLengthStrings("sentence_to_index")
            XCTAssertEqual(read.shape, [1])
            XCTAssertEqual(read.values, [text], "length \(length)")
            XCTAssertEqual(try reader.readFloats("0", expected: [2, 3]).values, [1, 2, 3, 4, 5, 6])
            XCTAssertEqual(try reader.shape(of: "1"), [1, 0, 4])
        }
    }

    func testUncreatableFileNamesTheFile() {
        XCTAssertThrowsError(try HDF5OutputFile(path: directory + "/missing/out.hdf5")) { error in
            XCTAssertTrue("\(error)".contains("missing/out.hdf5"), "\(error)")
        }
    }

    func testEmptyFileOpens() throws {
        let out = directory + "/empty.hdf5"
        try HDF5OutputFile(path: out).close()
        XCTAssertEqual(try HDF5Reader(path: out).rootNames(), [])
    }
}
