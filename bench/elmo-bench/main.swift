// elmo-bench: the benchmark behind `make bench` (method and results in BENCHMARKS.md).
//
// It writes (once, deterministically from a seed) a random-weight model of the original
// ELMo configuration in both formats, measures OpenBLAS's sgemm rate at the issue's
// reference shape, then runs each measurement in a child process of its own: load times,
// throughput at batch 64 and 32, latency at batch 1, peak memory, page sharing between
// two processes. It prints one table and writes the figures as JSON.
import Elmo
import ElmoHDF5
import Foundation
import CElmoKernels

struct Config {
    var models = ".build/bench-models"
    var corpus = "../shared/bench/corpus.txt"
    var sentences = 2000
    var batchOneSentences = 500
    var threads = Int(elmo_available_processors())
    var seed: UInt64 = 2018
    var sorted = true
    var output = ".build/bench-results"
}

func usage() -> Never {
    print("""
    usage: elmo-bench [--models DIR] [--corpus FILE] [--sentences N] [--batch1 N] [--threads T]
                      [--seed S] [--no-sorted] [--output DIR]
      Writes the random original-size model (once) under DIR/original-seedS and measures it.
      --batch1 N: sentences for the batch-1 latency run (the first N of the corpus; default 500)
    """)
    exit(2)
}

func parseConfig(_ args: ArraySlice<String>) -> Config {
    var c = Config()
    var it = args.makeIterator()
    while let a = it.next() {
        func value() -> String { guard let v = it.next() else { usage() }; return v }
        switch a {
        case "--models": c.models = value()
        case "--corpus": c.corpus = value()
        case "--sentences": c.sentences = Int(value()) ?? { usage() }()
        case "--batch1": c.batchOneSentences = Int(value()) ?? { usage() }()
        case "--threads": c.threads = Int(value()) ?? { usage() }()
        case "--seed": c.seed = UInt64(value()) ?? { usage() }()
        case "--no-sorted": c.sorted = false
        case "--output": c.output = value()
        default: usage()
        }
    }
    return c
}

// MARK: child processes

/// Runs this program as `elmo-bench child ARGS...` and returns its RESULT object.
func runChild(_ arguments: [String]) throws -> JSONValue {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
    process.arguments = ["child"] + arguments
    let out = Pipe()
    process.standardOutput = out
    try process.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    let text = String(decoding: data, as: UTF8.self)
    guard process.terminationStatus == 0,
          let line = text.split(separator: "\n").last(where: { $0.hasPrefix("RESULT ") }) else {
        throw ElmoError(.io, "child \(arguments.joined(separator: " ")) failed (status \(process.terminationStatus)): \(text)")
    }
    return try JSONValue.parse(String(line.dropFirst(7)))
}

/// Starts two `hold` children on the same native file, reads both processes' memory
/// accounting while both map it, then lets them exit.
func measureSharing(native: String) throws -> (rss: Int, pss: Int, shared: Int) {
    var processes: [(Process, Pipe)] = []
    var rollups: [[String: Int]] = []
    for _ in 0..<2 {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        p.arguments = ["child", "hold", native]
        let input = Pipe(), output = Pipe()
        p.standardInput = input
        p.standardOutput = output
        try p.run()
        processes.append((p, input))
        // Wait for its RESULT line: it has loaded and touched every weight.
        var buffer = ""
        while !buffer.contains("RESULT ") {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            buffer += String(decoding: chunk, as: UTF8.self)
        }
    }
    for (p, _) in processes { rollups.append(memoryRollup(pid: p.processIdentifier)) }
    for (p, input) in processes {
        try input.fileHandleForWriting.close()
        p.waitUntilExit()
    }
    let second = rollups.last ?? [:]
    return (second["Rss"] ?? 0, second["Pss"] ?? 0, second["Shared_Clean"] ?? 0)
}

// MARK: models

