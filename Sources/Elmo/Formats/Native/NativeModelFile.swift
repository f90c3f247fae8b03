#if canImport(Glibc)
import Glibc
#endif

/// libelmo's native model file: one safetensors file holding the prepared compute layout
/// (`PreparedLayout`), memory-mapped and used in place, so loading does no work.
///
/// Layout (the safetensors format, which the `safetensors` Python package reads):
/// - 8 bytes: N, the header length, little-endian unsigned 64-bit;
/// - N bytes: a JSON object. `__metadata__` maps strings to strings: `format` =
///   "libelmo-native", `format_version` = "1", `options` = the options.json text,
///   `default_mix` = the default scalar mix as JSON text; for an ELMoForManyLangs model also
///   `char_vocabulary` and `word_vocabulary`, the tokens in id order joined by newlines
///   (tokens never contain one). Every other key is a tensor:
///   {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}, offsets relative to
///   the data section. In a bf16 file (`PreparedLayout` at `.bf16`) the packed matrices
///   have dtype "BF16"; in an int8 file the LSTM matrices are "I8", each with its "F32"
///   scales and "I32" column sums, and the token layer's matrices "BF16"; the file's precision is that of its tensor `lstm.0.0.input`, and
///   every tensor must have its layout's dtype. The header is padded with spaces so that the data section starts
///   at a multiple of 64 bytes;
/// - the data section: the tensors back to back, little-endian, in layout order. Every
///   tensor is a multiple of 64 bytes, so each is 64-byte aligned in the mapping.
///
/// The reader trusts nothing: every offset, shape and dtype is checked against the file
/// size, the safetensors rules (no gaps, no overlap) and the options before anything is
/// mapped or used, and failures name the file, the tensor and the problem.
enum NativeModelFile {
    static let formatName = "libelmo-native"
    static let formatVersion = "1"
    /// Alignment of the data section and of every tensor in it.
    static let alignment = 64
    /// Largest header accepted (ours are a few kilobytes).
    static let maxHeaderBytes = 16 << 20
    /// Longest tensor name accepted.
    static let maxNameBytes = 256

    /// Whether the first bytes of a file look like a safetensors file (a plausible header
    /// length followed by '{'). Cheap sniffing for `ModelLocator`; `read` validates fully.
    static func looksNative(prefix: [UInt8], fileSize: Int) -> Bool {
        guard prefix.count >= 9, prefix[8] == UInt8(ascii: "{") else { return false }
        let n = littleEndianInteger(prefix, at: 0, width: 8)
        return n >= 2 && n <= UInt64(maxHeaderBytes) && n <= UInt64(max(fileSize - 8, 0))
    }

    // MARK: reading

    /// What a native file holds: its options, default mix and prepared tensors (views into
    /// one shared read-only mapping of the file).
    struct Contents {
        let options: ElmoOptions
        let precision: ElmoPrecision
        let defaultMix: ScalarMix
        let tensors: [String: Tensor]
        let vocabulary: ManyLangsVocabulary?
    }

