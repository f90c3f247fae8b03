import Elmo

/// Files read through libhdf5 (test references, random models) as a source of the official
/// tensors, like the core's own bounded reader.
extension HDF5Reader: OfficialTensorSource {
    package var sourceName: String { path }

    package func tensor(_ name: String, expected: [Int]) throws -> Tensor {
        try readFloats(name, expected: expected)
    }
}
