// The int8 and request-planning part of `make bench` (issue #18): the int8 native file, the
// register-only vpdpbusd peak and the int8 GEMM rate, int8 throughput at batch 64 interleaved
// with bf16 (the target is a ratio measured in the same run, so both are measured in turns
// and the spread is reported), int8 latency at batch 1, int8 accuracy against fp32, and
// the tokens/s of `word_emb` and `lstm_outputs1` beside `elmo`.
import CElmoKernels
import ElmoBenchKernels
import Elmo
import ElmoHDF5
import Foundation

/// The CPU's `cpu family` and `model` (cpuinfo) with the AMD generation they name.
func cpuFamilyDescription() -> String {
    guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return "cpu family unknown" }
    func field(_ name: String) -> String? {
        text.split(separator: "\n").first { $0.hasPrefix(name) }?.split(separator: ":", maxSplits: 1).last
            .map { $0.trimmingCharacters(in: .whitespaces) }
    }
    let family = field("cpu family") ?? "?", vendor = field("vendor_id") ?? ""
    let generation = vendor == "AuthenticAMD" ? [ "25": " (Zen 3/Zen 4)", "26": " (Zen 5)" ][family] ?? "" : ""
    let features = ["avx512f", "avx512_bf16", "avx512_vnni", "avx_vnni"].filter { flag in
        text.split(separator: "\n").first { $0.hasPrefix("flags") }?.split(separator: " ").contains { $0 == flag } ?? false
    }
    return "\(field("model name") ?? "?"), cpu family \(family)\(generation), model \(field("model") ?? "?"); "
        + "flags: \(features.isEmpty ? "no AVX-512, no VNNI" : features.joined(separator: " "))"
}

/// `runChild` with extra environment variables (`ELMO_BENCH_OUTPUT`: the output kind a
/// throughput child asks for).
func runChild(_ arguments: [String], environment: [String: String]) throws -> JSONValue {
    let saved = environment.keys.map { ($0, ProcessInfo.processInfo.environment[$0]) }
    for (k, v) in environment { setenv(k, v, 1) }
    defer {
        for (k, v) in saved {
            if let v { setenv(k, v, 1) } else { unsetenv(k) }
        }
    }
    return try runChild(arguments)
}

/// The output a throughput child writes: `ELMO_BENCH_OUTPUT` (a TF Hub name), else all layers.
func benchOutput() -> ElmoOutput {
    ProcessInfo.processInfo.environment["ELMO_BENCH_OUTPUT"].flatMap { ElmoOutput(name: $0) } ?? .allLayers
}

/// int8 GEMM rate (int8 multiply-adds x 2 per second, in G) with `threads` threads splitting
/// the column panels: libelmo's elmo_gemm_int8 at the sgemm reference shape.
func measureInt8Gemm(m: Int = 864, k: Int = 512, n: Int = 16384, threads: Int, repetitions: Int = 12) -> GemmRate {
    var rng: UInt64 = 777
    func next() -> Float {
        rng = rng &* 6364136223846793005 &+ 1442695040888963407
        return Float(Int64(bitPattern: rng >> 11) % 2001) / 1000 - 1
    }
    let w = (0..<(k * n)).map { _ in next() }, x = (0..<(m * k)).map { _ in next() }
    let panels = elmo_panel_count(n)
    let data = UnsafeMutableRawPointer.allocate(byteCount: elmo_int8_packed_size(k, n), alignment: 64)
    defer { data.deallocate() }
    var scales = [Float](repeating: 0, count: panels * 64), sums = [Int32](repeating: 0, count: panels * 64)
    w.withUnsafeBufferPointer { elmo_int8_pack($0.baseAddress!, n, 1, k, n, data.assumingMemoryBound(to: Int8.self), &scales, &sums) }
    var q = [UInt8](repeating: 0, count: m * k), rowScales = [Float](repeating: 0, count: m)
    x.withUnsafeBufferPointer { elmo_int8_quantize_rows($0.baseAddress!, k, m, k, &q, k, &rowScales) }
    let c = UnsafeMutablePointer<Float>.allocate(capacity: m * n)
    defer { c.deallocate() }
    struct Operands: @unchecked Sendable {
        let a: UnsafePointer<UInt8>, s: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>, w: elmo_packed_int8
    }
    var times: [Double] = []
    q.withUnsafeBufferPointer { qb in
        rowScales.withUnsafeBufferPointer { sb in
            scales.withUnsafeBufferPointer { wsb in
                sums.withUnsafeBufferPointer { csb in
                    let d = elmo_packed_int8(data: UnsafePointer(data.assumingMemoryBound(to: Int8.self)), scales: wsb.baseAddress,
                                             column_sums: csb.baseAddress, rows: Int64(k), cols: Int64(n))
                    let o = Operands(a: qb.baseAddress!, s: sb.baseAddress!, c: c, w: d)
                    for _ in 0..<repetitions {
                        let t = now()
                        DispatchQueue.concurrentPerform(iterations: threads) { i in
                            var w = o.w
                            elmo_gemm_int8(o.a, k, o.s, m, &w, ELMO_GEMM_ZERO, nil, o.c, n, panels * i / threads, panels * (i + 1) / threads)
                        }
                        times.append(now() - t)
                    }
                }
            }
        }
    }
    let ops = 2.0 * Double(m) * Double(n) * Double(k)
    let sorted = times.sorted()
    return GemmRate(best: ops / sorted[0] * 1e-9, median: ops / percentile(sorted, 50) * 1e-9)
}

