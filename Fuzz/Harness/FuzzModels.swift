// Tiny model configurations for seeds: every structural feature (highway layers, the char-CNN
// projection, LSTM projections, several layers, tanh, no clipping) in files of a few
// kilobytes, so that most of a seed's bytes are structure the fuzzer can usefully mutate.
import Elmo
import ElmoHDF5

public enum FuzzModels {
    static func options(filters: String, highway: Int, projection: Int, dim: Int, layers: Int, maxCharacters: Int = 12,
                        activation: String = "relu", clip: String = "3", skip: Bool = true, embedding: Int = 2) -> ElmoOptions {
        let json = """
        {"char_cnn": {"embedding": {"dim": \(embedding)}, "filters": \(filters), "n_highway": \(highway),
                      "n_characters": 262, "max_characters_per_token": \(maxCharacters), "activation": "\(activation)"},
         "lstm": {"dim": \(dim), "projection_dim": \(projection), "n_layers": \(layers), "cell_clip": \(clip),
                  "proj_clip": \(clip), "use_skip_connections": \(skip)}}
        """
        do {
            return try ElmoOptions.parse(json: Array(json.utf8))
        } catch {
            fuzzFailure("fuzz model options do not parse: \(error)")
        }
    }

    /// name -> configuration. "minimal": one filter, no highway, no projections, one layer.
    public static let configurations: [(name: String, options: ElmoOptions)] = [
        ("minimal", options(filters: "[[1, 2]]", highway: 0, projection: 2, dim: 2, layers: 1, clip: "null", skip: false)),
        ("full", options(filters: "[[1, 2], [2, 2]]", highway: 1, projection: 2, dim: 4, layers: 2)),
        ("tanh", options(filters: "[[1, 3]]", highway: 2, projection: 3, dim: 3, layers: 3, maxCharacters: 5,
                         activation: "tanh")),
    ]

    /// Writes configuration `name` as options.json + weights.hdf5 in `directory` (which must
    /// exist) and returns the model loaded from them.
    @discardableResult
    public static func writeOfficial(_ name: String, seed: UInt64 = 7, directory: String) throws -> ElmoModel {
        guard let options = configurations.first(where: { $0.name == name })?.options else {
            fuzzFailure("no fuzz model configuration '\(name)'")
        }
        let files = try ElmoRandomModel.write(options: options, seed: seed, directory: directory)
        return try ElmoModel(optionsFile: files.options, weightsFile: files.weights)
    }

    /// The options of every configuration, of the bilm-tf fixture and of the TF Hub twin (the
    /// HDF5 target's seeds include their weights): what the HDF5 harness tries a file against.
    public static var allOptions: [ElmoOptions] {
        configurations.map(\.options) + [fixtureOptions, twinOptions]
    }

    /// The configuration of the bilm-tf test fixture (../shared/fixtures/bilm-tf/options.json).
    public static let fixtureOptions = options(filters: "[[1, 4], [2, 8], [3, 16], [4, 32], [5, 64]]", highway: 2,
                                               projection: 16, dim: 64, layers: 2, maxCharacters: 50, embedding: 4)

    /// The configuration of the TF Hub fixture's HDF5 twin (Tests/Fixtures/tfhub/twin/options.json).
    public static let twinOptions = options(filters: "[[1, 4], [2, 4], [3, 8]]", highway: 2, projection: 4, dim: 8,
                                            layers: 2, maxCharacters: 50, embedding: 4)
}
