import XCTest
import CElmoKernels
@testable import Elmo
@testable import ElmoHDF5

/// Models at int8 precision: accuracy against fp32 within the bounds (mean token
/// cosine >= 0.999 per layer and for `default`, no token below 0.99), the determinism of the
/// other precisions (kernel variants, threads, batch composition), and the int8 native file.
final class Int8ModelTests: XCTestCase {
    override func tearDown() { KernelVariants.restore() }

    static let sentences = BF16ModelTests.sentences

    func agreement(_ fp32: ElmoModel, _ int8: ElmoModel, _ batch: [[String]]) throws -> (LayerAgreement, defaultCosine: Double, minDefault: Double) {
        let a = try ElmoSession(model: fp32).embed(batch), b = try ElmoSession(model: int8).embed(batch)
        let agreement = LayerAgreement(a.allLayers, b.allLayers, tokenCounts: a.tokenCounts, layers: fp32.layerCount,
                                       width: fp32.outputDim)
        var cos = 0.0, worst = 1.0
        for i in 0..<batch.count {
            let va = try a.output(.sentenceMean(nil), sentence: i).values, vb = try b.output(.sentenceMean(nil), sentence: i).values
            let c = va.withUnsafeBufferPointer { pa in vb.withUnsafeBufferPointer { LayerAgreement.cosine(pa, $0) } }
            cos += c
            worst = min(worst, c)
        }
        return (agreement, cos / Double(batch.count), worst)
    }

    func assertBounds(_ r: (LayerAgreement, defaultCosine: Double, minDefault: Double), _ what: String) {
        print("\(what): max |diff| per layer \(r.0.maxAbsDiff), mean cosine \(r.0.meanCosine), min cosine \(r.0.minCosine), "
              + "default mean cosine \(r.defaultCosine) (min \(r.minDefault))")
        for layer in 0..<r.0.meanCosine.count {
            XCTAssertGreaterThanOrEqual(r.0.meanCosine[layer], 0.999, "\(what) layer \(layer)")
            XCTAssertGreaterThanOrEqual(r.0.minCosine[layer], 0.99, "\(what) layer \(layer)")
        }
        XCTAssertGreaterThanOrEqual(r.defaultCosine, 0.999, "\(what) default")
        XCTAssertGreaterThan(r.0.maxAbsDiff.max() ?? 0, 0, "int8 really computes something else")
    }

    /// The bilm-tf fixture at int8, and its top layer against bilm-tf's own output.
    func testFixtureAccuracy() throws {
        let fp32 = try Fixtures.model()
        let int8 = try ElmoModel(weights: fp32.weights, sourceDescription: "fixture", loadOptions: ElmoLoadOptions(precision: .int8))
        XCTAssertEqual(int8.precision, .int8)
        for (k, batch) in try Fixtures.sentences().enumerated() {
            assertBounds(try agreement(fp32, int8, batch), "fixture batch \(k)")
        }
        let worstTop = try Fixtures.worstTopLayerDifference(int8)
        print("fixture top layer at int8 vs bilm-tf (30 sentences, stateful): max |diff| \(worstTop)")
        XCTAssertLessThan(worstTop, 0.05)
    }

    /// A small random model of the original's structure, on the test sentences and on one
    /// long sentence (errors must not build up along the recurrence), for both LSTM scales of the random-model generator: the tame one (a 300-token sentence) and
    /// the non-contractive one (activations neither saturated nor vanishing, so errors are
    /// carried along the recurrence and amplified: a 40-token sentence, more than twice the
    /// corpus mean). Measured on that model (BENCHMARKS.md): every reduced precision drifts on
    /// longer sentences (at 80 tokens bf16's smallest token cosine is 0.978, int8's 0.68), and
    /// each int8 product alone (weights quantised, the rest fp32) already costs 0.99 mean
    /// cosine at 80 tokens for the recurrent matrix; the bounds hold up to about 40 tokens.
    func testSmallRandomModelAndLongSentenceAccuracy() throws {
        let words = try Fixtures.sentences().flatMap { $0 }.flatMap { $0 }
        for (name, scale, length) in [("tame", ElmoRandomModel.LSTMScale.tame, 300), ("non-contractive", .nonContractive, 40)] {
            let long = (0..<length).map { words[$0 % words.count] }
            let dir = try temporaryDirectory()
            let files = try ElmoRandomModel.write(options: BF16ModelTests.smallOriginalLike, seed: 9, directory: dir, lstmScale: scale)
            let fp32 = try ElmoModel(optionsFile: files.options, weightsFile: files.weights)
            let int8 = try ElmoModel(optionsFile: files.options, weightsFile: files.weights, loadOptions: ElmoLoadOptions(precision: .int8))
            assertBounds(try agreement(fp32, int8, Self.sentences + (try Fixtures.sentences().flatMap { $0 })), "small \(name) model")
            assertBounds(try agreement(fp32, int8, [long]), "small \(name) model, \(length)-token sentence")
        }
    }