/// The register-only vpdpbusd peak of `threads` threads at once (G int8 ops/s), 0 without VNNI.
func measureInt8Peak(threads: Int) -> Double {
    struct Rates: @unchecked Sendable { let p: UnsafeMutablePointer<Double> }
    let rates = Rates(p: UnsafeMutablePointer<Double>.allocate(capacity: threads))
    defer { rates.p.deallocate() }
    DispatchQueue.concurrentPerform(iterations: threads) { i in rates.p[i] = bench_int8_peak_ops(0.3) }
    return (0..<threads).reduce(0) { $0 + rates.p[$1] } * 1e-9
}

/// The int8 native file beside the fp32 one, converted once (a marker records completion).
func prepareInt8Model(native: String) throws -> String {
    let dir = (native as NSString).deletingLastPathComponent
    let path = dir + "/model-int8.safetensors", marker = dir + "/COMPLETE-int8"
    if !FileManager.default.fileExists(atPath: marker) {
        try ElmoModel(nativeFile: native, loadOptions: ElmoLoadOptions(precision: .int8)).writeNative(to: path)
        try Data("from model.safetensors\n".utf8).write(to: URL(fileURLWithPath: marker))
    }
    return path
}

/// The original-size random model with the non-contractive LSTM scales (fp32, bf16 and int8
/// native files), written once under the models directory.
func prepareNonContractiveModels(_ config: Config) throws -> (fp32: String, bf16: String, int8: String) {
    let dir = "\(config.models)/original-seed\(config.seed)-noncontractive"
    let native = dir + "/model.safetensors", marker = dir + "/COMPLETE"
    let paths = (native, dir + "/model-bf16.safetensors", dir + "/model-int8.safetensors")
    if !FileManager.default.fileExists(atPath: marker) {
        print("elmo-bench: writing the non-contractive original-size model to \(dir)...")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        guard let options = ElmoRandomModel.publishedOptions("original") else { throw ElmoError(.invalidArgument, "no original options") }
        try ElmoRandomModel.write(options: options, seed: config.seed, directory: dir, lstmScale: .nonContractive)
        try ElmoModel(path: dir + "/weights.hdf5").writeNative(to: native)
        try ElmoModel(nativeFile: native, loadOptions: ElmoLoadOptions(precision: .bf16)).writeNative(to: paths.1)
        try ElmoModel(nativeFile: native, loadOptions: ElmoLoadOptions(precision: .int8)).writeNative(to: paths.2)
        try FileManager.default.removeItem(atPath: dir + "/weights.hdf5")  // the native file holds it all
        try Data("seed \(config.seed)\n".utf8).write(to: URL(fileURLWithPath: marker))
    }
    return paths
}

