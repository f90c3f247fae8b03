/// A TensorFlow checkpoint in the "tensor bundle" format (what `tf.compat.v1.train.Saver`,
/// `tf.train.Checkpoint` and TF Hub module exports write): an index table
/// (`<prefix>.index`) mapping each tensor name to a `BundleEntry`, and data shards
/// (`<prefix>.data-00000-of-00001`, ...) holding the raw little-endian tensor bytes.
///
/// Opening a bundle parses and checks the whole index; reading a tensor checks its dtype,
/// shape, size, shard and byte range against the shard's real size before touching the
/// data, then its CRC-32C.
final class TensorBundle {
    /// Largest index file read (google/elmo's is about 4 KB).
    static let maxIndexBytes = 1 << 26

    /// Names the index in error messages.
    let indexName: String
    let header: BundleHeader
    /// Data shards by shard id.
    let shards: [BundleDataSource]
    private let entries: [String: BundleEntry]

    /// Every tensor name in the index, sorted.
    let tensorNames: [String]

    /// Parses an index held in memory. `shard(id, count)` opens data shard `id` of `count`.
    init(indexBytes: [UInt8], indexName: String, shard: (Int, Int) throws -> BundleDataSource) throws {
        self.indexName = indexName
        let table = try SSTable(bytes: indexBytes, file: indexName)
        guard let first = table.entries.first, first.key.isEmpty else {
            throw ElmoError(.invalidModel, "\(indexName): no bundle header (the entry with the empty key): not a TensorFlow checkpoint index")
        }
        let header = try decoding("\(indexName): bundle header") { () throws -> BundleHeader in
            let h = try BundleHeader(table.bytes, range: first.value)
            try h.validate()
            return h
        }
        var entries: [String: BundleEntry] = [:]
        var names: [String] = []
        for e in table.entries.dropFirst() {
            let name = String(decoding: e.key, as: UTF8.self)
            entries[name] = try decoding("\(indexName): entry for tensor '\(name)'") {
                try BundleEntry(table.bytes, range: e.value)
            }
            names.append(name)
        }
        self.header = header
        self.entries = entries
        self.tensorNames = names
        self.shards = try (0..<header.numShards).map { try shard($0, header.numShards) }
    }

    /// Opens `<prefix>.index` and its data files `<prefix>.data-NNNNN-of-MMMMM` on disk.
    convenience init(prefix: String) throws {
        let indexPath = prefix + ".index"
        let bytes = try readSmallFile(indexPath, limit: TensorBundle.maxIndexBytes, what: "checkpoint index")
        try self.init(indexBytes: bytes, indexName: indexPath) { id, count in
            try FileDataSource(path: TensorBundle.dataFileName(prefix: prefix, shard: id, of: count))
        }
    }

    /// TensorFlow's data file naming: `<prefix>.data-00000-of-00001`.
    static func dataFileName(prefix: String, shard: Int, of count: Int) -> String {
        func five(_ n: Int) -> String {
            let s = String(n)
            return String(repeating: "0", count: max(0, 5 - s.count)) + s
        }
        return "\(prefix).data-\(five(shard))-of-\(five(count))"
    }

    func entry(_ name: String) -> BundleEntry? { entries[name] }

    /// The tensor `name` as float32: DT_FLOAT as stored (a view of in-memory data when
    /// aligned, else a copy), DT_DOUBLE converted. Any other dtype, a partitioned variable,
    /// a size that disagrees with the shape, a byte range outside its data file or a CRC
    /// mismatch is an `.invalidModel` error naming the tensor.
    func floats(_ name: String) throws -> Tensor {
        guard let e = entries[name] else {
            throw ElmoError.missingTensor(indexName, name)
        }
        guard e.sliceCount == 0 else {
            throw ElmoError(.invalidModel, "\(indexName): tensor '\(name)' is a partitioned variable (saved in \(e.sliceCount) slices), which libelmo does not read")
        }
        let elementSize: Int
        switch e.dtype {
        case TensorDType.float: elementSize = 4
        case TensorDType.double: elementSize = 8
        default:
            throw ElmoError(.invalidModel, "\(indexName): tensor '\(name)' has dtype \(TensorDType.name(e.dtype)); libelmo reads DT_FLOAT (and converts DT_DOUBLE)")
        }
        guard let shape = e.shape else {
            throw ElmoError(.invalidModel, "\(indexName): tensor '\(name)' has an unknown rank")
        }
        guard let count = try? checkedElementCount(shape) else {
            throw ElmoError(.invalidModel, "\(indexName): tensor '\(name)' has an impossible shape \(formatShape(shape))")
        }
        guard e.size == count * elementSize else {
            throw ElmoError(.invalidModel, "\(indexName): tensor '\(name)' of shape \(formatShape(shape)) and dtype \(TensorDType.name(e.dtype)) should take \(count * elementSize) bytes, but its entry says \(e.size)")
        }
        guard e.shardID < shards.count else {
            throw ElmoError(.invalidModel, "\(indexName): tensor '\(name)' is in data shard \(e.shardID), but the bundle has \(shards.count)")
        }
        let shard = shards[e.shardID]
        guard e.offset <= shard.byteCount, e.size <= shard.byteCount - e.offset else {
            throw ElmoError(.invalidModel, "\(shard.name): tensor '\(name)' needs bytes \(e.offset)..<\(e.offset + e.size), but the data file is only \(shard.byteCount) bytes: it is truncated or does not belong to this index")
        }

        let tensor: Tensor
        let bytes: UnsafeRawBufferPointer
        var scratch: MemoryStorage?
        if elementSize == 4, let s = shard.storage, e.offset % MemoryLayout<Float>.alignment == 0 {
            tensor = Tensor(shape: shape, storage: s, byteOffset: e.offset)
            bytes = UnsafeRawBufferPointer(start: s.base + e.offset, count: e.size)
        } else if elementSize == 4 {
            let (t, p) = try Tensor.allocate(shape: shape)
            try shard.read(offset: e.offset, count: e.size, into: p)
            tensor = t
            bytes = UnsafeRawBufferPointer(start: p, count: e.size)
        } else {
            let raw = try MemoryStorage(zeroedBytes: e.size)
            try shard.read(offset: e.offset, count: e.size, into: raw.base)
            scratch = raw
            bytes = UnsafeRawBufferPointer(start: raw.base, count: e.size)
            let (t, p) = try Tensor.allocate(shape: shape)
            for i in 0..<count {
                p[i] = Float(Double(bitPattern: UInt64(littleEndian: raw.base.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self))))
            }
            tensor = t
        }
        let actual = CRC32C.checksum(bytes)
        withExtendedLifetime(scratch) {}
        guard actual == CRC32C.unmask(e.maskedCRC) else {
            throw ElmoError(.invalidModel, "\(shard.name): tensor '\(name)' fails its CRC32C check (stored 0x\(String(CRC32C.unmask(e.maskedCRC), radix: 16)), computed 0x\(String(actual, radix: 16))): the data file is corrupt")
        }
        return tensor
    }
}
