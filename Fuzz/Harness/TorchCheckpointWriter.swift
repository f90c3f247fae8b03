// Writes PyTorch state dicts the way `torch.save` lays them out, opcode by opcode (protocol
// 2, as torch pickles them), in both containers: the legacy format and the zip format. The
// seeds of the `manylangs` fuzz target and the checkpoint reader's unit tests (including files
// torch would never write), without PyTorch.

public struct TorchCheckpointWriter {
    public struct Entry {
        public var name: String
        public var storageKey: String
        public var storageType = "FloatStorage"
        public var offset = 0
        public var shape: [Int]
        public var stride: [Int]

        public init(name: String, storageKey: String, offset: Int = 0, shape: [Int], stride: [Int]) {
            self.name = name
            self.storageKey = storageKey
            self.offset = offset
            self.shape = shape
            self.stride = stride
        }
    }

    /// torch's legacy magic number 0x1950a86a20f9469cfc6c, little-endian (a LONG1 pickle).
    public static let legacyMagic: [UInt8] = [0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19]

    /// Storages by key, in key order (their elements).
    public var storages: [(key: String, values: [Float])] = []
    public var entries: [Entry] = []

    /// A state dict of contiguous tensors, each in its own storage.
    public init(tensors: [(String, [Int], [Float])]) {
        for (i, (name, shape, values)) in tensors.enumerated() {
            var stride = [Int](repeating: 1, count: shape.count)
            for d in stride.indices.reversed().dropFirst() { stride[d] = stride[d + 1] * shape[d + 1] }
            storages.append((String(i), values))
            entries.append(Entry(name: name, storageKey: String(i), shape: shape, stride: stride))
        }
    }

    // MARK: pickle opcodes

    public struct Pickle {
        public var b: [UInt8] = [0x80, 2]
        public init() {}
        public mutating func int(_ v: Int) {
            if let small = Int32(exactly: v) {
                b.append(0x4A); b += withUnsafeBytes(of: small.littleEndian, Array.init)
            } else {
                b += [0x8A, 8]; b += withUnsafeBytes(of: Int64(v).littleEndian, Array.init)  // LONG1
            }
        }
        public mutating func string(_ s: String) {
            b.append(0x58); b += withUnsafeBytes(of: UInt32(s.utf8.count).littleEndian, Array.init); b += Array(s.utf8)
        }
        public mutating func global(_ module: String, _ name: String) { b.append(0x63); b += Array("\(module)\n\(name)\n".utf8) }
        public mutating func op(_ o: UInt8) { b.append(o) }
        public mutating func mark() { op(0x28) }
        public mutating func tuple(_ ints: [Int]) { mark(); ints.forEach { int($0) }; op(0x74) }
        public mutating func orderedDict() { global("collections", "OrderedDict"); op(0x29); op(0x52) }
        public mutating func stop() { op(0x2E) }
    }

    /// The state dict pickle: an OrderedDict of `_rebuild_tensor_v2` calls on persistent
    /// storage ids, with the `_metadata` BUILD newer torch adds.
    public var stateDictPickle: [UInt8] {
        var p = Pickle()
        p.orderedDict()
        p.op(0x71); p.op(0)  // BINPUT 0
        p.mark()
        for e in entries {
            p.string(e.name)
            p.global("torch._utils", "_rebuild_tensor_v2")
            p.mark()
            p.mark(); p.string("storage"); p.global("torch", e.storageType); p.string(e.storageKey); p.string("cpu")
            p.int(storages.first { $0.key == e.storageKey }?.values.count ?? 0); p.op(0x4E); p.op(0x74)
            p.op(0x51)  // BINPERSID
            p.int(e.offset)
            p.tuple(e.shape)
            p.tuple(e.stride)
            p.op(0x89)  // requires_grad False
            p.orderedDict()
            p.op(0x74)
            p.op(0x52)
        }
        p.op(0x75)  // SETITEMS
        p.op(0x7D); p.mark(); p.string("_metadata"); p.orderedDict(); p.op(0x75)
        p.op(0x62)  // BUILD
        p.stop()
        return p.b
    }

