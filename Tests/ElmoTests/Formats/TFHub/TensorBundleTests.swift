import Foundation
import XCTest
@testable import Elmo

/// The tensor-bundle reader: checksums, and a specific error for every kind of damage.
final class TensorBundleTests: XCTestCase {
    var dir = ""
    override func setUpWithError() throws { dir = try temporaryDirectory() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

    var indexPath: String { dir + "/module/variables/variables.index" }
    var dataPath: String { dir + "/module/variables/variables.data-00000-of-00001" }

    /// A copy of the TensorFlow-written module to damage.
    func copyFixture() throws -> String {
        try FileManager.default.copyItem(atPath: TFHubFixture.module, toPath: dir + "/module")
        return dir + "/module"
    }

    func modify(_ path: String, _ change: (inout [UInt8]) -> Void) throws {
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        change(&bytes)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }

    // MARK: CRC-32C

    func testCRC32CKnownValues() {
        // RFC 3720 (iSCSI) test vectors and the classic check value.
        XCTAssertEqual(CRC32C.checksum(Array("123456789".utf8)), 0xE306_9283)
        XCTAssertEqual(CRC32C.checksum([UInt8](repeating: 0, count: 32)), 0x8A91_36AA)
        XCTAssertEqual(CRC32C.checksum([UInt8](repeating: 0xFF, count: 32)), 0x62A8_AB43)
        XCTAssertEqual(CRC32C.checksum((0..<32).map(UInt8.init)), 0x46DD_794E)
        XCTAssertEqual(CRC32C.checksum((0..<32).reversed().map(UInt8.init)), 0x113F_DB5C)
        XCTAssertEqual(CRC32C.checksum([]), 0)
        // Slice-by-8 against the byte-at-a-time definition, for every length and split point.
        var rng = SystemRandomNumberGenerator()
        let data = (0..<300).map { _ in UInt8.random(in: 0...255, using: &rng) }
        func bitwise(_ bytes: ArraySlice<UInt8>) -> UInt32 {
            var c: UInt32 = 0xFFFF_FFFF
            for b in bytes {
                c ^= UInt32(b)
                for _ in 0..<8 { c = c & 1 != 0 ? (c >> 1) ^ 0x82F6_3B78 : c >> 1 }
            }
            return ~c
        }
        for n in [0, 1, 7, 8, 9, 15, 16, 17, 63, 64, 65, 299, 300] {
            XCTAssertEqual(CRC32C.checksum(Array(data[0..<n])), bitwise(data[0..<n]), "length \(n)")
        }
        let whole = CRC32C.checksum(data)
        let split = data.withUnsafeBytes { b in
            CRC32C.checksum(UnsafeRawBufferPointer(rebasing: b[123...]),
                            continuing: CRC32C.checksum(UnsafeRawBufferPointer(rebasing: b[..<123])))
        }
        XCTAssertEqual(split, whole)
        for v: UInt32 in [0, 1, 0xDEAD_BEEF, 0xFFFF_FFFF] { XCTAssertEqual(CRC32C.unmask(CRC32C.mask(v)), v) }
        XCTAssertNotEqual(CRC32C.mask(0x1234_5678), 0x1234_5678)
    }

    // MARK: damaged TensorFlow-written files

    func testTruncatedIndex() throws {
        let module = try copyFixture()
        try modify(indexPath) { $0.removeLast($0.count - 20) }
        assertLoadFails(module, contains: [indexPath, "truncated", "20 bytes", "48-byte table footer"])
        try FileManager.default.removeItem(atPath: dir + "/module")
        _ = try copyFixture()
        try modify(indexPath) { $0.removeLast(100) }
        assertLoadFails(module, contains: [indexPath, "bad magic number", "truncated"])
    }

    func testBadMagic() throws {
        let module = try copyFixture()
        try modify(indexPath) { $0[$0.count - 3] ^= 0x40 }
        assertLoadFails(module, contains: [indexPath, "bad magic number", "not a TensorFlow checkpoint index"])
    }

    func testCorruptIndexBlockFailsItsChecksum() throws {
        let module = try copyFixture()
        try modify(indexPath) { $0[40] ^= 0x01 }  // inside the first data block's keys
        assertLoadFails(module, contains: [indexPath, "data block at offset 0", "CRC32C"])
    }

    func testFlippedByteInATensorIsNamed() throws {
        let module = try copyFixture()
        let name = "bilm/CNN_high_1/W_transform"
        let entry = try XCTUnwrap(try TensorBundle(prefix: module + "/variables/variables").entry(name))
        try modify(dataPath) { $0[entry.offset + entry.size / 2] ^= 0x08 }
        assertLoadFails(module, contains: [dataPath, name, "fails its CRC32C check", "corrupt"])
    }

    func testDataFileShorterThanAnEntry() throws {
        let module = try copyFixture()
        let bundle = try TensorBundle(prefix: module + "/variables/variables")
        let last = try XCTUnwrap(bundle.tensorNames.max { bundle.entry($0)!.offset < bundle.entry($1)!.offset })
        let entry = try XCTUnwrap(bundle.entry(last))
        XCTAssertEqual(entry.offset + entry.size, 14592)
        try modify(dataPath) { $0.removeLast(10) }
        // The tensor that ends the file is read at some point of loading and must be refused.
        XCTAssertThrowsError(try TensorBundle(prefix: module + "/variables/variables").floats(last)) { error in
            let m = (error as? ElmoError)?.message ?? ""
            XCTAssertTrue(m.contains(dataPath) && m.contains(last) && m.contains("only 14582 bytes") && m.contains("truncated"), m)
        }
        assertLoadFails(module, contains: [dataPath, "only 14582 bytes", "truncated"])
    }

    func testMissingDataFile() throws {
        let module = try copyFixture()
        try FileManager.default.removeItem(atPath: dataPath)
        assertLoadFails(module, kind: .io, contains: [dataPath, "checkpoint data file not found"])
    }

    /// Every single-byte truncation and every bit flip of the index gives an ElmoError or (for
    /// bytes no reader depends on, such as the footer's padding) a model equal to the original.
    func testEveryTruncationAndFlipOfTheIndexIsHandled() throws {
        let original = [UInt8](try Data(contentsOf: URL(fileURLWithPath: TFHubFixture.module + "/variables/variables.index")))
        let data = TFHubFixture.module + "/variables/variables.data-00000-of-00001"
        let source = try FileDataSource(path: data)
        func open(_ bytes: [UInt8]) throws -> TensorBundle {
            try TensorBundle(indexBytes: bytes, indexName: "index") { _, _ in source }
        }
        let reference = try open(original)
        for n in 0..<original.count {
            XCTAssertThrowsError(try open(Array(original.prefix(n))), "truncated to \(n)") { XCTAssertTrue($0 is ElmoError) }
        }
        var accepted = 0
        var acceptedBytes = Set<Int>()
        for i in 0..<original.count {
            for bit in [0, 3, 7] {
                var b = original
                b[i] ^= UInt8(1 << bit)
                do {
                    let bundle = try open(b)
                    accepted += 1
                    acceptedBytes.insert(i)
                    XCTAssertEqual(bundle.tensorNames, reference.tensorNames, "byte \(i) bit \(bit)")
                    for name in bundle.tensorNames { XCTAssertEqual(bundle.entry(name), reference.entry(name)) }
                } catch {
                    XCTAssertTrue(error is ElmoError, "byte \(i): \(error)")
                }
            }
        }
        // Only flips in the footer's zero padding (and the unused metaindex handle) can pass.
        // Only bytes no reader depends on may change: the metaindex block (TensorFlow writes an
        // empty one and never reads it), its handle, and the footer's padding.
        var footer = ByteCursor(original, range: (original.count - 48)..<original.count)
        let metaOffset = Int(try footer.varint64()), metaSize = Int(try footer.varint64())
        let unused = Set(metaOffset..<(metaOffset + metaSize + 5)).union((original.count - 48)..<(original.count - 8))
        XCTAssertTrue(acceptedBytes.isSubset(of: unused), "accepted flips at \(acceptedBytes.subtracting(unused).sorted())")
        XCTAssertGreaterThan(accepted, 0)
    }

    // MARK: synthetic bundles with one defect each

    /// The fixture's tensors as module records, with `change` applied.
    func writeVariant(_ change: (inout [TestBundleWriter.TensorRecord]) throws -> Void) throws -> String {
        let options = try ElmoOptions(contentsOfFile: TFHubFixture.twinOptions)
        var records = try TFHubFixture.moduleRecords(options: options, weights: TFHubFixture.twinWeights, mix: try TFHubFixture.mix())
        try change(&records)
        return try TestBundleWriter.writeModule(records, to: dir + "/variant")
    }

    func testMissingTensorIsNamed() throws {
        let name = "bilm/RNN_1/RNN/MultiRNNCell/Cell1/rnn/lstm_cell/projection/kernel"
        let module = try writeVariant { $0.removeAll { $0.name == name } }
        assertLoadFails(module, contains: [module, "missing weight tensor", name])
    }

    func testMissingBackwardLayerIsNamed() throws {
        let name = "bilm/RNN_1/RNN/MultiRNNCell/Cell0/rnn/lstm_cell/kernel"
        let module = try writeVariant { $0.removeAll { $0.name == name } }
        assertLoadFails(module, contains: ["missing weight tensor", name])
    }

    func testMissingAggregationIsNamed() throws {
        let module = try writeVariant { $0.removeAll { $0.name == "aggregation/scaling" } }
        assertLoadFails(module, contains: ["missing weight tensor 'aggregation/scaling'", "module/aggregation/scaling"])
    }

    func testNoELMoVariables() throws {
        let module = try writeVariant { records in
            for i in records.indices { records[i].name = records[i].name.replacingOccurrences(of: "bilm/", with: "lm/") }
        }
        assertLoadFails(module, contains: ["no ELMo variables", "bilm/char_embed", "'aggregation/scaling'"])
    }

    func testWrongDtypeIsNamed() throws {
        let module = try writeVariant { records in
            let i = try XCTUnwrap(records.firstIndex { $0.name == "bilm/CNN/b_cnn_1" })
            records[i].dtype = 3  // DT_INT32, same byte size
        }
        assertLoadFails(module, contains: ["bilm/CNN/b_cnn_1", "DT_INT32", "DT_FLOAT"])
    }

    func testWrongShapeIsNamed() throws {
        let module = try writeVariant { records in
            let i = try XCTUnwrap(records.firstIndex { $0.name == "bilm/CNN_high_0/W_carry" })
            records[i].shape = [8, 32]
        }
        assertLoadFails(module, kind: .shapeMismatch, contains: ["bilm/CNN_high_0/W_carry", "(8, 32)", "(16, 16)"])
    }

    func testInconsistentShapesCannotBeInferred() throws {
        let module = try writeVariant { records in
            let i = try XCTUnwrap(records.firstIndex { $0.name == "bilm/CNN/W_cnn_1" })
            records[i].shape = [1, 2, 5, 4]
            records[i].data = [UInt8](repeating: 0, count: 2 * 5 * 4 * 4)
        }
        assertLoadFails(module, contains: ["cannot infer", "bilm/CNN/W_cnn_1", "(1, 2, 5, 4)", "(1, width, 4, count)"])
    }

    func testScalingMustBeScalarOrOneElement() throws {
        let module = try writeVariant { records in
            let i = try XCTUnwrap(records.firstIndex { $0.name == "aggregation/scaling" })
            records[i] = TestBundleWriter.floats("aggregation/scaling", [2], [1, 1])
        }
        assertLoadFails(module, kind: .shapeMismatch, contains: ["aggregation/scaling", "(2,)", "a scalar or (1,)"])
    }

    func testMixWeightsMustMatchTheLayers() throws {
        let module = try writeVariant { records in
            let i = try XCTUnwrap(records.firstIndex { $0.name == "aggregation/weights" })
            records[i] = TestBundleWriter.floats("aggregation/weights", [4], [0, 0, 0, 0])
        }
        assertLoadFails(module, kind: .shapeMismatch, contains: ["aggregation/weights", "(4,)", "(3,)"])
    }

    func testEntrySizeThatDisagreesWithItsShape() throws {
        let module = try writeVariant { records in
            let i = try XCTUnwrap(records.firstIndex { $0.name == "bilm/CNN_proj/b_proj" })
            records[i].entrySize = 12
        }
        assertLoadFails(module, contains: ["bilm/CNN_proj/b_proj", "should take 16 bytes", "says 12"])
    }

    /// A huge size in an entry is checked against the data file before anything is allocated.
    func testHugeEntryIsRefusedBeforeAllocation() throws {
        let module = try writeVariant { records in
            let i = try XCTUnwrap(records.firstIndex { $0.name == "bilm/char_embed" })
            records[i].shape = [262, 1 << 36]
            records[i].entrySize = 262 << 38
        }
        let bundle = try TensorBundle(prefix: module + "/variables/variables")
        XCTAssertThrowsError(try bundle.floats("bilm/char_embed")) { error in
            let m = (error as? ElmoError)?.message ?? "\(error)"
            XCTAssertTrue(m.contains("bilm/char_embed") && m.contains("needs bytes") && m.contains("the data file is only"), m)
        }
        // Through the model loader the shape is refused even earlier, by the configuration inference.
        assertLoadFails(module, contains: ["bilm/char_embed", "cannot infer"])
    }

    func testStoredChecksumMismatch() throws {
        let module = try writeVariant { records in
            let i = try XCTUnwrap(records.firstIndex { $0.name == "aggregation/weights" })
            records[i].crcOverride = 0x1234_5678
        }
        assertLoadFails(module, contains: ["aggregation/weights", "fails its CRC32C check"])
    }

    // MARK: table structure (valid checksums around invalid contents)

    /// A table whose one data block is `blockBytes`, trailed by `compression` and a valid CRC.
    func table(dataBlock blockBytes: [UInt8], compression: UInt8 = 0) -> [UInt8] {
        var bytes = blockBytes + [compression]
        bytes += TestBundleWriter.fixed32(CRC32C.mask(CRC32C.checksum(bytes)))
        let meta = TestBundleWriter.appendBlock(TestBundleWriter.block([], restartInterval: 1), to: &bytes)
        let handle = TestBundleWriter.varint(0) + TestBundleWriter.varint(UInt64(blockBytes.count))
        let idx = TestBundleWriter.appendBlock(TestBundleWriter.block([([0x7F], handle)], restartInterval: 1), to: &bytes)
        var footer = [meta.0, meta.1, idx.0, idx.1].flatMap { TestBundleWriter.varint(UInt64($0)) }
        footer += [UInt8](repeating: 0, count: 40 - footer.count) + TestBundleWriter.fixed32(0x8B80_FB57) + TestBundleWriter.fixed32(0xDB47_7524)
        return bytes + footer
    }

    func tableError(_ blockBytes: [UInt8], compression: UInt8 = 0, contains part: String,
                    file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try SSTable(bytes: table(dataBlock: blockBytes, compression: compression), file: "t.index"),
                             file: file, line: line) { error in
            let m = (error as? ElmoError)?.message ?? "\(error)"
            XCTAssertTrue(m.contains("t.index") && m.contains(part), "'\(m)' lacks '\(part)'", file: file, line: line)
        }
    }

