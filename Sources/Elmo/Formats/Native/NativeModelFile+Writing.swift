#if canImport(Glibc)
import Glibc
#endif

/// Writing a native model file (the layout is described on `NativeModelFile`).
extension NativeModelFile {
    /// Writes `weights` (and the default mix) as a native file at `path`, atomically: the
    /// file appears complete under its name or not at all.
    static func write(weights: ElmoWeights, defaultMix: ScalarMix, to path: String) throws {
        var tensorsJSON: [String: JSONValue] = [:]
        var offset = 0
        for e in weights.layout.entries {
            let bytes = e.byteCount
            guard bytes % alignment == 0 else {
                throw ElmoError(.invalidModel, "prepared tensor \(e.name) is not a multiple of \(alignment) bytes")
            }
            tensorsJSON[e.name] = .object([
                "dtype": .string(e.element.safetensorsName),
                "shape": .array(e.shape.map { .number(Double($0)) }),
                "data_offsets": .array([.number(Double(offset)), .number(Double(offset + bytes))]),
            ])
            offset += bytes
        }
        let mix: JSONValue = .object([
            "weights": .array(defaultMix.weights.map { .number(Double($0)) }),
            "gamma": .number(Double(defaultMix.gamma)),
            "layer_norm": .bool(defaultMix.layerNorm),
        ])
        var metadata: [String: JSONValue] = [
            "format": .string(formatName),
            "format_version": .string(formatVersion),
            "options": .string(weights.options.json.serialized),
            "default_mix": .string(mix.serialized),
        ]
        if let v = weights.vocabulary {
            metadata["char_vocabulary"] = .string(v.characters.joined(separator: "\n"))
            metadata["word_vocabulary"] = .string(v.words.joined(separator: "\n"))
        }
        tensorsJSON["__metadata__"] = .object(metadata)
        var header = Array(JSONValue.object(tensorsJSON).serialized.utf8)
        while (8 + header.count) % alignment != 0 { header.append(UInt8(ascii: " ")) }

        let temporary = path + ".tmp-\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw ElmoError(.io, "\(path): cannot create file (writing it as \(temporary) first): \(systemErrorMessage())") }
        var ok = false
        defer {
            if !ok { unlink(temporary) }
        }
        do {
            defer { close(fd) }
            var length = [UInt8](repeating: 0, count: 8)
            for i in 0..<8 { length[i] = UInt8(truncatingIfNeeded: UInt64(header.count) >> (8 * UInt64(i))) }
            try writeAll(fd, length, path: temporary)
            try writeAll(fd, header, path: temporary)
            for e in weights.layout.entries {
                guard let t = weights.tensors[e.name], t.element == e.element else {
                    throw ElmoError.missingTensor("prepared weights", e.name)
                }
                try writeAll(fd, UnsafeRawBufferPointer(start: t.rawPointer, count: e.byteCount), path: temporary)
            }
            guard fsync(fd) == 0 else { throw ElmoError(.io, "\(temporary): fsync failed: \(systemErrorMessage())") }
        }
        guard rename(temporary, path) == 0 else {
            throw ElmoError(.io, "\(path): cannot rename \(temporary) into place: \(systemErrorMessage())")
        }
        ok = true
    }

    private static func writeAll(_ fd: Int32, _ bytes: [UInt8], path: String) throws {
        try bytes.withUnsafeBytes { try writeAll(fd, $0, path: path) }
    }

    private static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, path: String) throws {
        var done = 0
        while done < bytes.count {
            let n = Glibc.write(fd, bytes.baseAddress! + done, min(bytes.count - done, 1 << 30))
            if n < 0 {
                if errno == EINTR { continue }
                throw ElmoError(.io, "\(path): write failed: \(systemErrorMessage())")
            }
            done += n
        }
    }
}
