import XCTest
@testable import Elmo
@testable import ElmoHDF5

/// The hostile-file matrix of issue 7, beyond the format-specific tests (NativeModelTests,
/// HDF5WeightFileTests, LoaderErrorTests): native and HDF5 model files cut at every section
/// boundary (header, every tensor's first and last byte), NaN/Inf weights, absurd options,
/// and paths that are not files. Every case ends in a specific `ElmoError` or, for non-finite
/// weights, in a model that loads and embeds as documented in elmo.h (elmo_model_load): the
/// weights are used as given and the outputs carry the non-finite values; nothing traps.
final class HostileFilesTests: XCTestCase {
    var dir = ""
    override func setUpWithError() throws { dir = try temporaryDirectory() }

    let options = ElmoOptions(
        charCNN: .init(embeddingDim: 4, filters: [.init(width: 1, count: 3), .init(width: 2, count: 4)], highwayCount: 1,
                       characterCount: 262, maxCharactersPerToken: 50, activation: .relu),
        lstm: .init(dim: 12, projectionDim: 6, layerCount: 2, cellClip: 3, projectionClip: 3, useSkipConnections: true))

    func writeModel(seed: UInt64 = 3) throws -> (options: String, weights: String, native: String) {
        let sub = joinPath(dir, "model-\(seed)")
        try FileManager.default.createDirectory(atPath: sub, withIntermediateDirectories: true)
        let files = try ElmoRandomModel.write(options: options, seed: seed, directory: sub)
        let native = joinPath(sub, "model.elmo")
        try ElmoModel(optionsFile: files.options, weightsFile: files.weights).writeNative(to: native)
        return (files.options, files.weights, native)
    }

    func write(_ bytes: ArraySlice<UInt8>, _ name: String) throws -> String {
        let path = joinPath(dir, name)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    func assertRefused(_ load: @autoclosure () throws -> ElmoModel, _ context: String, kind: ElmoError.Kind = .invalidModel,
                       contains parts: [String] = [], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try load(), context, file: file, line: line) { error in
            guard let e = error as? ElmoError else { return XCTFail("\(context): not an ElmoError: \(error)", file: file, line: line) }
            XCTAssertEqual(e.kind, kind, "\(context): \(e.message)", file: file, line: line)
            for p in parts { XCTAssertTrue(e.message.contains(p), "\(context): '\(e.message)' lacks '\(p)'", file: file, line: line) }
        }
    }

    /// The native file's sections: the 8-byte length, the JSON header, and each tensor's bytes
    /// (absolute [start, end) from the header's data_offsets).
    func nativeSections(_ bytes: [UInt8]) throws -> (headerEnd: Int, tensors: [(String, Range<Int>)]) {
        let headerLength = Int(littleEndianInteger(bytes, at: 0, width: 8))
        let header = try XCTUnwrap(try JSONValue.parse(bytes[8..<(8 + headerLength)]).objectValue)
        var tensors: [(String, Range<Int>)] = []
        for (name, entry) in header where name != "__metadata__" {
            let o = try XCTUnwrap(entry["data_offsets"]?.arrayValue?.compactMap(\.intValue))
            tensors.append((name, (8 + headerLength + o[0])..<(8 + headerLength + o[1])))
        }
        return (8 + headerLength, tensors.sorted { $0.1.lowerBound < $1.1.lowerBound })
    }

