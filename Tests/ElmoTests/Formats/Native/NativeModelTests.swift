import XCTest
@testable import Elmo
@testable import ElmoHDF5

/// The native model file: same bits as the official files, recognised by content, mapped
/// without copying, readable by the `safetensors` package, and defensive against bad files.
final class NativeModelTests: XCTestCase {
    var dir = ""
    override func setUpWithError() throws { dir = try temporaryDirectory() }

    let sentences = [["The", "bank", "of", "the", "river", "."], ["Café", "naïve", "über", "日本語"], ["x"],
                     [String(repeating: "long", count: 20), "<S>", "</S>"]]

    func options(dim: Int = 20, proj: Int = 6, filters: [(Int, Int)] = [(1, 3), (2, 4), (3, 5)], highway: Int = 1,
                 layers: Int = 2) -> ElmoOptions {
        ElmoOptions(charCNN: .init(embeddingDim: 4, filters: filters.map { .init(width: $0.0, count: $0.1) },
                                   highwayCount: highway, characterCount: 262, maxCharactersPerToken: 50, activation: .relu),
                    lstm: .init(dim: dim, projectionDim: proj, layerCount: layers, cellClip: 3, projectionClip: 3,
                                useSkipConnections: true))
    }

    /// A small random model written as official files and converted; returns both models.
    func convertedPair(_ o: ElmoOptions, seed: UInt64 = 5) throws -> (hdf5: ElmoModel, native: ElmoModel, path: String) {
        let sub = joinPath(dir, "m\(seed)-\(o.lstm.dim)-\(o.lstm.projectionDim)")
        try FileManager.default.createDirectory(atPath: sub, withIntermediateDirectories: true)
        let paths = try ElmoRandomModel.write(options: o, seed: seed, directory: sub)
        let hdf5 = try ElmoModel(optionsFile: paths.options, weightsFile: paths.weights)
        let native = joinPath(sub, "model.bin")  // any name: files are recognised by content
        try hdf5.writeNative(to: native)
        return (hdf5, try ElmoModel(path: native), native)
    }

    func testEmbeddingsFromNativeFileAreBitIdenticalToHDF5() throws {
        for o in [options(), options(dim: 6, proj: 6), options(proj: 12, filters: [(1, 4), (2, 8)]), options(highway: 0, layers: 1)] {
            let (hdf5, native, _) = try convertedPair(o)
            XCTAssertTrue(native.sourceDescription.hasPrefix("native model"))
            XCTAssertEqual(native.options, o)
            XCTAssertEqual(try ElmoSession(model: native).embed(sentences).allLayers,
                           try ElmoSession(model: hdf5).embed(sentences).allLayers, "\(o)")
        }
    }

    func testFixtureModelConvertsBitIdentically() throws {
        let model = try Fixtures.model()
        let path = joinPath(dir, "fixture.elmo")
        try model.writeNative(to: path)
        let native = try ElmoModel(nativeFile: path)
        let batch = try Fixtures.sentences()[0]
        XCTAssertEqual(try ElmoSession(model: native).embed(batch).allLayers, try ElmoSession(model: model).embed(batch).allLayers)
        XCTAssertEqual(native.defaultMix, model.defaultMix)
    }

    func testDefaultMixIsStored() throws {
        let (hdf5, _, _) = try convertedPair(options())
        let custom = try ElmoModel(weights: hdf5.weights, sourceDescription: "test",
                               defaultMix: ScalarMix(weights: [0.25, -1.5, 3.0078125], gamma: 0.7, layerNorm: true))
        let path = joinPath(dir, "mix.elmo")
        try custom.writeNative(to: path)
        XCTAssertEqual(try ElmoModel(path: path).defaultMix, custom.defaultMix)
    }

