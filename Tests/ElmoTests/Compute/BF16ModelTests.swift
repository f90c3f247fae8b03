import XCTest
import CElmoKernels
@testable import Elmo
@testable import ElmoHDF5

/// Per-layer agreement of two embeddings of the same sentences (all-layers output).
struct LayerAgreement {
    /// Per output layer: largest |a - b| over every value.
    var maxAbsDiff: [Float]
    /// Per output layer: mean, over tokens, of the cosine similarity of the token vectors.
    var meanCosine: [Double]
    /// Per output layer: smallest token cosine.
    var minCosine: [Double]

    static func cosine(_ a: UnsafeBufferPointer<Float>, _ b: UnsafeBufferPointer<Float>) -> Double {
        var dot = 0.0, na = 0.0, nb = 0.0
        for i in 0..<a.count {
            dot += Double(a[i]) * Double(b[i])
            na += Double(a[i]) * Double(a[i])
            nb += Double(b[i]) * Double(b[i])
        }
        return na == 0 && nb == 0 ? 1 : dot / (na.squareRoot() * nb.squareRoot())
    }

    /// `a` and `b`: all-layers outputs [sentence][layer][token][width] of sentences with `tokenCounts`.
    init(_ a: [Float], _ b: [Float], tokenCounts: [Int], layers: Int, width: Int) {
        var maxAbsDiff = [Float](repeating: 0, count: layers)
        var sums = [Double](repeating: 0, count: layers)
        var minCosine = [Double](repeating: 1, count: layers)
        var tokens = 0
        var offset = 0
        a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                for t in tokenCounts {
                    for layer in 0..<layers {
                        for _ in 0..<t {
                            let va = UnsafeBufferPointer(rebasing: pa[offset..<(offset + width)])
                            let vb = UnsafeBufferPointer(rebasing: pb[offset..<(offset + width)])
                            for i in 0..<width { maxAbsDiff[layer] = max(maxAbsDiff[layer], abs(va[i] - vb[i])) }
                            let c = LayerAgreement.cosine(va, vb)
                            sums[layer] += c
                            minCosine[layer] = min(minCosine[layer], c)
                            offset += width
                        }
                    }
                    tokens += t
                }
            }
        }
        self.maxAbsDiff = maxAbsDiff
        self.minCosine = minCosine
        meanCosine = sums.map { $0 / Double(max(tokens, 1)) }
    }
}

/// Models at bf16 precision: accuracy against fp32 within the documented bounds, the same
/// determinism guarantees as fp32 (variants, threads, schedules, batch composition), and
/// the bf16 native file (half the size, mapped as is, readable by the safetensors package).
final class BF16ModelTests: XCTestCase {
    override func tearDown() {
        KernelVariants.restore()
        Encoder.scheduleOverride = nil
    }

    static let sentences = [["The", "bank", "of", "the", "river", "."], ["Café", "naïve", "über", "日本語"], ["x"],
                            [String(repeating: "long", count: 20), "<S>", "</S>"], ["A", "b", "c", "d", "e", "f", "g", "h"]]

    func randomModelFiles(_ o: ElmoOptions, seed: UInt64) throws -> (options: String, weights: String) {
        let dir = try temporaryDirectory()
        return try ElmoRandomModel.write(options: o, seed: seed, directory: dir)
    }

    /// A small random model with the original's structure (2 layers, projection, clipping,
    /// skip connections, 2 highways, CNN projection) at a tenth of its widths.
    static var smallOriginalLike: ElmoOptions {
        ElmoOptions(charCNN: .init(embeddingDim: 16, filters: [(1, 8), (2, 8), (3, 16), (4, 32), (5, 64)].map { .init(width: $0.0, count: $0.1) },
                                   highwayCount: 2, characterCount: 262, maxCharactersPerToken: 50, activation: .relu),
                    lstm: .init(dim: 416, projectionDim: 52, layerCount: 2, cellClip: 3, projectionClip: 3,
                                useSkipConnections: true))
    }

