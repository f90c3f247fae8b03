/// The values of a TensorFlow tensor bundle's index (`tensorflow/core/protobuf/tensor_bundle.proto`),
/// decoded from the protobuf wire format by hand: the header stored under the empty key, and
/// one entry per tensor.

/// `BundleHeaderProto`: number of data shards, byte order, format version.
struct BundleHeader: Equatable {
    /// The bundle format version libelmo understands (TensorFlow's `kTensorBundleVersion`).
    static let supportedVersion = 1
    /// Far above anything TensorFlow writes for one model; bounds the data files opened.
    static let maxShards = 4096

    var numShards = 0
    var bigEndian = false
    var producer = 0
    var minConsumer = 0

    /// Decodes fields 1 (num_shards), 2 (endianness) and 3 (version: producer, min_consumer).
    init(_ bytes: [UInt8], range: Range<Int>) throws {
        var r = ProtoReader(bytes, range: range)
        while let (field, value) = try r.next() {
            switch field {
            case 1: numShards = try value.nonNegative("num_shards")
            case 2: bigEndian = try value.varint("endianness") != 0
            case 3:
                var v = ProtoReader(bytes, range: try value.bytes("version"))
                while let (f, x) = try v.next() {
                    if f == 1 { producer = Int(truncatingIfNeeded: Int64(bitPattern: try x.varint("version.producer"))) }
                    if f == 2 { minConsumer = Int(truncatingIfNeeded: Int64(bitPattern: try x.varint("version.min_consumer"))) }
                }
            default: break
            }
        }
    }

    /// Refuses what TensorFlow's own reader refuses.
    func validate() throws {
        guard numShards >= 1, numShards <= BundleHeader.maxShards else {
            throw WireError("header gives \(numShards) data shards (expected 1 to \(BundleHeader.maxShards))")
        }
        guard !bigEndian else {
            throw WireError("the bundle was written on a big-endian machine, which libelmo does not read")
        }
        guard minConsumer <= BundleHeader.supportedVersion else {
            throw WireError("the bundle needs a reader of format version \(minConsumer) or later; libelmo reads version \(BundleHeader.supportedVersion)")
        }
    }
}

/// `BundleEntryProto`: where one tensor's bytes are and how to check them.
struct BundleEntry: Equatable {
    /// Longest shape accepted (TensorFlow's limit is 254).
    static let maxRank = 254

    /// TensorFlow `DataType` enum value (`DT_FLOAT` = 1).
    var dtype = 0
    /// Dimensions; nil when the entry says the rank is unknown.
    var shape: [Int]? = []
    var shardID = 0
    var offset = 0
    var size = 0
    /// The masked CRC-32C of the tensor's bytes.
    var maskedCRC: UInt32 = 0
    /// Number of slices: non-zero for a partitioned variable, whose data lives in other entries.
    var sliceCount = 0

    /// Decodes fields 1 dtype, 2 shape (TensorShapeProto), 3 shard_id, 4 offset, 5 size,
    /// 6 crc32c (fixed32), 7 slices; others are skipped as protobuf readers do.
    init(_ bytes: [UInt8], range: Range<Int>) throws {
        var r = ProtoReader(bytes, range: range)
        while let (field, value) = try r.next() {
            switch field {
            case 1: dtype = try value.nonNegative("dtype")
            case 2: shape = try BundleEntry.decodeShape(bytes, try value.bytes("shape"))
            case 3: shardID = try value.nonNegative("shard_id")
            case 4: offset = try value.nonNegative("offset")
            case 5: size = try value.nonNegative("size")
            case 6: maskedCRC = try value.fixed32("crc32c")
            case 7: sliceCount += 1
            default: break
            }
        }
    }

    /// TensorShapeProto: repeated field 2 `dim` (each a message with field 1 `size`), field 3
    /// `unknown_rank`.
    static func decodeShape(_ bytes: [UInt8], _ range: Range<Int>) throws -> [Int]? {
        var dims: [Int] = []
        var unknownRank = false
        var r = ProtoReader(bytes, range: range)
        while let (field, value) = try r.next() {
            switch field {
            case 2:
                guard dims.count < maxRank else { throw WireError("shape has more than \(maxRank) dimensions") }
                var size: Int64 = 0
                var d = ProtoReader(bytes, range: try value.bytes("shape.dim"))
                while let (f, x) = try d.next() {
                    if f == 1 { size = Int64(bitPattern: try x.varint("shape.dim.size")) }
                }
                guard size >= 0 else { throw WireError("shape has an unknown or negative dimension (\(size))") }
                dims.append(Int(size))
            case 3:
                unknownRank = try value.varint("shape.unknown_rank") != 0
            default: break
            }
        }
        return unknownRank ? nil : dims
    }
}

/// Names of TensorFlow's `DataType` values, for error messages.
enum TensorDType {
    static let float = 1
    static let double = 2

    static func name(_ raw: Int) -> String {
        let names: [Int: String] = [
            0: "DT_INVALID", 1: "DT_FLOAT", 2: "DT_DOUBLE", 3: "DT_INT32", 4: "DT_UINT8", 5: "DT_INT16",
            6: "DT_INT8", 7: "DT_STRING", 8: "DT_COMPLEX64", 9: "DT_INT64", 10: "DT_BOOL", 11: "DT_QINT8",
            12: "DT_QUINT8", 13: "DT_QINT32", 14: "DT_BFLOAT16", 15: "DT_QINT16", 16: "DT_QUINT16",
            17: "DT_UINT16", 18: "DT_COMPLEX128", 19: "DT_HALF", 20: "DT_RESOURCE", 21: "DT_VARIANT",
            22: "DT_UINT32", 23: "DT_UINT64",
        ]
        return names[raw] ?? "DataType \(raw)"
    }
}
