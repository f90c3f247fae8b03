@preconcurrency import CHDF5
import XCTest
@testable import Elmo
@testable import ElmoHDF5

/// libelmo's own HDF5 weights reader (`HDF5WeightFile`) against libhdf5: every dataset of
/// every weights file in reach reads bit-identically; files written with non-default libhdf5
/// settings read the same or are refused with an error naming the feature; corrupt and
/// truncated files are refused, never crash.
final class HDF5WeightFileTests: XCTestCase {
    var dir = ""
    override func setUpWithError() throws { dir = try temporaryDirectory() }

    func testFixtureAndTwinReadAsLibHDF5ReadsThem() throws {
        if let d = Fixtures.directory {
            try assertSameAsLibHDF5(d + "/lm_weights.hdf5", try ElmoOptions(contentsOfFile: d + "/options.json"))
            // The fixture's embedding files (datasets "0".."9" in the root group).
            let ours = try HDF5WeightFile(path: d + "/lm_embeddings_0.hdf5")
            let reference = try HDF5Reader(path: d + "/lm_embeddings_0.hdf5")
            reference.allowsMapping = false
            for i in 0..<10 {
                let shape = try XCTUnwrap(try reference.shape(of: "\(i)"))
                XCTAssertEqual(try ours.tensor("\(i)", expected: shape).values.map(\.bitPattern),
                               try reference.readFloats("\(i)", expected: shape).values.map(\.bitPattern))
            }
        }
        // Written by h5py (TensorFlow's fixture script).
        let twin = Fixtures.repositoryRoot + "/Tests/Fixtures/tfhub/twin"
        try assertSameAsLibHDF5(twin + "/weights.hdf5", try ElmoOptions(contentsOfFile: twin + "/options.json"))
    }

    func testRandomModelsOfManyConfigurationsRead() throws {
        for (i, name) in ["small", "medium"].enumerated() {
            // Published shapes would be large; their structure (7 filters, 1 highway) with small widths.
            var options = try XCTUnwrap(ElmoRandomModel.publishedOptions(name))
            options.charCNN.filters = options.charCNN.filters.map { .init(width: $0.width, count: 2 + $0.width) }
            options.lstm.dim = 24
            options.lstm.projectionDim = 12
            let sub = joinPath(dir, "m\(i)")
            try FileManager.default.createDirectory(atPath: sub, withIntermediateDirectories: true)
            let files = try ElmoRandomModel.write(options: options, seed: UInt64(i), directory: sub)
            try assertSameAsLibHDF5(files.weights, options)
        }
    }

    // MARK: files libhdf5 writes with other settings

    /// Writes one dataset `name` of `values` (shape `shape`) stored as `type` into a new file,
    /// with the given file-creation / file-access / dataset-creation settings.
    func writeFile(_ fileName: String, name: String = "w", shape: [Int] = [3, 4], type: hid_t? = nil,
                   values: [Float]? = nil, latest: Bool = false, userBlock: Int = 0,
                   datasetCreation: (hid_t) -> Void = { _ in }, write: Bool = true,
                   extra: (hid_t) -> Void = { _ in }) throws -> String {
        let path = joinPath(dir, fileName)
        let count = shape.reduce(1, *)
        let data = values ?? (0..<count).map { Float($0) * 0.25 - 1.5 }
        try hdf5Lock.withLock { _ in
            _ = H5open()
            let fcpl = H5Pcreate(H5P_CLS_FILE_CREATE_ID_g), fapl = H5Pcreate(H5P_CLS_FILE_ACCESS_ID_g)
            defer { H5Pclose(fcpl); H5Pclose(fapl) }
            if userBlock > 0 { H5Pset_userblock(fcpl, hsize_t(userBlock)) }
            if latest { H5Pset_libver_bounds(fapl, H5F_LIBVER_V110, H5F_LIBVER_V110) }
            let file = H5Fcreate(path, elmo_h5f_acc_trunc(), fcpl, fapl)
            guard file >= 0 else { throw ElmoError(.io, "cannot create \(path)") }
            defer { H5Fclose(file) }
            var dims = shape.map { hsize_t($0) }
            let space = H5Screate_simple(Int32(dims.count), &dims, nil)
            defer { H5Sclose(space) }
            let dcpl = H5Pcreate(H5P_CLS_DATASET_CREATE_ID_g)
            defer { H5Pclose(dcpl) }
            datasetCreation(dcpl)
            let lcpl = H5Pcreate(H5P_CLS_LINK_CREATE_ID_g)
            defer { H5Pclose(lcpl) }
            H5Pset_create_intermediate_group(lcpl, 1)
            let ds = H5Dcreate2(file, name, type ?? H5T_IEEE_F32LE_g, space, lcpl, dcpl, elmo_h5p_default())
            guard ds >= 0 else { throw ElmoError(.io, "cannot create dataset \(name)") }
            defer { H5Dclose(ds) }
            if write {
                guard H5Dwrite(ds, H5T_NATIVE_FLOAT_g, elmo_h5s_all(), elmo_h5s_all(), elmo_h5p_default(), data) >= 0 else {
                    throw ElmoError(.io, "cannot write dataset \(name)")
                }
            }
            extra(file)
        }
        return path
    }