    func agreement(_ fp32: ElmoModel, _ bf16: ElmoModel, _ batch: [[String]]) throws -> (LayerAgreement, defaultCosine: Double) {
        let a = try ElmoSession(model: fp32).embed(batch), b = try ElmoSession(model: bf16).embed(batch)
        let layers = fp32.layerCount, width = fp32.outputDim
        let agreement = LayerAgreement(a.allLayers, b.allLayers, tokenCounts: a.tokenCounts, layers: layers, width: width)
        // `default`: the mean of the elmo mix over each sentence's tokens.
        var cos = 0.0
        for i in 0..<batch.count {
            let va = try a.output(.sentenceMean(nil), sentence: i).values, vb = try b.output(.sentenceMean(nil), sentence: i).values
            cos += va.withUnsafeBufferPointer { pa in vb.withUnsafeBufferPointer { LayerAgreement.cosine(pa, $0) } }
        }
        return (agreement, cos / Double(batch.count))
    }

    /// The bilm-tf fixture at bf16: every layer's token vectors and the `default` sentence
    /// vectors within cosine 0.999 of fp32 (mean), no token below 0.99, and the top layer
    /// within 0.05 of bilm-tf's own output (fp32 agrees with it to 1e-6).
    func testFixtureAccuracy() throws {
        let fp32 = try Fixtures.model()
        let bf16 = try ElmoModel(weights: fp32.weights, sourceDescription: "fixture", loadOptions: ElmoLoadOptions(precision: .bf16))
        XCTAssertEqual(bf16.precision, .bf16)
        for (k, batch) in try Fixtures.sentences().enumerated() {
            let (agreement, defaultCosine) = try agreement(fp32, bf16, batch)
            for layer in 0..<fp32.layerCount {
                XCTAssertGreaterThanOrEqual(agreement.meanCosine[layer], 0.999, "batch \(k) layer \(layer)")
                XCTAssertGreaterThanOrEqual(agreement.minCosine[layer], 0.99, "batch \(k) layer \(layer)")
            }
            XCTAssertGreaterThanOrEqual(defaultCosine, 0.999, "batch \(k) default")
            print("fixture batch \(k): max |diff| per layer \(agreement.maxAbsDiff), mean cosine \(agreement.meanCosine), "
                  + "min cosine \(agreement.minCosine), default cosine \(defaultCosine)")
        }
        // Against bilm-tf's own top layer, as FixtureParityTests does for fp32 (1e-5 there).
        let worstTop = try Fixtures.worstTopLayerDifference(bf16)
        print("fixture top layer at bf16 vs bilm-tf (30 sentences, stateful): max |diff| \(worstTop)")
        XCTAssertLessThan(worstTop, 0.05)
    }

    /// A small random model of the original's structure: the same bounds.
    func testSmallRandomModelAccuracy() throws {
        let files = try randomModelFiles(Self.smallOriginalLike, seed: 9)
        let fp32 = try ElmoModel(optionsFile: files.options, weightsFile: files.weights)
        let bf16 = try ElmoModel(optionsFile: files.options, weightsFile: files.weights, loadOptions: ElmoLoadOptions(precision: .bf16))
        var batch = Self.sentences
        batch += try Fixtures.sentences().flatMap { $0 }
        let (agreement, defaultCosine) = try agreement(fp32, bf16, batch)
        print("small random model: max |diff| per layer \(agreement.maxAbsDiff), mean cosine \(agreement.meanCosine), "
              + "min cosine \(agreement.minCosine), default cosine \(defaultCosine)")
        for layer in 0..<fp32.layerCount {
            XCTAssertGreaterThanOrEqual(agreement.meanCosine[layer], 0.999, "layer \(layer)")
            XCTAssertGreaterThanOrEqual(agreement.minCosine[layer], 0.99, "layer \(layer)")
        }
        XCTAssertGreaterThanOrEqual(defaultCosine, 0.999)
        // Not equal either: bf16 really computes something else.
        XCTAssertGreaterThan(agreement.maxAbsDiff.max() ?? 0, 0)
    }

