import Foundation
import XCTest
@testable import Elmo
@testable import ElmoHDF5

/// HDF5Writer's bounded-memory mode and large strings, read back through libhdf5.
final class HDF5WriterTests: XCTestCase {
    private var directory: String!

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "elmo-hdf5-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Reference values published with lookup3.c (hashlittle, initial value 0).
    func testLookup3MatchesReference() {
        XCTAssertEqual([UInt8]().withUnsafeBytes { Lookup3.hashLittle($0) }, 0xdeadbeef)
        XCTAssertEqual(Array("Four score and seven years ago".utf8).withUnsafeBytes { Lookup3.hashLittle($0) }, 0x17770551)
    }

    func testLargeStringIsReadBackByLibhdf5() throws {
        for bounded in [false, true] {
            for length in [0, 1, 7, 8, 4000, 4096, 70_001] {
                let text = String((0..<length).map { i in Character(UnicodeScalar(UInt8(33 + i % 90))) })
                let source = directory + "/source-\(length).txt"
                try text.write(toFile: source, atomically: false, encoding: .utf8)
                let out = directory + "/strings-\(bounded)-\(length).hdf5"
                let writer = try HDF5Writer(path: out, boundedMemory: bounded)
                try writer.write("0", shape: [2, 3], values: [1, 2, 3, 4, 5, 6])
                try writer.writeString("sentence_to_index", contentsOfFile: source)
                try writer.write("1", shape: [1, 0, 4], values: [])
                try writer.close()
                let reader = try HDF5Reader(path: out)
                let read = try reader.readVariableLengthStrings("sentence_to_index")
                XCTAssertEqual(read.shape, [1])
                XCTAssertEqual(read.values, [text], "bounded \(bounded), length \(length)")
                XCTAssertEqual(try reader.readFloats("0", expected: [2, 3]).values, [1, 2, 3, 4, 5, 6])
                XCTAssertEqual(try reader.shape(of: "1"), [1, 0, 4])
            }
        }
    }

    func testBoundedMemoryWriterReopensAndKeepsEveryDataset() throws {
        let out = directory + "/many.hdf5"
        let writer = try HDF5Writer(path: out, boundedMemory: true)
        let n = HDF5Writer.reopenInterval * 2 + 5
        for i in 0..<n {
            try writer.write(String(i), shape: [1], values: [Float(i)])
        }
        XCTAssertTrue(writer.contains("0"))
        XCTAssertTrue(writer.contains(String(n - 1)))
        XCTAssertFalse(writer.contains(String(n)))
        XCTAssertFalse(writer.contains("a/b"))
        try writer.write("a/b", shape: [1], values: [7])
        XCTAssertTrue(writer.contains("a/b"))
        try writer.close()
        let reader = try HDF5Reader(path: out)
        for i in [0, HDF5Writer.reopenInterval - 1, HDF5Writer.reopenInterval, n - 1] {
            XCTAssertEqual(try reader.readFloats(String(i), expected: [1]).values, [Float(i)])
        }
        XCTAssertTrue(reader.hasDataset("a/b"))
        XCTAssertFalse(reader.hasDataset(String(n)))
    }

    func testUncreatableFileNamesTheDirectory() {
        XCTAssertThrowsError(try HDF5Writer(path: directory + "/missing/out.hdf5")) { error in
            XCTAssertTrue("\(error)".contains("does not exist"), "\(error)")
        }
    }
}
