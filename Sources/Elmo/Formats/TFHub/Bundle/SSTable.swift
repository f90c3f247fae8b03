/// Reads a table in the LevelDB format that TensorFlow uses for a checkpoint's
/// `variables.index` (`tensorflow/core/lib/io/table`): data blocks of prefix-compressed
/// key/value entries with a restart array, an index block pointing at the data blocks, a
/// metaindex block (unused by TensorFlow) and a 48-byte footer ending in a magic number.
/// Every block carries a compression byte and a masked CRC-32C, all of which are checked.
///
/// The whole table is held in memory (index files are small: a few KB for google/elmo).
struct SSTable {
    /// One key/value pair; the value is a range of the table's bytes.
    struct Entry {
        let key: [UInt8]
        let value: Range<Int>
    }

    static let footerLength = 48
    static let magic: UInt64 = 0xDB47_7524_8B80_FB57
    /// 1 compression byte + 4 CRC bytes after every block.
    static let blockTrailerLength = 5
    /// Longest key accepted (TensorFlow variable names are far shorter).
    static let maxKeyLength = 1 << 16
    /// Bound on the bytes of all keys once prefix compression is undone: the format lets a
    /// small file describe enormous keys, and this keeps a corrupt one from exhausting memory.
    static let maxTotalKeyBytes = 1 << 26

    /// The table's bytes.
    let bytes: [UInt8]
    /// Every entry of every data block, in key order.
    let entries: [Entry]

    /// Parses and checks a table. `file` names it in errors.
    init(bytes: [UInt8], file: String) throws {
        self.bytes = bytes
        guard bytes.count >= SSTable.footerLength else {
            throw ElmoError(.invalidModel, "\(file): truncated: \(bytes.count) bytes, shorter than the \(SSTable.footerLength)-byte table footer")
        }
        let footerStart = bytes.count - SSTable.footerLength
        var magicCursor = ByteCursor(bytes, range: (bytes.count - 8)..<bytes.count)
        let magic = try decoding("\(file): footer") { try magicCursor.fixed64() }
        guard magic == SSTable.magic else {
            throw ElmoError(.invalidModel, "\(file): bad magic number 0x\(String(magic, radix: 16)) at the end of the file (expected 0x\(String(SSTable.magic, radix: 16))): not a TensorFlow checkpoint index, or truncated")
        }
        var footer = ByteCursor(bytes, range: footerStart..<(bytes.count - 8))
        let (_, index) = try decoding("\(file): footer") { () throws -> (BlockHandle, BlockHandle) in
            let meta = try BlockHandle(&footer)
            return (meta, try BlockHandle(&footer))
        }

        var keyBytes = 0
        let indexEntries = try SSTable.readBlock(bytes, index, limit: footerStart, file: file,
                                                 what: "index block", keyBytes: &keyBytes)
        var all: [Entry] = []
        for e in indexEntries {
            var c = ByteCursor(bytes, range: e.value)
            let handle = try decoding("\(file): index block entry") { try BlockHandle(&c) }
            let block = try SSTable.readBlock(bytes, handle, limit: footerStart, file: file,
                                              what: "data block at offset \(handle.offset)", keyBytes: &keyBytes)
            for entry in block {
                if let last = all.last, !last.key.lexicographicallyPrecedes(entry.key) {
                    throw ElmoError(.invalidModel, "\(file): keys out of order at '\(String(decoding: entry.key, as: UTF8.self))': the index is corrupt")
                }
                all.append(entry)
            }
        }
        entries = all
    }

    /// Where a block lies in the file (its size excludes the 5-byte trailer).
    struct BlockHandle {
        let offset: Int
        let size: Int

        init(_ cursor: inout ByteCursor) throws {
            let o = try cursor.varint64(), s = try cursor.varint64()
            guard o <= UInt64(Int.max / 4), s <= UInt64(Int.max / 4) else {
                throw WireError("block handle (offset \(o), size \(s)) is out of range")
            }
            offset = Int(o)
            size = Int(s)
        }
    }