    /// bf16 results are bit-identical for every kernel variant, thread count and schedule,
    /// and a sentence gets the same bits alone as in a batch.
    func testBitIdenticalAcrossVariantsThreadsSchedulesAndBatches() throws {
        let files = try randomModelFiles(Self.smallOriginalLike, seed: 10)
        let model = try ElmoModel(optionsFile: files.options, weightsFile: files.weights,
                                  loadOptions: ElmoLoadOptions(tokenCacheBytes: 0, precision: .bf16))
        let batch = Self.sentences
        KernelVariants.restore()
        let reference = try ElmoSession(model: model, threads: 1).embed(batch)
        for v in KernelVariants.available(ELMO_KERNELS_BF16) {
            KernelVariants.forceFloat(atMost: v)
            for schedule in [Encoder.LSTMSchedule.directionsInParallel, .oneLSTMAtATime] {
                Encoder.scheduleOverride = schedule
                for threads in [1, 2, 3] {
                    XCTAssertEqual(try ElmoSession(model: model, threads: threads).embed(batch).allLayers.map(\.bitPattern),
                                   reference.allLayers.map(\.bitPattern), "variant \(v), \(schedule), \(threads) threads")
                }
            }
        }
        Encoder.scheduleOverride = nil
        KernelVariants.restore()
        for (i, s) in batch.enumerated() {
            XCTAssertEqual(try ElmoSession(model: model, threads: 2).embed([s]).allLayers,
                           try reference.output(.allLayers, sentence: i).values, "sentence \(i) alone")
        }
        // The token cache returns the same bits as computing.
        let cached = try ElmoModel(optionsFile: files.options, weightsFile: files.weights, loadOptions: ElmoLoadOptions(precision: .bf16))
        let session = ElmoSession(model: cached)
        _ = try session.embed(batch)
        XCTAssertEqual(try session.embed(batch).allLayers, reference.allLayers)
        XCTAssertGreaterThan(cached.tokenCache.statistics.hits, 0)
    }

    /// The fixture model at bf16 gives the same bits with every variant (real weights).
    func testFixtureBitIdenticalAcrossVariants() throws {
        let model = try ElmoModel(weights: try Fixtures.model().weights, sourceDescription: "fixture",
                                  loadOptions: ElmoLoadOptions(precision: .bf16))
        let batch = try Fixtures.sentences()[1]
        let reference = try ElmoSession(model: model, threads: 2).embed(batch).allLayers
        for v in KernelVariants.available(ELMO_KERNELS_BF16) {
            KernelVariants.forceFloat(atMost: v)
            XCTAssertEqual(try ElmoSession(model: model, threads: 1).embed(batch).allLayers, reference, "variant \(v)")
        }
    }

    /// The fp32 results do not depend on the schedule either (fp32 keeps directions in parallel).
    func testFP32IsBitIdenticalUnderBothSchedules() throws {
        let model = try Fixtures.model()
        let batch = try Fixtures.sentences()[2]
        let reference = try ElmoSession(model: model, threads: 2).embed(batch).allLayers
        Encoder.scheduleOverride = .oneLSTMAtATime
        XCTAssertEqual(try ElmoSession(model: model, threads: 2).embed(batch).allLayers, reference)
    }

    // MARK: the native file at bf16

