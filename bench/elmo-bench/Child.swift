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
            let model = try ElmoModel(path: path, loadOptions: ElmoLoadOptions(precision: try ElmoModel.storedPrecision(path: path)))
            times.append(now() - t)
            if i == 0 { rssAfter = currentRSSBytes() }
            withExtendedLifetime(model) {}
        }
        report(["first": num(times[0]), "best": num(times.min() ?? 0), "rssAdded": num(rssAfter - rssBefore)])
    }

    /// `throughput MODEL CORPUS COUNT BATCH THREADS ORDER [CACHE_BYTES [SCHEDULE]]`: embeds the first COUNT sentences in
    /// batches of BATCH (in file order, or sorted by length when ORDER is "sorted"), all
    /// layers into one reused buffer, and reports time, tokens, memory and cache counts.
    static func throughput(model path: String, corpus: String, count: Int, batch: Int, threads: Int, sorted: Bool,
                           cacheBytes: Int = ElmoLoadOptions.defaultTokenCacheBytes, schedule: String? = nil) throws {
        ElmoBenchmarkHooks.lstmSchedule = schedule
        let corpus = try Corpus(path: corpus, count: count)
        var texts = corpus.sentences
        if sorted {
            let lengths = try texts.map { try TokenBatch(texts: [$0]).tokenCount }
            texts = texts.indices.sorted { lengths[$0] != lengths[$1] ? lengths[$0] > lengths[$1] : $0 < $1 }.map { texts[$0] }
        }
        let loadStart = now()
        let model = try ElmoModel(path: path, loadOptions: ElmoLoadOptions(tokenCacheBytes: cacheBytes,
                                                                           precision: try ElmoModel.storedPrecision(path: path)))
        let loadTime = now() - loadStart
        let session = ElmoSession(model: model, threads: threads)
        var buffer: [Float] = []
        var tokens = 0
        let output = benchOutput()
        let noise = Noise()
        let cpu0 = processCPUSeconds()
        let t0 = now()
        var i = 0
        while i < texts.count {
            let b = try TokenBatch(texts: Array(texts[i..<min(i + batch, texts.count)]))
            let need = try session.requiredFloats(b, output: output)
            if buffer.count < need { buffer = [Float](repeating: 0, count: need) }
            try buffer.withUnsafeMutableBufferPointer { try session.embed(b, output: output, into: $0) }
            tokens += b.tokenCount
            i += batch
        }
        let wall = now() - t0
        let stats = model.tokenCache.statistics
        report(["wall": num(wall), "cpu": num(processCPUSeconds() - cpu0), "tokens": num(tokens),
                "sentences": num(texts.count), "peakRSS": num(peakRSSBytes()), "load": num(loadTime),
                "otherCores": num(noise.otherCores()), "threads": num(session.threadCount),
                "cacheHits": num(stats.hits), "cacheMisses": num(stats.misses), "cacheBytes": num(stats.bytes),
                "variant": .string(kernelVariant(model.precision == .bf16 ? ELMO_KERNELS_BF16
                                                : model.precision == .int8 ? ELMO_KERNELS_INT8 : ELMO_KERNELS_GEMM)), "precision": .string(model.precision.rawValue)])
    }

    /// `latency MODEL CORPUS COUNT THREADS [CACHE_BYTES [SCHEDULE]]`: embeds each of the first COUNT
    /// sentences alone, after one warm-up call (first touch of the mapped weights), and reports
    /// every latency with the weight bytes each call streamed. SCHEDULE ("parallel" or
    /// "sequential", `ElmoBenchmarkHooks.lstmSchedule`) forces how the four LSTMs share the threads.
    static func latency(model path: String, corpus: String, count: Int, threads: Int,
                        cacheBytes: Int = ElmoLoadOptions.defaultTokenCacheBytes, schedule: String? = nil) throws {
        ElmoBenchmarkHooks.lstmSchedule = schedule
        let corpus = try Corpus(path: corpus, count: count)
        let model = try ElmoModel(path: path, loadOptions: ElmoLoadOptions(tokenCacheBytes: cacheBytes,
                                                                           precision: try ElmoModel.storedPrecision(path: path)))
        let session = ElmoSession(model: model, threads: threads)
        let workload = Workload(options: model.options, precision: model.precision)
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
        let cpu0 = processCPUSeconds()
        let t0 = now()
        for text in corpus.sentences {
            let misses = model.tokenCache.statistics.misses
            let t = now()
            let n = try embed(text)
            latencies.append(num(now() - t))
            tokens += n
            bytes += workload.batchOneBytes(tokens: n, computedTokens: !model.tokenCache.isEnabled || model.tokenCache.statistics.misses > misses)
        }
        report(["latencies": .array(latencies), "wall": num(now() - t0), "cpu": num(processCPUSeconds() - cpu0),
                "tokens": num(tokens), "bytes": num(bytes),
                "otherCores": num(noise.otherCores()), "threads": num(session.threadCount)])
    }

    /// `accuracy FP32_MODEL BF16_MODEL CORPUS COUNT BATCH THREADS`: embeds the first COUNT
    /// sentences with both models (batches of BATCH, file order) and reports, per output
    /// layer, the largest |difference| and the mean and smallest cosine similarity of the
    /// token vectors, and the mean cosine of the `default` sentence vectors.
    static func accuracy(fp32 fp32Path: String, bf16 bf16Path: String, corpus: String, count: Int, batch: Int,
                         threads: Int) throws {
        let corpus = try Corpus(path: corpus, count: count)
        let fp32 = try ElmoModel(path: fp32Path, loadOptions: ElmoLoadOptions(precision: .fp32))
        let bf16 = try ElmoModel(path: bf16Path, loadOptions: ElmoLoadOptions(precision: try ElmoModel.storedPrecision(path: bf16Path)))
        let sessions = (ElmoSession(model: fp32, threads: threads), ElmoSession(model: bf16, threads: threads))
        let layers = fp32.layerCount, width = fp32.outputDim
        var maxDiff = [Double](repeating: 0, count: layers), cosSum = maxDiff, minCos = [Double](repeating: 1, count: layers)
        var tokens = 0, defaultSum = 0.0, defaultMin = 1.0, sentences = 0
        func cosine(_ a: ArraySlice<Float>, _ b: ArraySlice<Float>) -> Double {
            var dot = 0.0, na = 0.0, nb = 0.0
            for (x, y) in zip(a, b) {
                dot += Double(x) * Double(y)
                na += Double(x) * Double(x)
                nb += Double(y) * Double(y)
            }
            return na == 0 && nb == 0 ? 1 : dot / (na.squareRoot() * nb.squareRoot())
        }
        var i = 0
        while i < corpus.sentences.count {
            let b = try TokenBatch(texts: Array(corpus.sentences[i..<min(i + batch, corpus.sentences.count)]))
            let x = try sessions.0.embed(b), y = try sessions.1.embed(b)
            for s in 0..<x.count {
                let lx = try x.output(.allLayers, sentence: s).values, ly = try y.output(.allLayers, sentence: s).values
                let t = x.tokenCounts[s]
                for layer in 0..<layers {
                    for p in 0..<t {
                        let o = (layer * t + p) * width
                        let va = lx[o..<(o + width)], vb = ly[o..<(o + width)]
                        for (u, v) in zip(va, vb) { maxDiff[layer] = max(maxDiff[layer], Double(abs(u - v))) }
                        let c = cosine(va, vb)
                        cosSum[layer] += c
                        minCos[layer] = min(minCos[layer], c)
                    }
                }
                tokens += t
                let c = cosine(ArraySlice(try x.output(.sentenceMean(nil), sentence: s).values),
                               ArraySlice(try y.output(.sentenceMean(nil), sentence: s).values))
                defaultSum += c
                defaultMin = min(defaultMin, c)
                sentences += 1
            }
            i += batch
        }
        report(["maxAbsDiff": .array(maxDiff.map(num)), "meanCosine": .array(cosSum.map { num($0 / Double(max(tokens, 1))) }),
                "minCosine": .array(minCos.map(num)), "defaultMeanCosine": num(defaultSum / Double(max(sentences, 1))),
                "defaultMinCosine": num(defaultMin), "tokens": num(tokens), "sentences": num(sentences)])
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

/// Name of the variant a kernel family runs (the fp32 GEMM's by default: the LSTMs' kernels).
func kernelVariant(_ family: elmo_kernel_family = ELMO_KERNELS_GEMM) -> String {
    String(cString: elmo_kernel_variant_name(family, elmo_kernel_variant(family)))
}