    /// Checks a block's bounds, compression byte and CRC, then decodes its entries.
    /// `limit` is where the footer starts: no block may reach into it.
    static func readBlock(_ bytes: [UInt8], _ handle: BlockHandle, limit: Int, file: String, what: String,
                          keyBytes: inout Int) throws -> [Entry] {
        guard handle.offset + handle.size + blockTrailerLength <= limit else {
            throw ElmoError(.invalidModel, "\(file): \(what) (offset \(handle.offset), \(handle.size) bytes) runs past the end of the table data (\(limit) bytes): the file is truncated or corrupt")
        }
        let end = handle.offset + handle.size
        let compression = bytes[end]
        var crcCursor = ByteCursor(bytes, range: (end + 1)..<(end + 5))
        let stored = try decoding("\(file): \(what)") { try crcCursor.fixed32() }
        let actual = bytes.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[handle.offset..<(end + 1)])) }
        guard CRC32C.unmask(stored) == actual else {
            throw ElmoError(.invalidModel, "\(file): \(what) fails its CRC32C check (stored 0x\(String(CRC32C.unmask(stored), radix: 16)), computed 0x\(String(actual, radix: 16))): the file is corrupt")
        }
        switch compression {
        case 0: break
        case 1: throw ElmoError(.invalidModel, "\(file): \(what) is Snappy-compressed, which libelmo does not read (TensorFlow writes checkpoint indexes uncompressed)")
        default: throw ElmoError(.invalidModel, "\(file): \(what) has unknown compression type \(compression)")
        }
        return try decoding("\(file): \(what)") {
            try decodeBlock(bytes, handle.offset..<end, keyBytes: &keyBytes)
        }
    }

    /// Decodes the entries of one block: shared/unshared key lengths and value length as
    /// varint32s, then the unshared key bytes and the value; after the entries, the restart
    /// array (offsets of entries whose key is stored whole) and its length.
    static func decodeBlock(_ bytes: [UInt8], _ range: Range<Int>, keyBytes: inout Int) throws -> [Entry] {
        guard range.count >= 4 else { throw WireError("block of \(range.count) bytes is too short for its restart count") }
        let restartCount = Int(littleEndianInteger(bytes, at: range.upperBound - 4, width: 4))
        guard restartCount >= 1, restartCount <= (range.count - 4) / 4 else {
            throw WireError("restart count \(restartCount) does not fit a block of \(range.count) bytes")
        }
        let entriesEnd = range.upperBound - 4 - 4 * restartCount
        var restarts: [Int] = []
        for k in 0..<restartCount {
            let r = Int(littleEndianInteger(bytes, at: entriesEnd + 4 * k, width: 4))
            guard r < entriesEnd - range.lowerBound || (r == 0 && entriesEnd == range.lowerBound) else {
                throw WireError("restart point \(r) lies outside the block's entries")
            }
            if let last = restarts.last, r <= last { throw WireError("restart points are not increasing") }
            restarts.append(r)
        }
        guard restarts[0] == 0 else { throw WireError("the first restart point is \(restarts[0]), not 0") }

        var cursor = ByteCursor(bytes, range: range.lowerBound..<entriesEnd)
        var entries: [Entry] = []
        var key: [UInt8] = []
        var nextRestart = 0
        while !cursor.isAtEnd {
            let entryOffset = cursor.position - range.lowerBound
            let shared = Int(try cursor.varint32())
            let unshared = Int(try cursor.varint32())
            let valueLength = Int(try cursor.varint32())
            if nextRestart < restarts.count, restarts[nextRestart] == entryOffset {
                guard shared == 0 else { throw WireError("entry at restart point \(entryOffset) shares \(shared) key bytes") }
                nextRestart += 1
            } else if nextRestart < restarts.count, restarts[nextRestart] < entryOffset {
                throw WireError("restart point \(restarts[nextRestart]) is not at the start of an entry")
            }
            guard shared <= key.count else {
                throw WireError("entry at offset \(entryOffset) shares \(shared) bytes of a \(key.count)-byte previous key")
            }
            let suffix = try cursor.take(unshared)
            let value = try cursor.take(valueLength)
            guard shared + unshared <= maxKeyLength else {
                throw WireError("key of \(shared + unshared) bytes at offset \(entryOffset) is longer than \(maxKeyLength)")
            }
            keyBytes += shared + unshared
            guard keyBytes <= maxTotalKeyBytes else {
                throw WireError("keys total more than \(maxTotalKeyBytes) bytes")
            }
            key.removeSubrange(shared...)
            key.append(contentsOf: bytes[suffix])
            entries.append(Entry(key: key, value: value))
        }
        guard nextRestart == restarts.count else {
            throw WireError("restart point \(restarts[nextRestart]) is not at the start of an entry")
        }
        return entries
    }
}
