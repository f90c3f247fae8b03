import CZlib
import Foundation
import XCTest
@testable import Elmo
@testable import ElmoHDF5

/// Test-side writers of TensorFlow tensor bundles, tar archives and gzip streams, so tests
/// can build modules TensorFlow would never write (other prefixes, 261-row embeddings, wrong
/// dtypes, corrupt fields). Written from the format descriptions, independently of the
/// readers; the committed TensorFlow-written fixture is what proves the readers against
/// TensorFlow itself.
enum TestBundleWriter {
    struct TensorRecord {
        var name: String
        var dtype: Int = 1
        var shape: [Int]
        var data: [UInt8]
        /// Overrides what the entry says (for corrupt-entry tests).
        var entrySize: Int?
        var entryOffset: Int?
        var crcOverride: UInt32?
    }

    static func floats(_ name: String, _ shape: [Int], _ values: [Float]) -> TensorRecord {
        TensorRecord(name: name, shape: shape, data: values.withUnsafeBytes { Array($0) })
    }

    // MARK: protobuf

    static func varint(_ v: UInt64) -> [UInt8] {
        var v = v, out: [UInt8] = []
        while v >= 0x80 {
            out.append(UInt8(v & 0x7F) | 0x80)
            v >>= 7
        }
        out.append(UInt8(v))
        return out
    }

    static func field(_ number: Int, varint v: UInt64) -> [UInt8] { varint(UInt64(number << 3)) + varint(v) }
    static func field(_ number: Int, bytes b: [UInt8]) -> [UInt8] { varint(UInt64(number << 3 | 2)) + varint(UInt64(b.count)) + b }
    static func field(_ number: Int, fixed32 v: UInt32) -> [UInt8] {
        varint(UInt64(number << 3 | 5)) + [UInt8(v & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v >> 16 & 0xFF), UInt8(v >> 24)]
    }

    static func header(numShards: Int = 1) -> [UInt8] {
        field(1, varint: UInt64(numShards)) + field(3, bytes: field(1, varint: 1))
    }

    static func entry(dtype: Int, shape: [Int], shard: Int = 0, offset: Int, size: Int, maskedCRC: UInt32) -> [UInt8] {
        var shapeBytes: [UInt8] = []
        for d in shape { shapeBytes += field(2, bytes: d == 0 ? [] : field(1, varint: UInt64(bitPattern: Int64(d)))) }
        var e = field(1, varint: UInt64(dtype)) + field(2, bytes: shapeBytes)
        if shard != 0 { e += field(3, varint: UInt64(shard)) }
        if offset != 0 { e += field(4, varint: UInt64(offset)) }
        if size != 0 { e += field(5, varint: UInt64(size)) }
        return e + field(6, fixed32: maskedCRC)
    }

    // MARK: table

    static func fixed32(_ v: UInt32) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v >> 16 & 0xFF), UInt8(v >> 24)] }

    /// One block: prefix-compressed entries with a restart point every `restartInterval`.
    static func block(_ entries: [([UInt8], [UInt8])], restartInterval: Int) -> [UInt8] {
        var out: [UInt8] = [], restarts: [UInt32] = []
        var previous: [UInt8] = []
        for (i, (key, value)) in entries.enumerated() {
            var shared = 0
            if i % restartInterval == 0 {
                restarts.append(UInt32(out.count))
            } else {
                while shared < min(key.count, previous.count) && key[shared] == previous[shared] { shared += 1 }
            }
            out += varint(UInt64(shared)) + varint(UInt64(key.count - shared)) + varint(UInt64(value.count))
            out += key[shared...] + value
            previous = key
        }
        if restarts.isEmpty { restarts = [0] }
        for r in restarts { out += fixed32(r) }
        return out + fixed32(UInt32(restarts.count))
    }

    /// Appends a block with its trailer (compression 0, masked CRC-32C) and returns its handle.
    static func appendBlock(_ block: [UInt8], to file: inout [UInt8]) -> (Int, Int) {
        let offset = file.count
        file += block + [0]
        file += fixed32(CRC32C.mask(CRC32C.checksum(block + [0])))
        return (offset, block.count)
    }

    /// A LevelDB-format table of sorted entries, data blocks of about `blockSize` bytes.
    static func table(_ entries: [([UInt8], [UInt8])], blockSize: Int = 4096, restartInterval: Int = 16) -> [UInt8] {
        var file: [UInt8] = []
        var index: [([UInt8], [UInt8])] = []
        var pending: [([UInt8], [UInt8])] = []
        var pendingBytes = 0
        func flush() {
            guard let last = pending.last else { return }
            let (o, s) = appendBlock(block(pending, restartInterval: restartInterval), to: &file)
            index.append((last.0, varint(UInt64(o)) + varint(UInt64(s))))
            pending = []
            pendingBytes = 0
        }
        for e in entries {
            pending.append(e)
            pendingBytes += e.0.count + e.1.count + 3
            if pendingBytes >= blockSize { flush() }
        }
        flush()
        let meta = appendBlock(block([], restartInterval: 1), to: &file)
        let idx = appendBlock(block(index, restartInterval: 1), to: &file)
        var footer = varint(UInt64(meta.0)) + varint(UInt64(meta.1)) + varint(UInt64(idx.0)) + varint(UInt64(idx.1))
        footer += [UInt8](repeating: 0, count: 40 - footer.count)
        footer += fixed32(0x8B80_FB57) + fixed32(0xDB47_7524)
        return file + footer
    }

    /// Index and data bytes of a one-shard bundle holding `tensors`.
    static func bundle(_ tensors: [TensorRecord], blockSize: Int = 4096, restartInterval: Int = 16) -> (index: [UInt8], data: [UInt8]) {
        var data: [UInt8] = []
        var entries: [([UInt8], [UInt8])] = [([], header())]
        for t in tensors.sorted(by: { Array($0.name.utf8).lexicographicallyPrecedes(Array($1.name.utf8)) }) {
            let crc = t.crcOverride ?? CRC32C.mask(CRC32C.checksum(t.data))
            entries.append((Array(t.name.utf8), entry(dtype: t.dtype, shape: t.shape, offset: t.entryOffset ?? data.count,
                                                      size: t.entrySize ?? t.data.count, maskedCRC: crc)))
            data += t.data
        }
        return (table(entries, blockSize: blockSize, restartInterval: restartInterval), data)
    }

    /// Writes a module directory: `variables/variables.{index,data-00000-of-00001}` and the
    /// two protobuf files a TF Hub module has (copied from the TensorFlow-written fixture).
    @discardableResult
    static func writeModule(_ tensors: [TensorRecord], to dir: String, blockSize: Int = 4096) throws -> String {
        let vars = dir + "/variables"
        try FileManager.default.createDirectory(atPath: vars, withIntermediateDirectories: true)
        let (index, data) = bundle(tensors, blockSize: blockSize)
        try Data(index).write(to: URL(fileURLWithPath: vars + "/variables.index"))
        try Data(data).write(to: URL(fileURLWithPath: vars + "/variables.data-00000-of-00001"))
        for pb in ["saved_model.pb", "tfhub_module.pb"] {
            try Data(contentsOf: URL(fileURLWithPath: TFHubFixture.module + "/" + pb)).write(to: URL(fileURLWithPath: dir + "/" + pb))
        }
        return dir
    }
}

