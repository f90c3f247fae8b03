import XCTest
@testable import Elmo
@testable import ElmoHDF5

/// Official HDF5 files: contiguous float32 datasets are mapped, not copied, and the mapped
/// values are exactly what libhdf5 reads.
final class HDF5MappingTests: XCTestCase {
    func testMappedDatasetsEqualHDF5Reads() throws {
        let d = try Fixtures.require()
        let path = d + "/lm_weights.hdf5"
        let options = try ElmoOptions(contentsOfFile: d + "/options.json")
        let mapped = try HDF5Reader(path: path)
        let read = try HDF5Reader(path: path)
        read.allowsMapping = false
        let size = try XCTUnwrap(try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
        var mappedCount = 0
        for (name, shape) in ReferenceELMo.officialShapes(options) {
            let a = try mapped.readFloats(name, expected: shape), b = try read.readFloats(name, expected: shape)
            XCTAssertEqual(a.values, b.values, name)
            if a.storage.byteCount == size { mappedCount += 1 }
        }
        XCTAssertEqual(mappedCount, ReferenceELMo.officialShapes(options).count, "every official dataset is contiguous float32")
    }
}