/// The random original-size model in three files, written once: the official HDF5, the
/// native fp32 file and the native bf16 file (marker files record completion, so an
/// interrupted run starts over instead of using half-written files).
func prepareModels(_ config: Config) throws -> (hdf5: String, native: String, nativeBF16: String, note: String) {
    let dir = "\(config.models)/original-seed\(config.seed)"
    let hdf5 = dir + "/weights.hdf5", native = dir + "/model.safetensors", marker = dir + "/COMPLETE"
    let nativeBF16 = dir + "/model-bf16.safetensors", markerBF16 = dir + "/COMPLETE-bf16"
    var notes: [String] = []
    if FileManager.default.fileExists(atPath: marker) {
        notes.append("cached in \(dir)")
    } else {
        try? FileManager.default.removeItem(atPath: markerBF16)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        guard let options = ElmoRandomModel.publishedOptions("original") else { throw ElmoError(.invalidArgument, "no original options") }
        let t = now()
        try ElmoRandomModel.write(options: options, seed: config.seed, directory: dir)
        try ElmoModel(path: hdf5).writeNative(to: native)
        try Data("seed \(config.seed)\n".utf8).write(to: URL(fileURLWithPath: marker))
        notes.append(String(format: "written in %.1f s to %@", now() - t, dir))
    }
    if !FileManager.default.fileExists(atPath: markerBF16) {
        let t = now()
        try ElmoModel(nativeFile: native, loadOptions: ElmoLoadOptions(precision: .bf16)).writeNative(to: nativeBF16)
        try Data("from model.safetensors\n".utf8).write(to: URL(fileURLWithPath: markerBF16))
        notes.append(String(format: "bf16 file converted in %.1f s", now() - t))
    }
    return (hdf5, native, nativeBF16, notes.joined(separator: "; "))
}

// MARK: the run