    func testMalformedBlocks() {
        let v = TestBundleWriter.varint
        // Restart count larger than the block.
        tableError(v(0) + v(1) + v(0) + [0x61] + TestBundleWriter.fixed32(0) + TestBundleWriter.fixed32(1000), contains: "restart count 1000")
        // An entry sharing more bytes than the previous key has.
        tableError(v(0) + v(1) + v(0) + [0x61] + v(5) + v(1) + v(0) + [0x62] + TestBundleWriter.fixed32(0) + TestBundleWriter.fixed32(1),
                   contains: "shares 5 bytes of a 1-byte previous key")
        // Keys out of order.
        tableError(v(0) + v(1) + v(0) + [0x62] + v(0) + v(1) + v(0) + [0x61] + TestBundleWriter.fixed32(0) + TestBundleWriter.fixed32(1),
                   contains: "keys out of order")
        // A value running past the entries.
        tableError(v(0) + v(1) + v(200) + [0x61] + TestBundleWriter.fixed32(0) + TestBundleWriter.fixed32(1), contains: "runs past the end")
        // A restart point that is not an entry boundary.
        tableError(v(0) + v(1) + v(0) + [0x61] + v(0) + v(1) + v(0) + [0x62] + TestBundleWriter.fixed32(0) + TestBundleWriter.fixed32(2)
                   + TestBundleWriter.fixed32(2), contains: "restart point 2")
        // A varint that never ends.
        tableError([UInt8](repeating: 0xFF, count: 12) + TestBundleWriter.fixed32(0) + TestBundleWriter.fixed32(1), contains: "varint32")
    }

