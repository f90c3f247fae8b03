import Foundation
import XCTest
@testable import Elmo

/// Module tarballs: every member naming style, gzip and tar damage, lying headers.
final class TFHubArchiveTests: XCTestCase {
    var dir = ""
    override func setUpWithError() throws { dir = try temporaryDirectory() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

    func write(_ bytes: [UInt8], _ name: String) throws -> String {
        let path = dir + "/" + name
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    func moduleTar(style: TestArchiveWriter.NameStyle) throws -> [UInt8] {
        TestArchiveWriter.tar(try TestArchiveWriter.moduleFiles(TFHubFixture.module), style: style)
    }

    /// Loads `path` and checks it is exactly the fixture model.
    func assertLoadsFixture(_ path: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let hub = try ElmoModel(path: path)
        let twin = try TFHubFixture.twin()
        XCTAssertEqual(hub.options, twin.options, file: file, line: line)
        XCTAssertEqual(hub.defaultMix, twin.defaultMix, file: file, line: line)
        let texts = ["the bank of the river", "a b c"]
        let a = try ElmoSession(model: hub).embed(texts: texts), b = try ElmoSession(model: twin).embed(texts: texts)
        XCTAssertEqual(a.allLayers, b.allLayers, file: file, line: line)
    }

    // MARK: what loads

    func testEveryMemberNamingStyle() throws {
        for (k, style) in [TestArchiveWriter.NameStyle.plain, .dotSlash, .pax, .gnuLongName].enumerated() {
            try assertLoadsFixture(try write(try TestArchiveWriter.gzip(try moduleTar(style: style)), "m\(k).tar.gz"))
        }
    }

    /// pax records may carry the size too (for members over 8 GiB); the ustar field is then a
    /// placeholder. A global pax header before them changes nothing.
    func testPaxSizeAndGlobalHeaders() throws {
        func record(_ key: String, _ value: String) -> [UInt8] {
            let body = " \(key)=\(value)\n"
            var length = body.utf8.count + 1
            while String(length).utf8.count + body.utf8.count != length { length += 1 }
            return Array("\(length)\(body)".utf8)
        }
        let global = record("comment", "made by a test")
        var tar = TestArchiveWriter.header(name: "global", size: global.count, type: UInt8(ascii: "g")) + TestArchiveWriter.padded(global)
        for (name, data) in try TestArchiveWriter.moduleFiles(TFHubFixture.module) {
            let pax = record("path", "./" + name) + record("size", String(data.count))
            tar += TestArchiveWriter.header(name: "pax", size: pax.count, type: UInt8(ascii: "x")) + TestArchiveWriter.padded(pax)
            tar += TestArchiveWriter.header(name: "placeholder", size: 0) + TestArchiveWriter.padded(data)
        }
        try assertLoadsFixture(try write(try TestArchiveWriter.gzip(tar + [UInt8](repeating: 0, count: 1024)), "paxsize.tar.gz"))
    }

    func testEmptyArchive() throws {
        let path = try write([], "empty.tar.gz")
        assertLoadFails(path, contains: [path, "no variables/variables.index", "members: none"])
    }

    func testUncompressedTar() throws {
        let path = try write(try moduleTar(style: .plain), "m.tar")
        XCTAssertEqual(try ModelLocator.locate(path: path, optionsFile: nil), .tfHub(.archive(path)))
        try assertLoadsFixture(path)
    }

    func testConcatenatedGzipMembers() throws {
        let tar = try moduleTar(style: .dotSlash)
        let gz = try TestArchiveWriter.gzip(Array(tar.prefix(5000))) + TestArchiveWriter.gzip(Array(tar.dropFirst(5000)))
        try assertLoadsFixture(try write(gz, "concatenated.tgz"))
    }

    func testArchiveWithoutEndBlocksAndWithOtherMembers() throws {
        var files = try TestArchiveWriter.moduleFiles(TFHubFixture.module)
        files.insert(("assets/vocab.txt", Array("a\nb\n".utf8)), at: 0)
        files.append(("variables/variables.data-00000-of-00001.tempstate123", [1, 2, 3]))
        let tar = TestArchiveWriter.tar(files, style: .plain).dropLast(1024)
        try assertLoadsFixture(try write(try TestArchiveWriter.gzip(Array(tar)), "noend.tar.gz"))
    }

    func testPublicInitialiserNamesTheKindOfSource() throws {
        let hub = try ElmoModel(tfHubModule: TFHubFixture.tarball)
        XCTAssertTrue(hub.sourceDescription.contains("archive") && hub.sourceDescription.contains("inferred"), hub.sourceDescription)
        XCTAssertThrowsError(try ElmoModel(tfHubModule: TFHubFixture.root + "/twin")) { error in
            XCTAssertTrue("\(error)".contains("not a TF Hub module directory"), "\(error)")
        }
    }

    // MARK: damage

    func testTruncatedGzip() throws {
        let gz = [UInt8](try Data(contentsOf: URL(fileURLWithPath: TFHubFixture.tarball)))
        let path = try write(Array(gz.prefix(gz.count / 2)), "cut.tar.gz")
        assertLoadFails(path, contains: [path, "gzip stream is truncated"])
    }

    func testEveryTruncationOfTheTarballIsAnError() throws {
        let gz = [UInt8](try Data(contentsOf: URL(fileURLWithPath: TFHubFixture.tarball)))
        for n in stride(from: 0, to: gz.count, by: 97) + [gz.count - 1] {
            let path = try write(Array(gz.prefix(n)), "cut\(n).tar.gz")
            XCTAssertThrowsError(try ElmoModel(path: path), "cut at \(n)") { XCTAssertTrue($0 is ElmoError, "\($0)") }
        }
    }

    func testCorruptGzipData() throws {
        var gz = [UInt8](try Data(contentsOf: URL(fileURLWithPath: TFHubFixture.tarball)))
        gz[gz.count / 2] ^= 0x10
        let path = try write(gz, "corrupt.tar.gz")
        assertLoadFails(path, contains: [path, "corrupt gzip data"])
    }

    func testBadTarChecksum() throws {
        var tar = try moduleTar(style: .plain)
        tar[10] ^= 0x01  // the first member's name
        let path = try write(try TestArchiveWriter.gzip(tar), "badsum.tar.gz")
        assertLoadFails(path, contains: [path, "bad tar header checksum at offset 0"])
    }

    func testNotATarArchive() throws {
        let path = try write(try TestArchiveWriter.gzip([UInt8](repeating: 0x41, count: 2000)), "text.tar.gz")
        assertLoadFails(path, contains: [path, "invalid checksum field"])
    }

    /// A header that claims a huge data member: the reader allocates only what arrives and
    /// reports the truncation.
    func testLyingMemberSizeIsNotTrusted() throws {
        let files = try TestArchiveWriter.moduleFiles(TFHubFixture.module)
        var tar: [UInt8] = []
        for (name, data) in files where !name.hasSuffix("data-00000-of-00001") {
            tar += TestArchiveWriter.member(name, data, style: .plain)
        }
        let data = try XCTUnwrap(files.last?.1)
        tar += TestArchiveWriter.header(name: "variables/variables.data-00000-of-00001", size: 1 << 32) + data
        let path = try write(try TestArchiveWriter.gzip(tar), "liar.tar.gz")
        assertLoadFails(path, contains: [path, "truncated", "variables/variables.data-00000-of-00001", "\(data.count) of its \(1 << 32) bytes"])
    }

    func testMemberBeyondTheDataLimit() throws {
        let header = TestArchiveWriter.header(name: "variables/variables.data-00000-of-00001", size: 0,
                                              sizeField: [0x80] + [0, 0, 0, 0, 0, 0, 0x08, 0, 0, 0, 0])  // base-256: 2^35
        let path = try write(try TestArchiveWriter.gzip(header + [UInt8](repeating: 0, count: 4096)), "big.tar.gz")
        assertLoadFails(path, contains: [path, "variables/variables.data-00000-of-00001", "\(1 << 35) bytes"])
    }

    func testInvalidSizeField() throws {
        let header = TestArchiveWriter.header(name: "variables/variables.index", size: 0, sizeField: Array("00000000012x".utf8))
        let path = try write(try TestArchiveWriter.gzip(header), "size.tar.gz")
        assertLoadFails(path, contains: [path, "invalid size field"])
    }

    func testArchiveWithoutAModule() throws {
        let tar = TestArchiveWriter.tar([("README", Array("hello".utf8)), ("weights.hdf5", [1, 2, 3])], style: .dotSlash)
        let path = try write(try TestArchiveWriter.gzip(tar), "other.tar.gz")
        assertLoadFails(path, contains: [path, "no variables/variables.index", "'README'", "'weights.hdf5'"])
    }

    func testArchiveWithoutTheDataShard() throws {
        let files = try TestArchiveWriter.moduleFiles(TFHubFixture.module).filter { !$0.0.contains(".data-") }
        let path = try write(try TestArchiveWriter.gzip(TestArchiveWriter.tar(files, style: .plain)), "nodata.tar.gz")
        assertLoadFails(path, contains: [path, "no member variables/variables.data-00000-of-00001"])
    }

    func testMalformedPaxHeader() throws {
        let record = Array("99 path=x\n".utf8)
        let tar = TestArchiveWriter.header(name: "pax", size: record.count, type: UInt8(ascii: "x")) + TestArchiveWriter.padded(record)
        let path = try write(try TestArchiveWriter.gzip(tar + [UInt8](repeating: 0, count: 1024)), "pax.tar.gz")
        assertLoadFails(path, contains: [path, "malformed pax header at offset 0"])
    }

    func testFlippedTensorByteInsideTheArchive() throws {
        var files = try TestArchiveWriter.moduleFiles(TFHubFixture.module)
        let i = try XCTUnwrap(files.firstIndex { $0.0.contains(".data-") })
        let entry = try XCTUnwrap(try TensorBundle(prefix: TFHubFixture.module + "/variables/variables").entry("aggregation/weights"))
        files[i].1[entry.offset] ^= 0x01
        let path = try write(try TestArchiveWriter.gzip(TestArchiveWriter.tar(files, style: .dotSlash)), "flip.tar.gz")
        assertLoadFails(path, contains: [path, "variables/variables.data-00000-of-00001", "aggregation/weights", "CRC32C"])
    }
}
