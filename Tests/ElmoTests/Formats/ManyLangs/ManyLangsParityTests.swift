import Foundation
import XCTest
@testable import Elmo

/// The ELMoForManyLangs fixture (../shared/fixtures/elmoformanylangs, or
/// $ELMO_MANYLANGS_FIXTURE): a random-weight model in the package's format and the package's
/// own outputs (see its README).
enum ManyLangsFixture {
    static var directory: String? {
        if let env = getenv("ELMO_MANYLANGS_FIXTURE") { return String(cString: env) }
        let dir = Fixtures.repositoryRoot + "/../shared/fixtures/elmoformanylangs"
        return FileManager.default.fileExists(atPath: dir + "/reference.npz") ? dir : nil
    }

    static func require() throws -> String {
        guard let d = directory else {
            throw XCTSkip("ELMoForManyLangs fixture not found: set ELMO_MANYLANGS_FIXTURE or put it at \(Fixtures.repositoryRoot)/../shared/fixtures/elmoformanylangs")
        }
        return d
    }

    static var model: String { get throws { try require() + "/model" } }

    /// The fixture's sentences in index order.
    static func sentences() throws -> [[String]] {
        let json = try JSONValue.parse(try Data(contentsOf: URL(fileURLWithPath: try require() + "/reference.json")))
        return try XCTUnwrap(json["sentences"]?.arrayValue).map { s in
            try XCTUnwrap(s["tokens"]?.arrayValue).map { try XCTUnwrap($0.stringValue) }
        }
    }

    static func key(_ prefix: String, _ i: Int) -> String { prefix + "_s" + String(format: "%04d", i) }
}

final class ManyLangsParityTests: XCTestCase {
    /// A batch of the sentences as given, empty tokens included (the package accepts them;
    /// libelmo's public entry points refuse empty tokens, so this builds the batch directly).
    private func batch(_ sentences: [[String]]) throws -> TokenBatch {
        var b = TokenBatch()
        for (s, sentence) in sentences.enumerated() {
            try b.beginSentence()
            for t in sentence { b.appendToken(t.utf8) }
            try b.endSentence(index: s)
        }
        return b
    }

    func testWordAndCharacterIdsMatchThePackage() throws {
        let dir = try ManyLangsFixture.require()
        let model = try ElmoModel(path: dir + "/model")
        let npz = try NPZReader(path: dir + "/reference.npz")
        for (i, sentence) in try ManyLangsFixture.sentences().enumerated() {
            let words = try npz.array(ManyLangsFixture.key("W", i)).ints
            let chars = try npz.array(ManyLangsFixture.key("C", i))
            XCTAssertEqual(chars.shape, [sentence.count + 2, 50])
            for (p, token) in (["<bos>"] + sentence + ["<eos>"]).enumerated() {
                let ids = try XCTUnwrap(model.manyLangsIds(for: token))
                XCTAssertEqual(ids.word, Int(words[p]), "sentence \(i) position \(p) '\(token)': word id")
                XCTAssertEqual(ids.characters, chars.ints[(p * 50)..<((p + 1) * 50)].map(Int.init),
                               "sentence \(i) position \(p) '\(token)': char ids")
            }
        }
    }