    static func read(path: String) throws -> Contents {
        #if _endian(big)
        throw ElmoError(.invalidModel, "\(path): native model files are little-endian; this host is big-endian")
        #else
        _ = try requireRegularFile(path, what: "model file")
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ElmoError(.io, "\(path): cannot open model file: \(systemErrorMessage())") }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw ElmoError(.io, "\(path): cannot stat model file: \(systemErrorMessage())") }
        let fileSize = Int(st.st_size)
        guard fileSize >= 8 else {
            throw ElmoError(.invalidModel, "\(path): native model file is \(fileSize) bytes, too short for a header")
        }
        let lengthBytes = try readExactly(fd, offset: 0, count: 8, path: path)
        let declared = littleEndianInteger(lengthBytes, at: 0, width: 8)
        guard declared <= UInt64(maxHeaderBytes) else {
            throw ElmoError(.invalidModel, "\(path): header length \(declared) exceeds the \(maxHeaderBytes)-byte limit")
        }
        let headerLength = Int(declared)
        guard headerLength <= fileSize - 8 else {
            throw ElmoError(.invalidModel, "\(path): header length \(headerLength) runs past the end of the \(fileSize)-byte file")
        }
        let dataStart = 8 + headerLength
        guard dataStart % alignment == 0 else {
            throw ElmoError(.invalidModel, "\(path): data section starts at byte \(dataStart), not a multiple of \(alignment) (not written by libelmo)")
        }
        let headerBytes = try readExactly(fd, offset: 8, count: headerLength, path: path)
        let header = try parseHeader(headerBytes, path: path)
        let layout = PreparedLayout(options: header.options, precision: storedPrecision(header.tensors))
        let entries = try validateTensors(header.tensors, layout: layout, dataSize: fileSize - dataStart, path: path)

        // Everything checked: map the file once; every tensor is a view into the mapping.
        guard let base = mmap(nil, fileSize, PROT_READ, MAP_SHARED, fd, 0), base != MAP_FAILED else {
            throw ElmoError(.io, "\(path): cannot map model file: \(systemErrorMessage())")
        }
        let storage = MemoryStorage(adopting: base, byteCount: fileSize) { p, n in _ = munmap(p, n) }
        var tensors: [String: Tensor] = [:]
        for e in entries {
            tensors[e.name] = Tensor(shape: e.shape, storage: storage, byteOffset: dataStart + e.begin, element: e.element)
        }
        return Contents(options: header.options, precision: layout.precision, defaultMix: header.defaultMix, tensors: tensors,
                        vocabulary: header.vocabulary)
        #endif
    }

    /// The precision of a native file, from its header alone (nothing is mapped).
    static func readPrecision(path: String) throws -> ElmoPrecision {
        _ = try requireRegularFile(path, what: "model file")
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ElmoError(.io, "\(path): cannot open model file: \(systemErrorMessage())") }
        defer { close(fd) }
        let lengthBytes = try readExactly(fd, offset: 0, count: 8, path: path)
        let declared = littleEndianInteger(lengthBytes, at: 0, width: 8)
        guard declared <= UInt64(maxHeaderBytes) else {
            throw ElmoError(.invalidModel, "\(path): header length \(declared) exceeds the \(maxHeaderBytes)-byte limit")
        }
        let header = try parseHeader(try readExactly(fd, offset: 8, count: Int(declared), path: path), path: path)
        return storedPrecision(header.tensors)
    }

    /// bf16 when the header's first LSTM input matrix is BF16, int8 when it is I8, else fp32
    /// (every tensor's dtype is then checked against the layout of that precision).
    private static func storedPrecision(_ tensors: [String: JSONValue]) -> ElmoPrecision {
        switch tensors[PreparedLayout.lstm(0, 0, "input")]?["dtype"]?.stringValue {
        case TensorElement.bf16.safetensorsName: return .bf16
        case TensorElement.i8.safetensorsName: return .int8
        default: return .fp32
        }
    }

    private static func readExactly(_ fd: Int32, offset: Int, count: Int, path: String) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        let got = try bytes.withUnsafeMutableBytes { try preadFully(fd, into: $0, at: offset, path: path) }
        guard got == count else { throw ElmoError(.invalidModel, "\(path): file ends inside its header") }
        return bytes
    }

    private struct Header {
        let options: ElmoOptions
        let defaultMix: ScalarMix
        /// Tensor name -> its header entry (still unchecked).
        let tensors: [String: JSONValue]
        let vocabulary: ManyLangsVocabulary?
    }

    private static func parseHeader(_ bytes: [UInt8], path: String) throws -> Header {
        // safetensors pads the header with trailing spaces, which JSON allows.
        let root: JSONValue
        do {
            root = try JSONValue.parse(bytes, maxBytes: maxHeaderBytes)
        } catch let e as JSONError {
            throw ElmoError(.invalidModel, "\(path): header is not valid JSON (\(e))")
        }
        guard var members = root.objectValue else {
            throw ElmoError(.invalidModel, "\(path): header is not a JSON object")
        }
        guard let meta = members.removeValue(forKey: "__metadata__")?.objectValue else {
            throw ElmoError(.invalidModel, "\(path): header has no __metadata__ object: not a libelmo native model file")
        }
        func field(_ key: String) throws -> String {
            guard let v = meta[key] else { throw ElmoError(.invalidModel, "\(path): __metadata__ lacks '\(key)'") }
            guard let s = v.stringValue else { throw ElmoError(.invalidModel, "\(path): __metadata__ '\(key)' is not a string") }
            return s
        }
        let format = try field("format")
        guard format == formatName else {
            throw ElmoError(.invalidModel, "\(path): format '\(format)' is not '\(formatName)'")
        }
        let version = try field("format_version")
        guard version == formatVersion else {
            throw ElmoError(.invalidModel, "\(path): native format version \(version) is not supported (this library reads version \(formatVersion))")
        }
        let options = try ElmoOptions.parse(json: Array(try field("options").utf8), file: "\(path) (__metadata__ options)")
        let mix = try parseMix(try field("default_mix"), layers: options.outputLayerCount, path: path)
        var vocabulary: ManyLangsVocabulary? = nil
        if options.manyLangs != nil {
            func tokens(_ key: String) throws -> [String] {
                let text = try field(key)
                return text.isEmpty ? [] : text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            }
            vocabulary = try ManyLangsVocabulary(characters: try tokens("char_vocabulary"), words: try tokens("word_vocabulary"),
                                                 maxCharacters: options.charCNN.maxCharactersPerToken, source: path)
        }
        return Header(options: options, defaultMix: mix, tensors: members, vocabulary: vocabulary)
    }

    private static func parseMix(_ text: String, layers: Int, path: String) throws -> ScalarMix {
        let bad = { (why: String) in ElmoError(.invalidModel, "\(path): __metadata__ default_mix \(why)") }
        let value: JSONValue
        do { value = try JSONValue.parse(Array(text.utf8), maxBytes: 1 << 16) } catch { throw bad("is not valid JSON") }
        guard let weights = value["weights"]?.arrayValue, weights.count == layers else {
            throw bad("needs 'weights': a list of \(layers) numbers")
        }
        let w = try weights.map { v -> Float in
            guard let d = v.doubleValue, d.isFinite, abs(d) < 1e30 else { throw bad("has a weight that is not a finite number") }
            return Float(d)
        }
        guard let g = value["gamma"]?.doubleValue, g.isFinite, abs(g) < 1e30 else { throw bad("needs a finite 'gamma'") }
        guard let norm = value["layer_norm"]?.boolValue else { throw bad("needs a boolean 'layer_norm'") }
        return ScalarMix(weights: w, gamma: Float(g), layerNorm: norm)
    }

    struct Entry {
        let name: String
        let shape: [Int]
        let element: TensorElement
        /// Byte range within the data section.
        let begin: Int
        let end: Int
    }

    /// Checks every tensor entry: known name, the layout's dtype and shape, offsets inside the
    /// data section, sized exactly for the shape, aligned, and together covering the data
    /// section with no gap or overlap (the safetensors rule).
    private static func validateTensors(_ raw: [String: JSONValue], layout: PreparedLayout, dataSize: Int,
                                        path: String) throws -> [Entry] {
        let expected = Dictionary(uniqueKeysWithValues: layout.entries.map { ($0.name, $0) })
        var entries: [Entry] = []
        // In name order, not the dictionary's (seeded per process): a file with several faults
        // gets the same error in every run.
        for (name, value) in raw.sorted(by: { $0.key < $1.key }) {
            let label = name.utf8.count <= maxNameBytes ? name : String(name.prefix(64)) + "..."
            guard let entryExpected = expected[name] else {
                throw ElmoError(.invalidModel, "\(path): unexpected tensor '\(label)' for these options")
            }
            guard let info = value.objectValue else {
                throw ElmoError(.invalidModel, "\(path): tensor '\(label)': header entry is not an object")
            }
            guard let dtype = info["dtype"]?.stringValue else {
                throw ElmoError(.invalidModel, "\(path): tensor '\(label)': dtype missing or not a string")
            }
            let element = entryExpected.element
            guard dtype == element.safetensorsName else {
                throw ElmoError(.invalidModel, "\(path): tensor '\(label)': dtype \(dtype) is not supported (expected \(element.safetensorsName) in a \(layout.precision) file)")
            }
            let shapeExpected = entryExpected.shape
            guard let dims = info["shape"]?.arrayValue, dims.count <= 8 else {
                throw ElmoError(.invalidModel, "\(path): tensor '\(label)': shape missing or not a list of at most 8 dimensions")
            }
            let shape = try dims.map { d -> Int in
                guard let i = d.intValue, i >= 0, i <= Int(Int32.max) else {
                    throw ElmoError(.invalidModel, "\(path): tensor '\(label)': shape \(value["shape"]?.serialized ?? "") has an invalid dimension")
                }
                return i
            }
            guard shape == shapeExpected else {
                throw ElmoError.shapeMismatch(path, name, expected: shapeExpected, actual: shape)
            }
            guard let offsets = info["data_offsets"]?.arrayValue, offsets.count == 2,
                  let begin = offsets[0].intValue, let end = offsets[1].intValue else {
                throw ElmoError(.invalidModel, "\(path): tensor '\(label)': data_offsets must be two integers")
            }
            guard begin >= 0, begin <= end, end <= dataSize else {
                throw ElmoError(.invalidModel, "\(path): tensor '\(label)': data_offsets [\(begin), \(end)] lie outside the \(dataSize)-byte data section")
            }
            let elements = try checkedElementCount(shape)
            let (bytes, overflow) = elements.multipliedReportingOverflow(by: element.byteWidth)
            guard !overflow, bytes == end - begin else {
                throw ElmoError(.invalidModel, "\(path): tensor '\(label)': \(end - begin) bytes do not hold shape \(formatShape(shape)) of \(dtype)")
            }
            guard begin % alignment == 0 else {
                throw ElmoError(.invalidModel, "\(path): tensor '\(label)': offset \(begin) is not \(alignment)-byte aligned")
            }
            entries.append(Entry(name: name, shape: shape, element: element, begin: begin, end: end))
        }
        for e in layout.entries where raw[e.name] == nil {
            throw ElmoError.missingTensor(path, e.name)
        }
        entries.sort { $0.begin != $1.begin ? $0.begin < $1.begin : $0.end < $1.end }
        var position = 0
        for e in entries {
            guard e.begin == position else {
                throw ElmoError(.invalidModel, e.begin < position
                    ? "\(path): tensor '\(e.name)' overlaps the tensor before it (offset \(e.begin) < \(position))"
                    : "\(path): gap in the data section before tensor '\(e.name)' (bytes \(position)..<\(e.begin))")
            }
            position = e.end
        }
        guard position == dataSize else {
            throw ElmoError(.invalidModel, "\(path): the tensors end at byte \(position) of a \(dataSize)-byte data section (file truncated or padded)")
        }
        return entries
    }
}
