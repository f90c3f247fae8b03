#if canImport(Glibc)
import Glibc
#endif

/// A PyTorch state dict saved with `torch.save(module.state_dict(), path)`, read without
/// Python: the tensors by name, as float32 `Tensor`s in row-major order.
///
/// Two containers exist:
/// - the legacy format (torch < 1.6, and later with `_use_new_zipfile_serialization=False`;
///   the released ELMoForManyLangs files): five pickles back to back (magic number, protocol
///   version 1001, sys_info, the state dict, the list of storage keys), then each storage
///   in that key order as an int64 element count and its raw little-endian elements;
/// - the zip format (torch >= 1.6): `<root>/data.pkl` holds the state dict and
///   `<root>/data/<key>` each storage's raw bytes.
///
/// Only float32 storages (`torch.FloatStorage`) are accepted: ELMoForManyLangs' state dicts
/// hold nothing else. Tensors may be any strided view of their storage; every element index
/// is checked against the storage's size.
struct TorchCheckpoint {
    /// Tensor names in the file's order.
    let names: [String]
    let tensors: [String: Tensor]

    static let legacyMagic: [UInt8] = [0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19]  // 0x1950a86a20f9469cfc6c, LE
    static let legacyProtocolVersion = 1001
    /// Bytes of pickles read at most (the tensors' data is read separately).
    static let maxPickleBytes = 64 << 20
    static let maxTensors = 1 << 16