    func testBF16NativeFileIsHalfTheSizeMappedAsIsAndBitIdentical() throws {
        let files = try randomModelFiles(Self.smallOriginalLike, seed: 12)
        let bf16 = try ElmoModel(optionsFile: files.options, weightsFile: files.weights, loadOptions: ElmoLoadOptions(precision: .bf16))
        let fp32 = try ElmoModel(optionsFile: files.options, weightsFile: files.weights)
        let dir = try temporaryDirectory()
        let pathBF16 = joinPath(dir, "bf16.safetensors"), pathFP32 = joinPath(dir, "fp32.safetensors")
        try bf16.writeNative(to: pathBF16)
        try fp32.writeNative(to: pathFP32)
        XCTAssertEqual(try ElmoModel.storedPrecision(path: pathBF16), .bf16)
        XCTAssertEqual(try ElmoModel.storedPrecision(path: pathFP32), .fp32)
        XCTAssertEqual(try ElmoModel.storedPrecision(path: files.weights, optionsFile: files.options), .fp32)
        let sizeBF16 = try XCTUnwrap(FileManager.default.attributesOfItem(atPath: pathBF16)[.size] as? Int)
        let sizeFP32 = try XCTUnwrap(FileManager.default.attributesOfItem(atPath: pathFP32)[.size] as? Int)
        print("native file: fp32 \(sizeFP32) bytes, bf16 \(sizeBF16) bytes")
        XCTAssertLessThan(Double(sizeBF16), 0.6 * Double(sizeFP32))
        // Every packed matrix takes half the bytes (these shapes have even row counts).
        let entriesFP32 = Dictionary(uniqueKeysWithValues: fp32.weights.layout.entries.map { ($0.name, $0) })
        for e in bf16.weights.layout.entries {
            let f = try XCTUnwrap(entriesFP32[e.name])
            XCTAssertEqual(e.byteCount * (e.element == .bf16 ? 2 : 1), f.byteCount, e.name)
        }
        XCTAssertTrue((1..<(1 << 16)).contains(sizeBF16 - bf16.weightBytes), "the file is the weights plus a header")

        // Loaded at bf16: the packed matrices are the mapping itself, no conversion.
        let loaded = try ElmoModel(path: pathBF16, loadOptions: ElmoLoadOptions(precision: .bf16))
        XCTAssertEqual(loaded.precision, .bf16)
        let mapped = try XCTUnwrap(loaded.weights.tensors[PreparedLayout.lstm(0, 0, "recurrent")])
        XCTAssertEqual(mapped.element, .bf16)
        XCTAssertEqual(mapped.storage.byteCount, sizeBF16, "a view into the whole-file mapping")
        XCTAssertEqual(try ElmoSession(model: loaded).embed(Self.sentences).allLayers,
                       try ElmoSession(model: bf16).embed(Self.sentences).allLayers)
        // An fp32 file loaded at bf16 converts to the same weights.
        let converted = try ElmoModel(path: pathFP32, loadOptions: ElmoLoadOptions(precision: .bf16))
        XCTAssertEqual(try ElmoSession(model: converted).embed(Self.sentences).allLayers,
                       try ElmoSession(model: bf16).embed(Self.sentences).allLayers)

        // Loaded at fp32 (the default): the bf16 weights widened exactly, computed in fp32.
        let widened = try ElmoModel(path: pathBF16)
        XCTAssertEqual(widened.precision, .fp32)
        let recurrent = try XCTUnwrap(widened.weights.lstm.first?.first?.recurrent)
        let original = try XCTUnwrap(fp32.weights.lstm.first?.first?.recurrent)
        for i in stride(from: 0, to: recurrent.tensor.count, by: 101) {
            XCTAssertEqual(recurrent.tensor.pointer[i], elmo_bf16_widen(elmo_bf16_round(original.tensor.pointer[i])))
        }
    }