/// Test-side tar and gzip writers.
enum TestArchiveWriter {
    enum NameStyle {
        case plain  // "variables/variables.index"
        case dotSlash  // "./variables/variables.index"
        case pax  // a pax header carries the name; the ustar name field holds a decoy
        case gnuLongName  // a GNU 'L' member carries the name
    }

    static func octal(_ v: Int, width: Int) -> [UInt8] {
        let s = String(v, radix: 8)
        return Array((String(repeating: "0", count: width - 1 - s.count) + s).utf8) + [0]
    }

    static func header(name: String, size: Int, type: UInt8 = UInt8(ascii: "0"), sizeField: [UInt8]? = nil) -> [UInt8] {
        var h = [UInt8](repeating: 0, count: 512)
        let n = Array(name.utf8.prefix(100))
        h.replaceSubrange(0..<n.count, with: n)
        h.replaceSubrange(100..<108, with: octal(0o644, width: 8))
        h.replaceSubrange(108..<116, with: octal(0, width: 8))
        h.replaceSubrange(116..<124, with: octal(0, width: 8))
        h.replaceSubrange(124..<136, with: sizeField ?? octal(size, width: 12))
        h.replaceSubrange(136..<148, with: octal(0, width: 12))
        h[156] = type
        h.replaceSubrange(257..<263, with: Array("ustar\0".utf8))
        h.replaceSubrange(263..<265, with: Array("00".utf8))
        for i in 148..<156 { h[i] = UInt8(ascii: " ") }
        let sum = h.reduce(0) { $0 + Int($1) }
        h.replaceSubrange(148..<156, with: octal(sum, width: 7) + [UInt8(ascii: " ")])
        return h
    }

    static func padded(_ data: [UInt8]) -> [UInt8] {
        data + [UInt8](repeating: 0, count: (512 - data.count % 512) % 512)
    }

    static func member(_ name: String, _ data: [UInt8], style: NameStyle) -> [UInt8] {
        switch style {
        case .plain:
            return header(name: name, size: data.count) + padded(data)
        case .dotSlash:
            return header(name: "./" + name, size: data.count) + padded(data)
        case .pax:
            let body = " path=\(name)\n"
            var length = body.utf8.count + 1
            while String(length).utf8.count + body.utf8.count != length { length += 1 }
            let record = Array("\(length)\(body)".utf8)
            return header(name: "PaxHeaders/x", size: record.count, type: UInt8(ascii: "x")) + padded(record)
                + header(name: "decoy", size: data.count) + padded(data)
        case .gnuLongName:
            let longName = Array(name.utf8) + [0]
            return header(name: "././@LongLink", size: longName.count, type: UInt8(ascii: "L")) + padded(longName)
                + header(name: "decoy", size: data.count) + padded(data)
        }
    }