    /// The weights are views into one shared read-only mapping of the whole file: nothing
    /// is copied and no tensor owns memory of its own.
    func testWeightsAreMappedNotCopied() throws {
        let (_, native, path) = try convertedPair(options())
        let size = try XCTUnwrap(try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
        let storages = Set(native.weights.tensors.values.map { ObjectIdentifier($0.storage) })
        XCTAssertEqual(storages.count, 1)
        let storage = try XCTUnwrap(native.weights.tensors.values.first?.storage)
        XCTAssertEqual(storage.byteCount, size)
        for t in native.weights.tensors.values {
            let offset = UnsafeRawPointer(t.pointer) - UnsafeRawPointer(storage.base)
            XCTAssertTrue(offset >= 0 && offset + t.count * 4 <= size)
            XCTAssertEqual(Int(bitPattern: t.pointer) % 64, 0, "tensors are 64-byte aligned")
        }
    }

    /// Loading maps the file without reading it: resident memory grows by far less than the
    /// file until the weights are used.
    func testLoadingAddsNoResidentMemory() throws {
        let o = options(dim: 512, proj: 128, filters: [(1, 32), (2, 64), (3, 160)])  // about 5 MB of weights
        let (_, _, path) = try convertedPair(o, seed: 9)
        let size = try XCTUnwrap(try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
        XCTAssertGreaterThan(size, 4 << 20)
        let before = residentBytes()
        let model = try ElmoModel(nativeFile: path)
        let after = residentBytes()
        XCTAssertLessThan(after - before, size / 4, "loading made \(after - before) bytes resident for a \(size)-byte file")
        withExtendedLifetime(model) {}
    }

    func residentBytes() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let fields = text.split(separator: " ")
        return fields.count > 1 ? (Int(fields[1]) ?? 0) * Int(sysconf(Int32(_SC_PAGESIZE))) : 0
    }

    func testLocatorSniffsContentNotNames() throws {
        let (_, _, native) = try convertedPair(options())
        XCTAssertEqual(try ModelLocator.locate(path: native, optionsFile: nil), .native(path: native))
        // An HDF5 file named like a native file is still read as HDF5.
        let (opts, weights) = try ElmoRandomModel.write(options: options(), seed: 3, directory: dir)
        let renamed = joinPath(dir, "weights.safetensors")
        try FileManager.default.moveItem(atPath: weights, toPath: renamed)
        XCTAssertEqual(try ModelLocator.locate(path: renamed, optionsFile: opts), .official(options: opts, weights: renamed))
    }

    // MARK: the safetensors package

    /// The file is a valid safetensors file: the reference Python package opens it and sees
    /// our metadata, names, shapes and values. Runs when a Python with `safetensors` and
    /// `numpy` is available (`make test` prepares one in .build/python-venv).
    func testSafetensorsPackageReadsTheFile() throws {
        let python = try Self.pythonWithSafetensors()
        let (_, native, path) = try convertedPair(options())
        let bias = try XCTUnwrap(native.weights.tensors[PreparedLayout.lstm(1, 0, "bias")])
        let script = """
        import json, sys
        import numpy as np
        from safetensors.numpy import load_file
        from safetensors import safe_open
        with safe_open(sys.argv[1], framework="np") as f:
            meta = f.metadata()
            names = sorted(f.keys())
        tensors = load_file(sys.argv[1])
        print(json.dumps({
            "format": meta["format"], "version": meta["format_version"],
            "options": json.loads(meta["options"]),
            "names": names,
            "shapes": {k: list(v.shape) for k, v in tensors.items()},
            "dtypes": sorted({str(v.dtype) for v in tensors.values()}),
            "bias": [float(x) for x in tensors["lstm.1.0.bias"].tolist()],
        }))
        """
        let output = try runProcess(python.executable, python.arguments + ["-c", script, path])
        let result = try JSONValue.parse(output)
        XCTAssertEqual(result["format"]?.stringValue, NativeModelFile.formatName)
        XCTAssertEqual(result["version"]?.stringValue, NativeModelFile.formatVersion)
        XCTAssertEqual(try ElmoOptions(json: try XCTUnwrap(result["options"])), native.options)
        let layout = native.weights.layout
        XCTAssertEqual(result["names"]?.arrayValue?.compactMap(\.stringValue), layout.entries.map(\.name).sorted())
        for e in layout.entries {
            XCTAssertEqual(result["shapes"]?[e.name]?.arrayValue?.compactMap(\.intValue), e.shape, e.name)
        }
        XCTAssertEqual(result["dtypes"]?.arrayValue?.compactMap(\.stringValue), ["float32"])
        XCTAssertEqual(result["bias"]?.arrayValue?.compactMap { $0.doubleValue.map(Float.init) }, bias.values)
    }

    /// A Python interpreter that can import safetensors and numpy: $ELMO_TEST_PYTHON,
    /// .build/python-venv/bin/python (made by `make test`), or python3 on the PATH; the test is skipped if none can.
    static func pythonWithSafetensors() throws -> (executable: String, arguments: [String]) {
        var candidates: [(String, [String])] = []
        if let env = ProcessInfo.processInfo.environment["ELMO_TEST_PYTHON"] { candidates.append((env, [])) }
        candidates.append((Fixtures.repositoryRoot + "/.build/python-venv/bin/python", []))
        candidates.append(("/usr/bin/env", ["python3"]))
        for (exe, args) in candidates where FileManager.default.isExecutableFile(atPath: exe) {
            if (try? runProcess(exe, args + ["-c", "import safetensors, numpy"])) != nil { return (exe, args) }
        }
        throw XCTSkip("no Python with the safetensors and numpy packages: run `make test` (it installs them into .build/python-venv from PyPI) or set ELMO_TEST_PYTHON")
    }

    // MARK: hostile files

    /// A valid native file's bytes, split into header JSON and data section.
    func validFile() throws -> (header: [String: JSONValue], data: [UInt8]) {
        let (_, _, path) = try convertedPair(options(), seed: 11)
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        let n = Int(littleEndianInteger(bytes, at: 0, width: 8))
        let header = try XCTUnwrap(JSONValue.parse(bytes[8..<(8 + n)]).objectValue)
        return (header, Array(bytes[(8 + n)...]))
    }

    /// Writes a file from a header (padded to keep the data aligned) and data.
    func write(_ header: [String: JSONValue], _ data: [UInt8], pad: Bool = true) throws -> String {
        var h = Array(JSONValue.object(header).serialized.utf8)
        while pad && (8 + h.count) % 64 != 0 { h.append(0x20) }
        var bytes = (0..<8).map { UInt8(truncatingIfNeeded: UInt64(h.count) >> (8 * UInt64($0))) }
        bytes += h
        bytes += data
        let path = joinPath(dir, "hostile-\(UUID().uuidString).elmo")
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    func assertRejected(_ path: String, _ kind: ElmoError.Kind = .invalidModel, contains: [String],
                        file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try ElmoModel(nativeFile: path), file: file, line: line) { error in
            guard let e = error as? ElmoError else { return XCTFail("not an ElmoError: \(error)", file: file, line: line) }
            XCTAssertEqual(e.kind, kind, e.message, file: file, line: line)
            for c in contains { XCTAssertTrue(e.message.contains(c), "'\(e.message)' lacks '\(c)'", file: file, line: line) }
        }
    }

    func modifying(_ name: String, _ header: [String: JSONValue], _ change: (inout [String: JSONValue]) -> Void) -> [String: JSONValue] {
        var h = header
        var entry = h[name]?.objectValue ?? [:]
        change(&entry)
        h[name] = .object(entry)
        return h
    }

    func testHostileHeadersAreRefusedWithSpecificErrors() throws {
        let (header, data) = try validFile()
        let name = PreparedLayout.lstm(0, 1, "recurrent")
        let entry = try XCTUnwrap(header[name]?.objectValue)
        let offsets = try XCTUnwrap(entry["data_offsets"]?.arrayValue?.compactMap(\.intValue))

        // Sizes and framing.
        let tiny = joinPath(dir, "tiny.elmo")
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: tiny))
        assertRejected(tiny, contains: ["too short"])
        var huge = (0..<8).map { _ in UInt8(0xFF) }
        huge += Array("{}".utf8)
        let hugePath = joinPath(dir, "huge.elmo")
        try Data(huge).write(to: URL(fileURLWithPath: hugePath))
        assertRejected(hugePath, contains: ["exceeds"])
        var past = [UInt8](repeating: 0, count: 8)
        past[0] = 200
        past += Array("{\"a\":1}".utf8)
        let pastPath = joinPath(dir, "past.elmo")
        try Data(past).write(to: URL(fileURLWithPath: pastPath))
        assertRejected(pastPath, contains: ["past the end"])
        assertRejected(try write(header, data, pad: false), contains: ["not a multiple of 64"])
        assertRejected(try write(header, Array(data.dropLast(64))), contains: ["lie outside"])
        assertRejected(try write(header, data + [UInt8](repeating: 0, count: 64)), contains: ["truncated or padded"])