    /// A bf16 native file is a valid safetensors file: the package lists the tensors with
    /// dtype BF16 for the packed matrices and F32 for the rest, and reads their bytes.
    func testSafetensorsPackageReadsTheBF16File() throws {
        let python = try NativeModelTests.pythonWithSafetensors()
        let files = try randomModelFiles(Self.smallOriginalLike, seed: 13)
        let model = try ElmoModel(optionsFile: files.options, weightsFile: files.weights, loadOptions: ElmoLoadOptions(precision: .bf16))
        let path = joinPath(try temporaryDirectory(), "bf16.safetensors")
        try model.writeNative(to: path)
        let recurrent = try XCTUnwrap(model.weights.tensors[PreparedLayout.lstm(1, 1, "recurrent")])
        let bias = try XCTUnwrap(model.weights.tensors[PreparedLayout.lstm(1, 0, "bias")])
        let script = """
        import json, sys
        from safetensors import safe_open
        out = {"dtypes": {}, "shapes": {}}
        with safe_open(sys.argv[1], framework="np") as f:
            meta = f.metadata()
            for name in f.keys():
                s = f.get_slice(name)
                out["dtypes"][name] = s.get_dtype()
                out["shapes"][name] = list(s.get_shape())
            out["bias"] = [float(x) for x in f.get_tensor("lstm.1.0.bias").tolist()]
        # The BF16 bytes, read from the offsets the package validated.
        with open(sys.argv[1], "rb") as fh:
            n = int.from_bytes(fh.read(8), "little")
            header = json.loads(fh.read(n))
            begin, end = header["lstm.1.1.recurrent"]["data_offsets"]
            fh.seek(8 + n + begin)
            data = fh.read(end - begin)
        out["recurrent_head"] = [int.from_bytes(data[2 * i:2 * i + 2], "little") for i in range(64)]
        out["format"] = meta["format"]
        print(json.dumps(out))
        """
        let result = try JSONValue.parse(try runProcess(python.executable, python.arguments + ["-c", script, path]))
        XCTAssertEqual(result["format"]?.stringValue, NativeModelFile.formatName)
        for e in model.weights.layout.entries {
            XCTAssertEqual(result["dtypes"]?[e.name]?.stringValue, e.element.safetensorsName, e.name)
            XCTAssertEqual(result["shapes"]?[e.name]?.arrayValue?.compactMap(\.intValue), e.shape, e.name)
        }
        XCTAssertEqual(result["bias"]?.arrayValue?.compactMap { $0.doubleValue.map(Float.init) }, bias.values)
        XCTAssertEqual(result["recurrent_head"]?.arrayValue?.compactMap(\.intValue),
                       (0..<64).map { Int(recurrent.bf16Pointer[$0]) })
    }

    /// A header whose dtypes disagree with the layout of its precision is refused with a
    /// message naming the tensor: an F32 label on a bf16 matrix, a BF16 label on a bias.
    func testMixedDtypesAreRefused() throws {
        let files = try randomModelFiles(Self.smallOriginalLike, seed: 14)
        let model = try ElmoModel(optionsFile: files.options, weightsFile: files.weights, loadOptions: ElmoLoadOptions(precision: .bf16))
        let dir = try temporaryDirectory()
        let path = joinPath(dir, "bf16.safetensors")
        try model.writeNative(to: path)
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        let n = Int(littleEndianInteger(bytes, at: 0, width: 8))
        let header = try XCTUnwrap(JSONValue.parse(bytes[8..<(8 + n)]).objectValue)
        for (name, dtype) in [("highway.0.kernel", "F32"), ("lstm.0.1.bias", "BF16"), ("lstm.0.0.input", "F32")] {
            var h = header
            var entry = try XCTUnwrap(h[name]?.objectValue)
            entry["dtype"] = .string(dtype)
            h[name] = .object(entry)
            var text = Array(JSONValue.object(h).serialized.utf8)
            while (8 + text.count) % 64 != 0 { text.append(0x20) }
            let out = (0..<8).map { UInt8(truncatingIfNeeded: UInt64(text.count) >> (8 * UInt64($0))) } + text + bytes[(8 + n)...]
            let bad = joinPath(dir, "bad-\(name).safetensors")
            try Data(out).write(to: URL(fileURLWithPath: bad))
            XCTAssertThrowsError(try ElmoModel(path: bad, loadOptions: ElmoLoadOptions(precision: .bf16))) { error in
                XCTAssertEqual((error as? ElmoError)?.kind, .invalidModel)
                XCTAssertTrue("\(error)".contains("dtype"), "\(error)")
            }
        }
    }
}
