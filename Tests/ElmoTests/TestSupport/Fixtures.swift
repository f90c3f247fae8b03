import XCTest
@testable import Elmo
@testable import ElmoHDF5

/// The bilm-tf fixture (../shared/fixtures/bilm-tf beside the repository, or $ELMO_FIXTURES).
enum Fixtures {
    static var repositoryRoot: String {
        var parts = "\(#filePath)".split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(4)  // Tests/ElmoTests/TestSupport/Fixtures.swift
        return parts.joined(separator: "/")
    }

    static var directory: String? {
        if let env = getenv("ELMO_FIXTURES") { return String(cString: env) }
        let dir = repositoryRoot + "/../shared/fixtures/bilm-tf"
        return FileManager.default.fileExists(atPath: dir + "/lm_weights.hdf5") ? dir : nil
    }

    /// The fixture directory, or an XCTSkip saying where it was looked for.
    static func require() throws -> String {
        guard let d = directory else {
            throw XCTSkip("bilm-tf fixtures not found: set ELMO_FIXTURES or put them at \(repositoryRoot)/../shared/fixtures/bilm-tf")
        }
        return d
    }

    static func model() throws -> ElmoModel {
        let d = try require()
        return try ElmoModel(optionsFile: d + "/options.json", weightsFile: d + "/lm_weights.hdf5")
    }

    /// sentences[k][i]: the fixture's 3 lists of 10 sentences, tokens split on spaces.
    static func sentences() throws -> [[[String]]] {
        let d = try require()
        let json = try JSONValue.parse(try Data(contentsOf: URL(fileURLWithPath: d + "/sentences.json")))
        return try XCTUnwrap(json.arrayValue).map { list in
            try XCTUnwrap(list.arrayValue).map { s in
                try XCTUnwrap(s.stringValue).split(separator: " ").map(String.init)
            }
        }
    }

    /// Expected top layer of sentences[k][i]: shape (2, tokens, P), [forward, backward].
    static func expectedTopLayer(k: Int, i: Int, tokens: Int, projectionDim: Int) throws -> Tensor {
        let d = try require()
        let reader = try HDF5Reader(path: d + "/lm_embeddings_\(k).hdf5")
        return try reader.readFloats("\(i)", expected: [2, tokens, projectionDim])
    }

    /// Largest |difference| between `model`'s top layer and bilm-tf's over all 30 fixture
    /// sentences, run through one stateful session in the fixture's batches of 3 (as bilm-tf ran them).
    static func worstTopLayerDifference(_ model: ElmoModel) throws -> Float {
        let sentences = try Fixtures.sentences()
        let session = ElmoSession(model: model, stateful: true)
        var worst: Float = 0
        for i in 0..<10 {
            let batch = (0..<3).map { sentences[$0][i] }
            let result = try session.embed(batch)
            for k in 0..<3 {
                let top = try result.output(.lstm(model.lstmLayerCount), sentence: k)
                let expected = try expectedTopLayer(k: k, i: i, tokens: batch[k].count, projectionDim: model.tokenDim)
                worst = max(worst, maxDifference(expected: expected, top: top))
            }
        }
        return worst
    }

    /// max |a - b| between the fixture's (2, T, P) top layer and our (T, 2P) top layer.
    static func maxDifference(expected: Tensor, top: ElmoArray) -> Float {
        let T = top.shape[0], P = top.shape[1] / 2
        var m: Float = 0
        for dir in 0..<2 {
            for t in 0..<T {
                for p in 0..<P {
                    m = max(m, abs(expected[(dir * T + t) * P + p] - top.values[t * 2 * P + dir * P + p]))
                }
            }
        }
        return m
    }
}