    /// A tar of the files (relative name -> bytes) under `dir`, ended by two zero blocks.
    static func tar(_ files: [(String, [UInt8])], style: NameStyle) -> [UInt8] {
        var out: [UInt8] = []
        if style == .dotSlash { out += header(name: "./", size: 0, type: UInt8(ascii: "5")) }
        for (name, data) in files { out += member(name, data, style: style) }
        return out + [UInt8](repeating: 0, count: 1024)
    }

    static func gzip(_ data: [UInt8]) throws -> [UInt8] {
        var stream = z_stream()
        guard elmo_deflate_init_gzip(&stream, 6) == Z_OK else { throw XCTSkip("zlib deflate unavailable") }
        defer { deflateEnd(&stream) }
        var input = data
        var output = [UInt8](repeating: 0, count: Int(deflateBound(&stream, UInt(data.count))) + 64)
        let produced = input.withUnsafeMutableBufferPointer { inp in
            output.withUnsafeMutableBufferPointer { out -> Int in
                stream.next_in = inp.baseAddress
                stream.avail_in = UInt32(inp.count)
                stream.next_out = out.baseAddress
                stream.avail_out = UInt32(out.count)
                _ = deflate(&stream, Z_FINISH)
                return out.count - Int(stream.avail_out)
            }
        }
        return Array(output.prefix(produced))
    }

    /// The files of a module directory as (relative name, bytes), index and data included.
    static func moduleFiles(_ dir: String) throws -> [(String, [UInt8])] {
        try ["tfhub_module.pb", "saved_model.pb", "variables/variables.index", "variables/variables.data-00000-of-00001"].map {
            ($0, [UInt8](try Data(contentsOf: URL(fileURLWithPath: dir + "/" + $0))))
        }
    }
}

/// The committed TensorFlow-written fixture (Tests/Fixtures/tfhub).
enum TFHubFixture {
    static var root: String { Fixtures.repositoryRoot + "/Tests/Fixtures/tfhub" }
    static var module: String { root + "/module" }
    static var tarball: String { root + "/module.tar.gz" }
    static var twinOptions: String { root + "/twin/options.json" }
    static var twinWeights: String { root + "/twin/weights.hdf5" }

    /// The module's aggregation parameters as the fixture script recorded them.
    static func mix() throws -> ScalarMix {
        let json = try JSONValue.parse(try Data(contentsOf: URL(fileURLWithPath: root + "/twin/mix.json")))
        let weights = try XCTUnwrap(json["weights"]?.arrayValue).map { Float(try XCTUnwrap($0.doubleValue)) }
        return ScalarMix(weights: weights, gamma: Float(try XCTUnwrap(json["gamma"]?.doubleValue)))
    }

    /// The HDF5 twin with the module's mix as its default.
    static func twin() throws -> ElmoModel {
        let m = try ElmoModel(optionsFile: twinOptions, weightsFile: twinWeights)
        return try ElmoModel(weights: m.weights, sourceDescription: m.sourceDescription, defaultMix: try mix())
    }

    /// The TF Hub name of an official tensor, written out here independently of the loader.
    static func hubName(_ official: String, prefix: String = "bilm/") -> String {
        var n = official
        for (old, new) in [("/LSTMCell/W_0", "/rnn/lstm_cell/kernel"), ("/LSTMCell/B", "/rnn/lstm_cell/bias"),
                           ("/LSTMCell/W_P_0", "/rnn/lstm_cell/projection/kernel")] where n.hasSuffix(old) {
            n = String(n.dropLast(old.count)) + new
        }
        return prefix + n
    }

    /// Every tensor of an official-layout HDF5 model as TF Hub module records: char_embed with
    /// `charRows` rows (262 prepends a zero row), plus the aggregation variables.
    static func moduleRecords(options: ElmoOptions, weights: String, prefix: String = "bilm/", charRows: Int = 262,
                              mix: ScalarMix, scalingShape: [Int] = [1], aggregationPrefix: String = "") throws -> [TestBundleWriter.TensorRecord] {
        let reader = try HDF5Reader(path: weights)
        var records: [TestBundleWriter.TensorRecord] = []
        for (name, shape) in ReferenceELMo.officialShapes(options) {
            var values = try reader.readFloats(name, expected: shape).values
            var s = shape
            if name == "char_embed" && charRows == 262 {
                values = [Float](repeating: 0, count: shape[1]) + values
                s = [262, shape[1]]
            }
            records.append(TestBundleWriter.floats(hubName(name, prefix: prefix), s, values))
        }
        records.append(TestBundleWriter.floats(aggregationPrefix + "aggregation/weights", [mix.weights.count], mix.weights))
        records.append(TestBundleWriter.floats(aggregationPrefix + "aggregation/scaling", scalingShape, [mix.gamma]))
        return records
    }
}

/// max |a - b| over two equally shaped arrays (infinity when the shapes differ).
func maxAbsDifference(_ a: ElmoArray, _ b: ElmoArray) -> Float {
    guard a.shape == b.shape else { return .infinity }
    return zip(a.values, b.values).reduce(0) { max($0, abs($1.0 - $1.1)) }
}