    func testCompressedBlocksAreRefused() throws {
        let block = TestBundleWriter.block([([0x61], [1, 2])], restartInterval: 1)
        XCTAssertEqual(try SSTable(bytes: table(dataBlock: block), file: "t.index").entries.map(\.key), [[0x61]])
        tableError(block, compression: 1, contains: "Snappy-compressed")
        tableError(block, compression: 7, contains: "unknown compression type 7")
    }

    func testHeaderChecks() throws {
        func open(header: [UInt8]) throws -> TensorBundle {
            let table = TestBundleWriter.table([([], header)])
            return try TensorBundle(indexBytes: table, indexName: "h.index") { _, _ in
                MemoryDataSource(name: "d", storage: try MemoryStorage(zeroedBytes: 0))
            }
        }
        XCTAssertEqual(try open(header: TestBundleWriter.header()).header.numShards, 1)
        typealias W = TestBundleWriter
        let cases: [([UInt8], String)] = [
            (W.field(3, bytes: W.field(1, varint: 1)), "0 data shards"),
            (W.header() + W.field(2, varint: 1), "big-endian"),
            (W.field(1, varint: 1) + W.field(3, bytes: W.field(1, varint: 5) + W.field(2, varint: 2)), "format version 2"),
            (W.field(1, varint: UInt64(bitPattern: -1)), "num_shards is negative"),
        ]
        for (header, part) in cases {
            XCTAssertThrowsError(try open(header: header)) { error in
                let m = (error as? ElmoError)?.message ?? "\(error)"
                XCTAssertTrue(m.contains("h.index") && m.contains(part), "'\(m)' lacks '\(part)'")
            }
        }
        XCTAssertThrowsError(try TensorBundle(indexBytes: TestBundleWriter.table([([0x61], [])]), indexName: "n.index") { _, _ in
            MemoryDataSource(name: "d", storage: try MemoryStorage(zeroedBytes: 0))
        }) { XCTAssertTrue("\($0)".contains("no bundle header"), "\($0)") }
    }
}
