import Foundation
import XCTest
@testable import Elmo
@testable import ElmoHDF5

/// HDF5Writer (libhdf5: test and random models) and the lookup3 checksum HDF5 metadata uses.
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

    func testUncreatableFileNamesTheDirectory() {
        XCTAssertThrowsError(try HDF5Writer(path: directory + "/missing/out.hdf5")) { error in
            XCTAssertTrue("\(error)".contains("does not exist"), "\(error)")
        }
    }
}