        // Metadata.
        var noMeta = header
        noMeta["__metadata__"] = nil
        assertRejected(try write(noMeta, data), contains: ["no __metadata__"])
        var meta = try XCTUnwrap(header["__metadata__"]?.objectValue)
        meta["format_version"] = .string("2")
        var h = header
        h["__metadata__"] = .object(meta)
        assertRejected(try write(h, data), contains: ["version 2 is not supported"])
        meta["format_version"] = .string("1")
        meta["options"] = .string("{\"lstm\": 5}")
        h["__metadata__"] = .object(meta)
        assertRejected(try write(h, data), contains: ["invalid options"])
        meta = try XCTUnwrap(header["__metadata__"]?.objectValue)
        meta["format"] = .number(3)
        h["__metadata__"] = .object(meta)
        assertRejected(try write(h, data), contains: ["'format' is not a string"])

        // Tensor entries.
        assertRejected(try write(modifying(name, header) { $0["dtype"] = .string("F16") }, data), contains: [name, "F16"])
        assertRejected(try write(modifying(name, header) { $0["shape"] = .array([.number(1), .number(2)]) }, data),
                       .shapeMismatch, contains: [name, "(1, 2)"])
        assertRejected(try write(modifying(name, header) { $0["shape"] = .array([.number(-1)]) }, data), contains: [name, "invalid dimension"])
        assertRejected(try write(modifying(name, header) {
            $0["data_offsets"] = .array([.number(Double(offsets[0])), .number(1e15)])
        }, data), contains: [name, "outside"])
        assertRejected(try write(modifying(name, header) {
            $0["data_offsets"] = .array([.number(Double(offsets[0] + 64)), .number(Double(offsets[1]))])
        }, data), contains: [name, "do not hold"])
        assertRejected(try write(modifying(name, header) {
            $0["data_offsets"] = .array([.number(Double(offsets[0] + 4)), .number(Double(offsets[1] + 4))])
        }, data), contains: [name, "not 64-byte aligned"])
        assertRejected(try write(modifying(name, header) {
            $0["data_offsets"] = .array([.number(0), .number(Double(offsets[1] - offsets[0]))])
        }, data), contains: ["overlaps"])
        assertRejected(try write(modifying(name, header) { $0["data_offsets"] = .string("x") }, data), contains: [name, "two integers"])
        var missing = header
        missing[name] = nil
        assertRejected(try write(missing, data), contains: [name, "missing"])
        var extra = header
        extra["surprise"] = .object(entry)
        assertRejected(try write(extra, data), contains: ["unexpected tensor 'surprise'"])
    }

    /// Random corruptions of a valid file's header are refused (or, when harmless, loaded):
    /// never a crash, never a model whose tensors lie outside the file.
    func testRandomHeaderCorruptionsAreRefusedSafely() throws {
        let (_, _, path) = try convertedPair(options(), seed: 13)
        let original = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        let headerEnd = 8 + Int(littleEndianInteger(original, at: 0, width: 8))
        var rng = SplitMix64(seed: 99)
        var refused = 0
        for i in 0..<300 {
            var bytes = original
            for _ in 0..<(1 + Int(rng.next() % 4)) {
                let at = Int(rng.next() % UInt64(headerEnd))
                bytes[at] = i % 3 == 0 ? UInt8(ascii: "9") : UInt8(truncatingIfNeeded: rng.next())
            }
            let file = joinPath(dir, "fuzz.elmo")
            try Data(bytes).write(to: URL(fileURLWithPath: file))
            do {
                let model = try ElmoModel(nativeFile: file)
                let size = bytes.count
                for t in model.weights.tensors.values {
                    let offset = UnsafeRawPointer(t.pointer) - UnsafeRawPointer(t.storage.base)
                    XCTAssertTrue(offset >= 0 && offset + t.count * 4 <= size)
                }
            } catch let e as ElmoError {
                XCTAssertFalse(e.message.isEmpty)
                refused += 1
            }
        }
        XCTAssertGreaterThan(refused, 200)
    }

    func testUntouchedRewrittenFileLoads() throws {
        let (header, data) = try validFile()
        XCTAssertNoThrow(try ElmoModel(nativeFile: try write(header, data)))
    }
}