func runBenchmark(_ config: Config) throws {
    print("elmo-bench: preparing models...")
    let (hdf5, native, nativeBF16, note) = try prepareModels(config)
    print("  model: \(note)")
    let model = try ElmoModel(path: native)
    let workload = Workload(options: model.options)
    let machine = machineDescription()

    print("elmo-bench: OpenBLAS sgemm reference rate (M=864, K=512, N=16384)...")
    let sgemm = measureSgemm()

    print("elmo-bench: load times...")
    let loadHDF5 = try runChild(["load", hdf5])
    let loadNative = try runChild(["load", native])

    func throughput(_ batch: Int, sorted: Bool, bf16: Bool = false) throws -> JSONValue {
        print("elmo-bench: \(bf16 ? "bf16" : "fp32") batch \(batch), \(sorted ? "sorted by length" : "file order"), \(config.sentences) sentences...")
        return try runChild(["throughput", bf16 ? nativeBF16 : native, config.corpus, String(config.sentences), String(batch),
                             String(config.threads), sorted ? "sorted" : "file"])
    }
    func latency(bf16: Bool, count: Int? = nil, schedule: String? = nil) throws -> JSONValue {
        let count = count ?? config.batchOneSentences
        print("elmo-bench: \(bf16 ? "bf16" : "fp32") batch 1, first \(count) sentences\(schedule.map { ", LSTM schedule " + $0 } ?? "")...")
        return try runChild(["latency", bf16 ? nativeBF16 : native, config.corpus, String(count), String(config.threads)]
                            + (schedule.map { [String(ElmoLoadOptions.defaultTokenCacheBytes), $0] } ?? []))
    }
    print("elmo-bench: bf16 reference rates (own vdpbf16ps GEMM at M=864, K=512, N=16384; register peak)...")
    let bf16Gemm = measureBF16Gemm(threads: config.threads)
    let bf16Peak = measureBF16Peak(threads: config.threads)
    let loadBF16 = try runChild(["load", nativeBF16])
    // fp32 and bf16 of each measurement back to back, so that a disturbance of the shared
    // machine is less likely to fall on one precision only.
    let b64 = try throughput(64, sorted: false)
    let b64bf = try throughput(64, sorted: false, bf16: true)
    let b32 = try throughput(32, sorted: false)
    let b32bf = try throughput(32, sorted: false, bf16: true)
    let b64sorted = config.sorted ? try throughput(64, sorted: true) : nil
    let b1 = try latency(bf16: false)
    let b1bf = try latency(bf16: true)
    // The alternative ordering at batch 1: both directions at once (each streaming its own
    // LSTM's weights, 2 x 21 MB, more than L3) instead of one LSTM at a time by both threads.
    let scheduleSentences = min(config.batchOneSentences, 200)
    let b1bfParallel = try latency(bf16: true, count: scheduleSentences, schedule: "parallel")
    print("elmo-bench: two processes sharing the native file...")
    let sharing = try measureSharing(native: native)
    print("elmo-bench: accuracy, bf16 vs fp32, \(config.sentences) sentences...")
    let accuracy = try runChild(["accuracy", native, nativeBF16, config.corpus, String(config.sentences), "64",
                                 String(config.threads)])
    // int8 and request planning (Int8Bench.swift): their rows come after the others.
    var int8Rows: [(String, String, String)] = []
    let int8 = try int8Section(config: config, native: native, nativeBF16: nativeBF16, b64: b64, b1: b1) { int8Rows.append(($0, $1, $2)) }
    print("")

    // Figures.
    let fileBytes = (try? FileManager.default.attributesOfItem(atPath: native)[.size] as? Int) ?? 0
    let fileBytesBF16 = (try? FileManager.default.attributesOfItem(atPath: nativeBF16)[.size] as? Int) ?? 0
    func d(_ v: JSONValue?, _ key: String) -> Double { v?[key]?.doubleValue ?? 0 }
    let tokensPerSentence = d(b64, "tokens") / max(d(b64, "sentences"), 1)
    let flopsPerToken = workload.nominalFlops(tokens: Int(d(b64, "tokens")), sentences: Int(d(b64, "sentences"))) / max(d(b64, "tokens"), 1)
    func gflops(_ r: JSONValue?) -> Double {
        workload.nominalFlops(tokens: Int(d(r, "tokens")), sentences: Int(d(r, "sentences"))) / max(d(r, "wall"), 1e-9) * 1e-9
    }
    /// Batch-1 figures: sorted latencies, tokens/s, GB/s, mean latency, ms per 18 tokens.
    func batchOne(_ r: JSONValue) -> (lat: [Double], tps: Double, gbs: Double, mean: Double, per18: Double) {
        let lat = (r["latencies"]?.arrayValue ?? []).compactMap(\.doubleValue).sorted()
        let tokens = d(r, "tokens"), wall = d(r, "wall")
        let mean = lat.isEmpty ? 0 : lat.reduce(0, +) / Double(lat.count)
        return (lat, tokens / max(wall, 1e-9), d(r, "bytes") / max(wall, 1e-9) * 1e-9, mean,
                lat.isEmpty ? 0 : mean / (tokens / Double(lat.count)) * 18 * 1000)
    }
    let (lat, b1TokensPerSecond, b1GBs, meanLatency, msPer18) = batchOne(b1)
    let b1Wall = d(b1, "wall")

    var rows: [(String, String, String)] = []
    func add(_ name: String, _ value: String, _ note: String = "") { rows.append((name, value, note)) }
    let allen = (b64sorted: 333.0, b64file: 154.0, b32sorted: 279.0, b1: 30.0, b1ms: 583.0, load: 3.6, rss: 2.8e9)
    for (name, r, ref) in [("batch 64, file order", b64, allen.b64file), ("batch 64, sorted by length", b64sorted, allen.b64sorted),
                           ("batch 32, file order", b32, allen.b32sorted)] {
        guard let r else { continue }
        let tps = d(r, "tokens") / max(d(r, "wall"), 1e-9)
        let g = gflops(r)
        add(name + ": tokens/s", String(format: "%.0f", tps),
            String(format: "%.2fx AllenNLP (%.0f %@); %.1f sentences/s", tps / ref, ref,
                   name.contains("32") ? "batch 32 sorted" : (name.contains("sorted") ? "sorted" : "file order"),
                   d(r, "sentences") / max(d(r, "wall"), 1e-9)))
        add(name + ": GFLOP/s", String(format: "%.1f", g),
            String(format: "roofline fraction %.2f (sgemm %.1f GFLOP/s)", g / sgemm.best, sgemm.best))
        // What was really computed: every LSTM row, and the token layer only for the
        // vectors neither de-duplication nor the cache supplied.
        let executed = (workload.lstmFlopsPerRow * (d(r, "tokens") + 2 * d(r, "sentences"))
                        + workload.tokenLayerFlops * d(r, "cacheMisses")) / max(d(r, "wall"), 1e-9) * 1e-9
        add(name + ": executed GFLOP/s", String(format: "%.1f", executed),
            String(format: "%.2f of sgemm: LSTM rows + token vectors actually computed", executed / sgemm.best))
        add(name + ": peak RSS", String(format: "%.0f MB", d(r, "peakRSS") / 1e6),
            String(format: "model file %.0f MB; + %.0f MB; cache %d hits / %d misses; other load %.2f cores",
                   Double(fileBytes) / 1e6, (d(r, "peakRSS") - Double(fileBytes)) / 1e6,
                   Int(d(r, "cacheHits")), Int(d(r, "cacheMisses")), d(r, "otherCores")))
    }
    add("batch 1: tokens/s", String(format: "%.0f", b1TokensPerSecond),
        String(format: "%.1fx AllenNLP (%.0f); first %d sentences, %.1f sentences/s", b1TokensPerSecond / allen.b1, allen.b1,
               lat.count, Double(lat.count) / max(b1Wall, 1e-9)))
    add("batch 1: latency p50 / p99", String(format: "%.1f / %.1f ms", percentile(lat, 50) * 1000, percentile(lat, 99) * 1000),
        String(format: "mean %.1f ms = %.1f ms per 18 tokens (AllenNLP %.0f ms: %.1fx)", meanLatency * 1000, msPer18,
               allen.b1ms, allen.b1ms / max(msPer18, 1e-9)))
    add("batch 1: weight bandwidth", String(format: "%.1f GB/s", b1GBs),
        String(format: "weights streamed per call / time; other load %.2f cores", d(b1, "otherCores")))
    add("load: HDF5", String(format: "%.3f s", d(loadHDF5, "best")),
        String(format: "first %.3f s; %.1fx faster than AllenNLP (%.1f s)", d(loadHDF5, "first"), allen.load / max(d(loadHDF5, "best"), 1e-9), allen.load))
    add("load: native", String(format: "%.4f s", d(loadNative, "best")),
        String(format: "first %.4f s; resident memory added by loading: %.1f MB", d(loadNative, "first"), d(loadNative, "rssAdded") / 1e6))
    add("two processes, one native file", String(format: "%.0f MB shared", Double(sharing.shared) / 1e6),
        String(format: "second process: RSS %.0f MB, PSS %.0f MB", Double(sharing.rss) / 1e6, Double(sharing.pss) / 1e6))
    add("sgemm M=864 K=512 N=16384", String(format: "%.1f GFLOP/s", sgemm.best),
        String(format: "median %.1f; %@", sgemm.median, openBLASDescription()))
    add("FLOPs per token (this corpus)", String(format: "%.1f MFLOP", flopsPerToken / 1e6),
        String(format: "%.1f tokens per sentence; roofline %.0f tokens/s", tokensPerSentence, sgemm.best * 1e9 / flopsPerToken))

    // bf16 beside fp32.
    let tps64 = d(b64, "tokens") / max(d(b64, "wall"), 1e-9)
    for (name, r, fp) in [("bf16 batch 64, file order", b64bf, b64), ("bf16 batch 32, file order", b32bf, b32)] {
        let tps = d(r, "tokens") / max(d(r, "wall"), 1e-9), fpTps = d(fp, "tokens") / max(d(fp, "wall"), 1e-9)
        let g = gflops(r)
        add(name + ": tokens/s", String(format: "%.0f", tps),
            String(format: "%.2fx fp32 of this run (%.0f); %.1f sentences/s", tps / max(fpTps, 1e-9), fpTps,
                   d(r, "sentences") / max(d(r, "wall"), 1e-9)))
        add(name + ": GFLOP/s", String(format: "%.1f", g),
            String(format: "roofline fraction %.2f (own bf16 GEMM %.1f GFLOP/s); %.2f of the vdpbf16ps register peak; %.2f of sgemm",
                   g / bf16Gemm.best, bf16Gemm.best, g / max(bf16Peak, 1e-9), g / sgemm.best))
        let executed = (workload.lstmFlopsPerRow * (d(r, "tokens") + 2 * d(r, "sentences"))
                        + workload.tokenLayerFlops * d(r, "cacheMisses")) / max(d(r, "wall"), 1e-9) * 1e-9
        add(name + ": executed GFLOP/s", String(format: "%.1f", executed),
            String(format: "%.2f of the bf16 GEMM rate", executed / bf16Gemm.best))
        add(name + ": peak RSS", String(format: "%.0f MB", d(r, "peakRSS") / 1e6),
            String(format: "model file %.0f MB; + %.0f MB; other load %.2f cores", Double(fileBytesBF16) / 1e6,
                   (d(r, "peakRSS") - Double(fileBytesBF16)) / 1e6, d(r, "otherCores")))
    }
    let one = batchOne(b1bf)
    add("bf16 batch 1: tokens/s", String(format: "%.0f", one.tps),
        String(format: "%.2fx fp32 of this run (%.0f)", one.tps / max(b1TokensPerSecond, 1e-9), b1TokensPerSecond))
    add("bf16 batch 1: latency p50 / p99", String(format: "%.1f / %.1f ms", percentile(one.lat, 50) * 1000, percentile(one.lat, 99) * 1000),
        String(format: "mean %.1f ms = %.1f ms per 18 tokens (fp32 %.1f ms: %.2fx)", one.mean * 1000, one.per18, msPer18,
               msPer18 / max(one.per18, 1e-9)))
    add("bf16 batch 1: weight bandwidth", String(format: "%.1f GB/s", one.gbs),
        String(format: "bf16 weights streamed per call / time (from L3 after the first step); other load %.2f cores",
                   d(b1bf, "otherCores")))
    let firstLatencies = (b1bf["latencies"]?.arrayValue ?? []).prefix(scheduleSentences).compactMap(\.doubleValue)
    let parallelLatencies = (b1bfParallel["latencies"]?.arrayValue ?? []).compactMap(\.doubleValue)
    let sequentialSum = firstLatencies.reduce(0, +), parallelSum = parallelLatencies.reduce(0, +)
    add("bf16 batch 1: LSTM schedule", String(format: "%.1f vs %.1f ms", sequentialSum / Double(max(firstLatencies.count, 1)) * 1000,
                                              parallelSum / Double(max(parallelLatencies.count, 1)) * 1000),
        String(format: "mean latency, first %d sentences: one LSTM at a time (default) vs directions in parallel: %.2fx; other load %.2f cores",
               parallelLatencies.count, parallelSum / max(sequentialSum, 1e-9), d(b1bfParallel, "otherCores")))
    add("bf16 load: native", String(format: "%.4f s", d(loadBF16, "best")),
        String(format: "first %.4f s; file %.0f MB (fp32 %.0f MB: %.2f)", d(loadBF16, "first"), Double(fileBytesBF16) / 1e6,
               Double(fileBytes) / 1e6, Double(fileBytesBF16) / Double(max(fileBytes, 1))))
    add("bf16 GEMM M=864 K=512 N=16384", String(format: "%.1f GFLOP/s", bf16Gemm.best),
        String(format: "median %.1f; %d threads; %.2fx sgemm; vdpbf16ps register peak %.1f GFLOP/s (kernels: %@)",
               bf16Gemm.median, config.threads, bf16Gemm.best / sgemm.best, bf16Peak, kernelVariant(ELMO_KERNELS_BF16)))
    let meanCos = (accuracy["meanCosine"]?.arrayValue ?? []).compactMap(\.doubleValue)
    let minCos = (accuracy["minCosine"]?.arrayValue ?? []).compactMap(\.doubleValue)
    let maxDiff = (accuracy["maxAbsDiff"]?.arrayValue ?? []).compactMap(\.doubleValue)
    for (layer, c) in meanCos.enumerated() {
        add("bf16 vs fp32, layer \(layer): mean cosine", String(format: "%.6f", c),
            String(format: "min %.6f; max |diff| %.4g; %d tokens", layer < minCos.count ? minCos[layer] : 0,
                   layer < maxDiff.count ? maxDiff[layer] : 0, Int(d(accuracy, "tokens"))))
    }
    add("bf16 vs fp32, default: mean cosine", String(format: "%.6f", d(accuracy, "defaultMeanCosine")),
        String(format: "min %.6f; %d sentences", d(accuracy, "defaultMinCosine"), Int(d(accuracy, "sentences"))))
    _ = tps64

    rows += int8Rows
    print("libelmo benchmark: original configuration (random weights), fp32, bf16 and int8, \(config.threads) threads, first \(config.sentences) sentences of \(config.corpus)")
    print("machine: \(machine["cpu"] ?? "?") (cpu family \(machine["cpuFamily"] ?? "?")), \(machine["cores"] ?? "?") cores, \(machine["memory"] ?? "?"), \(machine["kernel"] ?? "?"); kernels: \(kernelVariant())")
    let w0 = rows.map(\.0.count).max() ?? 0, w1 = rows.map(\.1.count).max() ?? 0
    for (a, b, c) in rows {
        print(a.padding(toLength: w0, withPad: " ", startingAt: 0) + "  " + String(repeating: " ", count: w1 - b.count) + b + "  " + c)
    }

    // Raw figures for BENCHMARKS.md.
    try FileManager.default.createDirectory(atPath: config.output, withIntermediateDirectories: true)
    var all: [String: JSONValue] = [
        "machine": .object(machine.mapValues { .string($0) }), "sgemmBest": .number(sgemm.best), "sgemmMedian": .number(sgemm.median),
        "loadHDF5": loadHDF5, "loadNative": loadNative, "batch64": b64, "batch32": b32, "batch1": b1,
        "sharing": .object(["rss": .number(Double(sharing.rss)), "pss": .number(Double(sharing.pss)), "sharedClean": .number(Double(sharing.shared))]),
        "flopsPerToken": .number(flopsPerToken), "modelFileBytes": .number(Double(fileBytes)),
        "bf16": .object(["gemmBest": .number(bf16Gemm.best), "gemmMedian": .number(bf16Gemm.median), "registerPeak": .number(bf16Peak),
                         "load": loadBF16, "batch64": b64bf, "batch32": b32bf, "batch1": b1bf, "accuracy": accuracy,
                         "batch1DirectionsInParallel": b1bfParallel,
                         "modelFileBytes": .number(Double(fileBytesBF16))]),
    ]
    if let b64sorted { all["batch64sorted"] = b64sorted }
    all["int8"] = int8
    let path = config.output + "/latest.json"
    try Data(JSONValue.object(all).serialized.utf8).write(to: URL(fileURLWithPath: path))
    print("\nraw figures: \(path)")
}

