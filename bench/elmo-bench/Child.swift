// Measurements that run in a child process of their own, so that each one's load time and
// peak memory are its own, not inherited from earlier measurements.
import Elmo
import CElmoKernels
import Foundation

/// Prints a result line the parent reads: "RESULT " + JSON object.
func report(_ fields: [String: JSONValue]) {
    print("RESULT " + JSONValue.object(fields).serialized)
    fflush(nil)
}

func num(_ d: Double) -> JSONValue { .number(d) }
func num(_ i: Int) -> JSONValue { .number(Double(i)) }

enum Child {
    /// `load FORMAT PATH`: loads a model three times and reports the first and the best time,
    /// and the resident memory right after the first load.
    static func load(path: String) throws {
        let rssBefore = currentRSSBytes()
        var times: [Double] = []
        var rssAfter = 0
        for i in 0..<3 {
            let t = now()
            let model = try ElmoModel(path: path)
            times.append(now() - t)
            if i == 0 { rssAfter = currentRSSBytes() }
            withExtendedLifetime(model) {}
        }
        report(["first": num(times[0]), "best": num(times.min() ?? 0), "rssAdded": num(rssAfter - rssBefore)])
    }

    /// `throughput MODEL CORPUS COUNT BATCH THREADS ORDER [CACHE_BYTES]`: embeds the first COUNT sentences in
    /// batches of BATCH (in file order, or sorted by length when ORDER is "sorted"), all
    /// layers into one reused buffer, and reports time, tokens, memory and cache counts.
    static func throughput(model path: String, corpus: String, count: Int, batch: Int, threads: Int, sorted: Bool,
                           cacheBytes: Int = ElmoLoadOptions.defaultTokenCacheBytes) throws {
        let corpus = try Corpus(path: corpus, count: count)
        var texts = corpus.sentences
        if sorted {
            let lengths = try texts.map { try TokenBatch(texts: [$0]).tokenCount }
            texts = texts.indices.sorted { lengths[$0] != lengths[$1] ? lengths[$0] > lengths[$1] : $0 < $1 }.map { texts[$0] }
        }
        let loadStart = now()
        let model = try ElmoModel(path: path, loadOptions: ElmoLoadOptions(tokenCacheBytes: cacheBytes))
        let loadTime = now() - loadStart
        let session = ElmoSession(model: model, threads: threads)
        var buffer: [Float] = []
        var tokens = 0
        let noise = Noise()
        let cpu0 = processCPUSeconds()
        let t0 = now()
        var i = 0
        while i < texts.count {
            let b = try TokenBatch(texts: Array(texts[i..<min(i + batch, texts.count)]))
            let need = try session.requiredFloats(b, output: .allLayers)
            if buffer.count < need { buffer = [Float](repeating: 0, count: need) }
            try buffer.withUnsafeMutableBufferPointer { try session.embed(b, output: .allLayers, into: $0) }
            tokens += b.tokenCount
            i += batch
        }
        let wall = now() - t0
        let stats = model.tokenCache.statistics
        report(["wall": num(wall), "cpu": num(processCPUSeconds() - cpu0), "tokens": num(tokens),
                "sentences": num(texts.count), "peakRSS": num(peakRSSBytes()), "load": num(loadTime),
                "otherCores": num(noise.otherCores()), "threads": num(session.threadCount),
                "cacheHits": num(stats.hits), "cacheMisses": num(stats.misses), "cacheBytes": num(stats.bytes),
                "variant": .string(kernelVariant())])
    }

    /// `latency MODEL CORPUS COUNT THREADS [CACHE_BYTES]`: embeds each of the first COUNT sentences alone,
    /// after one warm-up call (first touch of the mapped weights), and reports every latency
    /// with the weight bytes each call streamed.
    static func latency(model path: String, corpus: String, count: Int, threads: Int,
                        cacheBytes: Int = ElmoLoadOptions.defaultTokenCacheBytes) throws {
        let corpus = try Corpus(path: corpus, count: count)
        let model = try ElmoModel(path: path, loadOptions: ElmoLoadOptions(tokenCacheBytes: cacheBytes))
        let session = ElmoSession(model: model, threads: threads)
        let workload = Workload(options: model.options)
        var buffer: [Float] = []
        func embed(_ text: String) throws -> Int {
            let b = try TokenBatch(texts: [text])
            let need = try session.requiredFloats(b, output: .allLayers)
            if buffer.count < need { buffer = [Float](repeating: 0, count: need) }
            try buffer.withUnsafeMutableBufferPointer { try session.embed(b, output: .allLayers, into: $0) }
            return b.tokenCount
        }
        _ = try embed("Warm up the weights .")
        var latencies: [JSONValue] = [], bytes = 0.0, tokens = 0
        let noise = Noise()
        let t0 = now()
        for text in corpus.sentences {
            let misses = model.tokenCache.statistics.misses
            let t = now()
            let n = try embed(text)
            latencies.append(num(now() - t))
            tokens += n
            bytes += workload.batchOneBytes(tokens: n, computedTokens: !model.tokenCache.isEnabled || model.tokenCache.statistics.misses > misses)
        }
        report(["latencies": .array(latencies), "wall": num(now() - t0), "tokens": num(tokens), "bytes": num(bytes),
                "otherCores": num(noise.otherCores()), "threads": num(session.threadCount)])
    }

    /// `hold MODEL`: loads the model, touches every weight with one call, reports, then waits
    /// until its standard input closes (so the parent can inspect two such processes at once).
    static func hold(model path: String) throws {
        let model = try ElmoModel(path: path)
        _ = try ElmoSession(model: model, threads: 1).embed(texts: ["Touch every weight once ."])
        report(["pid": num(Int(getpid()))])
        while readLine() != nil {}
    }
}

func kernelVariant() -> String { String(cString: elmo_kernels_variant()) }