    func read(_ path: String, _ name: String = "w", shape: [Int] = [3, 4]) throws -> [Float] {
        try HDF5WeightFile(path: path).tensor(name, expected: shape).values
    }

    func assertRefused(_ path: String, _ name: String = "w", shape: [Int] = [3, 4], contains parts: [String],
                       file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try read(path, name, shape: shape), file: file, line: line) { error in
            guard let e = error as? ElmoError else { return XCTFail("\(error)", file: file, line: line) }
            XCTAssertEqual(e.kind, .invalidModel, e.message, file: file, line: line)
            for p in parts + [path] { XCTAssertTrue(e.message.contains(p), "'\(e.message)' lacks '\(p)'", file: file, line: line) }
        }
    }

    let expected: [Float] = (0..<12).map { Float($0) * 0.25 - 1.5 }

    func testNewestFormatVersions() throws {
        // Superblock 3, version 2 object headers (checksummed), link messages, layout version 4.
        let path = try writeFile("latest.h5", name: "CNN/W_cnn_0", latest: true)
        XCTAssertEqual(try read(path, "CNN/W_cnn_0"), expected)
        XCTAssertEqual(try XCTUnwrap(try Data(contentsOf: URL(fileURLWithPath: path)))[8], 3, "superblock version")
    }

    func testUserBlock() throws {
        XCTAssertEqual(try read(try writeFile("ub.h5", name: "a/b", userBlock: 1024), "a/b"), expected, "user block, v0 superblock")
        XCTAssertEqual(try read(try writeFile("ub3.h5", latest: true, userBlock: 512)), expected, "user block, v3 superblock")
    }

    func testOtherFloatTypesAreConverted() throws {
        for (fileName, type) in [("be32.h5", H5T_IEEE_F32BE_g), ("le64.h5", H5T_IEEE_F64LE_g), ("be64.h5", H5T_IEEE_F64BE_g)] {
            XCTAssertEqual(try read(try writeFile(fileName, type: type)), expected, fileName)
        }
    }

    func testCompactLayout() throws {
        let path = try writeFile("compact.h5", datasetCreation: { H5Pset_layout($0, H5D_COMPACT) })
        XCTAssertEqual(try read(path), expected)
    }

    func testLongObjectHeadersWithContinuationChunks() throws {
        // Many attributes push the dataset's header messages into continuation chunks.
        for latest in [false, true] {
            let path = try writeFile("attrs-\(latest).h5", latest: latest, extra: { file in
                let ds = H5Dopen2(file, "w", elmo_h5p_default())
                defer { H5Dclose(ds) }
                var one: hsize_t = 1
                let space = H5Screate_simple(1, &one, nil)
                defer { H5Sclose(space) }
                for k in 0..<40 {
                    let a = H5Acreate2(ds, "attribute_number_\(k)_with_a_long_name", H5T_STD_I32LE_g, space, elmo_h5p_default(), elmo_h5p_default())
                    var v = Int32(k)
                    H5Awrite(a, H5T_NATIVE_INT_g, &v)
                    H5Aclose(a)
                }
            })
            XCTAssertEqual(try read(path), expected, "latest: \(latest)")
        }
    }

    func testManyMembersInOldStyleGroups() throws {
        // 300 datasets in one group: a symbol table B-tree of several nodes and levels.
        let path = try writeFile("many.h5", name: "g/w", extra: { file in
            var dims: [hsize_t] = [2]
            let space = H5Screate_simple(1, &dims, nil)
            defer { H5Sclose(space) }
            let group = H5Gopen2(file, "g", elmo_h5p_default())
            defer { H5Gclose(group) }
            for k in 0..<300 {
                let ds = H5Dcreate2(group, "d\(k)", H5T_IEEE_F32LE_g, space, elmo_h5p_default(), elmo_h5p_default(), elmo_h5p_default())
                let v: [Float] = [Float(k), -Float(k)]
                H5Dwrite(ds, H5T_NATIVE_FLOAT_g, elmo_h5s_all(), elmo_h5s_all(), elmo_h5p_default(), v)
                H5Dclose(ds)
            }
        })
        let f = try HDF5WeightFile(path: path)
        XCTAssertEqual(try f.tensor("g/w", expected: [3, 4]).values, expected)
        for k in [0, 1, 150, 299] { XCTAssertEqual(try f.tensor("g/d\(k)", expected: [2]).values, [Float(k), -Float(k)]) }
        XCTAssertNil(try f.dataset("g/d300"))
    }

    func testUnsupportedFeaturesAreNamed() throws {
        let chunked = try writeFile("chunked.h5", datasetCreation: { dcpl in
            var chunk: [hsize_t] = [2, 2]
            H5Pset_chunk(dcpl, 2, &chunk)
        })
        assertRefused(chunked, contains: ["dataset 'w'", "chunked"])
        let compressed = try writeFile("gzip.h5", datasetCreation: { dcpl in
            var chunk: [hsize_t] = [3, 4]
            H5Pset_chunk(dcpl, 2, &chunk)
            H5Pset_deflate(dcpl, 6)
        })
        assertRefused(compressed, contains: ["dataset 'w'", "filters (compressed)"])
        // More than 8 links in a group written with the newest format: a fractal heap.
        let dense = try writeFile("dense.h5", name: "CNN/w", latest: true, extra: { file in
            var dims: [hsize_t] = [1]
            let space = H5Screate_simple(1, &dims, nil)
            defer { H5Sclose(space) }
            for k in 0..<12 {
                let ds = H5Dcreate2(file, "CNN/d\(k)", H5T_IEEE_F32LE_g, space, elmo_h5p_default(), elmo_h5p_default(), elmo_h5p_default())
                H5Dclose(ds)
            }
        })
        assertRefused(dense, "CNN/w", contains: ["group '/CNN'", "fractal heap"])
        let integers = try writeFile("int.h5", type: H5T_STD_I32LE_g)
        assertRefused(integers, contains: ["dataset 'w'", "not floating-point"])
        let unwritten = try writeFile("unwritten.h5", write: false)
        assertRefused(unwritten, contains: ["dataset 'w'", "never written"])
        let committed = try writeFile("committed.h5", name: "v", extra: { file in
            let t = H5Tcopy(H5T_IEEE_F32LE_g)
            H5Tcommit2(file, "float_type", t, elmo_h5p_default(), elmo_h5p_default(), elmo_h5p_default())
            var dims: [hsize_t] = [3, 4]
            let space = H5Screate_simple(2, &dims, nil)
            let ds = H5Dcreate2(file, "w", t, space, elmo_h5p_default(), elmo_h5p_default(), elmo_h5p_default())
            H5Dwrite(ds, H5T_NATIVE_FLOAT_g, elmo_h5s_all(), elmo_h5s_all(), elmo_h5p_default(), self.expected)
            H5Dclose(ds)
            H5Sclose(space)
            H5Tclose(t)
        })
        assertRefused(committed, contains: ["dataset 'w'", "shared"])
        XCTAssertThrowsError(try read(committed, "float_type")) { XCTAssertTrue("\($0)".contains("not a dataset"), "\($0)") }
    }

    func testWrongShapeAndMissingNames() throws {
        let path = try writeFile("plain.h5", name: "a/b")
        XCTAssertThrowsError(try read(path, "a/b", shape: [4, 3])) { error in
            XCTAssertEqual((error as? ElmoError)?.kind, .shapeMismatch)
            XCTAssertTrue("\(error)".contains("(3, 4)"), "\(error)")
        }
        for missing in ["a/c", "b", "a/b/c", "", "/"] {
            XCTAssertThrowsError(try read(path, missing)) { error in
                XCTAssertTrue("\(error)".contains("missing weight tensor") || "\(error)".contains("not a group"), "\(missing): \(error)")
            }
        }
    }

    // MARK: hostile files

    /// A weights file cut at every structure boundary (and every 97 bytes) and with bytes of its
    /// metadata flipped is refused with an error or (if only float data changed) loads.
    func testTruncatedAndCorruptFixtureFiles() throws {
        let options = FuzzlessOptions.twin
        let source = Fixtures.repositoryRoot + "/Tests/Fixtures/tfhub/twin/weights.hdf5"
        let original = try XCTUnwrap(readSmallFile(source, limit: 1 << 20))
        let optionsPath = joinPath(dir, "options.json")
        try writeText(options.json.serialized, to: optionsPath)
        let cutPath = joinPath(dir, "cut.hdf5")
        var refused = 0
        for end in Set(stride(from: 0, to: original.count, by: 97)).union([0, 8, 47, 48, 95, 96, 136, 680, 800, 2048]).sorted()
            where end < original.count {
            try Data(original[0..<end]).write(to: URL(fileURLWithPath: cutPath))
            XCTAssertThrowsError(try ElmoModel(optionsFile: optionsPath, weightsFile: cutPath), "cut at \(end)") { error in
                XCTAssertNotNil(error as? ElmoError, "\(error)")
            }
            refused += 1
        }
        XCTAssertGreaterThan(refused, 200)
        // Flip bytes of the first 4 KB (superblock, root group, B-tree, heap, headers): each of
        // the first 1 KB, then every 5th.
        var loaded = 0
        for i in Array(0..<1024) + Array(stride(from: 1024, to: min(4096, original.count), by: 5)) {
            var bytes = original
            bytes[i] ^= 0x5A
            try Data(bytes).write(to: URL(fileURLWithPath: cutPath))
            do {
                _ = try ElmoModel(optionsFile: optionsPath, weightsFile: cutPath)
                loaded += 1
            } catch is ElmoError {
            }
        }
        XCTAssertLessThan(loaded, 1024)
    }
}

/// The TF Hub twin's configuration (Tests/Fixtures/tfhub/twin/options.json).
enum FuzzlessOptions {
    static var twin: ElmoOptions {
        // swiftlint:disable:next force_try
        (try? ElmoOptions(contentsOfFile: Fixtures.repositoryRoot + "/Tests/Fixtures/tfhub/twin/options.json"))!
    }
}

/// Every official tensor of `options` through both readers (libhdf5 with H5Dread, no mapping).
func assertSameAsLibHDF5(_ weights: String, _ options: ElmoOptions, file: StaticString = #filePath, line: UInt = #line) throws {
    let ours = try HDF5WeightFile(path: weights)
    let reference = try HDF5Reader(path: weights)
    reference.allowsMapping = false
    for (name, shape) in ReferenceELMo.officialShapes(options) {
        let a = try ours.tensor(name, expected: shape).values.map(\.bitPattern)
        let b = try reference.readFloats(name, expected: shape).values.map(\.bitPattern)
        XCTAssertEqual(a, b, name, file: file, line: line)
    }
}