// MARK: entry

let args = CommandLine.arguments
do {
    if args.count > 1 && args[1] == "fidelity" {
        try runFidelity(parseFidelityConfig(args.dropFirst(2)))
    } else if args.count > 1 && args[1] == "child" {
        guard args.count > 3 else { usage() }
        let a = Array(args.dropFirst(2))
        switch a[0] {
        case "load": try Child.load(path: a[1])
        case "throughput" where (7...9).contains(a.count):
            try Child.throughput(model: a[1], corpus: a[2], count: Int(a[3]) ?? 0, batch: Int(a[4]) ?? 1,
                                 threads: Int(a[5]) ?? 1, sorted: a[6] == "sorted",
                                 cacheBytes: a.count >= 8 ? Int(a[7]) ?? 0 : ElmoLoadOptions.defaultTokenCacheBytes,
                                 schedule: a.count == 9 ? a[8] : nil)
        case "latency" where (5...7).contains(a.count):
            try Child.latency(model: a[1], corpus: a[2], count: Int(a[3]) ?? 0, threads: Int(a[4]) ?? 1,
                              cacheBytes: a.count >= 6 ? Int(a[5]) ?? 0 : ElmoLoadOptions.defaultTokenCacheBytes,
                              schedule: a.count == 7 ? a[6] : nil)
        case "accuracy" where a.count == 7:
            try Child.accuracy(fp32: a[1], bf16: a[2], corpus: a[3], count: Int(a[4]) ?? 0, batch: Int(a[5]) ?? 64,
                               threads: Int(a[6]) ?? 1)
        case "hold": try Child.hold(model: a[1])
        default: usage()
        }
    } else {
        try runBenchmark(parseConfig(args.dropFirst()))
    }
} catch {
    FileHandle.standardError.write(Data("elmo-bench: \(error)\n".utf8))
    exit(1)
}
