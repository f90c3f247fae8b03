import XCTest
@testable import Elmo
@testable import ElmoHDF5

/// Every way loading can fail gives a clear error naming the file, the tensor and shapes.
final class LoaderErrorTests: XCTestCase {
    var dir = ""
    override func setUpWithError() throws { dir = try temporaryDirectory() }

    func smallOptions() -> ElmoOptions {
        ElmoOptions(charCNN: .init(embeddingDim: 4, filters: [.init(width: 1, count: 4), .init(width: 2, count: 8)],
                                   highwayCount: 1, characterCount: 262, maxCharactersPerToken: 50, activation: .relu),
                    lstm: .init(dim: 8, projectionDim: 4, layerCount: 2, cellClip: 3, projectionClip: 3, useSkipConnections: true))
    }

    /// Writes a copy of a random model with tensors removed or replaced.
    func writeVariant(dropping: String? = nil, replacing: (String, [Int])? = nil) throws -> (String, String) {
        let options = smallOptions()
        let out = joinPath(dir, "variant.hdf5")
        let writer = try HDF5Writer(path: out)
        for (name, shape) in ReferenceELMo.officialShapes(options) where name != dropping {
            var s = shape
            if let r = replacing, r.0 == name { s = r.1 }
            try writer.write(name, shape: s, values: [Float](repeating: 0.01, count: s.reduce(1, *)))
        }
        try writer.close()
        let opts = joinPath(dir, "options.json")
        try writeText(options.json.serialized, to: opts)
        return (opts, out)
    }

