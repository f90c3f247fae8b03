import Foundation
import XCTest
@testable import Elmo

/// Malformed ELMoForManyLangs model directories: each gives an error that names the file and
/// the problem; the configuration is found as the package finds it.
final class ManyLangsDirectoryTests: XCTestCase {
    private var dir = ""
    private let nested = "cnn_8_16_32_128_sample.json"

    override func setUpWithError() throws {
        let source = try ManyLangsFixture.model
        dir = NSTemporaryDirectory() + "manylangs-dir-\(getpid())-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        for name in try FileManager.default.contentsOfDirectory(atPath: source) {
            try FileManager.default.copyItem(atPath: source + "/" + name, toPath: dir + "/" + name)
            chmod(dir + "/" + name, 0o644)
        }
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: dir)
    }

    private func text(_ name: String) throws -> String { try String(contentsOfFile: dir + "/" + name, encoding: .utf8) }
    private func write(_ name: String, _ text: String) throws { try text.write(toFile: dir + "/" + name, atomically: false, encoding: .utf8) }

    private func assertLoadFails(_ fragments: [String], kind: ElmoError.Kind = .invalidModel,
                                 file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try ElmoModel(path: dir), file: file, line: line) { error in
            let e = error as? ElmoError
            XCTAssertEqual(e?.kind, kind, "\(error)", file: file, line: line)
            for f in fragments {
                XCTAssertTrue(e?.message.contains(f) ?? false, "'\(f)' not in: \(error)", file: file, line: line)
            }
        }
    }

    /// The released downloads' config.json names the nested config by an absolute path that
    /// does not exist: the file of that name beside it is used (the fixture is laid out so).
    func testConfigFoundBesideTheModel() throws {
        let m = try ManyLangsDirectory(path: dir)
        XCTAssertEqual(m.configFile, dir + "/" + nested)
        XCTAssertEqual(m.options.lstm.projectionDim, 32)
        XCTAssertEqual(m.options.manyLangs, ElmoOptions.ManyLangs(characterCount: 117, wordCount: 2004, wordDim: 16))
        // A relative config_path is joined to the model directory.
        try write("config.json", try text("config.json").replacingOccurrences(of: "/users4/conll18st/elmo/src/configs/", with: ""))
        XCTAssertEqual(try ManyLangsDirectory(path: dir).configFile, dir + "/" + nested)
    }

    /// The package's own configuration (what every released model relies on) is built in:
    /// here its dimensions disagree with the fixture's weights, and the error says which tensor.
    func testBuiltInConfiguration() throws {
        try FileManager.default.removeItem(atPath: dir + "/" + nested)
        try write("config.json", try text("config.json").replacingOccurrences(of: nested, with: "cnn_50_100_512_4096_sample.json"))
        let m = try ManyLangsDirectory(path: dir)
        XCTAssertNil(m.configFile)
        XCTAssertEqual(m.options.lstm.dim, 4096)
        XCTAssertEqual(m.options.charCNN.totalFilters, 2048)
        assertLoadFails(["token_embedder.pkl", "char_emb_layer.embedding.weight", "(117, 8)", "(117, 50)"], kind: .shapeMismatch)
    }

    func testMissingFiles() throws {
        try FileManager.default.removeItem(atPath: dir + "/" + nested)
        assertLoadFails(["config_path", nested, "not found"], kind: .io)
        setUpAgain()
        try FileManager.default.removeItem(atPath: dir + "/config.json")
        assertLoadFails(["config.json", "not found"], kind: .io)
        setUpAgain()
        try FileManager.default.removeItem(atPath: dir + "/encoder.pkl")
        assertLoadFails(["encoder.pkl", "not found"], kind: .io)
        setUpAgain()
        try FileManager.default.removeItem(atPath: dir + "/word.dic")
        assertLoadFails(["word.dic", "not found"], kind: .io)
    }

    private func setUpAgain() {
        try? tearDownWithError()
        try? setUpWithError()
    }

    func testWrongDimensions() throws {
        try write(nested, try text(nested).replacingOccurrences(of: "\"dim\": 128", with: "\"dim\": 96"))
        assertLoadFails(["encoder.pkl", "forward_layer_0.input_linearity.weight", "(512, 32)", "(384, 32)"], kind: .shapeMismatch)
        setUpAgain()
        try write(nested, try text(nested).replacingOccurrences(of: "\"name\": \"elmo\"", with: "\"name\": \"lstm\""))
        assertLoadFails([nested, "encoder.name"])
        setUpAgain()
        try write(nested, try text(nested).replacingOccurrences(of: "\"char_dim\": 8", with: "\"char_dim\": 0"))
        assertLoadFails(["word-only"])
    }

    func testDictionaries() throws {
        let chars = try text("char.dic")
        // Duplicate id, duplicate token, a gap, a missing special token, a malformed line.
        try write("char.dic", chars.replacingOccurrences(of: "b\t1\n", with: "b\t0\n"))
        assertLoadFails(["char.dic:2", "id 0 is used twice"])
        try write("char.dic", chars.replacingOccurrences(of: "b\t1\n", with: "<\t1\n"))
        assertLoadFails(["char.dic:2", "token '<' repeats line 1"])
        try write("char.dic", chars.replacingOccurrences(of: "b\t1\n", with: ""))
        assertLoadFails(["char.dic", "id 1 is missing"])
        try write("char.dic", chars.replacingOccurrences(of: "<bow>\t", with: "<bqw>\t"))
        assertLoadFails(["char.dic lacks the special token <bow>"])
        try write("char.dic", chars.replacingOccurrences(of: "b\t1\n", with: "b\t1\tx\n"))
        assertLoadFails(["char.dic:2", "3 tab-separated fields"])
        try write("char.dic", chars.replacingOccurrences(of: "b\t1\n", with: "b\tone\n"))
        assertLoadFails(["char.dic:2", "'one' is not a non-negative integer"])
        // One more entry than the weights have rows.
        try write("char.dic", chars + "Ж\t117\n")
        assertLoadFails(["char_emb_layer.embedding.weight", "(118, 8)"], kind: .shapeMismatch)
        try write("char.dic", chars)
        let words = try text("word.dic")
        try write("word.dic", words.replacingOccurrences(of: "<pad>\t3\n", with: "<pad>\t5\n"))
        assertLoadFails(["word.dic", "id 5 is used twice"])
        try write("word.dic", words)
        XCTAssertNoThrow(try ElmoModel(path: dir.appending("/")))
    }

    /// As Python reads the lines (`line.strip().split('\t')`): a whitespace-only token reads as
    /// U+3000, whitespace inside the line stays, CR LF ends lines.
    func testDictionaryLinesAsPythonReadsThem() throws {
        try write("test.dic", "a\t0\r\n\u{00A0}\t1\r\n  x \t2\n")
        XCTAssertEqual(try ManyLangsDirectory.readDictionary(dir + "/test.dic"), ["a", "\u{3000}", "x "])
    }

    func testTruncatedStateDict() throws {
        let path = dir + "/token_embedder.pkl"
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        try bytes.prefix(bytes.count - 100).write(to: URL(fileURLWithPath: path))
        assertLoadFails(["token_embedder.pkl"])
    }

    func testModelFilesAreListed() throws {
        let (format, files) = try ElmoModel.files(forPath: dir)
        XCTAssertTrue(format.contains("ELMoForManyLangs"))
        XCTAssertEqual(files.map { ($0.path as NSString).lastPathComponent },
                       ["config.json", nested, "char.dic", "word.dic", "token_embedder.pkl", "encoder.pkl"])
    }
}