    /// Every output layer of every fixture sentence within 1e-4 of the package's (all
    /// sentences in one batch, then again one at a time: identical bits).
    func testEveryLayerMatchesThePackage() throws {
        let dir = try ManyLangsFixture.require()
        let model = try ElmoModel(path: dir + "/model")
        XCTAssertEqual(model.layerCount, 3)
        XCTAssertEqual(model.outputDim, 64)
        let npz = try NPZReader(path: dir + "/reference.npz")
        let sentences = try ManyLangsFixture.sentences()
        let session = ElmoSession(model: model)
        let all = try session.embed(try batch(sentences))
        var worst: Float = 0
        for (i, sentence) in sentences.enumerated() {
            let n = sentence.count
            let layers = all.layers(sentence: i)
            XCTAssertEqual(layers.shape, [3, n, 64])
            let expected = try npz.array(ManyLangsFixture.key("L-2", i))
            XCTAssertEqual(expected.shape, [3, n, 64])
            for (k, v) in expected.floats.enumerated() { worst = max(worst, abs(v - layers.values[k])) }
            // -1: the plain mean of the layers is libelmo's default `elmo` output.
            let mean = try npz.array(ManyLangsFixture.key("L-1", i))
            let elmo = try all.output(.elmo(nil), sentence: i)
            for (k, v) in mean.floats.enumerated() { worst = max(worst, abs(v - elmo.values[k])) }
            for layer in 0..<3 {
                let one = try npz.array(ManyLangsFixture.key("L\(layer)", i))
                let ours = layer == 0 ? layers.values[0..<(n * 64)] : try all.output(.lstm(layer), sentence: i).values[...]
                for (k, v) in one.floats.enumerated() { worst = max(worst, abs(v - ours[ours.startIndex + k])) }
            }
            let alone = try ElmoSession(model: model).embed(try batch([sentence]))
            XCTAssertEqual(alone.layers(sentence: 0), layers, "sentence \(i): batch-dependent result")
        }
        XCTAssertLessThan(worst, 1e-4)
        print("ELMoForManyLangs fixture: max |libelmo - package| over every layer of \(sentences.count) sentences: \(worst)")
    }

    /// A vocabulary too large for per-character tables is convolved instead: the same
    /// parity, the same native round trip, bf16 too.
    func testConvolvedCharacterCNN() throws {
        let dir = try ManyLangsFixture.require()
        let saved = ManyLangsDirectory.characterTableLimitBytes
        ManyLangsDirectory.characterTableLimitBytes = 0
        defer { ManyLangsDirectory.characterTableLimitBytes = saved }
        let model = try ElmoModel(path: dir + "/model")
        XCTAssertEqual(model.options.manyLangs?.characterTables, false)
        XCTAssertTrue(model.weights.filters.isEmpty)
        let npz = try NPZReader(path: dir + "/reference.npz")
        let sentences = try ManyLangsFixture.sentences()
        let all = try ElmoSession(model: model).embed(try batch(sentences))
        var worst: Float = 0
        for i in sentences.indices {
            let expected = try npz.array(ManyLangsFixture.key("L-2", i)).floats
            let ours = all.layers(sentence: i).values
            for (k, v) in expected.enumerated() { worst = max(worst, abs(v - ours[k])) }
        }
        XCTAssertLessThan(worst, 1e-4)
        let tmp = NSTemporaryDirectory() + "manylangs-conv-\(getpid()).elmo"
        defer { unlink(tmp) }
        try model.writeNative(to: tmp)
        let native = try ElmoModel(path: tmp)
        XCTAssertEqual(native.options.manyLangs?.characterTables, false)
        XCTAssertEqual(try ElmoSession(model: native).embed(try batch(sentences)).allLayers, all.allLayers)
        // bf16 (the filter matrices too): close in direction to fp32, not identical.
        let bf16 = try ElmoSession(model: try ElmoModel(path: dir + "/model", loadOptions: .init(precision: .bf16)))
            .embed(try batch(sentences))
        var cosine: Float = 1
        for i in sentences.indices where sentences[i].count > 0 {
            let a = all.layers(sentence: i).values, b = bf16.layers(sentence: i).values
            let dot = zip(a, b).reduce(0) { $0 + $1.0 * $1.1 }
            let na = a.reduce(0) { $0 + $1 * $1 }.squareRoot(), nb = b.reduce(0) { $0 + $1 * $1 }.squareRoot()
            cosine = min(cosine, dot / (na * nb))
        }
        XCTAssertNotEqual(bf16.allLayers, all.allLayers)
        XCTAssertGreaterThan(cosine, 0.99)
        print("convolved character CNN: max |libelmo - package| \(worst); bf16 smallest cosine to fp32 \(cosine)")
    }