    func assertLoadError(_ options: String, _ weights: String, kind: ElmoError.Kind, contains parts: [String],
                         file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try ElmoModel(optionsFile: options, weightsFile: weights), file: file, line: line) { error in
            guard let e = error as? ElmoError else { return XCTFail("not an ElmoError: \(error)", file: file, line: line) }
            XCTAssertEqual(e.kind, kind, e.message, file: file, line: line)
            for p in parts { XCTAssertTrue(e.message.contains(p), "'\(e.message)' lacks '\(p)'", file: file, line: line) }
        }
    }

    func testMissingDatasetNamesFileAndTensor() throws {
        let name = "RNN_1/RNN/MultiRNNCell/Cell1/LSTMCell/W_P_0"
        let (o, w) = try writeVariant(dropping: name)
        assertLoadError(o, w, kind: .invalidModel, contains: [w, "missing weight tensor", name])
    }

    func testWrongShapeNamesBothShapes() throws {
        let (o, w) = try writeVariant(replacing: ("CNN_high_0/W_carry", [12, 11]))
        assertLoadError(o, w, kind: .shapeMismatch, contains: [w, "CNN_high_0/W_carry", "(12, 11)", "(12, 12)"])
    }

    func testOptionsThatDisagreeWithWeights() throws {
        let (_, w) = try writeVariant()
        var options = smallOptions()
        options.lstm.dim = 16
        let o = joinPath(dir, "other.json")
        try writeText(options.json.serialized, to: o)
        assertLoadError(o, w, kind: .shapeMismatch, contains: ["RNN_0/RNN/MultiRNNCell/Cell0/LSTMCell/W_0", "(8, 32)", "(8, 64)"])
    }

    func optionsError(_ text: String, contains: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try ElmoOptions.parse(json: Array(text.utf8), file: "opts.json"), file: file, line: line) { error in
            let e = error as? ElmoError
            XCTAssertEqual(e?.kind, .invalidModel, file: file, line: line)
            XCTAssertTrue(e?.message.contains("opts.json") ?? false, file: file, line: line)
            XCTAssertTrue(e?.message.contains(contains) ?? false, "'\(e?.message ?? "")' lacks '\(contains)'", file: file, line: line)
        }
    }

    func fixtureOptionsText(replacing old: String, with new: String) throws -> String {
        let text = smallOptions().json.serialized
        XCTAssertTrue(text.contains(old), text)
        return text.replacingOccurrences(of: old, with: new)
    }

    func testUnknownActivation() throws {
        optionsError(try fixtureOptionsText(replacing: "\"relu\"", with: "\"gelu\""), contains: "activation 'gelu' is not supported")
    }

    func testMalformedOptions() throws {
        optionsError("{\"lstm\": ", contains: "not valid JSON")
        optionsError("[1, 2]", contains: "top level is not an object")
        optionsError(String(repeating: "[", count: 513), contains: "not valid JSON")
        optionsError(try fixtureOptionsText(replacing: "\"dim\":8", with: "\"dim\":\"8\""), contains: "lstm.dim must be an integer")
        optionsError(try fixtureOptionsText(replacing: "\"dim\":8", with: "\"dim\":1000000000"), contains: "lstm.dim = 1000000000 is outside")
        optionsError(try fixtureOptionsText(replacing: "\"n_layers\":2", with: "\"n_layers\":0"), contains: "lstm.n_layers = 0 is outside")
        optionsError(try fixtureOptionsText(replacing: "\"filters\":[[1,4],[2,8]]", with: "\"filters\":[[1,4],[2]]"),
                     contains: "char_cnn.filters[1] must be a [width, count] pair")
        optionsError(try fixtureOptionsText(replacing: "\"filters\":[[1,4],[2,8]]", with: "\"filters\":[[60,4]]"),
                     contains: "width 60")
        optionsError(try fixtureOptionsText(replacing: "\"use_skip_connections\":true", with: "\"x\":1"),
                     contains: "lstm.use_skip_connections is missing")
        optionsError(try fixtureOptionsText(replacing: "\"projection_dim\":4", with: "\"projection_dim\":9"),
                     contains: "projection_dim 9 exceeds lstm.dim 8")
        optionsError("{\"char_cnn\": {}}", contains: "lstm is missing")
    }

    func testMissingNonRegularAndCorruptFiles() throws {
        let (o, w) = try writeVariant()
        assertLoadError(o, joinPath(dir, "nope.hdf5"), kind: .io, contains: ["nope.hdf5", "not found"])
        assertLoadError(joinPath(dir, "nope.json"), w, kind: .io, contains: ["nope.json", "not found"])
        assertLoadError(o, dir, kind: .io, contains: ["is a directory"])
        assertLoadError(o, "/dev/zero", kind: .io, contains: ["not a regular file"])
        let text = joinPath(dir, "text.hdf5")
        try writeText("this is not HDF5", to: text)
        assertLoadError(o, text, kind: .invalidModel, contains: ["not an HDF5 file"])
        // A weights file cut in half: HDF5's header survives but the data does not.
        let bytes = try Data(contentsOf: URL(fileURLWithPath: w))
        let cut = joinPath(dir, "cut.hdf5")
        try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: cut))
        XCTAssertThrowsError(try ElmoModel(optionsFile: o, weightsFile: cut)) { error in
            XCTAssertTrue((error as? ElmoError)?.message.contains(cut) ?? false, "\(error)")
        }
    }

    func testLocatorFindsOptionsBesideWeightsAndInDirectories() throws {
        let (_, w) = try writeVariant()
        XCTAssertEqual(try ElmoModel(path: w).options, smallOptions())
        XCTAssertEqual(try ElmoModel(path: dir).options, smallOptions())
        // Release naming: X_weights.hdf5 next to X_options.json.
        let rel = try temporaryDirectory()
        try FileManager.default.copyItem(atPath: w, toPath: joinPath(rel, "elmo_test_weights.hdf5"))
        try writeText(smallOptions().json.serialized, to: joinPath(rel, "elmo_test_options.json"))
        XCTAssertEqual(try ElmoModel(path: joinPath(rel, "elmo_test_weights.hdf5")).options, smallOptions())
        let lonely = try temporaryDirectory()
        try FileManager.default.copyItem(atPath: w, toPath: joinPath(lonely, "w.hdf5"))
        XCTAssertThrowsError(try ElmoModel(path: joinPath(lonely, "w.hdf5"))) { error in
            XCTAssertTrue("\(error)".contains("no options file"), "\(error)")
        }
        XCTAssertThrowsError(try ElmoModel(path: joinPath(lonely, "missing"))) { error in
            XCTAssertTrue("\(error)".contains("model not found"), "\(error)")
        }
    }

    func testPublishedOptionsFilesParse() throws {
        // The released elmo_2x4096_512_2048cnn_2xhighway_options.json, verbatim in content.
        let original = """
        {"lstm": {"use_skip_connections": true, "projection_dim": 512, "cell_clip": 3, "proj_clip": 3, "dim": 4096, "n_layers": 2},
         "char_cnn": {"activation": "relu", "filters": [[1, 32], [2, 32], [3, 64], [4, 128], [5, 256], [6, 512], [7, 1024]],
         "n_highway": 2, "embedding": {"dim": 16}, "n_characters": 262, "max_characters_per_token": 50}}
        """
        let options = try ElmoOptions.parse(json: Array(original.utf8))
        XCTAssertEqual(options, ElmoRandomModel.publishedOptions("original"))
        XCTAssertEqual(options.outputDim, 1024)
        XCTAssertEqual(options.charCNN.totalFilters, 2048)
        let dir = try Fixtures.require()
        let fixture = try ElmoOptions(contentsOfFile: dir + "/options.json")
        XCTAssertEqual(fixture.lstm.dim, 64)
        XCTAssertEqual(fixture.charCNN.highwayCount, 2)
    }
}
