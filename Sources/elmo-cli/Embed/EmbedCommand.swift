import ArgumentParser
import Elmo
#if canImport(Glibc)
import Glibc
#endif

/// `elmo embed INPUT OUTPUT --model M`: what `allennlp elmo` does, faster and with flat memory.
struct EmbedCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "embed",
        abstract: "Embed every line of a text file with ELMo.",
        discussion: """
        INPUT: one sentence per line, tokens separated by whitespace, read as `allennlp elmo` reads it \
        (Python's str.strip() and str.split()); - reads stdin. --tokenize also splits punctuation off words.

        OUTPUT: the extension picks the format. .hdf5 (or .h5): the layout `allennlp elmo` writes, a float32 \
        dataset per line named by its 0-based line index, plus sentence_to_index (a string dataset holding the \
        JSON that maps each sentence to its key). .npz: numpy arrays named by line index, plus sentence_to_index. \
        .jsonl: one JSON object per line, {"index", "sentence", "tokens", "shape", "embedding"}; - writes them \
        to stdout.

        Shapes per sentence of T tokens (D: the model's output width): --all (layers, T, D), the default; \
        --top, --average, lstm_outputsK and elmo (T, D); word_emb (T, D/2); default (D).

        An empty line is kept as an entry with 0 tokens (default: a zero vector). A line that cannot be \
        embedded (invalid UTF-8, over-long) stops the run with its line number; with --skip-invalid it becomes \
        an empty entry and a warning.

        Results are deterministic: each sentence is embedded on its own (no LSTM state carried from batch to \
        batch, unlike allennlp), so a sentence's vectors do not depend on the other lines; --batch-size and \
        --threads change only the speed, not a single bit of the output. Memory does not grow with the input, and \
        the output appears under its name only when complete.
        """)

    enum LayerChoice: String, EnumerableFlag {
        case all, top, average

        static func help(for value: LayerChoice) -> ArgumentHelp? {
            switch value {
            case .all: return "Every layer, (layers, tokens, dim) per sentence (the default)."
            case .top: return "The top LSTM layer, (tokens, dim)."
            case .average: return "The plain average of all layers, (tokens, dim)."
            }
        }
    }

    @Argument(help: "Text file, one sentence per line; - for stdin.")
    var input: String

    @Argument(help: "Output file: .hdf5 (.h5), .npz or .jsonl; - for JSON lines on stdout.")
    var output: String

    @Option(name: .shortAndLong, help: ArgumentHelp(
        "Model: a directory with options.json and the weights HDF5, the weights file, or a model name "
        + "(\(ModelResolver.publishedNames.joined(separator: ", "))).", valueName: "model"))
    var model: String

    @Flag(exclusivity: .exclusive)
    var layers: LayerChoice?

    @Option(help: ArgumentHelp("One of TF Hub's outputs instead: word_emb, lstm_outputs1, lstm_outputs2, elmo, default.",
                               valueName: "name"))
    var outputLayer: String?

    @Option(help: PrecisionChoice.help)
    var precision: PrecisionChoice = .stored

    @Option(help: "Sentences per batch.")
    var batchSize: Int = 64

    @Option(help: "Worker threads, each embedding its own batches (default: the number of CPUs).")
    var threads: Int?

    @Flag(help: "Raw text: also split punctuation off words (1B Word Benchmark style: \"don't.\" -> do n't .).")
    var tokenize = false

    @Flag(help: "HDF5 only: key each line's dataset by its sentence instead of its line index (sentences must be unique and non-empty).")
    var useSentenceKeys = false

    @Flag(help: "Do not store the sentences: no sentence_to_index, no \"sentence\" or \"tokens\" in JSON lines.")
    var forgetSentences = false

    @Flag(help: "Write an empty entry (and a warning) for a line that cannot be embedded, instead of stopping.")
    var skipInvalid = false

    @Flag(name: .shortAndLong, help: "No progress output on stderr.")
    var quiet = false

    static let maxBatchSize = ElmoLimits.default.maxSentences
    static let maxThreads = 256

    func validate() throws {
        guard let format = OutputFormat(outputPath: output) else {
            throw ValidationError("cannot tell the output format of '\(output)': use a .hdf5, .h5, .npz or .jsonl file, or - for JSON lines on stdout")
        }
        if layers != nil && outputLayer != nil {
            throw ValidationError("give one of --all, --top, --average and --output-layer, not several")
        }
        if let name = outputLayer {
            guard name != "all", ElmoOutput(name: name) != nil else {
                throw ValidationError("unknown --output-layer '\(name)': use word_emb, lstm_outputs1, lstm_outputs2, elmo or default")
            }
        }
        guard (1...EmbedCommand.maxBatchSize).contains(batchSize) else {
            throw ValidationError("--batch-size must be between 1 and \(EmbedCommand.maxBatchSize)")
        }
        if let t = threads, !(1...EmbedCommand.maxThreads).contains(t) {
            throw ValidationError("--threads must be between 1 and \(EmbedCommand.maxThreads)")
        }
        if useSentenceKeys && format != .hdf5 {
            throw ValidationError("--use-sentence-keys is for .hdf5 output only (other formats key entries by line index)")
        }
    }

    func run() throws {
        let format = OutputFormat(outputPath: output)!  // validate() checked it
        let layerSpec: LayerSpec
        if let name = outputLayer, let kind = ElmoOutput(name: name) {
            layerSpec = .named(kind)
        } else {
            switch layers ?? .all {
            case .all: layerSpec = .all
            case .top: layerSpec = .top
            case .average: layerSpec = .average
            }
        }
        let resolved = try ModelResolver.resolve(model, quiet: quiet, download: true)
        let threadCount = threads ?? max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        let settings = EmbedSettings(
            input: input, output: output, format: format, modelPath: resolved.path, optionsFile: resolved.optionsFile, precision: precision, layers: layerSpec,
            batchSize: batchSize, threads: threadCount, tokenize: tokenize, skipInvalid: skipInvalid,
            useSentenceKeys: useSentenceKeys, forgetSentences: forgetSentences, quiet: quiet)
        try EmbedRunner(settings: settings).run()
    }
}