    /// The package's own stateful output (its LSTM state carried from batch to batch, row by
    /// row) is reproduced by a stateful session fed the same batches in the same order, each
    /// batch's rows sorted longest first as the package sorts them (the fixture's sample).
    func testStatefulSessionReproducesThePackagesStatefulOutput() throws {
        let dir = try ManyLangsFixture.require()
        let model = try ElmoModel(path: dir + "/model")
        let npz = try NPZReader(path: dir + "/reference.npz")
        let sentences = try ManyLangsFixture.sentences()
        let json = try JSONValue.parse(try Data(contentsOf: URL(fileURLWithPath: dir + "/reference.json")))
        let batches = try XCTUnwrap(json["stateful_sample"]?["batches_in_processing_order"]?.arrayValue).map {
            try XCTUnwrap($0.arrayValue).map { try XCTUnwrap($0.intValue) }
        }
        XCTAssertEqual(batches.flatMap { $0 }.sorted(), Array(0..<10))
        let session = ElmoSession(model: model, stateful: true)
        var worst: Float = 0, fromZero: Float = 0
        for batch in batches {
            let result = try session.embed(batch.map { sentences[$0] })
            let fresh = try ElmoSession(model: model).embed(batch.map { sentences[$0] })
            for (row, i) in batch.enumerated() {
                let expected = try npz.array("stateful_b4_L-2_s" + String(format: "%04d", i)).floats
                let ours = result.layers(sentence: row).values, zero = fresh.layers(sentence: row).values
                for (k, v) in expected.enumerated() {
                    worst = max(worst, abs(v - ours[k]))
                    fromZero = max(fromZero, abs(v - zero[k]))
                }
            }
        }
        XCTAssertLessThan(worst, 1e-4)
        XCTAssertGreaterThan(fromZero, 0.1)  // the carried state matters
    }

    func testNativeFileRoundTripIsBitIdenticalAndKeepsTheVocabularies() throws {
        let dir = try ManyLangsFixture.require()
        let model = try ElmoModel(path: dir + "/model")
        let tmp = NSTemporaryDirectory() + "manylangs-\(getpid()).elmo"
        defer { unlink(tmp) }
        try model.writeNative(to: tmp)
        let native = try ElmoModel(path: tmp)
        XCTAssertEqual(native.options, model.options)
        let sentences = try ManyLangsFixture.sentences()
        let a = try ElmoSession(model: model).embed(try batch(sentences))
        let b = try ElmoSession(model: native).embed(try batch(sentences))
        XCTAssertEqual(a.allLayers, b.allLayers)
        for token in ["the", "Zürich", "<bos>", "😀", ""] {
            XCTAssertEqual(native.manyLangsIds(for: token)?.characters, model.manyLangsIds(for: token)?.characters)
            XCTAssertEqual(native.manyLangsIds(for: token)?.word, model.manyLangsIds(for: token)?.word)
        }
    }

    /// bf16 weights: close to fp32 (no exact reference exists), and the bf16 native file
    /// reloads bit-identically.
    func testBF16() throws {
        let dir = try ManyLangsFixture.require()
        let sentences = Array(try ManyLangsFixture.sentences().prefix(20))
        let fp32 = try ElmoSession(model: try ElmoModel(path: dir + "/model")).embed(try batch(sentences))
        let model = try ElmoModel(path: dir + "/model", loadOptions: ElmoLoadOptions(precision: .bf16))
        XCTAssertEqual(model.precision, .bf16)
        let bf16 = try ElmoSession(model: model).embed(try batch(sentences))
        var worst: Float = 0
        for (a, b) in zip(fp32.allLayers, bf16.allLayers) { worst = max(worst, abs(a - b)) }
        XCTAssertGreaterThan(worst, 0)
        XCTAssertLessThan(worst, 0.1)
        let tmp = NSTemporaryDirectory() + "manylangs-bf16-\(getpid()).elmo"
        defer { unlink(tmp) }
        try model.writeNative(to: tmp)
        XCTAssertEqual(try ElmoModel.storedPrecision(path: tmp), .bf16)
        let again = try ElmoSession(model: try ElmoModel(path: tmp, loadOptions: ElmoLoadOptions(precision: .bf16)))
            .embed(try batch(sentences))
        XCTAssertEqual(again.allLayers, bf16.allLayers)
    }
}