    func testNativeFileCutAtEverySectionBoundary() throws {
        let model = try writeModel()
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: model.native)))
        let (headerEnd, tensors) = try nativeSections(bytes)
        var cuts: Set<Int> = [0, 1, 7, 8, 9, headerEnd / 2, headerEnd - 1, headerEnd, bytes.count - 1]
        for (_, r) in tensors { cuts.formUnion([r.lowerBound, r.lowerBound + 1, r.upperBound - 1, r.upperBound]) }
        XCTAssertGreaterThan(tensors.count, 10)
        for cut in cuts.sorted() where cut < bytes.count {
            let path = try write(bytes[0..<cut], "cut.elmo")
            // A cut inside the length or the header leaves no valid header; a cut in the data
            // leaves tensors outside the file. Either way the file is named as malformed.
            assertRefused(try ElmoModel(nativeFile: path), "native cut at \(cut) of \(bytes.count)", contains: [path])
            // Found by content: with its header cut the file is not recognisable as native, so it
            // is taken for a weights file whose options are missing.
            assertRefused(try ElmoModel(path: path), "native cut at \(cut), found by content",
                          kind: cut < headerEnd ? .io : .invalidModel, contains: [path])
        }
    }

    func testHDF5FileCutAtEveryDatasetBoundary() throws {
        let model = try writeModel()
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: model.weights)))
        let file = try HDF5WeightFile(path: model.weights)
        var cuts: Set<Int> = [0, 8, 47, 48, 96]
        for (name, _) in ReferenceELMo.officialShapes(options) {
            let dataset = try XCTUnwrap(try file.dataset(name), name)
            guard case .contiguous(let position?, _) = dataset.storage else { return XCTFail("\(name): \(dataset.storage)") }
            let end = position + dataset.shape.reduce(1, *) * 4
            cuts.formUnion([position, position + 1, end - 1])
        }
        XCTAssertGreaterThan(cuts.count, 40)
        for cut in cuts.sorted() where cut < bytes.count {
            let path = try write(bytes[0..<cut], "cut.hdf5")
            assertRefused(try ElmoModel(optionsFile: model.options, weightsFile: path), "HDF5 cut at \(cut) of \(bytes.count)",
                          contains: [path])
        }
    }

    /// NaN and ±Inf in the weights: loading succeeds (weights are mapped, never scanned: a
    /// scan would read every page of a 360 MB file at load), embedding every output kind
    /// returns normally, and the non-finite values reach the outputs (documented in elmo.h).
    func testNonFiniteWeightsLoadAndPropagate() throws {
        let model = try writeModel(seed: 4)
        let file = try HDF5WeightFile(path: model.weights)
        var bytes = Array(try Data(contentsOf: URL(fileURLWithPath: model.weights)))
        let poisoned: [(String, UInt32)] = [
            ("CNN_proj/W_proj", Float.nan.bitPattern), ("RNN_0/RNN/MultiRNNCell/Cell0/LSTMCell/B", Float.infinity.bitPattern),
            ("RNN_1/RNN/MultiRNNCell/Cell1/LSTMCell/W_P_0", (-Float.infinity).bitPattern),
        ]
        for (name, bits) in poisoned {
            let dataset = try XCTUnwrap(try file.dataset(name), name)
            guard case .contiguous(let position?, _) = dataset.storage else { return XCTFail(name) }
            for k in 0..<4 { bytes[position + k] = UInt8(truncatingIfNeeded: bits >> (8 * UInt32(k))) }
        }
        let hdf5 = try write(bytes[...], "poisoned.hdf5")
        let loaded = try ElmoModel(optionsFile: model.options, weightsFile: hdf5)
        let native = joinPath(dir, "poisoned.elmo")
        try loaded.writeNative(to: native)
        for m in [loaded, try ElmoModel(nativeFile: native)] {
            let session = ElmoSession(model: m)
            let out = try session.embed([["The", "bank", "."], ["x"]])
            XCTAssertTrue(out.allLayers.contains { !$0.isFinite }, "the NaN/Inf weights reach the outputs")
            let batch = try TokenBatch(sentences: [["The", "bank", "."]])
            for output in [ElmoOutput.allLayers, .wordEmbedding, .lstm(1), .lstm(2), .elmo(nil), .sentenceMean(nil)] {
                let n = try session.requiredFloats(batch, output: output)
                var buffer = [Float](repeating: 0, count: n)
                try buffer.withUnsafeMutableBufferPointer { try session.embed(batch, output: output, into: $0) }
            }
        }
    }

    /// options.json with fields missing or absurd: each refused by name before anything is
    /// allocated from it (10^9 cells would be 16 GB of LSTM weights).
    func testAbsurdOptions() throws {
        let model = try writeModel(seed: 5)
        let text = try String(contentsOfFile: model.options, encoding: .utf8)
        let json = try XCTUnwrap(try JSONValue.parse(text).objectValue)
        func variant(_ edit: (inout [String: JSONValue]) -> Void) throws -> String {
            var j = json
            edit(&j)
            let path = joinPath(dir, "options-\(UUID().uuidString).json")
            try writeText(JSONValue.object(j).serialized, to: path)
            return path
        }
        func lstm(_ key: String, _ value: JSONValue?) -> (inout [String: JSONValue]) -> Void {
            { j in var l = j["lstm"]?.objectValue ?? [:]; l[key] = value; j["lstm"] = .object(l) }
        }
        func cnn(_ key: String, _ value: JSONValue?) -> (inout [String: JSONValue]) -> Void {
            { j in var c = j["char_cnn"]?.objectValue ?? [:]; c[key] = value; j["char_cnn"] = .object(c) }
        }
        let cases: [(String, (inout [String: JSONValue]) -> Void, String)] = [
            ("zero layers", lstm("n_layers", .number(0)), "lstm.n_layers = 0"),
            ("10^9 cells", lstm("dim", .number(1e9)), "lstm.dim = 1000000000"),
            ("10^9 projection", lstm("projection_dim", .number(1e9)), "lstm.projection_dim = 1000000000"),
            ("negative cells", lstm("dim", .number(-8)), "lstm.dim = -8"),
            ("fractional cells", lstm("dim", .number(8.5)), "lstm.dim must be an integer"),
            ("10^9 layers", lstm("n_layers", .number(1e9)), "lstm.n_layers = 1000000000"),
            ("no cells", lstm("dim", nil), "lstm.dim is missing"),
            ("no lstm", { $0["lstm"] = nil }, "lstm is missing"),
            ("no char_cnn", { $0["char_cnn"] = nil }, "char_cnn is missing"),
            ("10^9 highway", cnn("n_highway", .number(1e9)), "char_cnn.n_highway = 1000000000"),
            ("10^9 characters per token", cnn("max_characters_per_token", .number(1e9)),
             "char_cnn.max_characters_per_token = 1000000000"),
            ("10^9 filters of width 1", cnn("filters", .array([.array([.number(1), .number(1e9)])])), "char_cnn.filters"),
            ("no filters", cnn("filters", .array([])), "char_cnn.filters"),
            ("filters not a list", cnn("filters", .string("many")), "char_cnn.filters"),
            ("a string for a number", cnn("n_characters", .string("262")), "char_cnn.n_characters"),
        ]
        for (what, edit, message) in cases {
            let path = try variant(edit)
            assertRefused(try ElmoModel(optionsFile: path, weightsFile: model.weights), what, contains: [path, message])
        }
    }

    /// Paths that are not model files: a directory, /dev/zero, a directory as the options file,
    /// an empty directory as the model, an empty file.
    func testPathsThatAreNotFiles() throws {
        let model = try writeModel(seed: 6)
        assertRefused(try ElmoModel(optionsFile: dir, weightsFile: model.weights), "options is a directory", kind: .io,
                      contains: ["is a directory"])
        assertRefused(try ElmoModel(optionsFile: "/dev/zero", weightsFile: model.weights), "options is /dev/zero", kind: .io,
                      contains: ["not a regular file"])
        assertRefused(try ElmoModel(nativeFile: dir), "native is a directory", kind: .io, contains: ["is a directory"])
        assertRefused(try ElmoModel(nativeFile: "/dev/zero"), "native is /dev/zero", kind: .io, contains: ["not a regular file"])
        assertRefused(try ElmoModel(path: "/dev/zero"), "model path /dev/zero", kind: .io, contains: ["/dev/zero"])
        let empty = joinPath(dir, "empty")
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
        assertRefused(try ElmoModel(path: empty), "empty directory", kind: .io, contains: [empty])
        let emptyFile = try write([][...], "empty.elmo")
        assertRefused(try ElmoModel(path: emptyFile), "empty file (no format recognised: no options beside it)", kind: .io,
                      contains: [emptyFile, "no options file"])
        assertRefused(try ElmoModel(nativeFile: emptyFile), "empty native file", kind: .invalidModel, contains: [emptyFile])
    }
}