    static func read(path: String) throws -> TorchCheckpoint {
        let size = try requireRegularFile(path, what: "PyTorch checkpoint")
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ElmoError(.io, "\(path): cannot open: \(systemErrorMessage())") }
        defer { close(fd) }
        var head = [UInt8](repeating: 0, count: min(size, maxPickleBytes))
        let got = try head.withUnsafeMutableBytes { try preadFully(fd, into: $0, at: 0, path: path) }
        head.removeSubrange(got...)
        if StoredZipReader.looksLikeZip(head) {
            return try readZip(fd: fd, path: path, size: size)
        }
        return try readLegacy(fd: fd, head: head, path: path, size: size)
    }

    /// Where each storage's elements are in the file.
    private struct StorageData {
        let offset: Int
        let count: Int
    }

    private static func readLegacy(fd: Int32, head: [UInt8], path: String, size: Int) throws -> TorchCheckpoint {
        guard head.count >= 2, head[0] == 0x80 else {
            throw ElmoError(.invalidModel, "\(path): not a PyTorch checkpoint (neither a zip archive nor a pickle stream)")
        }
        var u = Unpickler(bytes: head, file: path)
        let magicAt = u.pos
        guard case .bytes(let magic) = try u.load(), magic == legacyMagic else {
            throw u.error("not a PyTorch legacy checkpoint (wrong magic number)", at: magicAt)
        }
        let versionAt = u.pos
        guard try u.load().intValue == legacyProtocolVersion else {
            throw u.error("unsupported PyTorch legacy protocol version (expected \(legacyProtocolVersion))", at: versionAt)
        }
        let sysAt = u.pos
        if case .dict(let info) = try u.load() {
            for (k, v) in info.items where k.stringValue == "little_endian" {
                guard case .bool(true) = v else { throw u.error("saved on a big-endian machine (not supported)", at: sysAt) }
            }
        } else {
            throw u.error("sys_info is not a dict", at: sysAt)
        }
        let dictAt = u.pos
        let stateDict = try u.load()
        let keysAt = u.pos
        guard case .list(let keyList) = try u.load() else { throw u.error("the storage key list is not a list", at: keysAt) }
        let keys = try keyList.items.map { v -> String in
            guard let k = v.stringValue else { throw u.error("a storage key is not a string", at: keysAt) }
            return k
        }
        // The storages follow the pickles, in key order: int64 element count, then the elements.
        var storages: [String: StorageData] = [:]
        var offset = u.pos
        for key in keys {
            guard offset <= size - 8 else {
                throw ElmoError(.invalidModel, "\(path): storage '\(key)' at byte \(offset): file ends before its size (truncated)")
            }
            var countBytes = [UInt8](repeating: 0, count: 8)
            _ = try countBytes.withUnsafeMutableBytes { try preadFully(fd, into: $0, at: offset, path: path) }
            let count = littleEndianInteger(countBytes, at: 0, width: 8)
            guard count <= UInt64((size - offset - 8) / 4) else {
                throw ElmoError(.invalidModel, "\(path): storage '\(key)' at byte \(offset): \(count) elements run past the end of the \(size)-byte file")
            }
            guard storages[key] == nil else { throw ElmoError(.invalidModel, "\(path): storage key '\(key)' appears twice") }
            storages[key] = StorageData(offset: offset + 8, count: Int(count))
            offset += 8 + Int(count) * 4
        }
        return try materialize(stateDict, at: dictAt, unpickler: u, storages: storages, fd: fd, path: path)
    }

    private static func readZip(fd: Int32, path: String, size: Int) throws -> TorchCheckpoint {
        let zip = try StoredZipReader(fd: fd, path: path, fileSize: size)
        let pickles = zip.members.keys.filter { $0 == "data.pkl" || $0.hasSuffix("/data.pkl") }
        guard pickles.count == 1, let pickleName = pickles.first, let member = zip.members[pickleName] else {
            throw ElmoError(.invalidModel, "\(path): zip archive without exactly one data.pkl: not a PyTorch checkpoint")
        }
        let root = String(pickleName.dropLast("data.pkl".count))
        if let order = zip.members[root + "byteorder"] {
            var b = [UInt8](repeating: 0, count: min(order.size, 16))
            _ = try b.withUnsafeMutableBytes { try preadFully(fd, into: $0, at: order.dataOffset, path: path) }
            guard b == Array("little".utf8) else { throw ElmoError(.invalidModel, "\(path): saved with byte order other than little-endian") }
        }
        guard member.size <= maxPickleBytes else {
            throw ElmoError(.invalidModel, "\(path): \(pickleName) is \(member.size) bytes, more than the \(maxPickleBytes)-byte limit")
        }
        var bytes = [UInt8](repeating: 0, count: member.size)
        let got = try bytes.withUnsafeMutableBytes { try preadFully(fd, into: $0, at: member.dataOffset, path: path) }
        guard got == member.size else { throw ElmoError(.invalidModel, "\(path): \(pickleName) is truncated") }
        var u = Unpickler(bytes: bytes, file: "\(path) (\(pickleName))")
        let stateDict = try u.load()
        var storages: [String: StorageData] = [:]
        for (name, m) in zip.members where name.hasPrefix(root + "data/") {
            storages[String(name.dropFirst(root.count + 5))] = StorageData(offset: m.dataOffset, count: m.size / 4)
        }
        return try materialize(stateDict, at: 0, unpickler: u, storages: storages, fd: fd, path: path)
    }

    /// The state dict's tensors, each copied out of its storage into a row-major float32 tensor.
    private static func materialize(_ value: PickleValue, at offset: Int, unpickler u: Unpickler,
                                    storages: [String: StorageData], fd: Int32, path: String) throws -> TorchCheckpoint {
        guard case .dict(let dict) = value else { throw u.error("the checkpoint does not hold a dict (a state dict)", at: offset) }
        guard dict.items.count <= maxTensors else { throw u.error("more than \(maxTensors) entries", at: offset) }
        var names: [String] = []
        var tensors: [String: Tensor] = [:]
        for (k, v) in dict.items {
            guard let name = k.stringValue else { throw u.error("a state-dict key is not a string", at: offset) }
            guard case .tensor(let t) = v else { throw u.error("state-dict entry '\(name)' is not a tensor", at: offset) }
            guard tensors[name] == nil else { throw u.error("state-dict entry '\(name)' appears twice", at: offset) }
            guard t.storage.type == "FloatStorage" else {
                throw ElmoError(.invalidModel, "\(path): tensor '\(name)' is stored as \(t.storage.type); only float32 (FloatStorage) is supported")
            }
            guard let data = storages[t.storage.key] else {
                throw ElmoError(.invalidModel, "\(path): tensor '\(name)' refers to storage '\(t.storage.key)', which the file does not hold")
            }
            guard data.count >= t.storage.count else {
                throw ElmoError(.invalidModel, "\(path): storage '\(t.storage.key)' holds \(data.count) elements, fewer than the \(t.storage.count) declared")
            }
            tensors[name] = try copyTensor(t, name: name, data: data, fd: fd, path: path)
            names.append(name)
        }
        return TorchCheckpoint(names: names, tensors: tensors)
    }

    /// Copies a strided view out of its storage, checking that every index lies inside it.
    private static func copyTensor(_ t: PickledTensor, name: String, data: StorageData, fd: Int32, path: String) throws -> Tensor {
        let count = try checkedElementCount(t.shape)
        // A state dict's tensors never repeat elements (stride 0): a view larger than its
        // storage would only make a small file allocate a huge tensor.
        guard count <= data.count else {
            throw ElmoError(.invalidModel, "\(path): tensor '\(name)' has \(count) elements, more than its \(data.count)-element storage")
        }
        // Highest element index the view touches (for a non-empty view).
        var last = t.offset
        for (n, s) in zip(t.shape, t.stride) where n > 0 {
            let (span, o1) = (n - 1).multipliedReportingOverflow(by: s)
            let (sum, o2) = last.addingReportingOverflow(span)
            guard !o1, !o2 else { throw ElmoError(.invalidModel, "\(path): tensor '\(name)': size and stride overflow") }
            last = sum
        }
        guard count == 0 || last < data.count else {
            throw ElmoError(.invalidModel, "\(path): tensor '\(name)' (shape \(formatShape(t.shape)), offset \(t.offset)) reaches element \(last) of a \(data.count)-element storage")
        }
        let (tensor, out) = try Tensor.allocate(shape: t.shape)
        guard count > 0 else { return tensor }
        // Read the span the view covers, then gather (a contiguous view is one copy).
        let spanCount = last - t.offset + 1
        var span = [Float](repeating: 0, count: spanCount)
        let got = try span.withUnsafeMutableBytes {
            try preadFully(fd, into: $0, at: data.offset + t.offset * 4, path: path)
        }
        guard got == spanCount * 4 else { throw ElmoError(.invalidModel, "\(path): tensor '\(name)': file ends inside its data") }
        #if _endian(big)
        for i in 0..<spanCount { span[i] = Float(bitPattern: UInt32(littleEndian: span[i].bitPattern)) }
        #endif
        var contiguous = true, expected = 1
        for (n, s) in zip(t.shape, t.stride).reversed() where n > 1 {
            if s != expected { contiguous = false }
            expected *= n
        }
        if contiguous {
            span.withUnsafeBufferPointer { out.update(from: $0.baseAddress!, count: count) }
            return tensor
        }
        var index = [Int](repeating: 0, count: t.shape.count)
        for i in 0..<count {
            var src = 0
            for d in 0..<index.count { src += index[d] * t.stride[d] }
            out[i] = span[src]
            var d = index.count - 1
            while d >= 0 {
                index[d] += 1
                if index[d] < t.shape[d] { break }
                index[d] = 0
                d -= 1
            }
        }
        return tensor
    }
}