    /// int8 results are bit-identical for every int8 kernel variant, thread count and
    /// schedule, and a sentence gets the same bits alone as in a batch.
    func testBitIdenticalAcrossVariantsThreadsAndBatches() throws {
        let dir = try temporaryDirectory()
        let files = try ElmoRandomModel.write(options: BF16ModelTests.smallOriginalLike, seed: 3, directory: dir)
        let model = try ElmoModel(optionsFile: files.options, weightsFile: files.weights, loadOptions: ElmoLoadOptions(precision: .int8))
        let batch = Self.sentences
        _ = elmo_kernel_force_variant(ELMO_KERNELS_INT8, 0)
        let reference = try ElmoSession(model: model, threads: 1).embed(batch)
        for level in KernelVariants.available(ELMO_KERNELS_INT8) {
            XCTAssertEqual(elmo_kernel_force_variant(ELMO_KERNELS_INT8, level), level)
            for threads in [1, 2, 3] {
                XCTAssertEqual(try ElmoSession(model: model, threads: threads).embed(batch).allLayers.map(\.bitPattern),
                               reference.allLayers.map(\.bitPattern), "\(KernelVariants.name(ELMO_KERNELS_INT8)), \(threads) threads")
            }
        }
        _ = elmo_kernel_force_variant(ELMO_KERNELS_INT8, -1)
        for (i, s) in batch.enumerated() {
            XCTAssertEqual(try ElmoSession(model: model, threads: 2).embed([s]).allLayers, try reference.layers(sentence: i).values)
        }
    }

    /// The int8 native file: LSTM matrices a quarter of fp32's, mapped as is, the same bits.
    func testInt8NativeFileIsSmallMappedAsIsAndBitIdentical() throws {
        let fp32 = try Fixtures.model()
        let int8 = try ElmoModel(weights: fp32.weights, sourceDescription: "fixture", loadOptions: ElmoLoadOptions(precision: .int8))
        let dir = try temporaryDirectory()
        let path = dir + "/model-int8.safetensors"
        try int8.writeNative(to: path)
        XCTAssertEqual(try ElmoModel.storedPrecision(path: path), .int8)
        let loaded = try ElmoModel(nativeFile: path, loadOptions: ElmoLoadOptions(precision: .int8))
        XCTAssertEqual(loaded.precision, .int8)
        let recurrent = loaded.weights.lstm[0][0].recurrent
        XCTAssertEqual(recurrent.element, .i8)
        XCTAssertEqual(recurrent.tensor.byteCount * 4, fp32.weights.lstm[0][0].recurrent.tensor.byteCount)
        XCTAssertEqual(recurrent.tensor.storage.byteCount, (try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? -1,
                       "a view into the whole-file mapping")
        XCTAssertEqual(try ElmoSession(model: loaded).embed(Self.sentences).allLayers,
                       try ElmoSession(model: int8).embed(Self.sentences).allLayers)
        // Widened back to fp32: each weight is its scale times its int8 value.
        let widened = try ElmoModel(nativeFile: path, loadOptions: ElmoLoadOptions(precision: .fp32))
        XCTAssertEqual(widened.precision, .fp32)
        var d = recurrent.int8Descriptor
        let w = widened.weights.lstm[0][0].recurrent
        for k in 0..<w.rows {
            for j in 0..<min(w.cols, 64) { XCTAssertEqual(w.tensor.pointer[k * 64 + j], elmo_int8_packed_value(&d, k, j)) }
        }
    }
}
