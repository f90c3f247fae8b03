// Target `options`: options.json parsing (the same parser reads the options inside a native
// model file's header). Besides never crashing:
// - any document the JSON parser accepts serialises to text it parses back to the same value;
// - any options it accepts pass validation and survive a write/parse round trip unchanged.
import Elmo
import ElmoHDF5

public enum OptionsFuzz {
    public static func one(_ data: UnsafeRawBufferPointer) {
        var parsed: JSONValue?
        do { parsed = try JSONValue.parse(data) } catch is JSONError {} catch { fuzzFailure("JSON parser threw \(error)") }
        if let value = parsed {
            let text = value.serialized
            guard let again = try? JSONValue.parse(text) else { fuzzFailure("serialised JSON does not parse: \(text)") }
            guard again == value else { fuzzFailure("JSON round trip changed the value: \(text)") }
        }
        guard let options = expectingElmoErrors("options", { try ElmoOptions.parse(json: data) }) else { return }
        if expectingElmoErrors("validate", { try options.validate() }) == nil {
            fuzzFailure("parsed options fail validation")
        }
        let text = options.json.serialized
        guard let again = expectingElmoErrors("options round trip", { try ElmoOptions.parse(json: Array(text.utf8)) }),
              again == options else {
            fuzzFailure("options round trip changed them: \(text)")
        }
    }

    /// Seeds: every fuzz model configuration and the published ones (small, medium, original),
    /// plus (written by the seed step) the fixture's and the TF Hub twin's options files.
    public static var seeds: [[UInt8]] {
        let published = ["small", "medium", "original"].compactMap(ElmoRandomModel.publishedOptions)
        var seeds = (FuzzModels.configurations.map(\.options) + published).map { Array($0.json.serialized.utf8) }
        // bilm-tf's own spelling: pretty-printed, n_layers and n_highway omitted, null clips.
        seeds.append(Array("""
        {"lstm": {"cell_clip": null, "use_skip_connections": false, "projection_dim": 8, "dim": 8,
                  "proj_clip": null},
         "char_cnn": {"embedding": {"dim": 16}, "filters": [[1, 32], [2, 32.0]],
                      "n_characters": 261, "max_characters_per_token": 50, "activation": "tanh"}}
        """.utf8))
        return seeds
    }
}
