import Foundation
import XCTest
@testable import Elmo
@testable import ElmoHDF5

/// TF Hub modules load to the same model as the official files with the same weights.
final class TFHubModuleTests: XCTestCase {
    var dir = ""
    override func setUpWithError() throws { dir = try temporaryDirectory() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

    static let texts = [
        "The bank of the river was muddy .",
        "She deposited the cheque at the bank",
        "Ünïcödé wörds , emoji 🙂 and a veryveryveryveryveryveryveryveryveryverylongtokenbeyondfiftycharacters",
        "ok",
    ]

    /// Every output of `a` and `b` for the same batch; the largest difference seen.
    func compareAllOutputs(_ a: ElmoModel, _ b: ElmoModel, file: StaticString = #filePath, line: UInt = #line) throws -> Float {
        XCTAssertEqual(a.options, b.options, file: file, line: line)
        let ra = try ElmoSession(model: a).embed(texts: Self.texts)
        let rb = try ElmoSession(model: b).embed(texts: Self.texts)
        var worst: Float = 0
        let outputs: [ElmoOutput] = [.allLayers, .wordEmbedding, .elmo(nil), .sentenceMean(nil)]
            + (1...a.options.lstm.layerCount).map { .lstm($0) }
        for s in 0..<Self.texts.count {
            for output in outputs {
                let d = maxAbsDifference(try ra.output(output, sentence: s), try rb.output(output, sentence: s))
                XCTAssertLessThanOrEqual(d, 1e-6, "sentence \(s) output \(output)", file: file, line: line)
                worst = max(worst, d)
            }
        }
        return worst
    }

    // MARK: the TensorFlow-written fixture

    func testModuleDirectoryEmbedsLikeItsHDF5Twin() throws {
        let hub = try ElmoModel(path: TFHubFixture.module)
        XCTAssertTrue(hub.sourceDescription.contains("TF Hub module"), hub.sourceDescription)
        let twin = try TFHubFixture.twin()
        XCTAssertEqual(hub.defaultMix, try TFHubFixture.mix())
        XCTAssertNotEqual(hub.defaultMix, .average(layerCount: 3), "the fixture's mix must not be the plain average")
        let worst = try compareAllOutputs(hub, twin)
        print("TF Hub module vs HDF5 twin: max |diff| = \(worst)")
        XCTAssertEqual(worst, 0, "same weights, same arithmetic: the results should be bit-identical")
    }

    func testTarballEmbedsLikeItsHDF5Twin() throws {
        let hub = try ElmoModel(path: TFHubFixture.tarball)
        XCTAssertTrue(hub.sourceDescription.contains("archive"), hub.sourceDescription)
        XCTAssertEqual(hub.defaultMix, try TFHubFixture.mix())
        XCTAssertEqual(try compareAllOutputs(hub, try TFHubFixture.twin()), 0)
    }

    /// The module's own mix drives `elmo` and `default`: check against a mix computed here.
    func testDefaultOutputsUseTheModulesMix() throws {
        let hub = try ElmoModel(tfHubModule: TFHubFixture.module)
        let mix = try TFHubFixture.mix()
        let r = try ElmoSession(model: hub).embed(texts: Self.texts)
        let e = mix.weights.map { Foundation.exp(Double($0)) }, z = e.reduce(0, +)
        for s in 0..<Self.texts.count {
            let all = r.layers(sentence: s)
            let elmo = try r.output(.elmo(nil), sentence: s)
            for t in 0..<all.shape[1] {
                for d in 0..<all.shape[2] {
                    let expected = Double(mix.gamma) * (0..<3).reduce(0.0) { $0 + e[$1] / z * Double(all[$1, t, d]) }
                    XCTAssertEqual(Double(elmo[t, d]), expected, accuracy: 1e-5)
                }
            }
        }
    }

    /// Every tensor TensorFlow wrote equals the twin's, bit for bit (char_embed one row down).
    func testBundleTensorsEqualTheTwinsBitForBit() throws {
        let options = try ElmoOptions(contentsOfFile: TFHubFixture.twinOptions)
        let bundle = try TensorBundle(prefix: TFHubFixture.module + "/variables/variables")
        XCTAssertEqual(bundle.header.numShards, 1)
        let twin = try HDF5Reader(path: TFHubFixture.twinWeights)
        var names = Set(bundle.tensorNames)
        for (name, shape) in ReferenceELMo.officialShapes(options) {
            let expected = try twin.readFloats(name, expected: shape).values
            let hubName = TFHubFixture.hubName(name)
            var got = try bundle.floats(hubName).values
            if name == "char_embed" {
                XCTAssertEqual(Array(got.prefix(shape[1])), [Float](repeating: 0, count: shape[1]))
                got.removeFirst(shape[1])
            }
            XCTAssertEqual(got.map(\.bitPattern), expected.map(\.bitPattern), name)
            names.remove(hubName)
        }
        XCTAssertEqual(names, ["aggregation/weights", "aggregation/scaling"])
        XCTAssertEqual(bundle.entry("aggregation/scaling")?.shape, [1])
    }

    func testInferredOptionsMatchTheTwinsOptionsFile() throws {
        let module = try TFHubModule(location: try XCTUnwrap(TFHubLocation.directory(TFHubFixture.module)))
        XCTAssertEqual(module.bilmPrefix, "bilm/")
        XCTAssertEqual(try module.inferredOptions(), try ElmoOptions(contentsOfFile: TFHubFixture.twinOptions))
    }

    func testLocatorRecognisesModulesAndArchives() throws {
        XCTAssertEqual(try ModelLocator.locate(path: TFHubFixture.module, optionsFile: nil),
                       .tfHub(.directory(TFHubFixture.module, variablesPrefix: TFHubFixture.module + "/variables/variables")))
        XCTAssertEqual(try ModelLocator.locate(path: TFHubFixture.module + "/variables", optionsFile: nil),
                       .tfHub(.directory(TFHubFixture.module + "/variables", variablesPrefix: TFHubFixture.module + "/variables/variables")))
        XCTAssertEqual(try ModelLocator.locate(path: TFHubFixture.tarball, optionsFile: nil), .tfHub(.archive(TFHubFixture.tarball)))
        // A tarball is recognised by content too (TF Hub's cache names downloads by hash).
        let renamed = dir + "/0123abcd"
        try FileManager.default.copyItem(atPath: TFHubFixture.tarball, toPath: renamed)
        XCTAssertEqual(try ModelLocator.locate(path: renamed, optionsFile: nil), .tfHub(.archive(renamed)))
        XCTAssertEqual(try ModelLocator.locate(path: TFHubFixture.twinWeights, optionsFile: nil),
                       .official(options: TFHubFixture.twinOptions, weights: TFHubFixture.twinWeights))
    }

    func testExplicitOptionsFileOverridesInference() throws {
        var options = try ElmoOptions(contentsOfFile: TFHubFixture.twinOptions)
        options.lstm.cellClip = 0.5
        let path = dir + "/options.json"
        try writeText(options.json.serialized, to: path)
        let hub = try ElmoModel(path: TFHubFixture.module, optionsFile: path)
        XCTAssertEqual(hub.options.lstm.cellClip, 0.5)
        XCTAssertTrue(hub.sourceDescription.contains(path))
    }

    // MARK: synthetic modules: other names and forms

    /// Rewrites the fixture twin as a module with `prefix`, a `charRows`-row embedding and
    /// scaling of `scalingShape`, then checks it embeds exactly like the twin.
    func checkVariant(prefix: String, charRows: Int, scalingShape: [Int], aggregationPrefix: String,
                      file: StaticString = #filePath, line: UInt = #line) throws {
        let options = try ElmoOptions(contentsOfFile: TFHubFixture.twinOptions)
        let records = try TFHubFixture.moduleRecords(options: options, weights: TFHubFixture.twinWeights, prefix: prefix,
                                                     charRows: charRows, mix: try TFHubFixture.mix(),
                                                     scalingShape: scalingShape, aggregationPrefix: aggregationPrefix)
        let module = try TestBundleWriter.writeModule(records, to: dir + "/variant", blockSize: 200)
        let hub = try ElmoModel(path: module)
        XCTAssertEqual(hub.defaultMix, try TFHubFixture.mix(), file: file, line: line)
        XCTAssertEqual(try compareAllOutputs(hub, try TFHubFixture.twin(), file: file, line: line), 0, file: file, line: line)
    }

    func testModulePrefixedNames261RowsScalarScaling() throws {
        try checkVariant(prefix: "module/bilm/", charRows: 261, scalingShape: [], aggregationPrefix: "module/")
    }

    func testModulePrefixedBilmWithUnprefixedAggregation() throws {
        try checkVariant(prefix: "module/bilm/", charRows: 262, scalingShape: [1], aggregationPrefix: "")
    }

    func testPlainNamesWithModulePrefixedAggregationAndScalarScaling() throws {
        try checkVariant(prefix: "bilm/", charRows: 262, scalingShape: [], aggregationPrefix: "module/")
    }

    /// Configurations no published module has: the inference must still find them, and the
    /// result must embed exactly like the official files.
    func testInferenceAcrossConfigurations() throws {
        func make(_ filters: [(Int, Int)], highway: Int, dim: Int, proj: Int, layers: Int) -> ElmoOptions {
            ElmoOptions(charCNN: .init(embeddingDim: 3, filters: filters.map { .init(width: $0.0, count: $0.1) },
                                       highwayCount: highway, characterCount: 262, maxCharactersPerToken: 50, activation: .relu),
                        lstm: .init(dim: dim, projectionDim: proj, layerCount: layers, cellClip: 3, projectionClip: 3,
                                    useSkipConnections: true))
        }
        let configurations = [
            make([(1, 4), (2, 4)], highway: 0, dim: 8, proj: 8, layers: 1),  // no CNN projection, no LSTM projection
            make([(1, 3), (3, 5)], highway: 1, dim: 12, proj: 4, layers: 3),  // three layers
            make([(2, 6)], highway: 3, dim: 6, proj: 6, layers: 2),  // F == P: no CNN projection, no LSTM projection
        ]
        for (k, options) in configurations.enumerated() {
            let modelDir = dir + "/config\(k)"
            try FileManager.default.createDirectory(atPath: modelDir, withIntermediateDirectories: true)
            let (o, w) = try ElmoRandomModel.write(options: options, seed: UInt64(100 + k), directory: modelDir)
            let mix = ScalarMix(weights: (0...options.lstm.layerCount).map { Float($0) * 0.3 - 0.2 }, gamma: 0.8)
            let records = try TFHubFixture.moduleRecords(options: options, weights: w, mix: mix)
            let hub = try ElmoModel(path: try TestBundleWriter.writeModule(records, to: modelDir + "/hub"))
            XCTAssertEqual(hub.options, options, "configuration \(k)")
            let official = try ElmoModel(optionsFile: o, weightsFile: w)
            let twin = try ElmoModel(weights: official.weights, sourceDescription: "", defaultMix: mix)
            XCTAssertEqual(try compareAllOutputs(hub, twin), 0, "configuration \(k)")
        }
    }

    /// Variables the model does not use are ignored.
    func testExtraVariablesAreIgnored() throws {
        let options = try ElmoOptions(contentsOfFile: TFHubFixture.twinOptions)
        var records = try TFHubFixture.moduleRecords(options: options, weights: TFHubFixture.twinWeights, mix: try TFHubFixture.mix())
        records.append(TestBundleWriter.floats("global_step", [], [7]))
        records.append(TestBundleWriter.TensorRecord(name: "bilm/some_int_state", dtype: 3, shape: [2], data: [1, 0, 0, 0, 2, 0, 0, 0]))
        records.append(TestBundleWriter.floats("bilm/softmax/W", [3, 2], [1, 2, 3, 4, 5, 6]))
        let hub = try ElmoModel(path: try TestBundleWriter.writeModule(records, to: dir + "/extra"))
        XCTAssertEqual(try compareAllOutputs(hub, try TFHubFixture.twin()), 0)
    }

    /// DT_DOUBLE variables are converted to float32.
    func testDoubleVariablesAreConverted() throws {
        let options = try ElmoOptions(contentsOfFile: TFHubFixture.twinOptions)
        var records = try TFHubFixture.moduleRecords(options: options, weights: TFHubFixture.twinWeights, mix: try TFHubFixture.mix())
        for i in records.indices where records[i].name.hasPrefix("bilm/CNN_high_1/") {
            let floats = records[i].data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
            records[i].dtype = 2
            records[i].data = floats.map(Double.init).withUnsafeBytes { Array($0) }
        }
        let hub = try ElmoModel(path: try TestBundleWriter.writeModule(records, to: dir + "/double"))
        XCTAssertEqual(try compareAllOutputs(hub, try TFHubFixture.twin()), 0)
    }
}
