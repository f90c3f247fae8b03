import Foundation
import XCTest
@testable import Elmo
import ElmoFuzzHarness

/// The PyTorch checkpoint reader: both containers, strided views, the fixture's real files,
/// and hostile input (truncation at every byte, every byte flipped, huge sizes, unknown
/// opcodes and callables): always a clear error, never a crash.
final class TorchCheckpointTests: XCTestCase {
    private var scratch: String = ""

    override func setUpWithError() throws {
        scratch = NSTemporaryDirectory() + "torch-checkpoint-\(getpid())-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: scratch)
    }

    private func write(_ bytes: [UInt8], _ name: String = "state.pkl") throws -> String {
        let path = scratch + "/" + name
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// Two tensors in one storage: a 2x3 matrix at offset 1, and its transpose (a strided view).
    private var sample: TorchCheckpointWriter {
        var w = TorchCheckpointWriter(tensors: [("encoder.weight", [2, 3], []), ("bias", [4], [0.5, -1, 2, 1e-3])])
        w.storages[0].values = (0..<7).map { Float($0) * 1.5 }
        w.entries[0].offset = 1
        w.entries.append(.init(name: "encoder.weight_t", storageKey: "0", offset: 1, shape: [3, 2], stride: [1, 3]))
        return w
    }

    private func checkSample(_ c: TorchCheckpoint) throws {
        XCTAssertEqual(c.names, ["encoder.weight", "bias", "encoder.weight_t"])
        let w = try XCTUnwrap(c.tensors["encoder.weight"])
        XCTAssertEqual(w.shape, [2, 3])
        XCTAssertEqual(Array(UnsafeBufferPointer(start: w.pointer, count: 6)), [1.5, 3, 4.5, 6, 7.5, 9])
        let t = try XCTUnwrap(c.tensors["encoder.weight_t"])
        XCTAssertEqual(t.shape, [3, 2])
        XCTAssertEqual(Array(UnsafeBufferPointer(start: t.pointer, count: 6)), [1.5, 6, 3, 7.5, 4.5, 9])
        let b = try XCTUnwrap(c.tensors["bias"])
        XCTAssertEqual(Array(UnsafeBufferPointer(start: b.pointer, count: 4)), [0.5, -1, 2, 1e-3])
    }

    func testLegacyFormat() throws {
        try checkSample(try TorchCheckpoint.read(path: try write(sample.legacy)))
    }

    func testZipFormat() throws {
        try checkSample(try TorchCheckpoint.read(path: try write(sample.zip)))
    }

    /// The fixture's files: legacy format as the released models, names and shapes of the notes.
    func testFixtureStateDicts() throws {
        let dir = try ManyLangsFixture.model
        let te = try TorchCheckpoint.read(path: dir + "/token_embedder.pkl")
        XCTAssertEqual(te.names.first, "word_emb_layer.embedding.weight")
        XCTAssertEqual(te.tensors["word_emb_layer.embedding.weight"]?.shape, [2004, 16])
        XCTAssertEqual(te.tensors["char_emb_layer.embedding.weight"]?.shape, [117, 8])
        XCTAssertEqual(te.tensors["convolutions.3.weight"]?.shape, [8, 8, 6])
        XCTAssertEqual(te.tensors["highways._layers.1.weight"]?.shape, [112, 56])
        XCTAssertEqual(te.tensors["projection.weight"]?.shape, [32, 72])
        let enc = try TorchCheckpoint.read(path: dir + "/encoder.pkl")
        XCTAssertEqual(enc.names.count, 16)
        XCTAssertEqual(enc.tensors["backward_layer_1.state_projection.weight"]?.shape, [32, 128])
    }

    /// The fuzz target's tiny model loads (so its seeds reach the embedding code) in both containers.
    func testFuzzModelLoadsAndEmbeds() throws {
        let dir = ManyLangsFuzz.writeModel(directory: "manylangs-test-\(UUID().uuidString)")
        let model = try ElmoModel(path: dir)
        XCTAssertEqual(model.options.manyLangs, ElmoOptions.ManyLangs(characterCount: 18, wordCount: 6, wordDim: 2))
        let a = try ElmoSession(model: model).embed([["the", "bank", "x"]]).allLayers
        let reread = try TorchCheckpoint.read(path: dir + "/encoder.pkl")
        XCTAssertEqual(reread.names.count, 16)
        XCTAssertTrue(a.allSatisfy(\.isFinite))
        XCTAssertEqual(a.count, 3 * 3 * 4)
    }

    private func assertRefused(_ bytes: [UInt8], _ fragment: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let path = try write(bytes, "hostile.pkl")
        XCTAssertThrowsError(try TorchCheckpoint.read(path: path), file: file, line: line) { error in
            let e = error as? ElmoError
            XCTAssertEqual(e?.kind, .invalidModel, "\(error)", file: file, line: line)
            XCTAssertTrue(e?.message.contains(path) ?? false, "\(error)", file: file, line: line)
            XCTAssertTrue(e?.message.contains(fragment) ?? false, "'\(fragment)' not in: \(error)", file: file, line: line)
        }
    }

    func testTruncatedAtEveryByteIsRefused() throws {
        for (bytes, step) in [(sample.legacy, 1), (sample.zip, 5)] {
            for n in stride(from: 0, to: bytes.count, by: step) {
                let path = try write(Array(bytes[0..<n]), "truncated.pkl")
                XCTAssertThrowsError(try TorchCheckpoint.read(path: path), "accepted a file cut to \(n) of \(bytes.count) bytes")
            }
        }
    }

    /// Bytes flipped one at a time: an error or a (different) checkpoint, never a crash or a hang.
    func testFlippedBytesAreHandled() throws {
        // Every third byte of the legacy file (the fuzz target covers the rest); the zip's
        // headers and directory.
        let zip = sample.zip, legacy = sample.legacy
        for (bytes, positions) in [(legacy, Array(stride(from: 0, to: legacy.count, by: 3))),
                                   (zip, Array(0..<100) + Array((zip.count - 300)..<zip.count))] {
            for i in positions {
                var b = bytes
                b[i] ^= 0xFF
                let path = try write(b, "flipped.pkl")
                do { _ = try TorchCheckpoint.read(path: path) } catch let e as ElmoError {
                    XCTAssertFalse(e.message.isEmpty)
                }
            }
        }
    }

    func testHostileContents() throws {
        // A storage claiming more elements than the file holds.
        var legacy = sample.legacy
        let countAt = legacy.count - 11 * 4 - 2 * 8
        legacy.replaceSubrange(countAt..<(countAt + 8), with: withUnsafeBytes(of: UInt64(1) << 62, Array.init))
        try assertRefused(legacy, "run past the end")
        // A tensor larger than its storage, and one reaching past it.
        var big = sample
        big.entries[1].shape = [1 << 40]
        try assertRefused(big.legacy, "more than its 4-element storage")
        var past = sample
        past.entries[0].offset = 5
        try assertRefused(past.legacy, "reaches element")
        // A storage type other than float32.
        var long = sample
        long.entries[1].storageType = "LongStorage"
        try assertRefused(long.legacy, "only float32")
        // A missing storage.
        var missing = sample
        missing.entries[1].storageKey = "nope"
        try assertRefused(missing.zip, "which the file does not hold")
        // A string length beyond the data.
        var p = TorchCheckpointWriter.Pickle()
        p.op(0x58); p.b += [0xFF, 0xFF, 0xFF, 0x7F]
        try assertRefused(p.b, "truncated")
        // A callable a state dict never needs.
        var evil = TorchCheckpointWriter.Pickle()
        evil.global("os", "system"); evil.mark(); evil.string("echo hi"); evil.op(0x74); evil.op(0x52); evil.stop()
        try assertRefused(TorchCheckpointWriter.storedZip([("archive/data.pkl", evil.b)]), "os.system")
        // An unknown opcode, named with its offset.
        var unknown = TorchCheckpointWriter.Pickle()
        unknown.op(0xFF)
        try assertRefused(TorchCheckpointWriter.storedZip([("archive/data.pkl", unknown.b)]), "pickle at byte 2: unsupported pickle opcode 0xFF")
        // Deep nesting is bounded.
        var deep = TorchCheckpointWriter.Pickle()
        deep.b += [UInt8](repeating: 0x28, count: 70_000)
        try assertRefused(TorchCheckpointWriter.storedZip([("archive/data.pkl", deep.b)]), "stack too deep")
        // Nesting is bounded (releasing a deeply nested value would recurse), and a list
        // appended to itself through the memo is a frozen copy, not a reference cycle.
        var nested = TorchCheckpointWriter.Pickle()
        nested.op(0x29)
        nested.b += [UInt8](repeating: 0x85, count: 100_000)  // TUPLE1, again and again
        try assertRefused(TorchCheckpointWriter.storedZip([("archive/data.pkl", nested.b)]), "nested deeper than 64")
        var cycle = TorchCheckpointWriter.Pickle()
        cycle.op(0x5D); cycle.op(0x71); cycle.op(0); cycle.op(0x68); cycle.op(0); cycle.op(0x61); cycle.stop()
        try assertRefused(TorchCheckpointWriter.storedZip([("archive/data.pkl", cycle.b)]), "does not hold a dict")
        // A memo slot never stored.
        var memo = TorchCheckpointWriter.Pickle()
        memo.op(0x68); memo.op(9)
        try assertRefused(TorchCheckpointWriter.storedZip([("archive/data.pkl", memo.b)]), "memo index 9 was never stored")
        // Not a checkpoint at all.
        try assertRefused(Array("hello".utf8), "not a PyTorch checkpoint")
        // A zip without data.pkl, and a compressed member.
        try assertRefused(TorchCheckpointWriter.storedZip([("archive/other", [1, 2, 3])]), "data.pkl")
        var compressed = sample.zip
        compressed[8] = 8  // the first member's method: deflate
        let central = compressed.count - 22 - Int(littleEndianInteger(compressed, at: compressed.count - 10, width: 4))
        compressed[central + 10] = 8
        try assertRefused(compressed, "is compressed")
    }
}