    /// torch's legacy container: magic, protocol version, sys_info, the state dict, the
    /// storage keys, then each storage as an int64 count and its float32 elements.
    public var legacy: [UInt8] {
        var out: [UInt8] = []
        var magic = Pickle()
        magic.op(0x8A); magic.op(10); magic.b += TorchCheckpointWriter.legacyMagic; magic.stop()
        var version = Pickle(); version.int(1001); version.stop()
        var info = Pickle()
        info.op(0x7D); info.mark()
        info.string("protocol_version"); info.int(1001)
        info.string("little_endian"); info.op(0x88)
        info.string("type_sizes"); info.op(0x7D); info.mark()
        for (k, v) in [("short", 2), ("int", 4), ("long", 4)] { info.string(k); info.int(v) }
        info.op(0x75); info.op(0x75); info.stop()
        var keys = Pickle(); keys.op(0x5D); keys.mark(); storages.forEach { keys.string($0.key) }; keys.op(0x65); keys.stop()
        out = magic.b + version.b + info.b + stateDictPickle + keys.b
        for s in storages {
            out += withUnsafeBytes(of: UInt64(s.values.count).littleEndian, Array.init)
            for v in s.values { out += withUnsafeBytes(of: v.bitPattern.littleEndian, Array.init) }
        }
        return out
    }

    /// torch's zip container (`archive/data.pkl`, `archive/byteorder`, `archive/data/<key>`,
    /// `archive/version`), members stored and their data 64-byte aligned as torch aligns it.
    public var zip: [UInt8] {
        var members: [(String, [UInt8])] = [("archive/data.pkl", stateDictPickle), ("archive/byteorder", Array("little".utf8))]
        for s in storages {
            members.append(("archive/data/" + s.key, s.values.flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian, Array.init) }))
        }
        members.append(("archive/version", Array("3\n".utf8)))
        return TorchCheckpointWriter.storedZip(members)
    }

    public static func storedZip(_ members: [(String, [UInt8])]) -> [UInt8] {
        func le<T: FixedWidthInteger>(_ v: T) -> [UInt8] { withUnsafeBytes(of: v.littleEndian, Array.init) }
        var out: [UInt8] = [], central: [UInt8] = []
        for (name, data) in members {
            let crc = crc32(data)
            let offset = out.count
            let nameBytes = Array(name.utf8)
            // Pad the local extra field so the data starts on a 64-byte boundary.
            let pad = (64 - (offset + 30 + nameBytes.count + 4) % 64) % 64
            let extra: [UInt8] = le(UInt16(0xF1F1)) + le(UInt16(pad)) + [UInt8](repeating: 0x5A, count: pad)
            out += le(UInt32(0x0403_4B50)) + le(UInt16(20)) + le(UInt16(0)) + le(UInt16(0)) + le(UInt32(0)) + le(crc)
            out += le(UInt32(data.count)) + le(UInt32(data.count)) + le(UInt16(nameBytes.count)) + le(UInt16(extra.count))
            out += nameBytes + extra + data
            central += le(UInt32(0x0201_4B50)) + le(UInt16(20)) + le(UInt16(20)) + le(UInt16(0)) + le(UInt16(0)) + le(UInt32(0))
            central += le(crc) + le(UInt32(data.count)) + le(UInt32(data.count)) + le(UInt16(nameBytes.count))
            central += le(UInt16(0)) + le(UInt16(0)) + le(UInt16(0)) + le(UInt16(0)) + le(UInt32(0)) + le(UInt32(offset)) + nameBytes
        }
        let directoryOffset = out.count
        out += central
        out += le(UInt32(0x0605_4B50)) + le(UInt16(0)) + le(UInt16(0)) + le(UInt16(members.count)) + le(UInt16(members.count))
        out += le(UInt32(central.count)) + le(UInt32(directoryOffset)) + le(UInt16(0))
        return out
    }
}

/// CRC-32 (the zip polynomial), bit by bit: seeds are small.
func crc32(_ bytes: [UInt8]) -> UInt32 {
    var c: UInt32 = 0xFFFF_FFFF
    for b in bytes {
        c ^= UInt32(b)
        for _ in 0..<8 { c = c & 1 != 0 ? (c >> 1) ^ 0xEDB8_8320 : c >> 1 }
    }
    return ~c
}