/// Runs the int8 and request-planning measurements and adds their rows. `b64` and `b1` are
/// this run's fp32 measurements (all layers, batch 64 file order and batch 1).
func int8Section(config: Config, native: String, nativeBF16: String, b64: JSONValue, b1: JSONValue,
                 add: (String, String, String) -> Void) throws -> JSONValue {
    let nativeInt8 = try prepareInt8Model(native: native)
    func d(_ v: JSONValue?, _ key: String) -> Double { v?[key]?.doubleValue ?? 0 }
    func tps(_ r: JSONValue) -> Double { d(r, "tokens") / max(d(r, "wall"), 1e-9) }
    func throughput(_ model: String, _ label: String, output: String = "all") throws -> JSONValue {
        print("elmo-bench: \(label) batch 64, file order, \(config.sentences) sentences, output \(output)...")
        return try runChild(["throughput", model, config.corpus, String(config.sentences), "64", String(config.threads), "file"],
                            environment: ["ELMO_BENCH_OUTPUT": output])
    }
    add("CPU", cpuFamilyDescription(), "")

    // Request planning: fp32 word_emb and lstm_outputs1 beside elmo (same child, same corpus).
    let elmoRun = try throughput(native, "fp32", output: "elmo")
    let wordRun = try throughput(native, "fp32", output: "word_emb")
    let lstm1Run = try throughput(native, "fp32", output: "lstm_outputs1")
    add("fp32 batch 64, output elmo: tokens/s", String(format: "%.0f", tps(elmoRun)),
        String(format: "all four LSTMs (all layers above: %.0f)", tps(b64)))
    add("fp32 batch 64, output word_emb: tokens/s", String(format: "%.0f", tps(wordRun)),
        String(format: "%.1fx elmo: no LSTM (token layer, cached per token)", tps(wordRun) / max(tps(elmoRun), 1e-9)))
    add("fp32 batch 64, output lstm_outputs1: tokens/s", String(format: "%.0f", tps(lstm1Run)),
        String(format: "%.2fx elmo: the first layer of each direction only", tps(lstm1Run) / max(tps(elmoRun), 1e-9)))

    // References measured in this run.
    print("elmo-bench: int8 reference rates (own int8 GEMM at M=864, K=512, N=16384; vpdpbusd register peak)...")
    let gemm = measureInt8Gemm(threads: config.threads)
    let peak = measureInt8Peak(threads: config.threads)
    add("int8 GEMM M=864 K=512 N=16384", String(format: "%.1f GOP/s", gemm.best),
        String(format: "median %.1f; %d threads; kernels: %@", gemm.median, config.threads,
               kernelVariant(ELMO_KERNELS_INT8)))
    add("vpdpbusd register peak", peak > 0 ? String(format: "%.1f GOP/s", peak) : "n/a",
        peak > 0 ? String(format: "%d threads; GEMM at %.2f of it", config.threads, gemm.best / peak)
                 : "this CPU has no AVX-512 VNNI / AVX-VNNI: the int8 kernels run the exact AVX2 variant")

    // Batch 64: int8 and bf16 in turns, three times each.
    var int8Rates: [Double] = [], bf16Rates: [Double] = [], int8Runs: [JSONValue] = []
    for _ in 0..<3 {
        let bf = try throughput(nativeBF16, "bf16")
        let i8 = try throughput(nativeInt8, "int8")
        bf16Rates.append(tps(bf))
        int8Rates.append(tps(i8))
        int8Runs.append(i8)
    }
    let int8Median = percentile(int8Rates.sorted(), 50), bf16Median = percentile(bf16Rates.sorted(), 50)
    let ratio = int8Median / max(bf16Median, 1e-9)
    add("int8 batch 64, file order: tokens/s", String(format: "%.0f", int8Median),
        String(format: "%.2fx bf16 of this run (%.0f; target >= 1.5x: %@); medians of 3 interleaved runs, int8 %.0f-%.0f, bf16 %.0f-%.0f",
               ratio, bf16Median, ratio >= 1.5 ? "met" : "missed", int8Rates.min() ?? 0, int8Rates.max() ?? 0,
               bf16Rates.min() ?? 0, bf16Rates.max() ?? 0))
    add("int8 batch 64: peak RSS", String(format: "%.0f MB", d(int8Runs.last, "peakRSS") / 1e6),
        String(format: "other load %.2f cores", d(int8Runs.last, "otherCores")))

    // Batch 1.
    print("elmo-bench: int8 batch 1, first \(config.batchOneSentences) sentences...")
    let one = try runChild(["latency", nativeInt8, config.corpus, String(config.batchOneSentences), String(config.threads)])
    let lat = (one["latencies"]?.arrayValue ?? []).compactMap(\.doubleValue).sorted()
    let mean = lat.isEmpty ? 0 : lat.reduce(0, +) / Double(lat.count)
    let per18 = lat.isEmpty ? 0 : mean / (d(one, "tokens") / Double(lat.count)) * 18 * 1000
    let fpLat = (b1["latencies"]?.arrayValue ?? []).compactMap(\.doubleValue)
    let fpPer18 = fpLat.isEmpty ? 0 : fpLat.reduce(0, +) / Double(fpLat.count) / (d(b1, "tokens") / Double(fpLat.count)) * 18 * 1000
    add("int8 batch 1: ms per 18 tokens", String(format: "%.1f ms", per18),
        String(format: "target <= 12 ms: %@; p50 / p99 %.1f / %.1f ms; fp32 of this run %.1f ms (%.1fx); other load %.2f cores",
               per18 <= 12 ? "met" : "missed", percentile(lat, 50) * 1000, percentile(lat, 99) * 1000, fpPer18,
               fpPer18 / max(per18, 1e-9), d(one, "otherCores")))

    // Accuracy and size.
    print("elmo-bench: accuracy, int8 vs fp32, \(config.sentences) sentences...")
    let accuracy = try runChild(["accuracy", native, nativeInt8, config.corpus, String(config.sentences), "64", String(config.threads)])
    let meanCos = (accuracy["meanCosine"]?.arrayValue ?? []).compactMap(\.doubleValue)
    let minCos = (accuracy["minCosine"]?.arrayValue ?? []).compactMap(\.doubleValue)
    let maxDiff = (accuracy["maxAbsDiff"]?.arrayValue ?? []).compactMap(\.doubleValue)
    for (layer, c) in meanCos.enumerated() {
        add("int8 vs fp32, layer \(layer): mean cosine", String(format: "%.6f", c),
            String(format: "min %.6f; max |diff| %.4g; targets 0.999 / 0.99", layer < minCos.count ? minCos[layer] : 0,
                   layer < maxDiff.count ? maxDiff[layer] : 0))
    }
    add("int8 vs fp32, default: mean cosine", String(format: "%.6f", d(accuracy, "defaultMeanCosine")),
        String(format: "min %.6f; %d sentences", d(accuracy, "defaultMinCosine"), Int(d(accuracy, "sentences"))))
    // The same on the non-contractive model (errors carried along the recurrence), bf16 beside it.
    let hard = try prepareNonContractiveModels(config)
    print("elmo-bench: accuracy on the non-contractive model, int8 and bf16 vs fp32, \(config.sentences) sentences...")
    let hardInt8 = try runChild(["accuracy", hard.fp32, hard.int8, config.corpus, String(config.sentences), "64", String(config.threads)])
    let hardBF16 = try runChild(["accuracy", hard.fp32, hard.bf16, config.corpus, String(config.sentences), "64", String(config.threads)])
    for (label, r) in [("int8", hardInt8), ("bf16", hardBF16)] {
        let mc = (r["meanCosine"]?.arrayValue ?? []).compactMap(\.doubleValue)
        let mn = (r["minCosine"]?.arrayValue ?? []).compactMap(\.doubleValue)
        let mx = (r["maxAbsDiff"]?.arrayValue ?? []).compactMap(\.doubleValue)
        for (layer, c) in mc.enumerated() {
            add("\(label) vs fp32, non-contractive, layer \(layer): mean cosine", String(format: "%.6f", c),
                String(format: "min %.6f; max |diff| %.4g", layer < mn.count ? mn[layer] : 0, layer < mx.count ? mx[layer] : 0))
        }
        add("\(label) vs fp32, non-contractive, default: mean cosine", String(format: "%.6f", d(r, "defaultMeanCosine")),
            String(format: "min %.6f", d(r, "defaultMinCosine")))
    }
    func size(_ p: String) -> Double { Double((try? FileManager.default.attributesOfItem(atPath: p)[.size] as? Int) ?? 0) }
    add("int8 native file", String(format: "%.0f MB", size(nativeInt8) / 1e6),
        String(format: "%.2f of fp32 (%.0f MB), %.2f of bf16 (%.0f MB)", size(nativeInt8) / max(size(native), 1), size(native) / 1e6,
               size(nativeInt8) / max(size(nativeBF16), 1), size(nativeBF16) / 1e6))

    return .object(["gemmBest": .number(gemm.best), "gemmMedian": .number(gemm.median), "registerPeak": .number(peak),
                    "batch64": .array(int8Runs), "batch64Rates": .array(int8Rates.map { .number($0) }),
                    "bf16Batch64Rates": .array(bf16Rates.map { .number($0) }), "batch1": one, "accuracy": accuracy,
                    "modelFileBytes": .number(size(nativeInt8)), "nonContractiveInt8": hardInt8, "nonContractiveBF16": hardBF16, "cpu": .string(cpuFamilyDescription()),
                    "planning": .object(["elmo": elmoRun, "word_emb": wordRun, "lstm_outputs1": lstm1Run])])
}
